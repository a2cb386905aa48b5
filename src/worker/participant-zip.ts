// A participant's data as one ZIP (right of access and portability, format=zip): per session its
// JSON export, its transcript as CSV and the participant's recording as WAV, plus everything in
// participant.json and a manifest with each file's SHA-256. Streamed: fflate writes into the
// response as files are produced, audio is decrypted chunk by chunk and hashed as it passes, so
// memory holds one chunk, never a recording or the archive.
import { Zip, ZipDeflate, ZipPassThrough, strToU8 } from "fflate";
import { wavHeader } from "../audio/pcm";
import type { SessionRow } from "../db/schema";
import type { Env } from "../env";
import { importKek, unwrapDataKey } from "../shared/audio-crypto";
import type { Role } from "./policy";
import { pcmRange } from "./routes/audio";
import { sessionBundle, transcriptCsv } from "./session-bundle";

// workerd's incremental SHA-256 (crypto.DigestStream); the DOM typings of `crypto` do not list it.
const { DigestStream: Digest } = globalThis.crypto as Crypto & { DigestStream: typeof DigestStream };

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

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
    manifest.push({ path, sessionId, bytes: data.length, sha256: hex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)) });
    const entry = new ZipDeflate(path, { level: 6 });
    zip.add(entry);
    entry.push(data, true);
    if (failed) throw failed;
    await out.ready;
  };

  /** The participant's track as WAV, stored (audio does not compress), hashed while it streams. */
  const addAudio = async (row: SessionRow) => {
    const m = await env.SESSION.get(env.SESSION.idFromName(row.id)).audioManifest("participant");
    if (!m.ok || !m.value.wrappedKey) return;
    const pcmBytes = m.value.answers.reduce((n, a) => n + a.chunks.reduce((k, c) => k + c.bytes, 0), 0);
    if (pcmBytes === 0) return;
    const dek = await unwrapDataKey(await importKek(env.AUDIO_KEK), m.value.wrappedKey);
    const path = `${row.id}/audio-participant.wav`;
    const entry = new ZipPassThrough(path);
    zip.add(entry);
    const digest = new Digest("SHA-256");
    const hash = digest.getWriter();
    const header = wavHeader(pcmBytes);
    let bytes = 0;
    const push = async (piece: Uint8Array, final = false) => {
      bytes += piece.length;
      await hash.write(piece);
      entry.push(piece, final);
      if (failed) throw failed;
      await out.ready;
    };
    await push(header);
    for await (const p of pcmRange(env.AUDIO_BUCKET, dek, m.value.answers, 0, pcmBytes - 1)) await push(p.slice());
    await push(new Uint8Array(0), true);
    await hash.close();
    manifest.push({ path, sessionId: row.id, bytes, sha256: hex(await digest.digest) });
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
