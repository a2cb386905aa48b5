// Live sockets outlive the request that opened them, so access checked at the upgrade must also be
// withdrawable: each live socket is registered under its principal (D1 `live_watchers`) and tagged
// with it in its object. Revoking a key, removing a member, or changing their role or password
// closes that principal's sockets at once; a client that reconnects is checked afresh.
import type { Env } from "../env";
import { WATCHER_HEADER } from "../objects/sockets";
import type { Principal } from "./auth";

type Kind = "session" | "campaign";

/** The object a live socket of `kind` lives in, and the path it is upgraded on there. */
function liveObject(env: Env, kind: Kind, targetId: string) {
  return kind === "session"
    ? { stub: env.SESSION.get(env.SESSION.idFromName(targetId)), url: "https://session.internal/live" }
    : { stub: env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(targetId)), url: "https://campaign.internal/live" };
}

/** Registers the watcher, then hands the upgrade to the object with the principal attached. */
export async function openLive(env: Env, principal: Principal, kind: Kind, targetId: string, raw: Request): Promise<Response> {
  // Registered before the socket exists: a revocation that reads the registry after this sees it.
  await env.DB.prepare(
    "INSERT INTO live_watchers (principal_id, kind, target_id, org_id, connected_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal_id, kind, target_id) DO UPDATE SET connected_at = excluded.connected_at",
  )
    .bind(principal.id, kind, targetId, principal.orgId, Date.now())
    .run();
  const { stub, url } = liveObject(env, kind, targetId);
  const request = new Request(url, raw);
  request.headers.set(WATCHER_HEADER, principal.id);
  return stub.fetch(request);
}

/** Closes every live socket the principal opened; returns how many were open. */
export async function endLiveAccess(env: Env, principalId: string): Promise<number> {
  const { results } = await env.DB.prepare("SELECT kind, target_id FROM live_watchers WHERE principal_id = ?").bind(principalId).all<{ kind: Kind; target_id: string }>();
  const closed = await Promise.all(results.map((r) => liveObject(env, r.kind, r.target_id).stub.dropWatchers(principalId)));
  await env.DB.prepare("DELETE FROM live_watchers WHERE principal_id = ?").bind(principalId).run();
  return closed.reduce((a, b) => a + b, 0);
}
