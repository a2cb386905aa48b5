// The object's outbox: the D1 mirror (coalesced to the newest version) and queue messages,
// written with the transition that caused them and retried with backoff until they land.
import type { Limits, MachineState } from "./machine";
import type { MirrorWriter } from "./mirror";
import type { SessionStore } from "./store";
import { mirrorRow, type SessionMeta } from "./view";

const MAX_BACKOFF_MS = 60_000;
/**
 * Progress within a status (answers, signs of life) reaches the index at most this often; status
 * changes go at once. Listing and filtering need the status promptly, the counts eventually.
 */
export const MIRROR_COALESCE_MS = 2_000;
const backoff = (attempts: number) => Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts);

/**
 * Messages only an answer produces (its analysis) wait up to this long to go in one send with the
 * next ones, on the mirror's timer; a status change or a transcription sends everything at once.
 */
export const QUEUE_COALESCE_MS = MIRROR_COALESCE_MS;

export class Outbox {
  private flushing: Promise<void> | null = null;
  private again = false;
  /** Whether every flush asked for while one ran may wait (see QUEUE_COALESCE_MS). */
  private againLazy = true;
  /** When the queue was last sent to (0: not since this object woke up, so pending messages go at once). */
  private lastSendAt = 0;

  constructor(
    private readonly store: SessionStore,
    /** Read at each send (tests put a recording queue in place of the binding). */
    private readonly queue: () => Queue<unknown>,
    private readonly limits: Limits,
    /** The live session, or null once its data is erased. */
    private readonly current: () => { meta: SessionMeta; state: MachineState } | null,
    /** Replaceable in tests to simulate a failing D1. */
    public mirrorWriter: MirrorWriter,
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
        do {
          this.again = false;
          await this.flushMirror();
          await this.flushQueue(mayWait);
          mayWait = this.againLazy;
          this.againLazy = true;
        } while (this.again);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** When the alarm must next retry something, or null if nothing is pending. */
  nextRetry(now: number): number | null {
    const at: number[] = [];
    const mark = this.store.loadMirror();
    if (mark.synced < mark.version) at.push(mark.retryAt ?? now + 1000);
    const queued = this.store.nextOutboxRetry();
    // Never tried (0): due once the coalescing window since the last send is over.
    if (queued !== null) at.push(queued || Math.max(now, Math.min(now + 1000, this.lastSendAt + QUEUE_COALESCE_MS)));
    return at.length ? Math.min(...at) : null;
  }

  /** Sends every due message in one batch; a failed batch is retried whole (consumers are idempotent). */
  private async flushQueue(mayWait: boolean): Promise<void> {
    if (!this.current()) return;
    const now = Date.now();
    if (mayWait && now - this.lastSendAt < QUEUE_COALESCE_MS) return;
    const due = this.store.dueOutbox(now);
    if (due.length === 0) return;
    this.lastSendAt = now;
    try {
      await this.queue().sendBatch(due.map((item) => ({ body: JSON.parse(item.payload) })));
      this.store.removeOutbox(due.map((item) => item.id));
    } catch (err) {
      this.store.transaction(() => {
        for (const item of due) this.store.deferOutbox(item.id, item.attempts + 1, Date.now() + backoff(item.attempts + 1));
      });
      console.warn("queue send failed; will retry", { messages: due.length, error: String(err) });
    }
  }

  private async flushMirror(): Promise<void> {
    for (;;) {
      const live = this.current();
      if (!live) return;
      const mark = this.store.loadMirror();
      if (mark.synced >= mark.version) return;
      const now = Date.now();
      if (mark.retryAt !== null && mark.retryAt > now && mark.attempts > 0) return;
      if (!mark.urgent && mark.lastWriteAt !== undefined && now - mark.lastWriteAt < MIRROR_COALESCE_MS) {
        if (mark.retryAt === null) this.store.saveMirror({ ...mark, retryAt: mark.lastWriteAt + MIRROR_COALESCE_MS });
        return;
      }
      try {
        await this.mirrorWriter.write(mirrorRow(live.meta, live.state, Date.now(), this.limits, mark.version));
        if (!this.current()) return;
        const latest = this.store.loadMirror();
        const urgent = latest.version > mark.version ? latest.urgent : false;
        this.store.saveMirror({ ...latest, synced: Math.max(latest.synced, mark.version), attempts: 0, retryAt: null, urgent, lastWriteAt: Date.now() });
      } catch (err) {
        if (!this.current()) return;
        const latest = this.store.loadMirror();
        const attempts = latest.attempts + 1;
        this.store.saveMirror({ ...latest, attempts, retryAt: Date.now() + backoff(attempts) });
        console.warn("session mirror write failed; will retry", { sessionId: live.meta.id, attempts, error: String(err) });
        return;
      }
    }
  }
}
