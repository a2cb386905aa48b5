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
    if (fields?.length) return `${err.message}: ${fields.map((f) => `${f.path || "body"} ${f.message}`).join("; ")}`;
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
