// Removing kinds of data from a session that otherwise stays: its recordings (consent withdrawn,
// or the audio retention ran out) and its transcript (transcript retention). Erasing the whole
// session is `erase()`; these keep the lifecycle, so lists and analytics counts stay right.
import type { Env } from "../env";
import { sha256Hex } from "../shared/crypto";
import type { InterviewSession, RpcResult } from "./InterviewSession";
import type { MachineEvent } from "./machine";
import { deletePrefix } from "../shared/r2";

export type PurgeKind = "audio" | "transcript";
export interface PurgeReport {
  audioObjects: number;
  transcriptSegments: number;
}

/** A consent frame as a machine event, with the consent text's version and the client's address. */
export async function consentEvent(s: InterviewSession, granted: boolean, ip: string | null): Promise<MachineEvent> {
  const text = s.meta?.consentText ?? null;
  return { type: "consent", granted, textVersion: text === null ? null : `sha256:${(await sha256Hex(text)).slice(0, 16)}`, ip };
}

/**
 * Deletes the session's recordings from R2 and forgets the chunks and the wrapped audio key (so
 * any copy left anywhere is unreadable), then lists the prefix once more: a stored MP3 (which a
 * route writes outside this object) checks the key after its put, so one written after the first
 * listing either sees the key gone and deletes itself, or landed before the second. Idempotent: a
 * second run finds nothing.
 */
async function purgeAudio(s: InterviewSession, env: Pick<Env, "AUDIO_BUCKET" | "DB">, reason: string): Promise<number> {
  // Chunk writes already queued finish first, so none lands after the purge.
  await s.audioChain.catch(() => {});
  const id = s.meta!.id;
  const objects = await deletePrefix(env.AUDIO_BUCKET, `sessions/${id}/audio/`);
  const sql = s.store.rawSql;
  s.store.transaction(() => {
    s.audio(); // creates the audio tables in sessions that never had audio
    sql.exec("DELETE FROM audio_chunks");
    sql.exec("UPDATE audio_answers SET bytes = 0");
    sql.exec("DELETE FROM kv WHERE key = 'audio_key'");
    s.store.appendEvent(Date.now(), "audio_purged", { reason, objects });
  });
  const late = await deletePrefix(env.AUDIO_BUCKET, `sessions/${id}/audio/`);
  // The index shows it at once when the row exists (the retention sweep sets it itself too).
  await env.DB.prepare("UPDATE sessions SET audio_purged_at = COALESCE(audio_purged_at, ?) WHERE id = ?").bind(Date.now(), id).run();
  return objects + late;
}

/** Deletes the transcript and the frames that carried it; the lifecycle and its events stay. */
function purgeTranscript(s: InterviewSession, reason: string): number {
  const sql = s.store.rawSql;
  return s.store.transaction(() => {
    const n = Number(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM segments").one().n);
    sql.exec("DELETE FROM segments");
    sql.exec("DELETE FROM frames");
    s.store.appendEvent(Date.now(), "transcript_purged", { reason, segments: n });
    return n;
  });
}

export async function purge(s: InterviewSession, env: Pick<Env, "AUDIO_BUCKET" | "DB">, kinds: PurgeKind[], reason: string): Promise<RpcResult<PurgeReport>> {
  if (!s.state || !s.meta) return { ok: false, error: { code: "SESSION_NOT_FOUND", message: "no such session" } };
  const report: PurgeReport = { audioObjects: 0, transcriptSegments: 0 };
  if (kinds.includes("audio")) report.audioObjects = await purgeAudio(s, env, reason);
  if (kinds.includes("transcript")) report.transcriptSegments = purgeTranscript(s, reason);
  return { ok: true, value: report };
}
