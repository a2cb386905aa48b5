// The bulk export job: one ZIP per export (a folder per session and a manifest with each file's
// SHA-256), streamed through fflate into an R2 multipart upload so that memory stays bounded by a
// part (5 MiB) plus one session (for audio, one decrypted chunk), never the whole archive. Also:
// the signed, expiring download link.
import { z } from "zod";
import { parseJson } from "../shared/json";
import { Zip, ZipDeflate, strToU8 } from "fflate";
import { BYTES_PER_SECOND } from "../audio/pcm";
import type { exports as exportsTable, SessionRow } from "../db/schema";
import type { Env } from "../env";
import { newId, sha256Hex, timingSafeEqual, toHex } from "../shared/crypto";
import { openTrack, TRACKS, zipWav, type OpenTrack, type Track } from "./audio-track";
import { assetFonts } from "./pdf-fonts";
import { sessionBundle, sessionPdf, transcriptCsv, type BundlePart } from "./session-bundle";
import { emitOrgEvent } from "./webhooks";
import { ERASED_EXPORT } from "./erasure";

/** R2 multipart: every part but the last is at least 5 MiB, and all of them the same size. */
export const PART_BYTES = 5 * 1024 * 1024;
/** Sessions read ahead of the ZIP writer (a bound on memory and on concurrent object calls). */
const PREFETCH = 8;
/** A ready export is kept (and downloadable) this long. */
export const EXPORT_TTL_MS = 7 * 24 * 3600 * 1000;
/** A download link is valid this long (never past the export's own expiry). */
export const LINK_TTL_MS = 24 * 3600 * 1000;

export interface ExportParams {
  sessionIds: string[];
  include?: BundlePart[];
}

const StoredParams = z.object({ sessionIds: z.array(z.string()), include: z.array(z.enum(["transcript", "analytics", "notes"])).optional() });

export type ExportRow = typeof exportsTable.$inferSelect;

export const exportObjectKey = (id: string) => `exports/${id}.zip`;

// ---- signed links ----

