// The MP3 of a track, encoded once per version of the track and kept in R2, so the player's Range
// requests (several per play and seek) read bytes instead of re-encoding the whole recording.
//
// - Encrypted like the chunks it comes from: sealed with the session's data key, in segments of
//   MP3_SEGMENT_BYTES, each binding the object's key, its index and the segment count as associated
//   data (segments cannot be swapped, reordered or cut off). A range decrypts only its segments.
// - Keyed by the track's version (a hash of the data key, the chunks in order with their sizes,
//   each answer's gain and the encoding): a track that changes has another key, so a stale copy is
//   never served. Writing a version removes the track's older ones.
// - Under the session's audio prefix (`sessions/{id}/audio/mp3/`), so the audio purge and the
//   erasure, which delete that prefix, delete it with the chunks.
import { aligned, Mp3Stream, samplesOf } from "../audio/pcm";
import type { Env } from "../env";
import { openObject, sealObject } from "../shared/audio-crypto";
import { sha256Hex } from "../shared/crypto";
import { openTrack, pcmRange, type OpenTrack, type Track } from "./audio-track";

/** Changes with anything that changes the bytes (encoder settings, segment layout): older copies are then never read. */
const FORMAT = "mp3/16000/mono/48kbps/lamejs-1.2.7/seg64k/v1";
export const MP3_SEGMENT_BYTES = 64 * 1024;
/** What sealObject adds to each segment: magic, IV and the GCM tag. */
const SEAL_OVERHEAD = 4 + 12 + 16;
const SEALED_SEGMENT = MP3_SEGMENT_BYTES + SEAL_OVERHEAD;

export const mp3Prefix = (sessionId: string, track: Track) => `sessions/${sessionId}/audio/mp3/${track}/`;
export const mp3Key = (sessionId: string, track: Track, version: string) => `${mp3Prefix(sessionId, track)}${version}.mp3`;

/** The track's version: what the assembled audio depends on, hashed. */
export async function trackVersion(t: OpenTrack): Promise<string> {
  const shape = { format: FORMAT, key: t.wrappedKey, answers: t.answers.map((a) => [a.id, a.gain, a.chunks.map((c) => [c.key, c.bytes])]) };
  return (await sha256Hex(JSON.stringify(shape))).slice(0, 32);
}

/** A stored MP3: its key, its version (the response's ETag) and its length decrypted. */
export interface StoredMp3 {
  key: string;
  version: string;
  bytes: number;
  segments: number;
  sealedBytes: number;
}

const segmentAad = (key: string, i: number, n: number) => `${key}#${i}/${n}`;

/** The layout of a stored object of `sealedBytes`, or null when no sealed MP3 has that length. */
function layout(key: string, version: string, sealedBytes: number): StoredMp3 | null {
  const segments = Math.max(1, Math.ceil(sealedBytes / SEALED_SEGMENT));
  const last = sealedBytes - (segments - 1) * SEALED_SEGMENT;
  if (last < SEAL_OVERHEAD) return null;
  return { key, version, bytes: sealedBytes - segments * SEAL_OVERHEAD, segments, sealedBytes };
}

/**
 * The track's MP3 in R2: the stored one for this version, or encoded now and stored. Two first
 * requests may both encode; they produce the same MP3 and each put replaces the object whole.
 * Returns null when the track's audio went while it was encoded (purged or erased): what was
 * written is deleted again, so nothing outlives the purge.
 */
export async function storedMp3(env: Pick<Env, "AUDIO_BUCKET" | "SESSION" | "AUDIO_KEK">, t: OpenTrack): Promise<StoredMp3 | null> {
  const version = await trackVersion(t);
  const key = mp3Key(t.sessionId, t.track, version);
  const head = await env.AUDIO_BUCKET.head(key);
  const found = head && layout(key, version, head.size);
  if (found) return found;

  const stored = await encode(env.AUDIO_BUCKET, t, key, version);
  // A purge or erasure lists the prefix (again) after it forgets the audio key. So either it has
  // not forgotten it yet (that listing comes after this put, and takes the object) or it has, and
  // it shows here.
  const now = await openTrack(env, t.sessionId, t.track).catch(async (err: unknown) => {
    await env.AUDIO_BUCKET.delete(key);
    throw err;
  });
  if (!now.ok || !now.value || now.value.wrappedKey !== t.wrappedKey) {
    await env.AUDIO_BUCKET.delete(key);
    return null;
  }
  // Still current: older versions of the track are of no more use. (A track that grew meanwhile
  // keeps this copy for this response; the next version written removes it.)
  if ((await trackVersion(now.value)) === version) await deleteOtherVersions(env.AUDIO_BUCKET, t, key);
  return stored;
}

