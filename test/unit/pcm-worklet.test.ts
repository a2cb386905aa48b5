// The AudioWorklet processor of the participant page, run in Node with the worklet globals
// stubbed: whatever the microphone's rate, out come 100 ms frames of 16 kHz 16-bit PCM, speech-band
// tones keep their pitch and level, and tones above 8 kHz are filtered out rather than aliased.
import { beforeAll, describe, expect, it } from "vitest";

type Msg = { pcm: ArrayBuffer; rms: number; peak: number; flushed?: boolean };
interface Proc {
  port: { postMessage: (m: Msg) => void; onmessage: ((e: { data: unknown }) => void) | null };
  process(inputs: Float32Array[][]): boolean;
}
let Processor: new () => Proc;

beforeAll(async () => {
  const g = globalThis as Record<string, unknown>;
  g.AudioWorkletProcessor = class {
    port = { postMessage: (_m: Msg) => undefined, onmessage: null };
  };
  g.registerProcessor = (_name: string, ctor: new () => Proc) => (Processor = ctor);
  g.sampleRate = 48_000;
  await import("../../src/ui/participant/pcm-worklet");
});

function run(rate: number, tone: (t: number) => number, seconds: number, channels = 1) {
  (globalThis as Record<string, unknown>).sampleRate = rate;
  const p = new Processor();
  const out: Msg[] = [];
  p.port.postMessage = (m) => out.push(m);
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i += 128) {
    const block = Array.from({ length: channels }, () => new Float32Array(128));
    for (let k = 0; k < 128; k++) for (const ch of block) ch[k] = tone((i + k) / rate);
    p.process([block]);
  }
  p.port.onmessage!({ data: "flush" });
  const samples = new Int16Array(out.reduce((n, m) => n + m.pcm.byteLength / 2, 0));
  let o = 0;
  for (const m of out) {
    samples.set(new Int16Array(m.pcm), o);
    o += m.pcm.byteLength / 2;
  }
  return { out, samples };
}

const rms = (s: Int16Array) => Math.sqrt(s.reduce((n, v) => n + (v / 32768) ** 2, 0) / s.length);
function crossings(s: Int16Array) {
  let n = 0;
  for (let i = 1; i < s.length; i++) if ((s[i - 1]! < 0) !== (s[i]! < 0)) n++;
  return n;
}

describe("pcm-worklet downsampler", () => {
  for (const rate of [48_000, 44_100, 16_000, 8_000]) {
    it(`${rate} Hz in: 16 kHz out, in 100 ms frames, pitch and level kept`, () => {
      const { out, samples } = run(rate, (t) => 0.5 * Math.sin(2 * Math.PI * 440 * t), 2);
      // Two seconds in, two seconds out (less the filter's half window, which the flush leaves behind).
      expect(Math.abs(samples.length - 32_000)).toBeLessThan(200);
      expect(out.slice(0, -1).every((m) => m.pcm.byteLength === 3_200)).toBe(true);
      expect(out.at(-1)!.flushed).toBe(true);
      const steady = samples.subarray(1_000, 31_000);
      expect(rms(steady)).toBeCloseTo(0.5 / Math.SQRT2, 1);
      // 440 Hz: 880 zero crossings a second.
      expect(crossings(steady) / (steady.length / 16_000)).toBeCloseTo(880, -1);
      expect(out[5]!.rms).toBeGreaterThan(0.3);
    });
  }

  it("removes what 16 kHz cannot carry instead of folding it back as noise", () => {
    const { samples } = run(48_000, (t) => 0.5 * Math.sin(2 * Math.PI * 11_000 * t), 1);
    expect(rms(samples.subarray(500, 15_000))).toBeLessThan(0.01);
  });

  it("mixes stereo to mono and clips instead of wrapping around", () => {
    const { samples } = run(48_000, () => 1.5, 0.5, 2);
    expect(Math.max(...samples.subarray(200, 7_000))).toBe(32_767);
    expect(Math.min(...samples.subarray(200, 7_000))).toBeGreaterThan(0);
  });
});
