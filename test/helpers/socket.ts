// A participant or watcher socket inside workerd, with frame waiting that always times out clearly.
import { exports } from "cloudflare:workers";
import { BASE } from "./api";

export class TestSocket {
  frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (e) => {
      this.frames.push(JSON.parse(String(e.data)));
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }
  /** Waits for a frame matching `pred` that arrived after index `from`; returns it. */
  async next(pred: (f: any) => boolean, what: string, from = 0, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  async closedWithin(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("socket did not close");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }
  close() {
    try {
      this.ws.close(1000, "test done");
    } catch {
      /* already closed */
    }
  }
}

export async function upgrade(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { headers: { Upgrade: "websocket", ...headers } }));
  return res;
}

export async function openSocket(path: string, headers: Record<string, string> = {}) {
  const res = await upgrade(path, headers);
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade ${path}: ${res.status} ${await res.text()}`);
  return new TestSocket(res.webSocket);
}
