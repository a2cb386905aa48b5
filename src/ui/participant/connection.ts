// The participant's socket: reconnects with backoff, replays from lastSeq, resends answers that
// were not acknowledged, and keeps the session alive with pings. A ping without a pong in time,
// or the browser going offline, counts as a dead socket: it is dropped and reconnected. No UI in here.
import { parseFrame } from "../shared/frames";
import { SESSION_DELETED_CODE } from "../../shared/close-codes";

const SERVER_FRAME_TYPES = ["state", "question", "ack", "paused", "resumed", "ended", "error", "audio_ack", "pong"] as const;

export type ServerFrame =
  | { type: "state"; seq: number; status: string; questionIndex: number; totalQuestions: number }
  | { type: "question"; seq: number; index: number; text: string; followUp: boolean; audio?: string }
  | { type: "ack"; seq: number; id: string }
  | { type: "paused"; seq: number; by: "participant" | "admin"; reason: string | null }
  | { type: "resumed"; seq: number }
  | { type: "ended"; seq: number; status: "completed" | "abandoned"; reason: string }
  /** `answerId` (an extension) names the answer the error is about. */
  | { type: "error"; code: string; message: string; answerId?: string }
  | { type: "audio_ack"; id: string; bytes: number }
  | { type: "pong" };

export interface ConnectionOptions {
  url: string;
  onFrame: (f: ServerFrame) => void;
  onStatus: (s: "connecting" | "open" | "reconnecting" | "closed", attempt: number) => void;
  /** Every frame as it arrives, replayed duplicates included (a reopened answer may be acked with an old seq). */
  onRaw?: (f: ServerFrame) => void;
  /** A socket is open and hello has gone out on it (spoken answers reopen themselves here). */
  onOpen?: () => void;
  /**
   * This page load's id, sent in every hello (an extension): the server tells a reconnect of this
   * page from another window by it, and keeps a spoken answer with the window recording it.
   */
  client?: string;
  /** Frames already seen (from a previous page load), so replay starts after them. */
  lastSeq?: number;
  pingMs?: number;
  /** A socket that answers no ping within this long is dead (network gone without a close). */
  pongTimeoutMs?: number;
}

/** Errors after which an answer is not resent: it was refused for good (the page tells the participant). */
export const DROPPED_ANSWER_CODES: ReadonlySet<string> = new Set(["STALE_ANSWER", "INVALID_FRAME", "ANSWER_IN_PROGRESS", "ANSWER_RECORDING_ELSEWHERE"]);

/**
 * A random id for this page load (16 URL-safe characters, 96 bits): kept in memory only, so a
 * reload, a second tab and a duplicated tab (which copies sessionStorage) each get their own.
 */
export function newClientId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => alphabet[b & 63]).join("");
}

const PING = JSON.stringify({ type: "ping" });

export class ParticipantConnection {
  private ws: WebSocket | null = null;
  private lastSeq: number;
  private attempt = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;
  /** Answers sent but not yet acknowledged, in order; resent after every reconnect. */
  readonly pending = new Map<string, Record<string, unknown>>();
  /** Other frames (consent, start, pause, resume) given while the socket was down: sent after the next hello. */
  private queued: string[] = [];

  constructor(private readonly opts: ConnectionOptions) {
    this.lastSeq = opts.lastSeq ?? 0;
  }

  get seq() {
    return this.lastSeq;
  }

