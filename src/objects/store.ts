// The session object's SQLite storage: state, numbered frames, transcript, answers, events.
// All writes of one transition go through `commit`, in one synchronous transaction.
import type { EventData, MachineState } from "./machine";
import type { NumberedFrame, Segment } from "./protocol";
import type { SessionMeta } from "./view";

// Row ids are plain INTEGER PRIMARY KEYs (max + 1), not AUTOINCREMENT: nothing here needs ids
// never reused after a delete, and AUTOINCREMENT costs a sqlite_sequence write on every insert.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
  seq INTEGER PRIMARY KEY, speaker TEXT NOT NULL, text TEXT NOT NULL,
  question_index INTEGER NOT NULL, follow_up INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  answer_id TEXT, meta TEXT);
CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, ack_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, name TEXT NOT NULL, data TEXT);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, retry_at INTEGER);
`;

export interface MirrorMark {
  version: number;
  synced: number;
  attempts: number;
  retryAt: number | null;
  /** A status change is waiting: written at once. Other changes are coalesced. */
  urgent?: boolean;
  lastWriteAt?: number;
}

export interface SessionEvent {
  at: number;
  name: string;
  data: EventData | null;
}

type Row = Record<string, SqlStorageValue>;

/** How a spoken answer's transcript came about (typed answers have none). */
export interface SegmentSpeech {
  spoken: true;
  confidence: number | null;
  lowConfidence: boolean;
  language: string | null;
  untranscribedReason: string | null;
}

function segmentOf(r: Row): Segment {
  const speech = r.meta === null || r.meta === undefined ? null : (JSON.parse(String(r.meta)) as SegmentSpeech);
  return {
    seq: Number(r.seq),
    speaker: r.speaker === "ai" ? "ai" : "participant",
    text: String(r.text),
    questionIndex: Number(r.question_index),
    followUp: r.follow_up === 1,
    startMs: Number(r.start_ms),
    endMs: Number(r.end_ms),
    ...(speech ? { speech } : {}),
  };
}

export class SessionStore {
  /** False for an object that was never initialised: reading it must not create tables. */
  exists: boolean;

  constructor(private readonly storage: DurableObjectStorage) {
    this.exists = storage.sql.exec<Row>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'kv'").one().n !== 0;
  }

  /** Creates the tables of a new session; they are empty, so the caches start known. */
  create() {
    this.storage.sql.exec(SCHEMA);
    this.exists = true;
    this.seqCache = 0;
    this.outboxCount = 0;
    this.answersCache = new Map();
    this.retryCache = null;
  }

  get rawSql() {
    return this.storage.sql;
  }

  private get sql() {
    return this.storage.sql;
  }

  private getKv<T>(key: string): T | null {
    const row = this.sql.exec<Row>("SELECT value FROM kv WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(String(row.value)) as T) : null;
  }

  /** Writes several keys in one statement. */
  private setKv(...entries: [key: string, value: unknown][]) {
    this.sql.exec(
      `INSERT INTO kv (key, value) VALUES ${entries.map(() => "(?, ?)").join(", ")} ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ...entries.flatMap(([key, value]) => [key, JSON.stringify(value)]),
    );
  }

  // Hot values are cached: the object is single-threaded and every write goes through this class,
  // so a cache can only go stale by a rolled-back transaction, which `transaction` undoes.
  private seqCache: number | null = null;
  private mirrorCache: MirrorMark | null = null;
  private outboxCount: number | null = null;
  private answersCache: Map<string, number> | null = null;
  /** The outbox's earliest retry time as nextOutboxRetry reads it (undefined: not known). */
  private retryCache: number | null | undefined = undefined;
  /**
   * Writes that may wait for the next commit: a flush's outcomes (outbox rows sent, the mirror
   * mark written). The caches and reads already see them done; the next transaction, or `settle`,
   * writes them. Lost with the object, they are only done again (sends and mirror writes are idempotent).
   */
  private later: { sent: number[]; mirror: MirrorMark | null; since: number | null } = { sent: [], mirror: null, since: null };

  // The stored values below were written by this class from validated, typed data.
  loadMeta = () => (this.exists ? this.getKv<SessionMeta>("meta") : null);
  loadState = () => (this.exists ? this.getKv<MachineState>("state") : null);
  loadAudioKey = () => this.getKv<string>("audio_key");
  saveAudioKey = (wrapped: string) => this.setKv(["audio_key", wrapped]);
  loadMirror = (): MirrorMark => (this.mirrorCache ??= this.getKv<MirrorMark>("mirror") ?? { version: 0, synced: 0, attempts: 0, retryAt: null });
  /** The last frame's number (frames are only ever appended, so it is the highest one stored). */
  lastSeq = (): number => (this.seqCache ??= Number(this.sql.exec<Row>("SELECT COALESCE(MAX(seq), 0) AS seq FROM frames").one().seq));

  saveMeta = (meta: SessionMeta) => this.setKv(["meta", meta]);
  saveState = (state: MachineState) => this.setKv(["state", state]);
  saveMirror = (mark: MirrorMark) => {
    this.setKv(["mirror", mark]);
    this.mirrorCache = mark;
  };
  /**
   * Notes when a coalesced mirror write is due, in the object only: the next commit that saves the
   * mark takes it along, and an object lost before then finds the row behind and writes it sooner.
   * (Held in `later`, it made the settle timer commit after almost every answer.)
   */
  noteMirror = (mark: MirrorMark) => {
    this.mirrorCache = mark;
  };
  /** As saveMirror, written with the next commit (see `later`). */
  saveMirrorLater = (mark: MirrorMark) => {
    this.addLater({ mirror: mark });
    this.mirrorCache = mark;
  };
  /** A new session's meta, state and mirror mark, in one statement. */
  saveInitial(meta: SessionMeta, state: MachineState, mark: MirrorMark) {
    this.setKv(["meta", meta], ["state", state], ["mirror", mark]);
    this.mirrorCache = mark;
  }

  /** A transition's state and the mirror's new version, in one statement. */
  saveStateAndMirror(state: MachineState, mark: MirrorMark) {
    this.setKv(["state", state], ["mirror", mark]);
    this.mirrorCache = mark;
  }

  /** Forgets the caches (the object's storage was deleted). */
  reset() {
    this.seqCache = this.mirrorCache = this.outboxCount = this.answersCache = null;
    this.retryCache = undefined;
    this.later = { sent: [], mirror: null, since: null };
    this.exists = false;
  }

  /** Runs `fn` in one transaction, with the writes that waited first and the frames it numbered at its end. */
  transaction<T>(fn: () => T): T {
    const saved = [this.seqCache, this.mirrorCache, this.outboxCount, this.answersCache, this.retryCache, this.later] as const;
    try {
      return this.storage.transactionSync(() => {
        this.writeLater();
        const result = fn();
        this.writeFrames();
        return result;
      });
    } catch (err) {
      this.pendingFrames = [];
      [this.seqCache, this.mirrorCache, this.outboxCount, this.answersCache, this.retryCache, this.later] = saved;
      throw err;
    }
  }

  /** Adds writes that wait for the next commit (the first one starts `since`). */
  private addLater(part: Partial<Pick<SessionStore["later"], "sent" | "mirror">>) {
    this.later = { ...this.later, ...part, since: this.later.since ?? Date.now() };
  }

  /** Since when the oldest write that waits for the next commit has waited (null: none waits). */
  laterSince = (): number | null => this.later.since;

  /** Writes what waited, in a commit of its own (no transition came to take it along). */
  settle() {
    if (this.exists && this.later.since !== null) this.transaction(() => {});
  }

  private writeLater() {
    const { sent, mirror } = this.later;
    this.deleteOutbox(sent);
    if (mirror) this.setKv(["mirror", mirror]);
    this.later = { sent: [], mirror: null, since: null };
  }

  private pendingFrames: string[] = [];

  /**
   * Numbers a server frame for replay. It is stored when its transaction ends, with the
   * transaction's other frames in one statement (an answer makes three).
   */
  appendFrame<F extends Omit<NumberedFrame, "seq">>(frame: F): F & { seq: number } {
    const seq = this.lastSeq() + 1;
    const numbered = { ...frame, seq };
    this.pendingFrames.push(JSON.stringify(numbered));
    this.seqCache = seq;
    return numbered;
  }

  private writeFrames() {
    if (this.pendingFrames.length === 0) return;
    const first = this.lastSeq() - this.pendingFrames.length + 1;
    this.sql.exec("INSERT INTO frames (seq, body) SELECT ? + key, value FROM json_each(?)", first, JSON.stringify(this.pendingFrames));
    this.pendingFrames = [];
  }

  framesAfter(seq: number): string[] {
    return this.sql.exec<Row>("SELECT body FROM frames WHERE seq > ? ORDER BY seq", seq).toArray().map((r) => String(r.body));
  }

  appendSegment(seg: Omit<Segment, "seq">, answerId: string | undefined): Segment {
    const row = this.sql
      .exec<Row>(
        "INSERT INTO segments (speaker, text, question_index, follow_up, start_ms, end_ms, answer_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        seg.speaker,
        seg.text,
        seg.questionIndex,
        seg.followUp ? 1 : 0,
        seg.startMs,
        seg.endMs,
        answerId ?? null,
      )
      .one();
    return { ...seg, seq: Number(row.seq) };
  }

  segments(): Segment[] {
    return this.sql.exec<Row>("SELECT * FROM segments ORDER BY seq").toArray().map(segmentOf);
  }

  segmentByAnswer(answerId: string): (Segment & { answerId: string }) | null {
    const r = this.sql.exec<Row>("SELECT * FROM segments WHERE answer_id = ? ORDER BY seq DESC LIMIT 1", answerId).toArray()[0];
    return r ? { ...segmentOf(r), answerId } : null;
  }

  /** The AI prompt a participant segment answered: the last AI segment before it. */
  promptBefore(seq: number): Segment | null {
    const r = this.sql.exec<Row>("SELECT * FROM segments WHERE speaker = 'ai' AND seq < ? ORDER BY seq DESC LIMIT 1", seq).toArray()[0];
    return r ? segmentOf(r) : null;
  }

  /** Transcription details of a spoken answer's segment (and its text, when it came late). */
  setSegmentSpeech(answerId: string, speech: SegmentSpeech, text?: string) {
    if (text !== undefined) this.sql.exec("UPDATE segments SET text = ?, meta = ? WHERE answer_id = ?", text, JSON.stringify(speech), answerId);
    else this.sql.exec("UPDATE segments SET meta = ? WHERE answer_id = ?", JSON.stringify(speech), answerId);
  }

  segmentAt(seq: number): Segment | null {
    const r = this.sql.exec<Row>("SELECT * FROM segments WHERE seq = ?", seq).toArray()[0];
    return r ? segmentOf(r) : null;
  }

  frameAt(seq: number): string | null {
    const r = this.sql.exec<Row>("SELECT body FROM frames WHERE seq = ?", seq).toArray()[0];
    return r ? String(r.body) : null;
  }

  /** The seq of the ack that stored this answer id, or null if it was never stored. */
  ackSeqFor(answerId: string): number | null {
    return this.answerAcks().get(answerId) ?? null;
  }

  recordAnswer(answerId: string, ackSeq: number) {
    this.sql.exec("INSERT INTO answers (id, ack_seq) VALUES (?, ?)", answerId, ackSeq);
    // A copy, so that a rolled-back transaction leaves the cached map as it was.
    this.answersCache = new Map(this.answerAcks()).set(answerId, ackSeq);
  }

  /** Every stored answer id (an interview has tens), read once per wake-up instead of once per answer. */
  private answerAcks(): Map<string, number> {
    return (this.answersCache ??= new Map(this.sql.exec<Row>("SELECT id, ack_seq FROM answers").toArray().map((r) => [String(r.id), Number(r.ack_seq)])));
  }

  appendEvent(at: number, name: string, data?: EventData) {
    this.sql.exec("INSERT INTO events (at, name, data) VALUES (?, ?, ?)", at, name, data ? JSON.stringify(data) : null);
  }

  events(): SessionEvent[] {
    return this.sql.exec<Row>("SELECT at, name, data FROM events ORDER BY id").toArray().map((r) => ({
      at: Number(r.at),
      name: String(r.name),
      data: r.data === null ? null : (JSON.parse(String(r.data)) as EventData),
    }));
  }

  /** Queue messages wait here, written with the transition that caused them, until sent. */
  addOutbox(payload: unknown) {
    this.sql.exec("INSERT INTO outbox (payload) VALUES (?)", JSON.stringify(payload));
    this.outboxCount = this.pendingOutbox() + 1;
    // A new row has never been tried (retry_at NULL, read as 0): it is the earliest.
    this.retryCache = 0;
  }

  /**
   * Messages waiting in the outbox. The count is read only by an object that just woke up (or was
   * reset), before anything was sent, so no sent row waits to be deleted yet.
   */
  pendingOutbox(): number {
    return (this.outboxCount ??= Number(this.sql.exec<Row>("SELECT COUNT(*) AS n FROM outbox").one().n));
  }

  /** The ids of rows sent but not yet deleted (see `later`), for reads of the outbox to skip. */
  private sentIds = () => JSON.stringify(this.later.sent);

  dueOutbox(now: number): { id: number; payload: string; attempts: number }[] {
    if (this.pendingOutbox() === 0) return [];
    return this.sql
      .exec<Row>("SELECT id, payload, attempts FROM outbox WHERE (retry_at IS NULL OR retry_at <= ?) AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT 20", now, this.sentIds())
      .toArray()
      .map((r) => ({ id: Number(r.id), payload: String(r.payload), attempts: Number(r.attempts) }));
  }

  /** The earliest retry time in the outbox (0: a message never tried), or null if it is empty. */
  nextOutboxRetry(): number | null {
    if (this.pendingOutbox() === 0) return null;
    if (this.retryCache !== undefined) return this.retryCache;
    const row = this.sql.exec<Row>("SELECT MIN(COALESCE(retry_at, 0)) AS at, COUNT(*) AS n FROM outbox WHERE id NOT IN (SELECT value FROM json_each(?))", this.sentIds()).one();
    this.retryCache = Number(row.n) > 0 ? Number(row.at) : null;
    return this.retryCache;
  }

  /** Removes sent messages; `later`: with the next commit (see `later`). */
  removeOutbox(ids: number[], later = false) {
    if (ids.length === 0) return;
    if (later) this.addLater({ sent: [...this.later.sent, ...ids] });
    else this.deleteOutbox(ids);
    // The ids came from dueOutbox, so each was there: no count query on the next flush.
    if (this.outboxCount !== null) this.outboxCount = Math.max(0, this.outboxCount - ids.length);
    this.retryCache = undefined;
  }

  private deleteOutbox(ids: number[]) {
    // One statement text whatever the count: each object compiles each statement it runs.
    if (ids.length > 0) this.sql.exec("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids));
  }

  deferOutbox(id: number, attempts: number, retryAt: number) {
    this.sql.exec("UPDATE outbox SET attempts = ?, retry_at = ? WHERE id = ?", attempts, retryAt, id);
    this.retryCache = undefined;
  }

  addToken(hash: string, now: number) {
    this.sql.exec("INSERT OR IGNORE INTO tokens (hash, created_at) VALUES (?, ?)", hash, now);
  }

  hasToken(hash: string): boolean {
    return this.sql.exec<Row>("SELECT 1 AS ok FROM tokens WHERE hash = ?", hash).toArray().length > 0;
  }
}
