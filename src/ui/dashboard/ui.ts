// Small building blocks every screen shares: loading / empty / error states, badges, toasts,
// a confirm dialog, a copy field and a data-loading hook.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError, get } from "./api";
import { STATUS_LABEL } from "./format";
import { html } from "./html";
import type { Status } from "./types";

// ---- data loading ----

export interface Async<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (fn: (d: T | null) => T | null) => void;
}

/** Runs `load` whenever `deps` change; stale answers are dropped, errors kept for the screen. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    load(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data, error: null, loading: false }),
      (error) => !ctrl.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((fn: (d: T | null) => T | null) => setState((s) => ({ ...s, data: fn(s.data) })), []);
  return { ...state, reload, setData };
}

// ---- states ----

export function Loading({ label = "Loading…" }: { label?: string }) {
  return html`<div class="state loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span>${label}</div>`;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return html`<div class="state empty"><p class="state-title">${title}</p>${children ? html`<div class="muted">${children}</div>` : null}</div>`;
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return html`<div class="state error" role="alert">
    <p class="state-title">Something went wrong</p>
    <p class="muted">${describeError(error)}</p>
    ${retry ? html`<button class="btn" onClick=${retry}>Try again</button>` : null}
  </div>`;
}

export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return html`<p class="form-error" role="alert">${describeError(error)}</p>`;
}

// ---- badges ----

/** `live` animates the dot of an in-progress session (kept off in long lists: animations cost paints). */
export function StatusBadge({ status, live }: { status: Status; live?: boolean }) {
  return html`<span class=${`badge status-${status}`} data-status=${status}>${status === "in_progress" ? html`<span class=${live ? "pulse" : "dot"} aria-hidden="true"></span>` : null}${STATUS_LABEL[status] ?? status}</span>`;
}

export function Progress({ value, label }: { value: number; label?: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return html`<span class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${v} aria-label=${label ?? "Completion"}>
    <span class="meter-bar"><span class="meter-fill" style=${{ width: `${v}%` }}></span></span><span class="meter-num">${v}%</span>
  </span>`;
}

export function LinkBadge({ state }: { state: string }) {
  if (state === "open") return html`<span class="badge live-ok" title="Live updates connected"><span class="pulse" aria-hidden="true"></span>Live</span>`;
  if (state === "closed") return null;
  if (state === "denied") return html`<span class="badge status-abandoned" role="status" data-testid="link-denied" title="Your access to live updates ended">No live access</span>`;
  if (state === "gone") return html`<span class="badge status-abandoned" role="status">Deleted</span>`;
  return html`<span class="badge warn" role="status">${state === "connecting" ? "Connecting…" : "Reconnecting…"}</span>`;
}

// ---- toasts ----

interface Toast {
  id: number;
  text: string;
  kind: "ok" | "error";
}
let toasts: Toast[] = [];
let toastId = 0;
const toastListeners = new Set<(t: Toast[]) => void>();

export function toast(text: string, kind: Toast["kind"] = "ok") {
  const t = { id: ++toastId, text, kind };
  toasts = [...toasts, t];
  for (const fn of toastListeners) fn(toasts);
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    for (const fn of toastListeners) fn(toasts);
  }, kind === "error" ? 7000 : 3500);
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => void toastListeners.delete(setList);
  }, []);
  return html`<div class="toasts" aria-live="polite">${list.map((t) => html`<div key=${t.id} class=${`toast ${t.kind}`} role=${t.kind === "error" ? "alert" : "status"}>${t.text}</div>`)}</div>`;
}

// ---- dialog ----

export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>("[autofocus], input, textarea, select, button.btn-primary, button");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
      if (e.key === "Tab" && box.current) {
        // Keep keyboard focus inside the dialog.
        const items = [...box.current.querySelectorAll<HTMLElement>("a[href], button:not([disabled]), input, textarea, select")];
        if (!items.length) return;
        const [a, z] = [items[0]!, items[items.length - 1]!];
        if (e.shiftKey && document.activeElement === a) (z.focus(), e.preventDefault());
        else if (!e.shiftKey && document.activeElement === z) (a.focus(), e.preventDefault());
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, []);
  return html`<div class="overlay" onClick=${(e: MouseEvent) => e.target === e.currentTarget && onClose()}>
    <div class=${`dialog${wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label=${title} ref=${box}>
      <div class="dialog-head"><h2>${title}</h2><button class="icon-btn" aria-label="Close" onClick=${onClose}>×</button></div>
      ${children}
    </div>
  </div>`;
}

/** A confirmation dialog whose action may fail: the error stays in the dialog. */
export function Confirm({
  title,
  body,
  action,
  danger,
  onConfirm,
  onClose,
  requireText,
  children,
}: {
  title: string;
  body: ComponentChildren;
  action: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  requireText?: string;
  children?: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [typed, setTyped] = useState("");
  const go = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      await onConfirm();
      onClose();
    } catch (x) {
      setErr(x);
      setBusy(false);
    }
  };
  return html`<${Modal} title=${title} onClose=${onClose}>
    <form onSubmit=${go}>
      <div class="dialog-body">${body}${children}
        ${requireText
          ? html`<label class="field"><span>Type <strong>${requireText}</strong> to confirm</span><input value=${typed} onInput=${(e: Event) => setTyped((e.target as HTMLInputElement).value)} autocomplete="off" /></label>`
          : null}
        <${InlineError} error=${err} />
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
        <button type="submit" class=${danger ? "btn btn-danger" : "btn btn-primary"} disabled=${busy || (requireText !== undefined && typed !== requireText)}>${busy ? "Working…" : action}</button>
      </div>
    </form>
  <//>`;
}

