// A session's recording, one track at a time, assembled from its encrypted chunks: the one place
// that turns the session object's audio manifest into WAV bytes. GET /v1/sessions/{id}/audio, the
// participant's ZIP and the bulk audio export all read through here, so a track sounds (and
// hashes) the same wherever it is downloaded. Decrypted chunk by chunk: memory holds one chunk.
import type { Zip } from "fflate";
import { ZipPassThrough } from "fflate";
import { applyGain, samplesOf, wavHeader } from "../audio/pcm";
import type { Env } from "../env";
import type { RpcResult } from "../objects/InterviewSession";
import type { ManifestAnswer } from "../objects/voice";
import { importKek, openObject, unwrapDataKey } from "../shared/audio-crypto";
import { toHex } from "../shared/crypto";

export type Track = "participant" | "ai";
export const TRACKS: readonly Track[] = ["participant", "ai"];

/** A track that has audio, ready to assemble: its data key, its chunks in order and its PCM length. */
export interface OpenTrack {
  sessionId: string;
  track: Track;
  dek: CryptoKey;
  /** The data key as the session object stores it (wrapped by AUDIO_KEK): part of the track's version. */
  wrappedKey: string;
  answers: ManifestAnswer[];
  pcmBytes: number;
  /** Length of the assembled WAV file (header included). */
  wavBytes: number;
}

const WAV_HEADER_BYTES = 44;

/**
 * The track of a session, or null when it holds no audio (a text interview, a campaign that keeps
 * no recordings, a purged recording). The session object's own errors are returned, not thrown.
 */
export async function openTrack(env: Pick<Env, "SESSION" | "AUDIO_KEK">, sessionId: string, track: Track): Promise<RpcResult<OpenTrack | null>> {
  const m = await env.SESSION.get(env.SESSION.idFromName(sessionId)).audioManifest(track);
  if (!m.ok) return m;
  const pcmBytes = m.value.answers.reduce((n, a) => n + a.chunks.reduce((k, ch) => k + ch.bytes, 0), 0);
  if (!m.value.wrappedKey || pcmBytes === 0) return { ok: true, value: null };
  const dek = await unwrapDataKey(await importKek(env.AUDIO_KEK), m.value.wrappedKey);
  return { ok: true, value: { sessionId, track, dek, wrappedKey: m.value.wrappedKey, answers: m.value.answers, pcmBytes, wavBytes: WAV_HEADER_BYTES + pcmBytes } };
}

/** Decrypts the chunks overlapping [from, to] of the concatenated PCM, with each answer's gain. */
export async function* pcmRange(bucket: R2Bucket, dek: CryptoKey, answers: ManifestAnswer[], from: number, to: number): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (const a of answers) {
    for (const chunk of a.chunks) {
      const start = offset;
      offset += chunk.bytes;
      if (offset <= from || start > to) continue;
      const obj = await bucket.get(chunk.key);
      if (!obj) throw new Error(`audio chunk ${chunk.key} is missing`);
      const plain = await openObject(dek, chunk.key, new Uint8Array(await obj.arrayBuffer()));
      const gained = a.gain === 1 ? plain : new Uint8Array(applyGain(samplesOf(plain), a.gain).buffer);
      yield gained.subarray(Math.max(0, from - start), Math.min(chunk.bytes, to - start + 1));
    }
  }
}

/** Bytes [start, end] of the track as a WAV file (header computed from the sizes), each piece a fresh copy. */
export async function* wavRange(bucket: R2Bucket, t: OpenTrack, start = 0, end = t.wavBytes - 1): AsyncGenerator<Uint8Array> {
  const header = wavHeader(t.pcmBytes);
  if (start < header.byteLength) yield header.slice(start, Math.min(header.byteLength, end + 1));
  if (end >= header.byteLength) {
    const from = Math.max(0, start - header.byteLength);
    for await (const p of pcmRange(bucket, t.dek, t.answers, from, end - header.byteLength)) yield p.slice();
  }
}

// workerd's incremental SHA-256 (crypto.DigestStream); the DOM typings of `crypto` do not list it.
const { DigestStream: Digest } = globalThis.crypto as Crypto & { DigestStream: typeof DigestStream };

/**
 * Writes the track into `zip` as a stored entry (audio does not deflate) and hashes it as it
 * passes. `pace` runs after every piece: the caller's backpressure (wait for the response, upload
 * a part) and its check for a failed archive.
 */
export async function zipWav(zip: Zip, path: string, bucket: R2Bucket, t: OpenTrack, pace: () => Promise<void>): Promise<{ bytes: number; sha256: string }> {
  const entry = new ZipPassThrough(path);
  entry.mtime = new Date();
  zip.add(entry);
  const digest = new Digest("SHA-256");
  const hash = digest.getWriter();
  let bytes = 0;
  for await (const piece of wavRange(bucket, t)) {
    bytes += piece.length;
    await hash.write(piece);
    entry.push(piece);
    await pace();
  }
  entry.push(new Uint8Array(0), true);
  await pace();
  await hash.close();
  return { bytes, sha256: toHex(await digest.digest) };
}
