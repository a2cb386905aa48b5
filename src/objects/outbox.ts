// The object's outbox: the D1 mirror (coalesced to the newest version) and queue messages,
// written with the transition that caused them and retried with backoff until they land.
import type { Limits, MachineState } from "./machine";
import type { MirrorWriter } from "./mirror";
import type { MirrorMark, SessionStore } from "./store";
import { mirrorRow, type SessionMeta } from "./view";

const MAX_BACKOFF_MS = 60_000;
/**
 * Progress within a status (answers, signs of life) reaches the index at most this often; status
 * changes go at once. Listing and filtering need the status promptly, the counts eventually.
 */
export const MIRROR_COALESCE_MS = 2_000;
const backoff = (attempts: number) => Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts);

/**
 * Messages only an answer produces (its analysis) wait up to this long, from the first of them, to
 * go in one send with the next ones; a status change or a transcription sends everything at once.
 */
export const QUEUE_COALESCE_MS = MIRROR_COALESCE_MS;

/**
 * A coalescing window ends on an in-memory timer, which costs no storage write; the alarm, which
 * costs one each time it moves, is only the backstop for an object evicted before its timer fired:
 * held items then go at most this long after they began to wait (or at the next event, or with
 * the heartbeat deadline, whichever comes first).
 */
export const COALESCE_BACKSTOP_MS = 60_000;

/**
 * A flush's successes (messages sent, mirror written) are stored with the next transition's
 * commit, or on their own after this long: until then the object knows they are done; lost with
 * it, they are sent again, which the consumer and the versioned mirror upsert make harmless.
 */
export const SETTLE_MS = 2_000;

/**
 * Each object's coalescing windows last between 0.75× and 1.25× the nominal window (2 s on
 * average, as before): sessions that started together (a panel sent out at once, or a load test)
 * would otherwise all flush within the same second, a burst every other session waits behind.
 */
export const COALESCE_JITTER = 0.25;
const windowJitter = () => 1 - COALESCE_JITTER + Math.random() * 2 * COALESCE_JITTER;

