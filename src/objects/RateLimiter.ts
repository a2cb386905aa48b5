// One object per (bucket, client address): a fixed-length window counter in memory. Losing it on
// eviction only forgives a few requests, so it never touches storage.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export class RateLimiter extends DurableObject<Env> {
  private windowStart = 0;
  private count = 0;

  async hit(limit: number, windowMs: number, now = Date.now()): Promise<{ ok: boolean; retryAfterSeconds: number; remaining: number }> {
    // The window opens at the first hit after the last one closed (not at a clock boundary, which
    // would let a burst straddling the boundary through twice).
    if (now - this.windowStart >= windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    const retryAfterSeconds = Math.max(1, Math.ceil((this.windowStart + windowMs - now) / 1000));
    return { ok: this.count <= limit, retryAfterSeconds, remaining: Math.max(0, limit - this.count) };
  }
}