/** Decrypts the track chunk by chunk into the encoder; memory holds the MP3 (about 3/16 of the PCM) and one chunk. */
async function encode(bucket: R2Bucket, t: OpenTrack, key: string, version: string): Promise<StoredMp3> {
  const segments: Uint8Array[] = [];
  let fill = new Uint8Array(MP3_SEGMENT_BYTES);
  let filled = 0;
  const take = (parts: Uint8Array[]) => {
    for (const p of parts) {
      for (let o = 0; o < p.length; ) {
        const n = Math.min(MP3_SEGMENT_BYTES - filled, p.length - o);
        fill.set(p.subarray(o, o + n), filled);
        filled += n;
        o += n;
        if (filled === MP3_SEGMENT_BYTES) {
          segments.push(fill);
          fill = new Uint8Array(MP3_SEGMENT_BYTES);
          filled = 0;
        }
      }
    }
  };
  const mp3 = new Mp3Stream();
  for await (const pcm of pcmRange(bucket, t.dek, t.answers, 0, t.pcmBytes - 1)) take(mp3.push(samplesOf(aligned(pcm))));
  take(mp3.end());
  if (filled > 0 || segments.length === 0) segments.push(fill.subarray(0, filled));

  const n = segments.length;
  const bytes = segments.reduce((k, s) => k + s.length, 0);
  const sealedBytes = bytes + n * SEAL_OVERHEAD;
  // One put of known length, streamed from the segments as they are sealed: atomic for readers,
  // and each plaintext segment is let go once sealed.
  const { readable, writable } = new FixedLengthStream(sealedBytes);
  const put = bucket.put(key, readable, {
    httpMetadata: { contentType: "application/octet-stream" },
    customMetadata: { encryption: "aes-256-gcm", format: "mp3", segmentBytes: String(MP3_SEGMENT_BYTES), version },
  });
  const write = (async () => {
    const w = writable.getWriter();
    try {
      for (let i = 0; i < n; i++) {
        const sealed = await sealObject(t.dek, segmentAad(key, i, n), segments[i]!);
        segments[i] = new Uint8Array(0);
        await w.write(sealed);
      }
      await w.close();
    } catch (err) {
      await w.abort(err).catch(() => {});
      throw err;
    }
  })();
  await Promise.all([put, write]);
  return { key, version, bytes, segments: n, sealedBytes };
}

async function deleteOtherVersions(bucket: R2Bucket, t: OpenTrack, keep: string) {
  const listed = await bucket.list({ prefix: mp3Prefix(t.sessionId, t.track) });
  const old = listed.objects.map((o) => o.key).filter((k) => k !== keep);
  if (old.length) await bucket.delete(old);
}

/**
 * Bytes [start, end] of the stored MP3, decrypted segment by segment from one ranged read; null
 * when the object is gone (purged since it was found).
 */
export async function mp3Range(bucket: R2Bucket, dek: CryptoKey, m: StoredMp3, start: number, end: number): Promise<ReadableStream<Uint8Array> | null> {
  const first = Math.floor(start / MP3_SEGMENT_BYTES);
  const last = Math.floor(end / MP3_SEGMENT_BYTES);
  const offset = first * SEALED_SEGMENT;
  const obj = await bucket.get(m.key, { range: { offset, length: Math.min((last + 1) * SEALED_SEGMENT, m.sealedBytes) - offset } });
  if (!obj) return null;
  const sealedLength = (i: number) => (i === m.segments - 1 ? m.sealedBytes - i * SEALED_SEGMENT : SEALED_SEGMENT);
  const reader = obj.body.getReader();
  let i = first;
  let seg = new Uint8Array(sealedLength(i));
  let filled = 0;
  return new ReadableStream<Uint8Array>({
    // One segment per pull: the response's backpressure paces the reads.
    async pull(controller) {
      try {
        while (i <= last) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`stored MP3 ${m.key} ended before segment ${i}`);
          let out: Uint8Array | null = null;
          for (let o = 0; o < value.length && i <= last; ) {
            const n = Math.min(seg.length - filled, value.length - o);
            seg.set(value.subarray(o, o + n), filled);
            filled += n;
            o += n;
            if (filled < seg.length) continue;
            const plain = await openObject(dek, segmentAad(m.key, i, m.segments), seg);
            const from = i === first ? start - i * MP3_SEGMENT_BYTES : 0;
            const to = i === last ? end - i * MP3_SEGMENT_BYTES + 1 : plain.length;
            const piece = plain.subarray(from, to);
            // Several segments may complete within one read: hand them over together.
            out = out ? concatTwo(out, piece) : piece;
            i++;
            if (i <= last) seg = new Uint8Array(sealedLength(i));
            filled = 0;
          }
          if (out) {
            controller.enqueue(out);
            break;
          }
        }
        if (i > last) {
          await reader.cancel().catch(() => {});
          controller.close();
        }
      } catch (err) {
        await reader.cancel().catch(() => {});
        controller.error(err);
      }
    },
    async cancel() {
      await reader.cancel().catch(() => {});
    },
  });
}

function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
