// Who is calling: an API key (Bearer irk_…), a signed-in member (session cookie), or the
// operator. Tenancy always comes from here, never from the request.
import type { Context } from "hono";
import { sha256Hex, timingSafeEqual } from "../shared/crypto";
import { actorFromContext, appendAudit } from "./audit";
import { ApiError } from "./errors";
import type { Role } from "./policy";
import { csrfRejected, hasSessionCookie, memberFromCookie, sameOrigin } from "./signin";
import type { AppEnv } from "./types";

export type Principal =
  | { type: "api_key"; id: string; orgId: string; role: Role }
  | { type: "member"; id: string; orgId: string; role: Role };

export const API_KEY_PREFIX = "irk_";
const LAST_USED_GRANULARITY_MS = 60_000;

function bearer(c: Context<AppEnv>): string | null {
  const header = c.req.header("Authorization");
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!m) throw new ApiError(401, "UNAUTHENTICATED", "the Authorization header must be 'Bearer <api key>'");
  return m[1]!;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export async function resolvePrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const token = bearer(c);
  if (!token) return hasSessionCookie(c) ? cookiePrincipal(c) : null;
  if (!token.startsWith(API_KEY_PREFIX)) throw new ApiError(401, "UNAUTHENTICATED", "invalid API key");
  const row = await c.env.DB.prepare("SELECT id, org_id, role, revoked_at, last_used_at FROM api_keys WHERE key_hash = ?")
    .bind(await sha256Hex(token))
    .first<{ id: string; org_id: string; role: Role; revoked_at: number | null; last_used_at: number | null }>();
  if (!row || row.revoked_at !== null) throw new ApiError(401, "UNAUTHENTICATED", "invalid or revoked API key");
  const now = Date.now();
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_GRANULARITY_MS) {
    c.executionCtx.waitUntil(c.env.DB.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(now, row.id).run());
  }
  return { type: "api_key", id: row.id, orgId: row.org_id, role: row.role };
}

async function cookiePrincipal(c: Context<AppEnv>): Promise<Principal> {
  const member = await memberFromCookie(c);
  if (!member) throw new ApiError(401, "UNAUTHENTICATED", "your sign-in has expired; sign in again");
  const upgrade = c.req.header("Upgrade")?.toLowerCase() === "websocket";
  if ((upgrade || !SAFE_METHODS.has(c.req.method)) && !sameOrigin(c)) {
    // A refused cross-site attempt is a denial like any other 403: the audit log records it.
    c.executionCtx.waitUntil(
      appendAudit(c.env, { ...actorFromContext(c), type: "member", id: member.id, role: member.role }, { orgId: member.orgId, action: "csrf.check", outcome: "deny", resourceType: "request", resourceId: null }),
    );
    throw csrfRejected();
  }
  return { type: "member", ...member };
}

export function requireOperator(c: Context<AppEnv>) {
  const expected = c.env.OPERATOR_TOKEN;
  const token = bearer(c);
  if (!expected) throw new ApiError(503, "OPERATOR_DISABLED", "OPERATOR_TOKEN is not configured");
  if (!token || !timingSafeEqual(token, expected)) throw new ApiError(401, "UNAUTHENTICATED", "operator token required");
}