export class Outbox {
  private readonly jitter = windowJitter();
  private flushing: Promise<void> | null = null;
  private again = false;
  /** Whether every flush asked for while one ran may wait (see QUEUE_COALESCE_MS). */
  private againLazy = true;
  /**
   * Since when the oldest unsent answer analysis has waited (null: none is waiting, or this object
   * just woke up, so pending messages go at once). Timed from the answer, not from the last send:
   * sessions that started together would otherwise keep flushing in step, every 2 s, as one burst.
   */
  private waitingSince: number | null = null;
  /** The in-memory timer that ends the earliest coalescing window (lost with the object: see COALESCE_BACKSTOP_MS). */
  private wake: { at: number; timer: ReturnType<typeof setTimeout> } | null = null;
  private settleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly store: SessionStore,
    /** Read at each send (tests put a recording queue in place of the binding). */
    private readonly queue: () => Queue<unknown>,
    private readonly limits: Limits,
    /** The live session, or null once its data is erased. */
    private readonly current: () => { meta: SessionMeta; state: MachineState } | null,
    /** Replaceable in tests to simulate a failing D1. */
    public mirrorWriter: MirrorWriter,
    /** Runs after a flush the coalescing timer started (the session re-arms its alarm). */
    private readonly afterWake: () => Promise<void> = async () => {},
  ) {}

  /** Resolves when no flush is running (erase waits for this before deleting the index row). */
  idle(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  /**
   * One flush at a time, or the alarm's flush and a transition's would send the same item
   * twice; a flush asked for meanwhile runs once more after it, and its caller waits for that.
   */
  flush(opts: { lazy?: boolean } = {}): Promise<void> {
    const lazy = opts.lazy ?? false;
    if (this.flushing) {
      this.again = true;
      this.againLazy &&= lazy;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        let mayWait = lazy;
        let more = false;
        do {
          this.again = false;
          more = await this.flushOnce(mayWait);
          mayWait = this.againLazy;
          this.againLazy = true;
        } while (this.again || more);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** A coalescing window of this object (whole milliseconds). */
  private window = (nominalMs: number) => Math.round(nominalMs * this.jitter);

  /** When the alarm must next retry something, or null if nothing is pending. */
  nextRetry(now: number): number | null {
    const at: number[] = [];
    const mark = this.store.loadMirror();
    // A failed write retries on its backoff; a change held for coalescing has its timer, and the backstop here.
    if (mark.synced < mark.version) at.push(mark.attempts === 0 && mark.retryAt !== null ? mark.retryAt - this.window(MIRROR_COALESCE_MS) + COALESCE_BACKSTOP_MS : (mark.retryAt ?? now + 1000));
    const queued = this.store.nextOutboxRetry();
    // Never tried (0): held for coalescing (its timer sends it; this is the backstop), or about to go.
    if (queued !== null) at.push(queued || (this.waitingSince ?? now) + COALESCE_BACKSTOP_MS);
    return at.length ? Math.min(...at) : null;
  }

  /** Ends a coalescing window at `at` with an in-memory timer (the earliest window wins). */
  private wakeAt(at: number) {
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = null;
      // Lazy: the other kind's window may still be open, and ends on its own timer.
      void this.flush({ lazy: true }).then(this.afterWake);
    }, Math.max(0, at - Date.now()));
    this.wake = { at, timer };
  }

  /**
   * Writes the mirror and sends the due queue messages side by side, then records both outcomes in
   * one transaction: every storage write after a wait costs the object a commit of its own, so a
   * flush makes one. True if a newer status change is waiting for the mirror (flush again at once).
   */
  private async flushOnce(mayWait: boolean): Promise<boolean> {
    const live = this.current();
    if (!live) return false;
    const now = Date.now();
    const mark = this.mirrorDue(now);
    const due = mayWait && this.holdQueue(now) ? [] : this.store.dueOutbox(now);
    if (!mark && due.length === 0) return false;
    if (due.length > 0) this.waitingSince = null;
    const [mirrored, sent] = await Promise.allSettled([
      mark && this.mirrorWriter.write(mirrorRow(live.meta, live.state, now, this.limits, mark.version)),
      due.length > 0 && this.queue().sendBatch(due.map((item) => ({ body: JSON.parse(item.payload) }))),
    ]);
    if (!this.current()) return false;
    let more = false;
    // Successes are recorded with the next commit (a transition's, or the settle timer's): a commit
    // of their own cost every session an fsync per flush. A failure is recorded at once.
    const later = mirrored.status === "fulfilled" && sent.status === "fulfilled";
    const record = () => {
      if (mark) more = this.recordMirror(mark.version, mirrored, later);
      if (due.length === 0) return;
      if (sent.status === "fulfilled") this.store.removeOutbox(due.map((item) => item.id), later);
      else for (const item of due) this.store.deferOutbox(item.id, item.attempts + 1, Date.now() + backoff(item.attempts + 1));
    };
    if (later) {
      record();
      this.settleSoon();
    } else this.store.transaction(record);
    if (mirrored.status === "rejected") console.warn("session mirror write failed; will retry", { sessionId: live.meta.id, error: String(mirrored.reason) });
    if (sent.status === "rejected") console.warn("queue send failed; will retry", { messages: due.length, error: String(sent.reason) });
    return more;
  }

  /** Whether waiting messages may wait longer (the first to wait starts the window). */
  private holdQueue(now: number): boolean {
    if (this.store.pendingOutbox() === 0) return false;
    this.waitingSince ??= now;
    const window = this.window(QUEUE_COALESCE_MS);
    const held = now - this.waitingSince < window;
    if (held) this.wakeAt(this.waitingSince + window);
    return held;
  }

  /** The mirror mark to write now, or null (in sync, backing off, or coalescing: then its timer is set). */
  private mirrorDue(now: number): MirrorMark | null {
    const mark = this.store.loadMirror();
    if (mark.synced >= mark.version) return null;
    if (mark.retryAt !== null && mark.retryAt > now && mark.attempts > 0) return null;
    if (mark.urgent || mark.lastWriteAt === undefined) return mark;
    // A change already held waits until its time (which an earlier instance of this object, with
    // its own window, may have set); a new one within a window of the last write waits a window,
    // timed from this change, not from the last write, for the same reason as waitingSince.
    const window = this.window(MIRROR_COALESCE_MS);
    const at = mark.retryAt ?? (now - mark.lastWriteAt < window ? now + window : now);
    if (at <= now) return mark;
    if (mark.retryAt === null) this.store.noteMirror({ ...mark, retryAt: at });
    this.wakeAt(at);
    return null;
  }

  /**
   * Writes recorded successes within SETTLE_MS if no transition has taken them along by then. An
   * in-memory timer: the alarm would cost the very commit this saves (a lost timer only means a
   * resend). Timed from the oldest success still waiting: a transition that took earlier ones
   * along leaves the timer running, and it then waits out the newer ones' time instead of committing early.
   */
  private settleSoon() {
    const since = this.store.laterSince();
    if (this.settleTimer || since === null) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      const waiting = this.store.laterSince();
      if (waiting !== null && Date.now() - waiting < SETTLE_MS) return this.settleSoon();
      this.store.settle();
    }, Math.max(0, since + SETTLE_MS - Date.now()));
  }

  /** Records a mirror write's outcome; true if a newer status change now waits to be written. */
  private recordMirror(version: number, outcome: PromiseSettledResult<unknown>, later: boolean): boolean {
    const latest = this.store.loadMirror();
    if (outcome.status === "rejected") {
      const attempts = latest.attempts + 1;
      this.store.saveMirror({ ...latest, attempts, retryAt: Date.now() + backoff(attempts) });
      return false;
    }
    const urgent = latest.version > version ? latest.urgent : false;
    const synced = { ...latest, synced: Math.max(latest.synced, version), attempts: 0, retryAt: null, urgent, lastWriteAt: Date.now() };
    if (later) this.store.saveMirrorLater(synced);
    else this.store.saveMirror(synced);
    return urgent === true;
  }
}
