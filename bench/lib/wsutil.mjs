// WebSocket helpers on the `ws` package: open with a timeout, and close everything at the end.
import WebSocket from "ws";

export { WebSocket };

export const wsUrl = (base, path) => `${base.replace(/^http/, "ws")}${path}`;

/**
 * Opens a socket; resolves once open, rejects on an HTTP refusal, an error, or a timeout.
 * `onMessage` is attached before the handshake: a server may send in the same packet as its 101
 * (a live watcher's snapshot does), and `ws` emits that frame before an awaiting caller resumes.
 */
export function openSocket(url, { headers, timeoutMs = 15_000, onMessage } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    if (onMessage) ws.on("message", onMessage);
    const fail = (err) => {
      ws.removeAllListeners();
      ws.on("error", () => {});
      try {
        ws.terminate();
      } catch {
        // already gone
      }
      reject(err);
    };
    ws.once("open", () => {
      ws.removeListener("error", fail);
      ws.removeListener("unexpected-response", refused);
      resolve(ws);
    });
    const refused = (_req, res) => fail(new Error(`WebSocket ${url.replace(/token=[^&]+/, "token=…")} refused: HTTP ${res.statusCode}`));
    ws.once("unexpected-response", refused);
    ws.once("error", fail);
  });
}

export function closeAll(sockets) {
  for (const ws of sockets) {
    if (!ws) continue;
    try {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    } catch {
      // already closed
    }
  }
}
