// A watcher socket that stays connected: exponential backoff with jitter, a fresh snapshot on every
// reconnect (the server sends one first), pings so idle proxies keep it open.
import { parseFrame } from "../shared/frames";
import type { LiveFrame } from "./types";

export type LinkState = "connecting" | "open" | "reconnecting" | "closed";

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private ping: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly path: string,
    private readonly onFrame: (f: LiveFrame) => void,
    private readonly onState: (s: LinkState) => void = () => undefined,
  ) {}

  start(): this {
    this.open();
    return this;
  }

  private open() {
    if (this.stopped) return;
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}${this.path}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.onState("open");
      this.ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), 25_000);
    });
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      const frame = parseFrame<LiveFrame>(e.data, ["snapshot", "segment", "status", "pong"]);
      if (frame) this.onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (this.ping) clearInterval(this.ping);
      this.ping = null;
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      this.attempt += 1;
      this.onState("reconnecting");
      const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempt - 1, 6)) * (0.75 + Math.random() * 0.5);
      this.retry = setTimeout(() => this.open(), delay);
    });
  }

  stop() {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.ping) clearInterval(this.ping);
    this.onState("closed");
    try {
      this.ws?.close(1000, "done");
    } catch {
      // already closed
    }
    this.ws = null;
  }
}
