// Spoken answers inside the session object: PCM frames are checked, buffered briefly, and
// written to R2 in encrypted chunks; the object records only chunk keys and sizes. A chunk is
// acknowledged to the browser (audio_ack) once it is durable, so after a drop the browser
// resends from the last acknowledged byte and nothing acknowledged is lost.
import { checkPcmFrame, concat, BYTES_PER_SECOND } from "../audio/pcm";
import { sealObject } from "../shared/audio-crypto";

export const CHUNK_BYTES = 128 * 1024; // 4 s of audio
export const MAX_ANSWER_BYTES = 10 * 60 * BYTES_PER_SECOND; // 10 minutes per answer
export const MAX_SESSION_BYTES = 90 * 60 * BYTES_PER_SECOND; // 90 minutes per session
/** Real time is 32 KB/s; resending after a reconnect may burst, within a bucket of 30 s. */
const RATE_BYTES_PER_SECOND = 4 * BYTES_PER_SECOND;
const BURST_BYTES = 30 * BYTES_PER_SECOND;
/**
 * Buffered audio is written once its oldest frame is this old, even if the chunk is not full:
 * a reload or crash mid-answer (the browser's unacknowledged copy is gone) loses at most this
 * much plus the write, not a whole chunk.
 */
export const FLUSH_AFTER_MS = 2_000;
/**
 * A window recording an answer keeps it from other windows while it sends: for this long after its
 * last frame or answer_start (AUDIO_OWNER_IDLE_SECONDS). A recording page sends a message about every
 * 250 ms, so 5 s is twenty missed messages: no live recorder looks idle, while a window that stopped
 * (a dead network the server has not noticed, a participant deciding what to do) blocks the answer
 * only briefly.
 */
export const OWNER_IDLE_MS = 5_000;
export const RECORDING_ELSEWHERE = "ANSWER_RECORDING_ELSEWHERE";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audio_answers (
  id TEXT PRIMARY KEY, track TEXT NOT NULL, question_index INTEGER NOT NULL, state TEXT NOT NULL,
  bytes INTEGER NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, hint TEXT, result TEXT);
