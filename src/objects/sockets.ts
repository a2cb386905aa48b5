// Sending on hibernatable sockets that may have closed under us.
import type { ErrorFrame } from "./protocol";

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
