// A participant's data as one ZIP (right of access and portability, format=zip): per session its
// JSON export, its transcript as CSV and the participant's recording as WAV, plus everything in
// participant.json and a manifest with each file's SHA-256. Streamed: fflate writes into the
// response as files are produced, audio is decrypted chunk by chunk and hashed as it passes, so
// memory holds one chunk, never a recording or the archive.
import { Zip, ZipDeflate, strToU8 } from "fflate";
import type { SessionRow } from "../db/schema";
import type { Env } from "../env";
import { openTrack, zipWav } from "./audio-track";
import type { Role } from "./policy";
import { sessionBundle, transcriptCsv } from "./session-bundle";
import { toHex } from "../shared/crypto";


export interface ManifestFile {
  path: string;
  sessionId: string | null;
  bytes: number;
  sha256: string;
}

export function participantZip(env: Env, rows: SessionRow[], opts: { email: string; role: Role }): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const out = writable.getWriter();
  let failed: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failed = err;
    else if (chunk.length) void out.write(chunk).catch(() => {});
  });
  const manifest: ManifestFile[] = [];

  const addSmall = async (path: string, data: Uint8Array, sessionId: string | null) => {
    manifest.push({ path, sessionId, bytes: data.length, sha256: toHex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)) });
    const entry = new ZipDeflate(path, { level: 6 });
    zip.add(entry);
    entry.push(data, true);
    if (failed) throw failed;
    await out.ready;
  };

  /** The participant's track as WAV, stored (audio does not compress), hashed while it streams. */
  const addAudio = async (row: SessionRow) => {
    const t = await openTrack(env, row.id, "participant");
    if (!t.ok || !t.value) return;
    const path = `${row.id}/audio-participant.wav`;
    const written = await zipWav(zip, path, env.AUDIO_BUCKET, t.value, async () => {
      if (failed) throw failed;
      await out.ready;
    });
    manifest.push({ path, sessionId: row.id, ...written });
  };

  const run = async () => {
    const sessions = [];
    for (const row of rows) {
      const bundle = await sessionBundle(env, row, { role: opts.role });
      sessions.push(bundle);
      await addSmall(`${row.id}/session.json`, strToU8(JSON.stringify(bundle, null, 2)), row.id);
      await addSmall(`${row.id}/transcript.csv`, strToU8(transcriptCsv(bundle)), row.id);
      await addAudio(row);
    }
    const exportedAt = new Date().toISOString();
    await addSmall("participant.json", strToU8(JSON.stringify({ email: opts.email, exportedAt, sessions }, null, 2)), null);
    const mj = strToU8(JSON.stringify({ email: opts.email, exportedAt, sessionCount: rows.length, files: manifest }, null, 2));
    const entry = new ZipDeflate("manifest.json", { level: 6 });
    zip.add(entry);
    entry.push(mj, true);
    zip.end();
    if (failed) throw failed;
    await out.close();
  };
  run().catch(async (err) => {
    console.error("participant zip failed", String(err));
    await out.abort(err).catch(() => {});
  });
  return readable;
}
