// Live sockets outlive the request that opened them, so access checked at the upgrade must also be
// withdrawable: each live socket is registered under its principal (D1 `live_watchers`) and tagged
// with it in its object. Revoking a key, removing a member, or changing their role or password
// closes that principal's sockets at once; a client that reconnects is checked afresh.
//
// Two gaps are closed here. A revocation that lands between the upgrade's credential check and the
// socket's accept would miss the socket, so the object checks the credential again once it has
// accepted the socket, before sending it anything (admitWatcher). And a registration outlives its socket, so the cron asks the objects behind old registrations
// whether the socket is still open and forgets the ones that are not (revocation would otherwise
// wake every object the principal ever watched).
import type { Context } from "hono";
import type { LiveCredential } from "../db/credentials";
import type { Env } from "../env";
import { CREDENTIAL_HEADER, WATCHER_HEADER } from "../objects/sockets";
import { signInHash } from "./signin";
import type { AppEnv } from "./types";

/** A registration older than this is confirmed with its object by the cron (and forgotten if the socket is gone). */
export const LIVE_RECHECK_AFTER_MS = 3_600_000;
/** Registrations confirmed per cron run (each is one call to an object). */
const PRUNE_BATCH = 20;

const GUARD = "principal_id = ? AND kind = ? AND target_id = ? AND connected_at = ?";
type Registration = { principal_id: string; kind: Kind; target_id: string; connected_at: number };
const guardOf = (r: Registration) => [r.principal_id, r.kind, r.target_id, r.connected_at];

type Kind = "session" | "campaign";

/** The object a live socket of `kind` lives in, and the path it is upgraded on there. */
function liveObject(env: Env, kind: Kind, targetId: string) {
  return kind === "session"
    ? { stub: env.SESSION.get(env.SESSION.idFromName(targetId)), url: "https://session.internal/live" }
    : { stub: env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(targetId)), url: "https://campaign.internal/live" };
}

/**
 * Registers the watcher, then hands the upgrade to the object with the principal and the credential
 * it was authorised with; the object checks that credential again before the socket gets anything.
 */
export async function openLive(c: Context<AppEnv>, kind: Kind, targetId: string): Promise<Response> {
  const { env } = c;
  const principal = c.get("principal")!;
  // Registered before the socket exists: a revocation that reads the registry after this sees it.
  await env.DB.prepare(
    "INSERT INTO live_watchers (principal_id, kind, target_id, org_id, connected_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal_id, kind, target_id) DO UPDATE SET connected_at = excluded.connected_at",
  )
    .bind(principal.id, kind, targetId, principal.orgId, Date.now())
    .run();
  const { stub, url } = liveObject(env, kind, targetId);
  const request = new Request(url, c.req.raw);
  request.headers.set(WATCHER_HEADER, principal.id);
  const credential: LiveCredential =
    principal.type === "api_key" ? { type: "api_key", id: principal.id, role: principal.role } : { type: "member", id: principal.id, role: principal.role, signIn: (await signInHash(c)) ?? "" };
  request.headers.set(CREDENTIAL_HEADER, JSON.stringify(credential));
  return stub.fetch(request);
}

/**
 * Closes every live socket the principal opened; returns how many were open. Only the rows read
 * are removed, each guarded by its timestamp: a member who signs in again after a role change may
 * open a socket meanwhile, and its fresh registration must stay.
 */
export async function endLiveAccess(env: Env, principalId: string): Promise<number> {
  const { results } = await env.DB.prepare("SELECT principal_id, kind, target_id, connected_at FROM live_watchers WHERE principal_id = ?").bind(principalId).all<Registration>();
  const closed = await Promise.all(results.map((r) => liveObject(env, r.kind, r.target_id).stub.dropWatchers(principalId)));
  if (results.length) await env.DB.batch(results.map((r) => env.DB.prepare(`DELETE FROM live_watchers WHERE ${GUARD}`).bind(...guardOf(r))));
  return closed.reduce((a, b) => a + b, 0);
}

/**
 * The cron's pruning: registrations older than LIVE_RECHECK_AFTER_MS are confirmed with their
 * object, 20 a run. A socket still open refreshes its registration, and so does an object that did
 * not answer (asked again in an hour, so failing rows cannot hold up the others); one that is gone
 * is forgotten. The writes go in one batch, each guarded by the registration's timestamp, so one
 * renewed meanwhile by a new socket stays. Returns how many were forgotten.
 */
export async function pruneLiveWatchers(env: Env, now = Date.now()): Promise<number> {
  const { results } = await env.DB.prepare("SELECT principal_id, kind, target_id, connected_at FROM live_watchers WHERE connected_at < ? ORDER BY connected_at LIMIT ?")
    .bind(now - LIVE_RECHECK_AFTER_MS, PRUNE_BATCH)
    .all<Registration>();
  if (!results.length) return 0;
  const open = await Promise.all(results.map((r) => liveObject(env, r.kind, r.target_id).stub.watching(r.principal_id).catch(() => null)));
  const writes = results.map((r, i) =>
    open[i] === 0
      ? env.DB.prepare(`DELETE FROM live_watchers WHERE ${GUARD}`).bind(...guardOf(r))
      : env.DB.prepare(`UPDATE live_watchers SET connected_at = ? WHERE ${GUARD}`).bind(now, ...guardOf(r)),
  );
  const done = await env.DB.batch(writes);
  return done.reduce((n, d, i) => n + (open[i] === 0 ? d.meta.changes : 0), 0);
}
