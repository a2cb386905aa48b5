// One spoken answer on its way to the session object (CONTRACT.md: answer_start, binary PCM
// frames, answer_end). Every captured frame stays in memory until an audio_ack says the server
// holds it durably; after a reconnect (or a refused frame) the answer is reopened with the same
// id and sent again from the byte offset the server reports, so nothing acknowledged is lost and
// nothing is stored twice. No DOM in here: the socket and the clock are injected, for tests.

export interface Link {
  /** The socket is open and hello has been sent on it. */
  isOpen(): boolean;
  sendJson(frame: Record<string, unknown>): void;
  sendBinary(bytes: Uint8Array): void;
  /** Bytes queued in the socket but not yet on the wire (WebSocket.bufferedAmount). */
  buffered(): number;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type UplinkEvent =
  | { type: "acked"; seq: number }
  /**
   * answer_start or answer_end was refused; `code` says why (e.g. INVALID_TRANSITION while paused,
   * VOICE_NOT_AVAILABLE, ANSWER_RECORDING_ELSEWHERE: another window is recording this answer, and
   * nothing more is sent until `takeOver()`).
   */
  | { type: "refused"; code: string; message: string; during: "start" | "end" }
  /** answer_end found no audio (EMPTY_ANSWER) or the answer hit a size limit: the page decides. */
  | { type: "problem"; code: string; message: string }
  /** Durable bytes changed (for progress displays). */
  | { type: "progress"; acked: number; captured: number };

export interface UplinkOptions {
  link: Link;
  /** The seq of the question answered: the session refuses the answer if it is no longer open (STALE_ANSWER). */
  questionSeq?: number;
  clock?: Clock;
  onEvent?: (e: UplinkEvent) => void;
  /** Client-side pacing, kept under the server's cap (4× real time, 30 s burst). */
  burstBytes?: number;
  bytesPerSecond?: number;
  /** Frames are held back while the socket has more than this queued. */
  maxBuffered?: number;
  /** Live audio is sent once this much is waiting (fewer, larger messages); all of it at the end. */
  coalesceBytes?: number;
}

export const BYTES_PER_SECOND = 32_000; // 16 kHz × 16 bit, mono
export const MAX_FRAME_BYTES = 64 * 1024;
const DEFAULT_BURST = 20 * BYTES_PER_SECOND;
const DEFAULT_RATE = 3 * BYTES_PER_SECOND;
const DEFAULT_MAX_BUFFERED = 256 * 1024;
/**
 * 250 ms: the worklet's 100 ms frames go out about three to a message. Each socket message has a
 * fixed cost on the server (and Durable Objects bill WebSocket messages), while the acknowledged
 * offset only moves every couple of seconds, so waiting this long loses nothing.
 */
const DEFAULT_COALESCE = 8_000;
/** Merged messages stay well under the 64 KiB frame limit. */
const MAX_MERGED = 32 * 1024;

function joinBytes(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Error codes a spoken answer handles itself (the page shows none of their raw messages). */
export const AUDIO_ERROR_CODES = new Set([
  "AUDIO_RATE_LIMITED",
  "AUDIO_STORE_FAILED",
  "AUDIO_NOT_ACCEPTED",
  "ANSWER_IN_PROGRESS",
  "ANSWER_RECORDING_ELSEWHERE",
  "ANSWER_ENDED",
  "NO_OPEN_ANSWER",
  "EMPTY_ANSWER",
  "ANSWER_TOO_LONG",
  "SESSION_AUDIO_LIMIT",
  "INVALID_AUDIO",
  "EMPTY_FRAME",
  "VOICE_NOT_AVAILABLE",
  "AUDIO_UNAVAILABLE",
]);

const browserClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

type Handshake = "none" | "waiting" | "ready" | "backoff" | "refused";

export class AnswerUplink {
  id: string;
  /** Captured frames not yet covered by an audio_ack, each with its absolute byte offset. */
  private frames: { at: number; bytes: Uint8Array }[] = [];
  /** Absolute offset of the end of the captured audio. */
  private captured = 0;
  /** Bytes the server has acknowledged as durable. */
  private acked = 0;
  /** On the current socket, everything before this offset has been sent. */
  private sentTo = 0;
  /** False until the first answer_start reply: a reopened answer (page reload) may already hold audio. */
  private anchored = false;
  private handshake: Handshake = "none";
  private endText: string | null | undefined = undefined;
  private endSent = false;
  private done = false;
  private cancelled = false;
  /** The server's size limit was reached: nothing more is sent. */
  private full = false;
  /**
   * Another window is recording this answer (ANSWER_RECORDING_ELSEWHERE): this one sends nothing
   * and does not reopen by itself (that would take the answer back) until `takeOver()`.
   */
  private elsewhere = false;
  /** The participant asked to record here: answer_start carries takeOver until the server agrees. */
  private takingOver = false;
  /** What this window held was dropped when the answer went elsewhere: the next answer_start reply sets the offsets. */
  private rebase = false;
  private timer: unknown = null;
  private backoffMs = 0;
  private tokens: number;
  private tokensAt: number;
  private readonly link: Link;
  private readonly clock: Clock;
  private readonly burst: number;
  /** Pacing rate; lowered each time the server still says AUDIO_RATE_LIMITED (never below 1.25× real time). */
  private rate: number;
  /** The offset the answer was last reopened from after a refusal: the back-off resets once past it. */
  private recoveredFrom = -1;
  private readonly maxBuffered: number;
  private readonly coalesce: number;
  /** For tests and diagnostics. */
  readonly stats = { starts: 0, framesSent: 0, bytesSent: 0, resent: 0, rateLimited: 0 };

  constructor(id: string, private readonly opts: UplinkOptions) {
    this.id = id;
    this.link = opts.link;
    this.clock = opts.clock ?? browserClock;
    this.burst = opts.burstBytes ?? DEFAULT_BURST;
    this.rate = opts.bytesPerSecond ?? DEFAULT_RATE;
    this.maxBuffered = opts.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.coalesce = opts.coalesceBytes ?? DEFAULT_COALESCE;
    this.tokens = this.burst;
    this.tokensAt = this.clock.now();
  }

  get capturedBytes() {
    return this.captured;
  }
  get ackedBytes() {
    return this.acked;
  }
  get finished() {
    return this.done;
  }
  get ending() {
    return this.endText !== undefined;
  }
  /** Bytes held in memory, waiting for an acknowledgement. */
  get pendingBytes() {
    return this.frames.reduce((n, f) => n + f.bytes.byteLength, 0);
  }

  /** Another window is recording this answer: nothing is sent until takeOver(). */
  get recordingElsewhere() {
    return this.elsewhere;
  }

  /** Opens the answer on the server (or reopens it after a drop). */
  open() {
    if (this.done || this.cancelled || this.elsewhere) return;
    this.clearTimer();
    if (!this.link.isOpen()) {
      this.handshake = "none";
      return;
    }
    this.handshake = "waiting";
    this.stats.starts += 1;
    this.link.sendJson({ type: "answer_start", id: this.id, ...(this.opts.questionSeq !== undefined ? { questionSeq: this.opts.questionSeq } : {}), ...(this.takingOver ? { takeOver: true } : {}) });
  }

  /**
   * "Record here instead": moves the answer from the window recording it to this one (answer_start
   * with takeOver) and continues after what the server holds, as a reopen does. The other window's
   * frames are refused from then on, and it does not take the answer back by itself.
   */
  takeOver() {
    if (this.done || this.cancelled) return;
    this.elsewhere = false;
    this.takingOver = true;
    this.open();
  }

  /** Adds captured PCM (16-bit LE, 16 kHz, mono); large blocks are split to ≤ 64 KiB frames. */
  push(pcm: Uint8Array) {
    // While another window records the answer, this window's audio is no part of it.
    if (this.done || this.cancelled || this.full || this.ending || this.elsewhere || pcm.byteLength === 0) return;
    const even = pcm.byteLength - (pcm.byteLength % 2);
    for (let o = 0; o < even; o += MAX_FRAME_BYTES) {
      const bytes = pcm.subarray(o, Math.min(even, o + MAX_FRAME_BYTES));
      this.frames.push({ at: this.captured, bytes });
      this.captured += bytes.byteLength;
    }
    this.pump();
  }

  /** No more audio: answer_end (with the browser's transcript, when it has one) once all is sent. */
  end(text?: string | null) {
    if (this.done || this.cancelled || this.elsewhere) return;
    this.endText = text?.trim() ? text.trim().slice(0, 20_000) : null;
    this.endSent = false;
    if (this.handshake === "refused") return this.open();
    this.pump();
  }

  /** After EMPTY_ANSWER: keep recording into the same answer. */
  reopenForMore() {
    this.endText = undefined;
    this.endSent = false;
  }

  /** The page moved on (another question, interview over): stop everything, keep nothing. */
  cancel() {
    this.cancelled = true;
    this.clearTimer();
    this.frames = [];
  }

  /** A new socket has said hello. */
  linkUp() {
    if (this.done || this.cancelled) return;
    this.endSent = false;
    this.open();
  }

  /** The socket dropped: whatever was not acknowledged is sent again on the next one. */
  linkDown() {
    if (this.handshake !== "refused") this.handshake = "none";
    this.endSent = false;
    this.clearTimer();
  }

  /** Every server frame passes through here; returns true when it was this answer's. */
  onFrame(f: { type: string; id?: string; bytes?: number; seq?: number; code?: string; message?: string; answerId?: string }): boolean {
    if (this.cancelled) return false;
    // An error that names another answer (a stale one from before a reload) is not about this one.
    if (f.type === "error" && f.answerId !== undefined && f.answerId !== this.id) return false;
    if (f.type === "audio_ack" && f.id === this.id && typeof f.bytes === "number") {
      this.onAudioAck(f.bytes);
      return true;
    }
    if (f.type === "ack" && f.id === this.id) {
      if (!this.done) {
        this.done = true;
        this.frames = [];
        this.acked = Math.max(this.acked, this.captured);
        this.clearTimer();
        this.opts.onEvent?.({ type: "acked", seq: f.seq ?? 0 });
      }
      return true;
    }
    if (f.type === "error" && f.code) return this.onError(f.code, f.message ?? "");
    return false;
  }

  private onAudioAck(bytes: number) {
    // Another window's progress (an ack already on its way when the answer moved): not ours to count.
    if (this.elsewhere) return;
    if (this.handshake === "waiting") {
      this.takingOver = false;
      // The reply to answer_start: how much of this answer is already durable.
      if (this.rebase) {
        // Taken back from another window: what is captured from now on continues after everything it stored.
        this.rebase = false;
        this.anchored = true;
        const delta = Math.max(0, bytes - this.acked);
        for (const f of this.frames) f.at += delta;
        this.captured += delta;
        this.sentTo = this.acked = Math.max(this.acked, Math.min(bytes, this.captured));
      } else if (!this.anchored) {
        this.anchored = true;
        if (bytes > 0 && this.acked === 0) {
          // A reopened answer (the page was reloaded mid-answer): new audio continues after it.
          for (const f of this.frames) f.at += bytes;
          this.captured += bytes;
        }
      }
      this.handshake = "ready";
      if (this.backoffMs) this.recoveredFrom = bytes;
      if (bytes < this.acked) {
        // Cannot happen with a consistent server; resend what we still hold.
        this.sentTo = Math.min(bytes, this.frames[0]?.at ?? this.captured);
      } else this.sentTo = bytes;
      if (this.sentTo < this.captured) this.stats.resent += this.captured - this.sentTo;
    }
    this.acked = Math.max(this.acked, bytes);
    // A chunk made durable after a refusal: the server is keeping up again.
    if (this.backoffMs && this.recoveredFrom >= 0 && this.acked > this.recoveredFrom) {
      this.backoffMs = 0;
      this.recoveredFrom = -1;
    }
    this.sentTo = Math.max(this.sentTo, Math.min(this.acked, this.captured));
    while (this.frames.length && this.frames[0]!.at + this.frames[0]!.bytes.byteLength <= this.acked) this.frames.shift();
    this.opts.onEvent?.({ type: "progress", acked: this.acked, captured: this.captured });
    this.pump();
  }

  private onError(code: string, message: string): boolean {
    switch (code) {
      case "AUDIO_RATE_LIMITED":
      case "AUDIO_STORE_FAILED":
      case "AUDIO_NOT_ACCEPTED": {
        // A frame was dropped (its successors may have been kept): reopen, which discards what the
        // server had not made durable, and resend from its offset after a pause. (Not while another
        // window records the answer: refusals of frames sent before it moved change nothing.)
        if (this.handshake === "backoff" || this.done || this.elsewhere) return true;
        if (code === "AUDIO_RATE_LIMITED") {
          this.stats.rateLimited += 1;
          this.rate = Math.max(1.25 * BYTES_PER_SECOND, this.rate * 0.7);
          this.tokens = 0;
          this.tokensAt = this.clock.now();
        }
        this.handshake = "backoff";
        this.endSent = false;
        this.backoffMs = Math.min(8_000, this.backoffMs ? this.backoffMs * 2 : 1_000);
        this.schedule(this.backoffMs * (0.8 + Math.random() * 0.4), () => this.open());
        return true;
      }
      case "ANSWER_IN_PROGRESS": {
        // Another answer of ours is open on the server (started before a reload whose id was
        // lost): continue that one, so the interview is not stuck behind it.
        if (this.handshake !== "waiting") return false;
        const other = /finish answer (\S+) first/.exec(message)?.[1];
        if (other && other !== this.id) {
          this.id = other;
          this.anchored = false;
          this.open();
          return true;
        }
        this.handshake = "refused";
        this.opts.onEvent?.({ type: "refused", code, message, during: "start" });
        return true;
      }
      case "ANSWER_RECORDING_ELSEWHERE": {
        // Another window is recording this answer (or took it deliberately): stop, never reopen by
        // ourselves, and let the participant choose. What this window captured and the server did
        // not acknowledge is dropped: were the answer taken back, it would land after the other
        // window's audio, out of order; the server kept everything it had received before the move.
        if (this.done) return true;
        if (this.elsewhere) return true;
        const during = this.handshake === "waiting" || !this.endSent ? "start" : "end";
        this.clearTimer();
        this.elsewhere = true;
        this.takingOver = false;
        this.handshake = "refused";
        this.endSent = false;
        this.endText = undefined;
        this.frames = [];
        this.captured = this.acked;
        this.sentTo = this.acked;
        this.rebase = true;
        this.opts.onEvent?.({ type: "refused", code, message, during });
        return true;
      }
      case "ANSWER_ENDED":
      case "VOICE_NOT_AVAILABLE":
      case "AUDIO_UNAVAILABLE":
      case "NO_OPEN_QUESTION":
      case "STALE_ANSWER":
      case "INVALID_TRANSITION":
      {
        if (this.handshake !== "waiting" && !(this.endSent && code === "INVALID_TRANSITION")) return false;
        const during = this.handshake === "waiting" ? "start" : "end";
        if (during === "start") this.handshake = "refused";
        // The page asks again (end() after a resume); an old request must not end the answer early.
        this.endSent = false;
        this.endText = undefined;
        this.opts.onEvent?.({ type: "refused", code, message, during });
        return true;
      }
      case "EMPTY_ANSWER":
      case "NO_OPEN_ANSWER":
        if (!this.endSent) return false;
        this.endSent = false;
        this.endText = undefined;
        this.opts.onEvent?.({ type: "problem", code, message });
        return true;
      case "ANSWER_TOO_LONG":
      case "SESSION_AUDIO_LIMIT":
        // Nothing more fits: what the server took is the answer; the rest is dropped.
        this.full = true;
        this.frames = this.frames.filter((f) => f.at < this.sentTo);
        this.captured = Math.min(this.captured, this.sentTo);
        this.opts.onEvent?.({ type: "problem", code, message });
        return true;
      default:
        return false;
    }
  }

  /** Sends what the socket, the pacing and the handshake allow; schedules itself for the rest. */
  pump() {
    if (this.done || this.cancelled) return;
    if (this.handshake === "none") {
      if (this.link.isOpen()) this.open();
      return;
    }
    if (this.handshake !== "ready" || !this.link.isOpen()) return;
    this.clearTimer();
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
    this.tokensAt = now;
    // While the answer goes on, wait until enough is captured to be worth a message.
    if (this.endText === undefined && this.captured - this.sentTo < this.coalesce) return;
    let parts: Uint8Array[] = [];
    let size = 0;
    let upTo = this.sentTo;
    /** Sends the merged parts; false when the socket or the pacing says to wait (rescheduled). */
    const send = (): boolean => {
      if (!size) return true;
      if (this.link.buffered() > this.maxBuffered) {
        this.schedule(50, () => this.pump());
        return false;
      }
      if (size > this.tokens) {
        this.schedule(Math.ceil(((size - this.tokens) / this.rate) * 1000) + 5, () => this.pump());
        return false;
      }
      this.tokens -= size;
      this.link.sendBinary(joinBytes(parts, size));
      this.stats.framesSent += 1;
      this.stats.bytesSent += size;
      this.sentTo = upTo;
      parts = [];
      size = 0;
      return true;
    };
    for (const f of this.frames) {
      const end = f.at + f.bytes.byteLength;
      if (end <= upTo) continue;
      const bytes = f.at >= upTo ? f.bytes : f.bytes.subarray(upTo - f.at);
      if (size + bytes.byteLength > MAX_MERGED && !send()) return;
      parts.push(bytes);
      size += bytes.byteLength;
      upTo = end;
    }
    if (!send()) return;
    if (this.endText !== undefined && !this.endSent && this.sentTo >= this.captured) {
      this.endSent = true;
      this.link.sendJson(this.endText ? { type: "answer_end", id: this.id, text: this.endText } : { type: "answer_end", id: this.id });
    }
  }

  private schedule(ms: number, fn: () => void) {
    this.clearTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private clearTimer() {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
