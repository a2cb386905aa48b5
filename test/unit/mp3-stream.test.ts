// The stored MP3 is encoded chunk by chunk as the track is decrypted; it must be the same bytes
// as the whole track encoded at once, wherever the chunks split it (versions and concurrent
// first requests rely on that).
import { describe, expect, it } from "vitest";
import { concat, encodeMp3, Mp3Stream } from "../../src/audio/pcm";

function signal(samples: number, seed: number): Int16Array {
  const out = new Int16Array(samples);
  let x = seed;
  for (let i = 0; i < samples; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(9000 * Math.sin(i * 0.031) + ((x % 4000) - 2000));
  }
  return out;
}

describe("Mp3Stream", () => {
  it("encodes pieces to the same bytes as the whole, wherever they split", () => {
    const pcm = signal(16_000 * 9 + 123, 7);
    const whole = encodeMp3(pcm);
    expect(whole.length).toBeGreaterThan(0);
    for (const sizes of [[65_536], [1, 1151, 1152, 1153], [40_000, 3, 70_001], [pcm.length]]) {
      const s = new Mp3Stream();
      const parts: Uint8Array[] = [];
      for (let i = 0, k = 0; i < pcm.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(...s.push(pcm.subarray(i, i + n)));
        i += n;
      }
      parts.push(...s.end());
      expect(Buffer.from(concat(parts)).equals(Buffer.from(whole)), sizes.join(",")).toBe(true);
    }
  });
});
