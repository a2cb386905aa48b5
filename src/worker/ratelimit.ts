// Per-client-address rate limits for unauthenticated entry points (sign-in, join).
import type { Context } from "hono";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

export const RATE_LIMITS = {
  login: { env: "RATE_LIMIT_LOGIN_PER_MINUTE", fallback: 10 },
  join: { env: "RATE_LIMIT_JOIN_PER_MINUTE", fallback: 60 },
} as const;

export async function rateLimit(c: Context<AppEnv>, bucket: keyof typeof RATE_LIMITS): Promise<void> {
  const spec = RATE_LIMITS[bucket];
  const configured = Number((c.env as unknown as Record<string, string | undefined>)[spec.env]);
  const limit = Number.isFinite(configured) && configured > 0 ? configured : spec.fallback;
  const client = c.req.header("CF-Connecting-IP") ?? "unknown";
  const stub = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(`${bucket}:${client}`));
  const r = await stub.hit(limit, 60_000);
  if (!r.ok) {
    throw new ApiError(429, "RATE_LIMITED", `too many ${bucket} attempts from this address; try again in ${r.retryAfterSeconds} s`, undefined, {
      "Retry-After": String(r.retryAfterSeconds),
    });
  }
}
