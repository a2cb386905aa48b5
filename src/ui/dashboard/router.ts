// Client-side routing over the History API: plain <a href> links are intercepted, the query
// string is part of the route (filters live there so views can be shared), back/forward work.
import { useEffect, useState } from "preact/hooks";

export interface Loc {
  path: string;
  query: URLSearchParams;
  search: string;
}

const listeners = new Set<() => void>();
const current = (): Loc => ({ path: location.pathname.replace(/\/+$/, "") || "/", query: new URLSearchParams(location.search), search: location.search });

function notify() {
  for (const fn of listeners) fn();
}

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const here = location.pathname + location.search;
  if (to === here) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  notify();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Replaces the query string of the current path, dropping empty values. */
export function setQuery(params: Record<string, string | null | undefined>, opts: { replace?: boolean } = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ""), opts);
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = () => setLoc(current());
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return loc;
}

/** Matches "/campaigns/:id/sessions" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return params;
}

const SERVER_PATHS = /^\/(v1|i|docs|healthz|app)(\/|$)/;

/** One listener for the whole document: same-origin links navigate without a page load. */
export function interceptLinks() {
  window.addEventListener("popstate", notify);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.getAttribute("rel") === "external") return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || SERVER_PATHS.test(url.pathname)) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
