// The dashboard's HTTP client: same-origin JSON with the sign-in cookie; errors become ApiError
// with the contract's {error:{code,message,details}}. A 401 anywhere signs the user out.
import type { Me } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called when the server says the sign-in is gone (expired, revoked, signed out elsewhere). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** Tells every listener the sign-in is gone (used when a live socket learns it before any request). */
export function signalUnauthorized() {
  for (const fn of unauthorizedListeners) fn();
}

type MeListener = (m: Me) => void;
const meListeners = new Set<MeListener>();
/** Called with a fresh `me` when a re-check finds the sign-in still valid (its role may have changed). */
export function onAccessChanged(fn: MeListener): () => void {
  meListeners.add(fn);
  return () => meListeners.delete(fn);
}

let recheck: Promise<Me | null> | null = null;
/**
 * Asks the server who we are now, after something said our access changed (a live socket closed
 * with "access ended", or could not be opened). Resolves null when the sign-in is gone (and the app
 * shows the sign-in screen), or with the current `me` (and the app adopts its role). Concurrent
 * callers share one request.
 */
export function recheckAccess(): Promise<Me | null> {
  recheck ??= (async () => {
    try {
      const res = await fetch("/v1/auth/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.status === 401) {
        signalUnauthorized();
        return null;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const m = (await res.json()) as Me;
      for (const fn of meListeners) fn(m);
      return m;
    } finally {
      setTimeout(() => (recheck = null), 1000);
    }
  })();
  return recheck;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method ?? "GET", headers, body, credentials: "same-origin", signal: opts.signal });
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "We could not reach the server. Check your connection and try again.");
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `The server answered ${res.status}.`, e?.details);
    if (res.status === 401 && !path.startsWith("/v1/auth/")) for (const fn of unauthorizedListeners) fn();
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>(path, { signal });
export const post = <T>(path: string, body?: unknown) => api<T>(path, { method: "POST", body: body ?? {} });
export const patch = <T>(path: string, body: unknown) => api<T>(path, { method: "PATCH", body });
export const del = <T>(path: string, headers?: Record<string, string>) => api<T>(path, { method: "DELETE", headers });

export const me = () => get<Me>("/v1/auth/me");

/** A readable sentence for any error, with the failing fields when the server named them. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = (err.details as { fields?: { path: string; message: string }[] } | undefined)?.fields;
    // The server's message usually names the failing fields already ("invalid body: expiresAt: must
    // be in the future"); add only what it does not say, and only for bad input (a 409's message,
    // "a member with this email already exists", says it all).
    const extra = err.status === 400 ? (fields ?? []).filter((f) => f.message && !err.message.toLowerCase().includes(f.message.toLowerCase())) : [];
    if (extra.length) return `${err.message}: ${extra.map((f) => `${f.path || "body"} ${f.message}`).join("; ")}`;
    if (err.status === 403) return `Your role does not allow this (${err.message}).`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Query string from an object, skipping empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
}

/** The file name a Content-Disposition header gives, if any. */
function attachmentName(header: string | null): string | null {
  const m = header ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header) : null;
  return m ? decodeURIComponent(m[1]!) : null;
}

/** Hands a Blob to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.rel = "external";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Downloads a file the API serves to a GET. GETs are authorised by the sign-in cookie alone (no CSRF
 * check: they change nothing), so a same-origin fetch is enough; errors become ApiError as for JSON
 * calls (a 401 signs the user out) instead of a saved error page. Resolves with the file's name.
 */
export async function download(path: string, fallbackName: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "NETWORK", "We could not reach the server. Check your connection and try again.");
  }
  if (!res.ok) {
    let e: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      e = ((await res.json()) as { error?: typeof e }).error;
    } catch {
      e = undefined;
    }
    if (res.status === 401) signalUnauthorized();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `The server answered ${res.status}.`, e?.details);
  }
  const name = attachmentName(res.headers.get("Content-Disposition")) ?? fallbackName;
  saveBlob(await res.blob(), name);
  return name;
}
