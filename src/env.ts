import { OWNER_IDLE_MS } from "./objects/audio";
import type { InterviewSession } from "./objects/InterviewSession";
import type { AuditLedger } from "./objects/AuditLedger";
import type { CampaignLive } from "./objects/CampaignLive";
import type { RateLimiter } from "./objects/RateLimiter";

/** Bindings and configuration (wrangler.toml, .dev.vars, secrets). */
export interface Env {
  DB: D1Database;
  SESSION: DurableObjectNamespace<InterviewSession>;
  CAMPAIGN_LIVE: DurableObjectNamespace<CampaignLive>;
  AUDIT_LEDGER: DurableObjectNamespace<AuditLedger>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  RATE_LIMIT_LOGIN_PER_MINUTE?: string;
  RATE_LIMIT_JOIN_PER_MINUTE?: string;
  CORS_ORIGINS?: string;
  AUDIO_BUCKET: R2Bucket;
  EXPORTS_BUCKET: R2Bucket;
  AI_QUEUE: Queue<unknown>;
  AI_DLQ: Queue<unknown>;
  AUDIT_QUEUE: Queue<unknown>;
  AI: Ai;
  ASSETS?: Fetcher;
  OPERATOR_TOKEN?: string;
  /** Key-encryption key for audio data keys: 32 random bytes, base64 (a secret in production). */
  AUDIO_KEK?: string;
  /** Keys the deletion ledger's subject hashes (defaults to a value derived from AUDIO_KEK). */
  LEDGER_KEY?: string;
  /** Signs bulk-export download links (HMAC-SHA256); falls back to AUDIO_KEK when unset. */
  EXPORT_SIGNING_KEY?: string;
  AI_MODE?: string;
  HEARTBEAT_TIMEOUT_SECONDS?: string;
  PAUSE_EXPIRY_SECONDS?: string;
  LEAVE_GRACE_SECONDS?: string;
  /** How long a window recording a spoken answer counts as active after its last frame (AudioIntake). */
  AUDIO_OWNER_IDLE_SECONDS?: string;
  PUBLIC_URL?: string;
  /** Webhook host check: `doh` (default) resolves names over DNS-over-HTTPS; `off` skips it (offline development only). */
  WEBHOOK_DNS_CHECK?: string;
  /** The DNS-over-HTTPS JSON endpoint for that check; https://cloudflare-dns.com/dns-query when unset. */
  WEBHOOK_DOH_URL?: string;
}

const seconds = (raw: string | undefined, fallback: number) => {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

/** Timer limits from the environment, in milliseconds (CONTRACT.md defaults). */
export function limitsFrom(env: Pick<Env, "HEARTBEAT_TIMEOUT_SECONDS" | "PAUSE_EXPIRY_SECONDS" | "LEAVE_GRACE_SECONDS">) {
  return {
    heartbeatMs: seconds(env.HEARTBEAT_TIMEOUT_SECONDS, 300) * 1000,
    pauseExpiryMs: seconds(env.PAUSE_EXPIRY_SECONDS, 86_400) * 1000,
    leaveGraceMs: seconds(env.LEAVE_GRACE_SECONDS, 30) * 1000,
  };
}

/** How long a window recording an answer keeps it from other windows after its last frame or answer_start. */
export const audioOwnerIdleMs = (env: Pick<Env, "AUDIO_OWNER_IDLE_SECONDS">) => seconds(env.AUDIO_OWNER_IDLE_SECONDS, OWNER_IDLE_MS / 1000) * 1000;