async function hmacHex(env: Pick<Env, "EXPORT_SIGNING_KEY" | "AUDIO_KEK">, message: string): Promise<string> {
  const secret = env.EXPORT_SIGNING_KEY || env.AUDIO_KEK;
  if (!secret) throw new Error("neither EXPORT_SIGNING_KEY nor AUDIO_KEK is set: export links cannot be signed");
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(`export-link:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
}

/** The signature of a download link for `exportId` valid until `expires` (unix seconds). */
export const signDownload = (env: Pick<Env, "EXPORT_SIGNING_KEY" | "AUDIO_KEK">, exportId: string, expires: number) => hmacHex(env, `${exportId}.${expires}`);

export async function verifyDownload(env: Pick<Env, "EXPORT_SIGNING_KEY" | "AUDIO_KEK">, exportId: string, expires: string, sig: string): Promise<boolean> {
  if (!/^\d{1,12}$/.test(expires)) return false;
  return timingSafeEqual(await signDownload(env, exportId, Number(expires)), sig.toLowerCase());
}

/** A download URL valid for a day, or until the export expires if sooner. */
export async function downloadUrl(env: Pick<Env, "EXPORT_SIGNING_KEY" | "AUDIO_KEK">, origin: string, row: Pick<ExportRow, "id" | "expires_at">, now = Date.now()) {
  const until = Math.min(now + LINK_TTL_MS, row.expires_at ?? now + LINK_TTL_MS);
  const expires = Math.floor(until / 1000);
  const sig = await signDownload(env, row.id, expires);
  return { url: `${origin}/v1/exports/${row.id}/download?expires=${expires}&sig=${sig}`, expiresAt: new Date(expires * 1000).toISOString() };
}

// ---- the ZIP writer ----


/** Collects fflate's output and uploads it in fixed-size parts as it accumulates. */
class PartWriter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private parts: R2UploadedPart[] = [];
  bytes = 0;
  constructor(private upload: R2MultipartUpload) {}

  push(chunk: Uint8Array) {
    if (!chunk.length) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.bytes += chunk.length;
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  /** Uploads every full part buffered so far; with `final`, the remainder as the last part. */
  async drain(final = false) {
    while (this.buffered >= PART_BYTES) this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.take(PART_BYTES)));
    if (final && (this.buffered > 0 || this.parts.length === 0)) this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.take(this.buffered)));
  }

  complete() {
    return this.upload.complete(this.parts);
  }
}

async function setProgress(env: Env, id: string, fields: Record<string, unknown>) {
  const cols = Object.keys(fields);
  await env.DB.prepare(`UPDATE exports SET ${cols.map((c) => `${c} = ?`).join(", ")}, updated_at = ? WHERE id = ?`)
    .bind(...cols.map((c) => fields[c]), Date.now(), id)
    .run();
}

/** Runs one export to completion. Rerunning a ready export does nothing; a failed attempt starts over. */
export async function buildExport(env: Env, exportId: string): Promise<void> {
  const row = await env.DB.prepare("SELECT * FROM exports WHERE id = ?").bind(exportId).first<ExportRow>();
  if (!row || row.status === "ready") return;
  await setProgress(env, row.id, { status: "running", sessions_done: 0, error: null });
  const params = parseJson(StoredParams, row.params);
  const key = exportObjectKey(row.id);
  const upload = await env.EXPORTS_BUCKET.createMultipartUpload(key, { httpMetadata: { contentType: "application/zip" }, customMetadata: { exportId: row.id, orgId: row.org_id } });
  try {
    const writer = new PartWriter(upload);
    let zipError: Error | null = null;
    const zip = new Zip((err, chunk, _final) => {
      if (err) zipError = err;
      else writer.push(chunk);
    });
    const manifest: { path: string; sessionId: string | null; bytes: number; sha256: string; track?: Track; durationMs?: number }[] = [];
    const addFile = async (path: string, data: Uint8Array, sessionId: string | null) => {
      manifest.push({ path, sessionId, bytes: data.length, sha256: toHex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)) });
      const entry = new ZipDeflate(path, { level: 6 });
      entry.mtime = new Date();
      zip.add(entry);
      entry.push(data, true);
      if (zipError) throw zipError;
      await writer.drain();
    };

    /** Both tracks of a session as stored WAV entries, streamed: a part plus one decrypted chunk in memory. */
    const addTracks = async (tracks: OpenTrack[]) => {
      for (const t of tracks) {
        const path = `${t.sessionId}/audio-${t.track}.wav`;
        const written = await zipWav(zip, path, env.AUDIO_BUCKET, t, async () => {
          if (zipError) throw zipError;
          await writer.drain();
        });
        manifest.push({ path, sessionId: t.sessionId, ...written, track: t.track, durationMs: Math.round((t.pcmBytes / BYTES_PER_SECOND) * 1000) });
      }
    };

    const campaign = await env.DB.prepare("SELECT name FROM campaigns WHERE id = ?").bind(row.campaign_id).first<{ name: string }>();
    const missing: string[] = [];
    const withoutAudio: string[] = [];
    let done = 0;
    // Sessions are read PREFETCH at a time (their objects answer in parallel) and written in order:
    // memory holds one window of bundles (for audio, of chunk lists), never the whole selection.
    const read = async (sessionId: string) => {
      const s = await env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(sessionId, row.org_id).first<SessionRow>();
      if (!s) return null;
      if (row.format === "audio") return { s, tracks: await sessionTracks(env, s.id) };
      // The requester may export (owner or admin), and both may read participants' details.
      return { s, bundle: await sessionBundle(env, s, { role: "admin", include: params.include }) };
    };
    for (let i = 0; i < params.sessionIds.length; i += PREFETCH) {
      const window = params.sessionIds.slice(i, i + PREFETCH);
      const bundles = await Promise.all(window.map(read));
      for (const [k, got] of bundles.entries()) {
        if (!got) {
          missing.push(window[k]!); // deleted since the export was requested
        } else if (got.tracks) {
          if (got.tracks.length) await addTracks(got.tracks);
          else withoutAudio.push(got.s.id);
        } else if (got.bundle) {
          const { s, bundle } = got;
          if (row.format === "json") await addFile(`${s.id}/session.json`, strToU8(JSON.stringify(bundle, null, 2)), s.id);
          else if (row.format === "csv") await addFile(`${s.id}/transcript.csv`, strToU8(transcriptCsv(bundle)), s.id);
          else await addFile(`${s.id}/session.pdf`, await sessionPdf(bundle, campaign?.name ?? "Interview", assetFonts(env.ASSETS)), s.id);
        }
        done++;
        if (done % 10 === 0 || done === params.sessionIds.length) await setProgress(env, row.id, { sessions_done: done });
      }
    }
    const manifestJson = {
      exportId: row.id,
      campaignId: row.campaign_id,
      format: row.format,
      createdAt: new Date(row.created_at).toISOString(),
      sessionCount: params.sessionIds.length - missing.length,
      missingSessionIds: missing,
      ...(row.format === "audio" ? { sessionsWithoutAudio: withoutAudio } : {}),
      files: manifest,
    };
    const mj = strToU8(JSON.stringify(manifestJson, null, 2));
    const entry = new ZipDeflate("manifest.json", { level: 6 });
    zip.add(entry);
    entry.push(mj, true);
    zip.end();
    if (zipError) throw zipError;
    await writer.drain(true);
    await writer.complete();

    const now = Date.now();
    const expiresAt = now + EXPORT_TTL_MS;
    // An erasure that ran while the ZIP was being written marked this export: the ZIP must not survive it.
    const published = await env.DB.prepare("UPDATE exports SET status = 'ready', sessions_done = ?, object_key = ?, size_bytes = ?, expires_at = ?, updated_at = ? WHERE id = ? AND (error IS NULL OR error <> ?)")
      .bind(params.sessionIds.length, key, writer.bytes, expiresAt, now, row.id, ERASED_EXPORT)
      .run();
    if (!published.meta.changes) {
      await env.EXPORTS_BUCKET.delete(key);
      return;
    }
    await notifyReady(env, { ...row, expires_at: expiresAt }, manifestJson.sessionCount);
  } catch (err) {
    await upload.abort().catch(() => {});
    await setProgress(env, row.id, { status: "failed", error: String(err).slice(0, 500) });
    throw err;
  }
}

/** The tracks of a session that hold audio, in TRACKS order; none for a session without recordings. */
async function sessionTracks(env: Env, sessionId: string): Promise<OpenTrack[]> {
  const out: OpenTrack[] = [];
  for (const track of TRACKS) {
    const t = await openTrack(env, sessionId, track);
    // An object that never held the session (or whose data was erased) has no audio to give.
    if (!t.ok) {
      if (t.error.code === "SESSION_NOT_FOUND") return [];
      throw new Error(`audio of ${sessionId} could not be read: ${t.error.code}`);
    }
    if (t.value) out.push(t.value);
  }
  return out;
}

/** The requester hears about a ready export: an outbox row (an email in production) and the export.ready webhook. */
async function notifyReady(env: Env, row: ExportRow, sessions: number) {
  const origin = (env.PUBLIC_URL ?? "").replace(/\/+$/, "");
  const link = await downloadUrl(env, origin, row);
  await env.DB.prepare(
    "INSERT INTO notifications (id, org_id, recipient_type, recipient_id, kind, subject, body, data, created_at, sent_at) VALUES (?, ?, ?, ?, 'export.ready', ?, ?, ?, ?, NULL)",
  )
    .bind(
      newId("ntf"),
      row.org_id,
      row.requested_by_type,
      row.requested_by,
      `Your export ${row.id} is ready`,
      `The ${row.format.toUpperCase()} export of ${sessions === 1 ? "1 session" : `${sessions} sessions`} is ready. Download it before ${link.expiresAt}: ${link.url}`,
      JSON.stringify({ exportId: row.id, campaignId: row.campaign_id, downloadUrl: link.url, linkExpiresAt: link.expiresAt }),
      Date.now(),
    )
    .run();
  try {
    await emitOrgEvent(env, row.org_id, "export.ready", { exportId: row.id, campaignId: row.campaign_id, format: row.format, sessionCount: sessions }, { eventId: `evt_${(await sha256Hex(`export.ready:${row.id}`)).slice(0, 24)}` });
  } catch (err) {
    console.warn("export.ready webhook not emitted", { exportId: row.id, error: String(err) });
  }
}
