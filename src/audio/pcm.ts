// Pure audio helpers over 16-bit little-endian mono PCM: content checks, levels, silence,
// normalisation gain, WAV containers and chunked MP3 encoding. No runtime imports.
import { Mp3Encoder } from "@breezystack/lamejs";

export const SAMPLE_RATE = 16_000;
export const BYTES_PER_SAMPLE = 2;
export const BYTES_PER_SECOND = SAMPLE_RATE * BYTES_PER_SAMPLE;

export const samplesOf = (pcm: Uint8Array) => new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2));

/** Copies into a fresh, aligned buffer (Int16Array needs an even byte offset). */
export function aligned(pcm: Uint8Array): Uint8Array {
  return pcm.byteOffset % 2 === 0 ? pcm : pcm.slice();
}

export interface Levels {
  peak: number; // 0..1
  rms: number; // 0..1
}

export function levels(samples: Int16Array): Levels {
  let peak = 0;
  let sum = 0;
  for (const s of samples) {
    const a = Math.abs(s);
    if (a > peak) peak = a;
    sum += s * s;
  }
  return { peak: peak / 32768, rms: samples.length ? Math.sqrt(sum / samples.length) / 32768 : 0 };
}

/** Gain that brings the peak to `target` (never more than 20×, never attenuates clean audio). */
export function normalisationGain(l: Levels, target = 0.89): number {
  if (l.peak <= 0) return 1;
  return Math.max(1, Math.min(20, target / l.peak));
}

export function applyGain(samples: Int16Array, gain: number): Int16Array {
  if (gain === 1) return samples;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * gain)));
  return out;
}

export interface Silence {
  startMs: number;
  endMs: number;
}

/**
 * Silent stretches of at least `minMs`, in windows of 20 ms whose RMS stays under `threshold`
 * (relative to full scale; the default is about -40 dBFS).
 */
export function silences(samples: Int16Array, minMs = 2000, threshold = 0.01, sampleRate = SAMPLE_RATE): Silence[] {
  const win = Math.round(sampleRate * 0.02);
  const out: Silence[] = [];
  let start: number | null = null;
  for (let i = 0; i < samples.length; i += win) {
    const end = Math.min(samples.length, i + win);
    let sum = 0;
    for (let j = i; j < end; j++) sum += samples[j]! * samples[j]!;
    const rms = Math.sqrt(sum / Math.max(1, end - i)) / 32768;
    if (rms < threshold) start ??= i;
    else if (start !== null) {
      if (((i - start) / sampleRate) * 1000 >= minMs) out.push({ startMs: Math.round((start / sampleRate) * 1000), endMs: Math.round((i / sampleRate) * 1000) });
      start = null;
    }
  }
  if (start !== null && ((samples.length - start) / sampleRate) * 1000 >= minMs) {
    out.push({ startMs: Math.round((start / sampleRate) * 1000), endMs: Math.round((samples.length / sampleRate) * 1000) });
  }
  return out;
}

/** A canonical 44-byte WAV header for mono 16-bit PCM. */
export function wavHeader(dataBytes: number, sampleRate = SAMPLE_RATE): Uint8Array {
  const h = new DataView(new ArrayBuffer(44));
  const ascii = (o: number, s: string) => [...s].forEach((ch, i) => h.setUint8(o + i, ch.charCodeAt(0)));
  ascii(0, "RIFF");
  h.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  h.setUint32(16, 16, true);
  h.setUint16(20, 1, true); // PCM
  h.setUint16(22, 1, true); // mono
  h.setUint32(24, sampleRate, true);
  h.setUint32(28, sampleRate * BYTES_PER_SAMPLE, true);
  h.setUint16(32, BYTES_PER_SAMPLE, true);
  h.setUint16(34, 16, true);
  ascii(36, "data");
  h.setUint32(40, dataBytes, true);
  return new Uint8Array(h.buffer);
}

export type AudioKind = "pcm16" | "wav" | "mp3" | "ogg" | "webm" | "flac" | "unknown";

