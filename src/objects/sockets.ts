// Sending on hibernatable sockets that may have closed under us.
import { z } from "zod";
import { credentialHolds, LiveCredential } from "../db/credentials";
import { ACCESS_ENDED_CODE } from "../shared/close-codes";
import { PONG, type ErrorFrame } from "./protocol";

export function sendError(ws: WebSocket, code: string, message: string) {
  safeSend(ws, JSON.stringify({ type: "error", code, message } satisfies ErrorFrame));
}

/** An error about one spoken answer names it (`answerId`, an extension of the contract's error frame). */
export function audioError(ws: WebSocket, answerId: string, code: string, message: string) {
  safeSend(ws, JSON.stringify({ type: "error", code, message, answerId } satisfies ErrorFrame));
}

export function safeSend(ws: WebSocket, body: string) {
  try {
    ws.send(body);
  } catch {
    // The socket closed under us; the client replays from its lastSeq when it reconnects.
  }
}

export function safeClose(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}

// ---- Watchers (live sockets) ----

/** The participant sockets that have said hello (their attachment says so). */
export const greetedParticipants = (ctx: DurableObjectState): WebSocket[] =>
  ctx.getWebSockets("participant").filter((ws) => (ws.deserializeAttachment() as { hello?: boolean } | null)?.hello === true);

/** The header a live upgrade carries into the object: whose socket it is. */
export const WATCHER_HEADER = "X-Watcher-Principal";
/** The header that carries the credential the upgrade was authorised with (a LiveCredential, JSON). */
export const CREDENTIAL_HEADER = "X-Watcher-Credential";

/**
 * Admits a watcher socket the object has just accepted: the credential behind it is checked again
 * (a revocation may have landed since the Worker checked it, before this socket existed to be
 * closed), and only then does the socket get its first frame, `welcome()`, built after the check.
 * Nothing else runs in the object meanwhile, so no broadcast reaches the socket before its welcome.
 * A credential that no longer holds, or a check that fails, closes the socket (4403); the client
 * reconnects and is checked afresh.
 */
export async function admitWatcher(ctx: DurableObjectState, db: D1Database, request: Request, server: WebSocket, welcome: () => string): Promise<void> {
  let credential: LiveCredential | null = null;
  try {
    credential = LiveCredential.parse(JSON.parse(request.headers.get(CREDENTIAL_HEADER) ?? "null"));
  } catch {
    // no credential: not admitted
  }
  const admitted = credential !== null && (await ctx.blockConcurrencyWhile(() => credentialHolds(db, credential).catch(() => false)));
  if (admitted) safeSend(server, welcome());
  else safeClose(server, ACCESS_ENDED_CODE, "access ended");
}

/** The tags a watcher socket is accepted with: its kind, and its principal (to close it by). */
export function watcherTags(request: Request): string[] {
  const principal = request.headers.get(WATCHER_HEADER);
  return principal ? ["watcher", `p:${principal}`] : ["watcher"];
}

/** Closes the watcher sockets of a principal whose access ended; returns how many. */
export function closeWatchersOf(ctx: DurableObjectState, principalId: string): number {
  const sockets = ctx.getWebSockets(`p:${principalId}`);
  for (const ws of sockets) safeClose(ws, ACCESS_ENDED_CODE, "access ended");
  return sockets.length;
}

/** How many of a principal's watcher sockets are open here. */
export const openWatchersOf = (ctx: DurableObjectState, principalId: string): number =>
  ctx.getWebSockets(`p:${principalId}`).filter((ws) => ws.readyState === WebSocket.OPEN).length;

/** The one frame a watcher sends (other fields, such as a client timestamp, are let through). */
const WatcherPing = z.object({ type: z.literal("ping") });

/**
 * A watcher's frames: the contract gives watchers nothing to send but the heartbeat, so anything
 * else is answered with an error frame (and changes nothing).
 */
export function watcherMessage(ws: WebSocket, message: string | ArrayBuffer) {
  if (typeof message !== "string") return sendError(ws, "INVALID_FRAME", "watchers send no binary frames");
  let frame: unknown;
  try {
    frame = JSON.parse(message);
  } catch {
    return sendError(ws, "INVALID_JSON", "frames are JSON text");
  }
  if (WatcherPing.safeParse(frame).success) return safeSend(ws, PONG);
  sendError(ws, "INVALID_FRAME", "a live socket only sends {\"type\":\"ping\"}");
}
