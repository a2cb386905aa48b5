// The pure parts of a spoken answer on the participant page: how loud the microphone is, whether
// an answer held anything that could be speech, and what the page says as an answer nears its
// length limit. No DOM and no clock in here (unit-tested in Node).

/** 16 kHz mono 16-bit PCM, as the worklet hands it over. */
const SAMPLES_PER_SECOND = 16_000;

/** RMS (0..1 of full scale) to a 0..1 meter value over -60..0 dBFS. */
export function meterLevel(rms: number): number {
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

/**
 * The meter level the page counts as "we can hear you" (-48 dBFS): the microphone step's "can't
 * hear you yet" and a spoken answer's "we didn't hear anything" use the same line. Speech at a
 * normal distance is -35..-20 dBFS after the browser's gain control; a muted or dead microphone
 * gives digital silence or a noise floor well under -60 dBFS.
 */
export const HEARD_LEVEL = 0.2;

/**
 * An answer counts as heard once this much of it was above HEARD_LEVEL: one 100 ms frame is a
 * click, a tap on the microphone or a door; three are a short word ("yes" lasts ~0.3-0.4 s).
 */
export const HEARD_MS = 300;

/** The window the level is measured over (the worklet's frame: 100 ms). */
const WINDOW_SAMPLES = 1_600;

/**
 * RMS of 16-bit little-endian PCM around its mean, 0..1 of full scale: a microphone stuck at a
 * constant offset (a dead input on some cards) is silence, not a loud signal.
 */
export function pcmRms(pcm: Uint8Array, from = 0, to = pcm.byteLength >> 1): number {
  const n = to - from;
  if (n <= 0) return 0;
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  let sum = 0;
  let sumSq = 0;
  for (let i = from; i < to; i++) {
    const x = view.getInt16(i * 2, true) / 32768;
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/**
 * Whether the audio of one take of an answer held anything that could be speech: the time spent
 * above HEARD_LEVEL, measured in 100 ms windows of the PCM the page records. Deliberately cheap
 * (one pass over samples the page already has, no allocation) and lenient: it only tells silence
 * (a muted or dead microphone, nobody speaking) from sound, and never judges what the sound was.
 */
export class SpeechPresence {
  private loudSamples = 0;

  /** Adds captured PCM (16-bit LE, 16 kHz, mono). */
  push(pcm: Uint8Array) {
    if (this.heard) return; // decided: nothing more to measure
    const samples = pcm.byteLength >> 1;
    for (let at = 0; at < samples; at += WINDOW_SAMPLES) {
      const end = Math.min(samples, at + WINDOW_SAMPLES);
      if (meterLevel(pcmRms(pcm, at, end)) > HEARD_LEVEL) this.loudSamples += end - at;
    }
  }

  /** Milliseconds of the take above HEARD_LEVEL so far. */
  get loudMs() {
    return (this.loudSamples / SAMPLES_PER_SECOND) * 1000;
  }

  get heard() {
    return this.loudMs >= HEARD_MS;
  }

  /** A new take: nothing heard yet. */
  reset() {
    this.loudSamples = 0;
  }
}

// ---- The length limit ----

/** Ten minutes is the server's limit per answer (src/objects/audio.ts); the page stops a little before it. */
export const MAX_ANSWER_SECONDS = 595;
/** The participant is warned this long before the page finishes the answer by itself… */
export const WARN_SECONDS = 60;
/** …and sees the seconds counted down for the last stretch. */
export const COUNTDOWN_SECONDS = 15;

/**
 * The page's own cut-off: MAX_ANSWER_SECONDS, or a shorter one that a browser test injects (so it
 * need not record for ten minutes). Never longer than the server allows, never absurdly short.
 */
export function answerLimitSeconds(injected?: unknown): number {
  if (typeof injected !== "number" || !Number.isFinite(injected)) return MAX_ANSWER_SECONDS;
  return Math.min(MAX_ANSWER_SECONDS, Math.max(5, injected));
}

export type LimitNotice = { kind: "minute" } | { kind: "countdown"; seconds: number };

/** What the page shows with `left` seconds to go before it finishes the answer: nothing, "under a minute", or the seconds. */
export function limitNotice(left: number): LimitNotice | null {
  if (!(left <= WARN_SECONDS)) return null;
  if (left > COUNTDOWN_SECONDS) return { kind: "minute" };
  return { kind: "countdown", seconds: Math.max(0, Math.ceil(left)) };
}

/**
 * What a screen reader is told (a polite live region): the same notice, but changing only at
 * 60 s, 15 s and 5 s to go. A reader announcing every second of a countdown would talk over the
 * answer being recorded, and into the microphone.
 */
export function limitAnnouncement(left: number): LimitNotice | null {
  const shown = limitNotice(left);
  if (shown?.kind !== "countdown") return shown;
  return { kind: "countdown", seconds: shown.seconds > 5 ? COUNTDOWN_SECONDS : 5 };
}

/** m:ss, as the recording clock shows time. */
export const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