/** What a blob really is, by its bytes, whatever it claims to be. */
export function sniff(bytes: Uint8Array): AudioKind {
  const tag = (o: number, s: string) => [...s].every((ch, i) => bytes[o + i] === ch.charCodeAt(0));
  if (bytes.length >= 12 && tag(0, "RIFF") && tag(8, "WAVE")) return "wav";
  if (bytes.length >= 3 && (tag(0, "ID3") || (bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0))) return "mp3";
  if (tag(0, "OggS")) return "ogg";
  if (tag(0, "fLaC")) return "flac";
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return "webm";
  return "unknown";
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  data: Uint8Array;
}

/** Parses a WAV file; null when it is not PCM WAV or is truncated. */
export function parseWav(bytes: Uint8Array): WavInfo | null {
  if (sniff(bytes) !== "wav") return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let fmt: Omit<WavInfo, "data"> | null = null;
  while (offset + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = v.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (v.getUint16(body, true) !== 1) return null;
      fmt = { channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bitsPerSample: v.getUint16(body + 14, true) };
    } else if (id === "data") {
      if (!fmt || body + size > bytes.length) return null;
      return { ...fmt, data: bytes.subarray(body, body + size) };
    }
    offset = body + size + (size % 2);
  }
  return null;
}

/**
 * Checks a streamed PCM frame by content: an even number of bytes, within the size limit, and
 * not a container file sent where raw samples belong.
 */
export function checkPcmFrame(frame: Uint8Array, maxBytes = 64 * 1024): { ok: true } | { ok: false; code: string; message: string } {
  if (frame.byteLength === 0) return { ok: false, code: "EMPTY_FRAME", message: "audio frames carry at least one sample" };
  if (frame.byteLength > maxBytes) return { ok: false, code: "FRAME_TOO_LARGE", message: "audio frames are at most 64 KiB" };
  if (frame.byteLength % 2 !== 0) return { ok: false, code: "INVALID_AUDIO", message: "audio frames are 16-bit PCM: an even number of bytes" };
  // An MP3 frame sync (0xFFE…) is also just a small negative sample in PCM, so only files'
  // own signatures count here.
  const kind = sniff(frame);
  const signed = kind !== "unknown" && !(kind === "mp3" && !(frame[0] === 0x49 && frame[1] === 0x44 && frame[2] === 0x33));
  if (signed) return { ok: false, code: "INVALID_AUDIO", message: `expected raw 16 kHz PCM, got a ${kind} container` };
  return { ok: true };
}

/**
 * An MP3 encoder fed piece by piece: the output depends only on the samples, not on where the
 * pieces split them (lame buffers whole frames), so a track decrypted chunk by chunk encodes to
 * the same bytes as the whole track at once, without holding its PCM.
 */
export class Mp3Stream {
  private readonly encoder: Mp3Encoder;
  constructor(sampleRate = SAMPLE_RATE, kbps = 48) {
    this.encoder = new Mp3Encoder(1, sampleRate, kbps);
  }

  /** MP3 bytes for these samples (often none: a frame waits for enough input); in chunks so no single step holds the CPU for long. */
  push(samples: Int16Array): Uint8Array[] {
    const parts: Uint8Array[] = [];
    const CHUNK = 1152 * 64;
    for (let i = 0; i < samples.length; i += CHUNK) {
      const out = this.encoder.encodeBuffer(samples.subarray(i, i + CHUNK));
      if (out.length) parts.push(out.slice());
    }
    return parts;
  }

  /** The last frames; the stream takes nothing after this. */
  end(): Uint8Array[] {
    const tail = this.encoder.flush();
    return tail.length ? [tail.slice()] : [];
  }
}

/** MP3 of mono PCM, all at once. */
export function encodeMp3(samples: Int16Array, sampleRate = SAMPLE_RATE, kbps = 48): Uint8Array {
  const s = new Mp3Stream(sampleRate, kbps);
  return concat([...s.push(samples), ...s.end()]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
