// AudioWorklet processor (built to /app/pcm-worklet.js; the CSP allows scripts from 'self' only):
// mixes the microphone to mono, resamples it from the context's rate to 16 kHz with a windowed-sinc
// low-pass (no aliasing above 7.2 kHz), and posts 100 ms frames of 16-bit PCM with their level.
// The main thread decides which frames belong to an answer; this file only converts.
export {};

declare const sampleRate: number;
declare const registerProcessor: (name: string, ctor: unknown) => void;
declare const AudioWorkletProcessor: { new (): { readonly port: MessagePort } };

const TARGET_RATE = 16_000;
/** 100 ms at 16 kHz: 3,200 bytes a frame, far under the socket's 64 KiB limit. */
const FRAME_SAMPLES = 1_600;
/** Kernel table resolution (entries per input sample of distance). */
const RES = 64;

export interface PcmMessage {
  /** Int16 little-endian samples (a transferred buffer). */
  pcm: ArrayBuffer;
  /** Levels of this frame, 0..1 of full scale. */
  rms: number;
  peak: number;
  /** True on the answer to a "flush" request: the last partial frame (possibly empty). */
  flushed?: boolean;
}

class PcmDownsampler extends AudioWorkletProcessor {
  private readonly ratio = sampleRate / TARGET_RATE;
  private readonly half: number;
  private readonly table: Float32Array;
  private buf = new Float32Array(16_384);
  private len: number;
  private pos: number;
  private out = new Int16Array(FRAME_SAMPLES);
  private n = 0;
  private sumSq = 0;
  private peak = 0;

  constructor() {
    super();
    // Cut-off at 45% of the lower of the two rates; the kernel spans 8 zero crossings each side.
    const scale = Math.min(1, 1 / this.ratio);
    const fc = 0.45 * scale;
    this.half = Math.ceil(8 / scale);
    this.table = new Float32Array(this.half * RES + 2);
    for (let i = 0; i < this.table.length; i++) {
      const d = i / RES;
      if (d >= this.half) continue;
      const x = 2 * Math.PI * fc * d;
      const sinc = d === 0 ? 1 : Math.sin(x) / x;
      const hann = 0.5 * (1 + Math.cos((Math.PI * d) / this.half));
      this.table[i] = 2 * fc * sinc * hann;
    }
    // Zeros before the first sample, so the first output has its whole window.
    this.len = this.half;
    this.pos = this.half;
    this.port.onmessage = (e: MessageEvent) => {
      if (e.data === "flush") this.post(true);
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0];
    const first = input?.[0];
    if (!input || !first) return true;
    const frames = first.length;
    if (this.len + frames > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + frames));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const channels = input.length;
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += input[c]![i]!;
      this.buf[this.len + i] = s / channels;
    }
    this.len += frames;

    const { buf, table, half, ratio } = this;
    const last = table.length - 1;
    while (this.pos + half < this.len) {
      const c = Math.floor(this.pos);
      let acc = 0;
      let wsum = 0;
      for (let k = c - half + 1; k <= c + half; k++) {
        const d = Math.abs(this.pos - k) * RES;
        const i = d | 0;
        if (i >= last) continue;
        const w = table[i]! + (table[i + 1]! - table[i]!) * (d - i);
        acc += buf[k]! * w;
        wsum += w;
      }
      this.emit(wsum > 0 ? acc / wsum : 0);
      this.pos += ratio;
    }
    const keep = Math.floor(this.pos) - half;
    if (keep > 0) {
      buf.copyWithin(0, keep, this.len);
      this.len -= keep;
      this.pos -= keep;
    }
    return true;
  }

  private emit(x: number) {
    const v = x > 1 ? 1 : x < -1 ? -1 : x;
    this.out[this.n++] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
    this.sumSq += v * v;
    const a = Math.abs(v);
    if (a > this.peak) this.peak = a;
    if (this.n === FRAME_SAMPLES) this.post(false);
  }

  private post(flushed: boolean) {
    const pcm = this.n === FRAME_SAMPLES ? this.out : this.out.slice(0, this.n);
    const msg: PcmMessage = { pcm: pcm.buffer as ArrayBuffer, rms: this.n ? Math.sqrt(this.sumSq / this.n) : 0, peak: this.peak, ...(flushed ? { flushed: true } : {}) };
    this.port.postMessage(msg, [msg.pcm]);
    this.out = new Int16Array(FRAME_SAMPLES);
    this.n = 0;
    this.sumSq = 0;
    this.peak = 0;
  }
}

registerProcessor("pcm-downsampler", PcmDownsampler);
