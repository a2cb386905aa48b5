// A watcher socket that stays connected: exponential backoff with jitter, a fresh snapshot on every
// reconnect (the server sends one first), pings so idle proxies keep it open.
//
// It stops reconnecting when retrying cannot help:
// - the server closed it with 4403 ("access ended": key revoked, member removed, role or password
//   changed). The sign-in is checked again: when it is gone the app shows the sign-in screen; when
//   the role no longer watches live the app adopts the new role; only when access still holds (a
//   check that failed on the server's side) does the socket reconnect.
// - the server closed it with 4410 (the session's data was deleted): nothing left to watch.
// - the upgrade itself failed twice in a row (a browser reports 401/403/404 upgrades only as a
//   close, 1006): the sign-in is checked the same way before trying again.
import { ACCESS_ENDED_CODE, SESSION_DELETED_CODE } from "../../shared/close-codes";
import { parseFrame } from "../shared/frames";
import { recheckAccess } from "./api";
import { can } from "./roles";
import type { LiveFrame } from "./types";

/** `denied`: the server ended this watcher's access; `gone`: the session's data was deleted. */
export type LinkState = "connecting" | "open" | "reconnecting" | "closed" | "denied" | "gone";

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  /** Consecutive connection attempts that closed without ever opening. */
  private failedUpgrades = 0;
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
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      this.attempt = 0;
      this.failedUpgrades = 0;
      this.onState("open");
      this.ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), 25_000);
    });
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      const frame = parseFrame<LiveFrame>(e.data, ["snapshot", "segment", "status", "session_removed", "pong"]);
      if (frame) this.onFrame(frame);
    });
    ws.addEventListener("close", (e) => {
      if (this.ping) clearInterval(this.ping);
      this.ping = null;
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      if (e.code === SESSION_DELETED_CODE) return this.halt("gone");
      if (!opened) this.failedUpgrades += 1;
      if (e.code === ACCESS_ENDED_CODE || this.failedUpgrades >= 2) return void this.checkAccess();
      this.scheduleRetry();
    });
  }

  private scheduleRetry() {
    if (this.stopped) return;
    this.attempt += 1;
    this.onState("reconnecting");
    const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempt - 1, 6)) * (0.75 + Math.random() * 0.5);
    this.retry = setTimeout(() => this.open(), delay);
  }

  /** Asks the server whether this watcher may still watch; stops for good when not. */
  private async checkAccess() {
    this.onState("reconnecting");
    let me;
    try {
      me = await recheckAccess();
    } catch {
      // The server could not answer: keep trying with backoff, and check again next time.
      this.failedUpgrades = 0;
      return this.scheduleRetry();
    }
    if (this.stopped) return;
    if (!me || !can(me.principal.role, "watchLive")) return this.halt("denied");
    this.failedUpgrades = 0;
    this.scheduleRetry();
  }

  private halt(state: LinkState) {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.onState(state);
  }

  stop() {
    const wasStopped = this.stopped;
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.ping) clearInterval(this.ping);
    if (!wasStopped) this.onState("closed");
    try {
      this.ws?.close(1000, "done");
    } catch {
      // already closed
    }
    this.ws = null;
  }
}