CREATE TABLE IF NOT EXISTS audio_chunks (answer_id TEXT NOT NULL, idx INTEGER NOT NULL, key TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (answer_id, idx));
`;

type Row = Record<string, SqlStorageValue>;
export type AudioError = { ok: false; code: string; message: string };

export interface AudioAnswer {
  id: string;
  track: "participant" | "ai";
  questionIndex: number;
  state: "recording" | "ended";
  bytes: number;
  startedAt: number;
  endedAt: number | null;
  hint: string | null;
  result: string | null;
}

export interface ChunkRef {
  key: string;
  bytes: number;
}

/**
 * An answer being streamed on one socket, held in memory only. `parts` always continue the
 * durable bytes without a gap, so they may be written at any moment: when a chunk fills, when
 * the oldest of them is FLUSH_AFTER_MS old, when the socket closes, or when the answer reopens.
 */
interface Stream {
  /** The socket whose frames this answer takes (none for the AI's prompts). */
  owner: WebSocket | null;
  /** The owner's client id (a page load, from its hello); null for API clients and older pages. */
  client: string | null;
  /** When the owner last sent answer_start or a frame for this answer. */
  lastAt: number;
  parts: Uint8Array[];
  pending: number;
  /** When the oldest pending frame arrived. */
  since: number;
  /** Durable bytes of this answer (mirrors audio_answers.bytes, so frames cost no query). */
  durable: number;
  /** A frame was refused for rate: what follows would leave a gap, so nothing more is taken until answer_start. */
  gap: boolean;
}

export class AudioIntake {
  private streams = new Map<string, Stream>();
  /** Durable participant bytes of the session, read once per object instance. */
  private sessionBytes: number | null = null;
  private bucketTokens = BURST_BYTES;
  private bucketAt = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly bucket: R2Bucket,
    private readonly sessionId: string,
    private readonly ownerIdleMs = OWNER_IDLE_MS,
  ) {
    sql.exec(SCHEMA);
  }

  get(id: string): AudioAnswer | null {
    const r = this.sql.exec<Row>("SELECT * FROM audio_answers WHERE id = ?", id).toArray()[0];
    if (!r) return null;
    return {
      id: String(r.id),
      track: r.track === "ai" ? "ai" : "participant",
      questionIndex: Number(r.question_index),
      state: r.state === "ended" ? "ended" : "recording",
      bytes: Number(r.bytes),
      startedAt: Number(r.started_at),
      endedAt: r.ended_at === null ? null : Number(r.ended_at),
      hint: r.hint === null ? null : String(r.hint),
      result: r.result === null ? null : String(r.result),
    };
  }

  /** The participant's spoken answer being recorded, if any: no other answer may start meanwhile. */
  openAnswer(): string | null {
    const open = this.sql.exec<Row>("SELECT id FROM audio_answers WHERE state = 'recording' AND track = 'participant'").toArray()[0];
    return open ? String(open.id) : null;
  }

  /**
   * Whether answer `id` is being recorded by another window than `client`'s, right now: its socket
   * is open, belongs to another client id, and sent answer_start or audio within ownerIdleMs. Such
   * an answer is not taken over (nor ended, nor answered by typing) unless the participant asks
   * (`takeOver`). A reconnect of the same page (same client id), a closed or silent owner, and
   * either side without a client id (API clients, pages from before client ids) take it as before.
   */
  recordingElsewhere(id: string, ws: WebSocket, client: string | null, now: number): boolean {
    const st = this.streams.get(id);
    if (!st?.owner || st.owner === ws || st.owner.readyState !== WebSocket.OPEN) return false;
    if (!st.client || !client || st.client === client) return false;
    return now - st.lastAt < this.ownerIdleMs;
  }

  /**
   * Opens (or reopens after a drop) a spoken answer for frames from `ws`; returns the bytes
   * already durable. Anything still buffered must be flushed first (see `pending`): a reopened
   * answer continues from what is stored, and frames from an older socket are refused from now on.
   * An answer another window is recording is refused (ANSWER_RECORDING_ELSEWHERE) unless `takeOver`.
   */
  start(ws: WebSocket, id: string, questionIndex: number, now: number, claim: { client?: string | null; takeOver?: boolean } = {}): { ok: true; bytes: number } | AudioError {
    const client = claim.client ?? null;
    const existing = this.get(id);
    if (existing) {
      if (existing.state === "ended") return { ok: false, code: "ANSWER_ENDED", message: "this answer is already complete" };
      if (!claim.takeOver && this.recordingElsewhere(id, ws, client, now)) return elsewhere(id);
      this.streams.set(id, { owner: ws, client, lastAt: now, parts: [], pending: 0, since: now, durable: existing.bytes, gap: false });
      return { ok: true, bytes: existing.bytes };
    }
    const open = this.openAnswer();
    if (open) return { ok: false, code: "ANSWER_IN_PROGRESS", message: `finish answer ${open} first` };
    this.sql.exec("INSERT INTO audio_answers (id, track, question_index, state, bytes, started_at) VALUES (?, 'participant', ?, 'recording', 0, ?)", id, questionIndex, now);
    this.streams.set(id, { owner: ws, client, lastAt: now, parts: [], pending: 0, since: now, durable: 0, gap: false });
    return { ok: true, bytes: 0 };
  }

  private totalBytes(): number {
    this.sessionBytes ??= Number(this.sql.exec<Row>("SELECT COALESCE(SUM(bytes), 0) AS n FROM audio_answers WHERE track = 'participant'").one().n);
    return this.sessionBytes;
  }

  /** The socket an answer's frames are taken from now, if any. */
  ownerOf(id: string): WebSocket | null {
    return this.streams.get(id)?.owner ?? null;
  }

  /** Bytes of this answer received but not yet durable. */
  pending(id: string): number {
    return this.streams.get(id)?.pending ?? 0;
  }

  /** Checks and buffers one frame from `ws`; `flush` says a chunk is due (full, or its oldest bytes are old enough). */
  append(ws: WebSocket, id: string, frame: Uint8Array, now: number): { ok: true; flush: boolean } | AudioError {
    const st = this.streams.get(id);
    // No stream here means the object restarted, or another socket reopened the answer: the
    // sender must reopen with answer_start and resend from the offset it is given.
    if (!st || st.owner !== ws) return { ok: false, code: "AUDIO_NOT_ACCEPTED", message: "this answer is not open on this connection; send answer_start again and resend from its audio_ack" };
    // The owner is still sending, even frames refused below: it is recording.
    st.lastAt = now;
    if (st.gap) return { ok: false, code: "AUDIO_NOT_ACCEPTED", message: "an earlier frame was dropped; send answer_start again and resend from its audio_ack" };
    const check = checkPcmFrame(frame);
    if (!check.ok) return check;
    if (st.durable + st.pending + frame.byteLength > MAX_ANSWER_BYTES) return { ok: false, code: "ANSWER_TOO_LONG", message: "a spoken answer is at most 10 minutes" };
    if (this.totalBytes() + st.pending + frame.byteLength > MAX_SESSION_BYTES) return { ok: false, code: "SESSION_AUDIO_LIMIT", message: "this interview has reached its audio limit" };
    this.bucketTokens = Math.min(BURST_BYTES, this.bucketTokens + ((now - this.bucketAt) / 1000) * RATE_BYTES_PER_SECOND);
    this.bucketAt = now;
    if (frame.byteLength > this.bucketTokens) {
      st.gap = true;
      return { ok: false, code: "AUDIO_RATE_LIMITED", message: "audio is arriving faster than it can be spoken; the frame was dropped, resend it" };
    }
    this.bucketTokens -= frame.byteLength;
    if (st.pending === 0) st.since = now;
    st.parts.push(frame.slice());
    st.pending += frame.byteLength;
    return { ok: true, flush: st.pending >= CHUNK_BYTES || now - st.since >= FLUSH_AFTER_MS };
  }

  /** When buffered audio is next due to be written (for the object's alarm), or null. */
  flushDeadline(): number | null {
    let at: number | null = null;
    for (const st of this.streams.values()) if (st.pending > 0) at = Math.min(at ?? Infinity, st.since + FLUSH_AFTER_MS);
    return at;
  }

  /** Answers whose buffered audio is due (by `now`), or that arrived on `ws` (which closed). */
  due(now: number, ws?: WebSocket): string[] {
    return [...this.streams].filter(([, st]) => st.pending > 0 && (ws ? st.owner === ws : now - st.since >= FLUSH_AFTER_MS)).map(([id]) => id);
  }

  /** Encrypts and writes what is buffered as the next chunk; returns the durable byte count. */
  async flush(id: string, dek: CryptoKey): Promise<number> {
    const st = this.streams.get(id);
    const a = this.get(id);
    if (!a) return 0;
    if (!st?.parts.length) return a.bytes;
    const parts = st.parts;
    st.parts = [];
    st.pending = 0;
    const plain = concat(parts);
    const idx = Number(this.sql.exec<Row>("SELECT COUNT(*) AS n FROM audio_chunks WHERE answer_id = ?", id).one().n);
    const key = chunkKey(this.sessionId, a.track, a.startedAt, id, idx);
    try {
      await this.bucket.put(key, await sealObject(dek, key, plain), {
        httpMetadata: { contentType: "application/octet-stream" },
        customMetadata: { encryption: "aes-256-gcm", format: "pcm_s16le", sampleRate: "16000", channels: "1" },
      });
    } catch (err) {
      // These bytes were never acknowledged; frames after them would leave a hole, so the sender reopens and resends.
      st.gap = true;
      throw err;
    }
    this.sql.exec("INSERT INTO audio_chunks (answer_id, idx, key, bytes) VALUES (?, ?, ?, ?)", id, idx, key, plain.byteLength);
    this.sql.exec("UPDATE audio_answers SET bytes = bytes + ? WHERE id = ?", plain.byteLength, id);
    st.durable = a.bytes + plain.byteLength;
    if (a.track === "participant" && this.sessionBytes !== null) this.sessionBytes += plain.byteLength;
    return st.durable;
  }

  end(id: string, hint: string | null, now: number) {
    this.streams.delete(id);
    this.sql.exec("UPDATE audio_answers SET state = 'ended', ended_at = ?, hint = ? WHERE id = ?", now, hint, id);
  }

  /**
   * Ends an answer the session's end cut off. Its buffered bytes stay to be written (`flush`,
   * then `release`): nothing more can arrive, since the session's sockets close with it.
   */
  cutOff(id: string, now: number) {
    const st = this.streams.get(id);
    if (st) st.owner = null;
    this.sql.exec("UPDATE audio_answers SET state = 'ended', ended_at = ? WHERE id = ?", now, id);
  }

  release(id: string) {
    this.streams.delete(id);
  }

  /** Stores an AI prompt's synthesised audio (PCM) as one chunk of the AI track. */
  async storePrompt(id: string, questionIndex: number, pcm: Uint8Array, dek: CryptoKey, now: number) {
    this.sql.exec("INSERT OR IGNORE INTO audio_answers (id, track, question_index, state, bytes, started_at, ended_at) VALUES (?, 'ai', ?, 'recording', 0, ?, ?)", id, questionIndex, now, now);
    this.streams.set(id, { owner: null, client: null, lastAt: now, parts: [pcm], pending: pcm.byteLength, since: now, durable: 0, gap: false });
    await this.flush(id, dek);
    this.streams.delete(id);
    this.sql.exec("UPDATE audio_answers SET state = 'ended' WHERE id = ?", id);
  }

  setResult(id: string, result: unknown) {
    this.sql.exec("UPDATE audio_answers SET result = ? WHERE id = ?", JSON.stringify(result), id);
  }

  chunks(id: string): ChunkRef[] {
    return this.sql.exec<Row>("SELECT key, bytes FROM audio_chunks WHERE answer_id = ? ORDER BY idx", id).toArray().map((r) => ({ key: String(r.key), bytes: Number(r.bytes) }));
  }

  /** Every ended answer of a track in time order, with its chunks. */
  track(track: "participant" | "ai"): (AudioAnswer & { chunks: ChunkRef[] })[] {
    return this.sql
      .exec<Row>("SELECT id FROM audio_answers WHERE track = ? AND state = 'ended' ORDER BY started_at, id", track)
      .toArray()
      .map((r) => {
        const a = this.get(String(r.id))!;
        return { ...a, chunks: this.chunks(a.id) };
      });
  }

  /** Removes an answer's audio from R2 and from the index (when a campaign keeps no recordings). */
  async purge(id: string) {
    const keys = this.chunks(id).map((c) => c.key);
    if (keys.length) await this.bucket.delete(keys);
    this.sql.exec("DELETE FROM audio_chunks WHERE answer_id = ?", id);
  }
}

export const elsewhere = (id: string): AudioError => ({
  ok: false,
  code: RECORDING_ELSEWHERE,
  message: `answer ${id} is being recorded in another window; finish it there, or send answer_start with takeOver: true to record it here`,
});

/** R2 keys sort in time order within a track: the answer's start, its id, then the chunk. */
export const chunkKey = (sessionId: string, track: string, startedAt: number, answerId: string, idx: number) =>
  `sessions/${sessionId}/audio/${track}/${String(startedAt).padStart(15, "0")}-${encodeURIComponent(answerId)}/${String(idx).padStart(6, "0")}.bin`;