  connect() {
    if (this.ended) return;
    this.retryTimer = null;
    this.opts.onStatus(this.attempt === 0 ? "connecting" : "reconnecting", this.attempt);
    const ws = new WebSocket(this.opts.url);
    this.ws = ws;
    // Events of a socket given up on (dead, replaced) are ignored.
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      ws.send(JSON.stringify(this.opts.client ? { type: "hello", lastSeq: this.lastSeq, client: this.opts.client } : { type: "hello", lastSeq: this.lastSeq }));
      for (const body of this.queued.splice(0)) ws.send(body);
      this.opts.onStatus("open", 0);
      this.opts.onOpen?.();
      this.pingTimer = setInterval(() => this.ping(), this.opts.pingMs ?? 20_000);
    });
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => {
      if (this.ws !== ws) return;
      if (typeof e.data === "string") this.receive(e.data);
    });
    ws.addEventListener("close", (e) => {
      if (this.ws === ws) this.closed(e.code);
    });
  }

  /**
   * A ping that must be answered within pongTimeoutMs. Only a pong answers it: any other frame may
   * have left the server before the network went, and taking it as a sign of life let a dead
   * socket go unnoticed until the next periodic ping (up to 28 s) after an answer.
   */
  private ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(PING);
    this.pongTimer ??= setTimeout(() => this.dead(), this.opts.pongTimeoutMs ?? 8_000);
  }

  private alive() {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  /** The socket says nothing back (the network went away without a close): give it up and reconnect. */
  private dead() {
    this.pongTimer = null;
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(4000, "no pong");
    } catch {
      // already closing
    }
    this.closed(4000);
  }

  /** The browser lost the network: the socket cannot be trusted, so it is given up at once. */
  offline() {
    if (this.ended || !this.ws) return;
    this.dead();
  }

  /** The browser is back online: reconnect now rather than after the backoff, or check an open socket. */
  online() {
    if (this.ended) return;
    if (this.ws?.readyState === WebSocket.OPEN) return this.ping();
    if (this.ws) return; // a connection attempt is under way
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.connect();
  }

  private receive(data: string) {
    const f = parseFrame<ServerFrame>(data, SERVER_FRAME_TYPES);
    if (!f) return;
    if (f.type === "pong") this.alive();
    this.opts.onRaw?.(f);
    if ("seq" in f && typeof f.seq === "number") {
      // Replayed frames we already handled are skipped; the state frame after hello repeats the current seq.
      if (f.type !== "state" && f.seq <= this.lastSeq) return;
      this.lastSeq = Math.max(this.lastSeq, f.seq);
    }
    if (f.type === "ack") this.pending.delete(f.id);
    // An answer refused for good (stale, or not valid) is not resent after every state frame.
    if (f.type === "error" && f.answerId !== undefined && DROPPED_ANSWER_CODES.has(f.code)) this.pending.delete(f.answerId);
    if (f.type === "state") this.resendPending();
    if (f.type === "ended") this.ended = true;
    this.opts.onFrame(f);
  }

  private resendPending() {
    for (const frame of this.pending.values()) this.raw(JSON.stringify(frame));
  }

  private closed(code: number) {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.alive();
    this.ws = null;
    // A session whose data was deleted is gone for good: nothing to reconnect to.
    if (code === SESSION_DELETED_CODE) this.ended = true;
    if (this.ended) {
      this.opts.onStatus("closed", 0);
      return;
    }
    this.attempt += 1;
    const delay = Math.min(10_000, 500 * 2 ** (this.attempt - 1)) * (0.75 + Math.random() * 0.5);
    this.opts.onStatus("reconnecting", this.attempt);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** The socket is open and hello has been sent. */
  isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Bytes handed to the socket and not yet sent. */
  buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** A binary frame (spoken audio); dropped when the socket is down (the uplink resends it). */
  sendBinary(bytes: Uint8Array): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(bytes as Uint8Array<ArrayBuffer>);
    return true;
  }

  /** A frame that only makes sense on the current socket (never queued for the next one). */
  sendNow(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private raw(body: string) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(body);
  }

  send(frame: Record<string, unknown>) {
    const body = JSON.stringify(frame);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(body);
    else if (!this.ended) this.queued.push(body);
  }

  /**
   * Sends an answer that is kept until acknowledged, surviving reconnects. `questionSeq` (the seq
   * of the question frame it answers) lets the server refuse it once the interview moved on.
   * A ping goes with it, so a dead socket is found within pongTimeoutMs rather than at the next ping.
   */
  answer(id: string, text: string, questionSeq?: number) {
    const frame = questionSeq === undefined ? { type: "answer", id, text } : { type: "answer", id, text, questionSeq };
    this.pending.set(id, frame);
    this.raw(JSON.stringify(frame));
    this.ping();
  }

  /** For tests and fault drills: drop the socket as a network would. */
  drop() {
    this.ws?.close(4001, "dropped");
  }

  leave() {
    this.raw(JSON.stringify({ type: "leave" }));
  }

  stop() {
    this.ended = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.alive();
    if (this.ws) this.ws.close(1000, "done");
    else this.opts.onStatus("closed", 0);
  }
}
