// Dashboard sign-in: an HttpOnly, Secure, SameSite=Lax cookie holding a random id whose hash is
// stored in D1, with an idle and an absolute expiry and a new id on every sign-in.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { randomSecret, sha256Hex } from "../shared/crypto";
import { ApiError } from "./errors";
import type { Role } from "./policy";
import type { AppEnv } from "./types";

export const SESSION_COOKIE = "ir_session";
export const IDLE_MS = 8 * 3600_000;
export const ABSOLUTE_MS = 7 * 86_400_000;
const TOUCH_GRANULARITY_MS = 60_000;

export async function startSignIn(c: Context<AppEnv>, member: { id: string; org_id: string }): Promise<void> {
  const token = randomSecret(256);
  const now = Date.now();
  await c.env.DB.prepare("INSERT INTO auth_sessions (id_hash, member_id, org_id, created_at, last_seen_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(await sha256Hex(token), member.id, member.org_id, now, now, now + ABSOLUTE_MS, c.req.header("CF-Connecting-IP") ?? null, c.req.header("User-Agent")?.slice(0, 300) ?? null)
    .run();
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: "Lax", path: "/", maxAge: ABSOLUTE_MS / 1000 });
}

export async function endSignIn(c: Context<AppEnv>): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) await c.env.DB.prepare("DELETE FROM auth_sessions WHERE id_hash = ?").bind(await sha256Hex(token)).run();
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Lax" });
}

export const hasSessionCookie = (c: Context<AppEnv>) => Boolean(getCookie(c, SESSION_COOKIE));

/** The stored hash of the request's sign-in cookie (auth_sessions.id_hash), or null without a plausible one. */
export async function signInHash(c: Context<AppEnv>): Promise<string | null> {
  const token = getCookie(c, SESSION_COOKIE);
  return token && token.length <= 100 ? sha256Hex(token) : null;
}

/** The member behind the cookie, or null when it is missing, unknown or expired. */
export async function memberFromCookie(c: Context<AppEnv>): Promise<{ id: string; orgId: string; role: Role } | null> {
  const idHash = await signInHash(c);
  if (!idHash) return null;
  const row = await c.env.DB.prepare(
    "SELECT s.member_id, s.org_id, s.last_seen_at, s.expires_at, m.role FROM auth_sessions s JOIN members m ON m.id = s.member_id WHERE s.id_hash = ?",
  )
    .bind(idHash)
    .first<{ member_id: string; org_id: string; last_seen_at: number; expires_at: number; role: Role }>();
  const now = Date.now();
  if (!row) return null;
  if (now > row.expires_at || now - row.last_seen_at > IDLE_MS) {
    c.executionCtx.waitUntil(c.env.DB.prepare("DELETE FROM auth_sessions WHERE id_hash = ?").bind(idHash).run());
    return null;
  }
  if (now - row.last_seen_at > TOUCH_GRANULARITY_MS) {
    c.executionCtx.waitUntil(c.env.DB.prepare("UPDATE auth_sessions SET last_seen_at = ? WHERE id_hash = ?").bind(now, idHash).run());
  }
  return { id: row.member_id, orgId: row.org_id, role: row.role };
}

export const csrfRejected = () => new ApiError(403, "CSRF_REJECTED", "cookie-authenticated writes and live connections must come from this site");

/**
 * Cookie-authenticated writes and socket upgrades must come from our own pages: the browser's
 * Origin header has to name this origin (SameSite=Lax alone still lets top-level POSTs through).
 */
export function sameOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header("Origin");
  return origin !== undefined && origin === new URL(c.req.url).origin;
}
