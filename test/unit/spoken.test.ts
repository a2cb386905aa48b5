// A spoken answer on the participant page: telling an answer with no speech in it (a muted or dead
// microphone, nobody talking) from one with speech, and the notices as an answer nears its limit.
import { describe, expect, it } from "vitest";
import {
  answerLimitSeconds,
  clock,
  HEARD_LEVEL,
  HEARD_MS,
  limitAnnouncement,
  limitNotice,
  MAX_ANSWER_SECONDS,
  meterLevel,
  pcmRms,
  SpeechPresence,
} from "../../src/ui/participant/spoken";
import { speechPcm } from "../fixtures/audio";

const RATE = 16_000;

/** 16-bit LE PCM of `seconds` of a sine at `dbfs` (full scale 0 dB), plus a DC offset. */
function tone(seconds: number, dbfs: number, hz = 220, dc = 0): Uint8Array {
  const n = Math.round(seconds * RATE);
  const out = new Uint8Array(n * 2);
  const v = new DataView(out.buffer);
  // A sine's RMS is its amplitude / √2.
  const amp = Math.SQRT2 * 10 ** (dbfs / 20);
  for (let i = 0; i < n; i++) v.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round((dc + amp * Math.sin((2 * Math.PI * hz * i) / RATE)) * 32767))), true);
  return out;
}

const silence = (seconds: number) => new Uint8Array(Math.round(seconds * RATE) * 2);

/** Feeds PCM as the worklet does: 100 ms frames. */
function feed(p: SpeechPresence, pcm: Uint8Array) {
  for (let o = 0; o < pcm.byteLength; o += 3_200) p.push(pcm.subarray(o, Math.min(pcm.byteLength, o + 3_200)));
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.byteLength);
  return out;
};

describe("speech presence", () => {
  it("the line is the microphone step's: -48 dBFS on the meter", () => {
    expect(HEARD_LEVEL).toBe(0.2);
    expect(meterLevel(10 ** (-48 / 20))).toBeCloseTo(HEARD_LEVEL, 6);
  });

  it("measures RMS around the mean, so a constant offset is silence", () => {
    expect(pcmRms(silence(0.1))).toBe(0);
    expect(pcmRms(tone(0.1, -20))).toBeCloseTo(0.1, 2);
    // A DC-stuck input at 30 % of full scale, nothing else.
    expect(pcmRms(tone(0.1, -200, 220, 0.3))).toBeLessThan(1e-4);
    // Unaligned views read correctly.
    const t = tone(0.1, -20);
    const shifted = new Uint8Array(t.byteLength + 1);
    shifted.set(t, 1);
    expect(pcmRms(shifted.subarray(1))).toBeCloseTo(pcmRms(t), 9);
  });

  it("digital silence, a quiet noise floor and a stuck offset are not heard, however long", () => {
    for (const pcm of [silence(30), tone(30, -65, 3_000), tone(30, -200, 220, 0.3)]) {
      const p = new SpeechPresence();
      feed(p, pcm);
      expect(p.heard).toBe(false);
      expect(p.loudMs).toBe(0);
    }
  });

  it("a click or a bump of the microphone is not speech; a short word is", () => {
    const p = new SpeechPresence();
    // One loud 100 ms frame (a click) in ten seconds of silence.
    feed(p, concat(silence(5), tone(0.1, -10), silence(5)));
    expect(p.loudMs).toBeCloseTo(100, 6);
    expect(p.heard).toBe(false);
    // A "yes" at a normal level: 0.3 s at -30 dBFS.
    feed(p, tone(HEARD_MS / 1000, -30));
    expect(p.heard).toBe(true);
  });

  it("hears the espeak-ng fixture (what the browser tests' fake microphone says)", () => {
    const p = new SpeechPresence();
    feed(p, speechPcm());
    expect(p.heard).toBe(true);
  });

  it("speech too quiet for the meter's line is not counted; reset starts a new take", () => {
    const p = new SpeechPresence();
    feed(p, tone(5, -52));
    expect(p.heard).toBe(false);
    feed(p, tone(1, -40));
    expect(p.heard).toBe(true);
    p.reset();
    expect(p.heard).toBe(false);
    expect(p.loudMs).toBe(0);
  });
});

describe("the answer's length limit", () => {
  it("is ten minutes less five seconds, shortened only by a sane injected value", () => {
    expect(MAX_ANSWER_SECONDS).toBe(595);
    expect(answerLimitSeconds()).toBe(595);
    expect(answerLimitSeconds(30)).toBe(30);
    expect(answerLimitSeconds(3_600)).toBe(595);
    expect(answerLimitSeconds(0)).toBe(5);
    expect(answerLimitSeconds(-1)).toBe(5);
    expect(answerLimitSeconds(Number.NaN)).toBe(595);
    expect(answerLimitSeconds(Infinity)).toBe(595);
    expect(answerLimitSeconds("30")).toBe(595);
    expect(answerLimitSeconds(null)).toBe(595);
  });

  it("nothing until a minute is left, then 'under a minute', then the seconds for the last 15", () => {
    expect(limitNotice(595)).toBeNull();
    expect(limitNotice(60.2)).toBeNull();
    expect(limitNotice(60)).toEqual({ kind: "minute" });
    expect(limitNotice(15.01)).toEqual({ kind: "minute" });
    expect(limitNotice(15)).toEqual({ kind: "countdown", seconds: 15 });
    expect(limitNotice(12.3)).toEqual({ kind: "countdown", seconds: 13 });
    expect(limitNotice(0.2)).toEqual({ kind: "countdown", seconds: 1 });
    expect(limitNotice(0)).toEqual({ kind: "countdown", seconds: 0 });
    expect(limitNotice(-3)).toEqual({ kind: "countdown", seconds: 0 });
    expect(limitNotice(Number.NaN)).toBeNull();
  });

  it("a screen reader hears it three times (60, 15 and 5 s to go), not every second", () => {
    const said: string[] = [];
    for (let left = 120; left >= 0; left -= 0.25) {
      const a = limitAnnouncement(left);
      const text = a === null ? "" : a.kind === "minute" ? "minute" : clock(a.seconds);
      if (text !== (said.at(-1) ?? "")) said.push(text);
    }
    expect(said).toEqual(["minute", "0:15", "0:05"]);
  });

  it("the clock reads m:ss", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(12.7)).toBe("0:12");
    expect(clock(595)).toBe("9:55");
  });
});