// ---- copy ----

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function CopyField({ value, label, secret }: { value: string; label: string; secret?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    const ok = await copyText(value);
    if (!ok) {
      input.current?.select();
      toast("Press Ctrl+C (⌘C) to copy", "error");
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return html`<div class=${`copy-field${secret ? " secret" : ""}`}>
    <input ref=${input} readonly value=${value} aria-label=${label} onFocus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()} />
    <button type="button" class="btn" onClick=${copy}>${copied ? "Copied ✓" : "Copy"}</button>
  </div>`;
}

// ---- layout pieces ----

export function PageHeader({ title, sub, children, crumbs }: { title: ComponentChildren; sub?: ComponentChildren; children?: ComponentChildren; crumbs?: ComponentChildren }) {
  return html`<header class="page-head">
    <div class="page-title">
      ${crumbs ? html`<nav class="crumbs" aria-label="Breadcrumb">${crumbs}</nav>` : null}
      <h1>${title}</h1>
      ${sub ? html`<p class="muted sub">${sub}</p>` : null}
    </div>
    ${children ? html`<div class="page-actions">${children}</div>` : null}
  </header>`;
}

export function Tabs({ items, active }: { items: { href: string; label: string; key: string }[]; active: string }) {
  return html`<nav class="tabs" aria-label="Sections">
    ${items.map((t) => html`<a key=${t.key} href=${t.href} class=${t.key === active ? "tab active" : "tab"} aria-current=${t.key === active ? "page" : undefined}>${t.label}</a>`)}
  </nav>`;
}

/** Highlights every case-insensitive occurrence of `q` in `text` with <mark>. */
export function Highlight({ text, q }: { text: string; q: string }) {
  if (!q) return html`${text}`;
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  const out: unknown[] = [];
  let i = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, i)) {
    if (at > i) out.push(text.slice(i, at));
    out.push(html`<mark>${text.slice(at, at + needle.length)}</mark>`);
    i = at + needle.length;
  }
  out.push(text.slice(i));
  return html`${out}`;
}

// ---- paged lists ----

export interface Paged<T> {
  rows: T[];
  loading: boolean;
  error: unknown;
  hasMore: boolean;
  more: () => void;
  reload: () => void;
  setRows: (fn: (rows: T[]) => T[]) => void;
}

/** A cursor-paged list ({data,nextCursor}); `path` gets the cursor appended. Resets when deps change. */
export function usePaged<T>(path: string, deps: unknown[] = []): Paged<T> {
  const [rows, setRowsState] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [gen, setGen] = useState(0);
  const ctrl = useRef<AbortController | null>(null);

  const fetchPage = (cursor: string | null, reset: boolean) => {
    ctrl.current?.abort();
    const c = new AbortController();
    ctrl.current = c;
    setLoading(true);
    setError(null);
    const sep = path.includes("?") ? "&" : "?";
    get<{ data: T[]; nextCursor: string | null }>(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""}`, c.signal)
      .then(
        (p) => {
          if (c.signal.aborted) return;
          setRowsState((r) => (reset ? p.data : [...r, ...p.data]));
          setNext(p.nextCursor);
          setLoading(false);
        },
        (e) => {
          if (c.signal.aborted) return;
          setError(e);
          setLoading(false);
        },
      );
  };

  useEffect(() => {
    fetchPage(null, true);
    return () => ctrl.current?.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, gen, ...deps]);

  return {
    rows,
    loading,
    error,
    hasMore: next !== null,
    more: () => next && fetchPage(next, false),
    reload: () => setGen((g) => g + 1),
    setRows: (fn) => setRowsState(fn),
  };
}
