// Retention by plan: how long each kind of interview data is kept after a session ends, the one
// table the sweep, the API and the dashboard all read. Audio is the most sensitive (a voice
// identifies a person) and goes first; metadata (the session row with no content) goes last,
// and removing it removes everything left of the session.
import { z } from "zod";

export const DATA_TYPES = ["transcripts", "audio", "analytics", "metadata"] as const;
export type DataType = (typeof DATA_TYPES)[number];
export const PLANS = ["free", "starter", "professional", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

export type RetentionDays = Record<DataType, number>;

/** Days kept after a session ends, per plan. Enterprise values are defaults an org may change. */
export const RETENTION_TABLE: Record<Plan, RetentionDays> = {
  free: { transcripts: 30, audio: 7, analytics: 30, metadata: 90 },
  starter: { transcripts: 90, audio: 30, analytics: 90, metadata: 365 },
  professional: { transcripts: 365, audio: 90, analytics: 365, metadata: 730 },
  enterprise: { transcripts: 730, audio: 365, analytics: 730, metadata: 2555 },
};

/** Bounds of any custom value (enterprise orgs, campaign overrides). */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;
export const DAY_MS = 86_400_000;

const days = z.number().int().min(MIN_RETENTION_DAYS).max(MAX_RETENTION_DAYS);
/** Stored and accepted per-type overrides: any subset of the four types. */
export const RetentionOverrides = z.strictObject({ transcripts: days.optional(), audio: days.optional(), analytics: days.optional(), metadata: days.optional() });
export type RetentionOverrides = z.infer<typeof RetentionOverrides>;

/**
 * The org's retention: the plan's table; on enterprise, the older single `retention_days`
 * applies to every type and the per-type `retention` JSON wins over it.
 */
export function orgRetention(org: { plan: Plan; retention_days: number | null; retention: RetentionOverrides | null }): RetentionDays {
  const base = { ...RETENTION_TABLE[org.plan] };
  if (org.plan !== "enterprise") return base;
  for (const t of DATA_TYPES) {
    const custom = org.retention?.[t] ?? org.retention_days;
    if (custom !== null && custom !== undefined) base[t] = custom;
  }
  return base;
}

/** A campaign may only shorten its org's retention: each type is the smaller of the two. */
export function campaignRetention(org: RetentionDays, campaign: RetentionOverrides | null): RetentionDays {
  const out = { ...org };
  for (const t of DATA_TYPES) {
    const v = campaign?.[t];
    if (v !== undefined) out[t] = Math.min(out[t], v);
  }
  return out;
}

/** The types a campaign's overrides would lengthen beyond the org's retention. */
export function longerThanOrg(org: RetentionDays, campaign: RetentionOverrides): DataType[] {
  return DATA_TYPES.filter((t) => campaign[t] !== undefined && campaign[t]! > org[t]);
}

/** When each type of a session that ended at `endedAt` is due for deletion. */
export function dueDates(r: RetentionDays, endedAt: number): Record<DataType, number> {
  return { transcripts: endedAt + r.transcripts * DAY_MS, audio: endedAt + r.audio * DAY_MS, analytics: endedAt + r.analytics * DAY_MS, metadata: endedAt + r.metadata * DAY_MS };
}
