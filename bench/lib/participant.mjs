// A scripted participant on the session socket (CONTRACT.md, participant flow): connect, hello,
// consent, start; then, once told to go, answer every question the moment it arrives.
import { now, think } from "./stats.mjs";
import { openSocket, wsUrl } from "./wsutil.mjs";

const FILLER =
  "We mostly use it on Mondays to plan the week, and it saved us when a client moved a deadline last month.";

/** A realistic typed answer (~130 characters) carrying its id, so a watcher can tell which answer a segment is. */
export const answerText = (id) => `[${id}] ${FILLER}`;
export const idFromText = (text) => /^\[([^\]]+)\]/.exec(text)?.[1] ?? null;

export class Participant {
  constructor(base, joined, { onAck, onError, sentAt, thinkMs = 0 }) {
    /** About how long a participant takes to answer a question (0: at once). */
    this.thinkMs = thinkMs;
    this.base = base;
    this.sessionId = joined.sessionId;
    this.participantToken = joined.participantToken;
    this.consentRequired = joined.consentRequired;
    this.totalQuestions = joined.totalQuestions;
    this.onAck = onAck;
    this.onError = onError;
    /** answer id → send time (shared with the watchers). */
    this.sentAt = sentAt;
    this.ws = null;
    this.question = null;
    this.running = false;
    /** Set by the bench at the end of the measured window: no new answers, in-flight ones still count. */
    this.stopped = false;
    this.answered = 0;
    this.acked = 0;
    this.ended = null;
    this.errors = [];
  }

  /** Connects, says hello, consents and starts; resolves when the first question is on screen. */
  async ready(timeoutMs = 30_000) {
    this.ws = await openSocket(wsUrl(this.base, `/v1/sessions/${this.sessionId}/connect?token=${encodeURIComponent(this.participantToken)}`), {
      onMessage: (data) => this.onFrame(JSON.parse(String(data))),
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`session ${this.sessionId}: no first question within ${timeoutMs} ms`)), timeoutMs);
      this.settleReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.ws.on("close", (code, reason) => {
        if (!this.ended) {
          const err = new Error(`session ${this.sessionId}: socket closed before the end (${code} ${String(reason)})`);
          this.errors.push(err.message);
          this.finish?.(err);
          clearTimeout(timer);
          reject(err);
        }
      });
      this.ws.send(JSON.stringify({ type: "hello" }));
    });
  }

  onFrame(f) {
    switch (f.type) {
      case "state":
        if (f.status === "created" && !this.startSent) {
          this.startSent = true;
          if (this.consentRequired) this.ws.send(JSON.stringify({ type: "consent", granted: true }));
          this.ws.send(JSON.stringify({ type: "start" }));
        }
        return;
      case "question":
        this.question = f;
        if (!this.running) this.settleReady?.();
        else if (this.thinkMs > 0) setTimeout(() => this.answer(), think(this.thinkMs));
        else this.answer();
        return;
      case "ack": {
        const sent = this.sentAt.get(f.id);
        if (sent !== undefined) this.onAck(now() - sent, f.id);
        this.acked += 1;
        if (this.stopped && this.acked >= this.answered) this.finish?.(null);
        return;
      }
      case "ended":
        this.ended = f;
        this.finish?.(null);
        return;
      case "error":
        this.errors.push(`${f.code}: ${f.message}`);
        this.onError?.(f);
        return;
      default:
        return;
    }
  }

  answer() {
    const q = this.question;
    if (!q) return;
    if (this.stopped) return this.finish?.(null);
    this.question = null;
    const id = `a-${this.sessionId.slice(4)}-${q.seq}`;
    this.answered += 1;
    this.sentAt.set(id, now());
    this.ws.send(JSON.stringify({ type: "answer", id, text: answerText(id) }));
  }

  /** Answers every question as it arrives; resolves on `ended`, or once stopped with nothing in flight (rejects when the socket dies). */
  run(timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`session ${this.sessionId}: not ended within ${timeoutMs} ms`)), timeoutMs);
      this.finish = (err) => {
        clearTimeout(timer);
        this.finish = null;
        if (err) reject(err);
        else resolve(this.ended ?? null);
      };
      if (this.ended || this.stopped) return this.finish(null);
      this.running = true;
      // Paced participants read the first question before answering it too; answering it at once
      // would make every participant's first answer arrive in the same instant, a burst at the
      // start of the paced run that no real campaign sees.
      if (this.thinkMs > 0) setTimeout(() => this.answer(), think(this.thinkMs));
      else this.answer();
    });
  }
}
