// Retention in the API: the org's table and what will be deleted next, a campaign's shorter
// retention, and one session's deletion schedule. The sweep itself is src/worker/retention.ts.
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { CampaignRow, SessionRow } from "../../db/schema";
import { DATA_TYPES, DAY_MS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, RETENTION_TABLE, campaignRetention, dueDates, longerThanOrg, type DataType, type RetentionDays, type RetentionOverrides } from "../../shared/retention";
import { ApiError, notFound } from "../errors";
import { jsonBody, op } from "../openapi";
import { effectiveOrgRetention, parseOverrides, type OrgRetentionRow } from "../retention";
import { idParam } from "../schemas";
import type { AppEnv } from "../types";
import { campaignFromPath } from "./campaigns";

export const retentionRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");
/** "Upcoming" looks this far ahead. */
const HORIZON_DAYS = 30;

const Days = z.object({ transcripts: z.number().int(), audio: z.number().int(), analytics: z.number().int(), metadata: z.number().int() });
const Overrides = z.object({ transcripts: z.number().int().optional(), audio: z.number().int().optional(), analytics: z.number().int().optional(), metadata: z.number().int().optional() });
const Upcoming = z.object({
  type: z.enum(DATA_TYPES),
  days: z.number().int(),
  /** When the next session's data of this type is due (may be in the past: the sweep runs hourly). */
  nextDueAt: z.string().nullable(),
  /** Sessions whose data of this type is due within the horizon (or already). */
  dueWithinHorizon: z.number().int(),
});
const OrgRetention = z.object({
  plan: z.enum(["free", "starter", "professional", "enterprise"]),
  table: z.record(z.string(), Days),
  custom: Overrides.nullable(),
  effective: Days,
  horizonDays: z.number().int(),
  upcoming: z.array(Upcoming),
  campaigns: z.array(z.object({ id: z.string(), name: z.string(), retention: Overrides, effective: Days })),
});
const CampaignRetention = z.object({ campaignId: z.string(), org: Days, retention: Overrides, effective: Days, horizonDays: z.number().int(), upcoming: z.array(Upcoming) });
const SessionRetention = z.object({
  sessionId: z.string(),
  endedAt: z.string().nullable(),
  schedule: z.array(z.object({ type: z.enum(DATA_TYPES), days: z.number().int(), dueAt: z.string().nullable(), purgedAt: z.string().nullable() })),
});

const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());

async function orgRow(c: Context<AppEnv>): Promise<OrgRetentionRow> {
  const row = await c.env.DB.prepare("SELECT id, plan, retention_days, retention FROM orgs WHERE id = ?").bind(c.get("principal")!.orgId).first<OrgRetentionRow>();
  if (!row) throw notFound("org");
  return row;
}

const PURGED: Record<Exclude<DataType, "metadata">, string> = { transcripts: "transcript_purged_at", audio: "audio_purged_at", analytics: "analytics_purged_at" };
const ENDED = "COALESCE(completed_at, created_at)";

/** For each type: the next due date and how many sessions fall due within the horizon. */
async function upcoming(c: Context<AppEnv>, orgId: string, scopes: { campaignId: string | null; exclude: string[]; days: RetentionDays }[]) {
  const now = Date.now();
  const out = [];
  for (const type of DATA_TYPES) {
    let next: number | null = null;
    let count = 0;
    for (const s of scopes) {
      const days = s.days[type];
      const notYet = type === "metadata" ? "" : ` AND ${PURGED[type]} IS NULL`;
      const where = s.campaignId ? " AND campaign_id = ?" : s.exclude.length ? ` AND campaign_id NOT IN (${s.exclude.map(() => "?").join(", ")})` : "";
      const binds = s.campaignId ? [s.campaignId] : s.exclude;
      const r = await c.env.DB.prepare(
        `SELECT COUNT(*) AS n, MIN(${ENDED}) AS first FROM sessions WHERE org_id = ? AND status IN ('completed', 'abandoned')${notYet}${where} AND ${ENDED} < ?`,
      )
        .bind(orgId, ...binds, now + (HORIZON_DAYS - days) * DAY_MS)
        .first<{ n: number; first: number | null }>();
      count += r?.n ?? 0;
      if (r?.first !== null && r?.first !== undefined) next = Math.min(next ?? Infinity, r.first + days * DAY_MS);
    }
    out.push({ type, days: scopes[0]!.days[type], nextDueAt: iso(next), dueWithinHorizon: count });
  }
  return out;
}

retentionRoutes.get(
  "/retention",
  op({
    summary: "The org's retention by data type (plan table, custom values, campaign overrides) and what will be deleted next",
    description: `Days are counted from the end of a session (its creation for sessions that never completed). upcoming lists, per type, the next due date and how many sessions fall due within ${HORIZON_DAYS} days; the hourly sweep deletes them.`,
    tags: ["privacy"],
    auth: "key",
    action: "org.read",
    resource: "org",
    responses: { 200: { description: "the retention", schema: OrgRetention } },
  }),
  async (c) => {
    const org = await orgRow(c);
    const effective = effectiveOrgRetention(org);
    const rows = await c.env.DB.prepare("SELECT id, name, retention FROM campaigns WHERE org_id = ? AND retention IS NOT NULL ORDER BY created_at").bind(org.id).all<{ id: string; name: string; retention: string }>();
    const campaigns = rows.results.map((r) => {
      const retention = parseOverrides(r.retention) ?? {};
      return { id: r.id, name: r.name, retention, effective: campaignRetention(effective, retention) };
    });
    const custom = org.plan === "enterprise" && (org.retention || org.retention_days !== null) ? { ...(org.retention_days !== null ? Object.fromEntries(DATA_TYPES.map((t) => [t, org.retention_days!])) : {}), ...(parseOverrides(org.retention) ?? {}) } : null;
    const scopes = [{ campaignId: null, exclude: campaigns.map((x) => x.id), days: effective }, ...campaigns.map((x) => ({ campaignId: x.id, exclude: [], days: x.effective }))];
    return c.json({ plan: org.plan, table: RETENTION_TABLE, custom, effective, horizonDays: HORIZON_DAYS, upcoming: await upcoming(c, org.id, scopes), campaigns });
  },
);

async function campaignRetentionJson(c: Context<AppEnv>, campaign: Pick<CampaignRow, "id" | "retention">) {
  const orgDays = effectiveOrgRetention(await orgRow(c));
  const retention = parseOverrides(campaign.retention) ?? {};
  const effective = campaignRetention(orgDays, retention);
  return { campaignId: campaign.id, org: orgDays, retention, effective, horizonDays: HORIZON_DAYS, upcoming: await upcoming(c, c.get("principal")!.orgId, [{ campaignId: campaign.id, exclude: [], days: effective }]) };
}

retentionRoutes.get(
  "/campaigns/:id/retention",
  op({
    summary: "A campaign's retention: the org's, shortened by the campaign's own values, and what will be deleted next",
    tags: ["privacy"],
    auth: "key",
    action: "campaign.read",
    resource: "campaign",
    responses: { 200: { description: "the campaign's retention", schema: CampaignRetention } },
  }),
  async (c) => c.json(await campaignRetentionJson(c, await campaignFromPath(c))),
);

const dayValue = z.number().int().min(MIN_RETENTION_DAYS).max(MAX_RETENTION_DAYS).nullable().optional();
const PatchCampaignRetention = z
  .strictObject({ transcripts: dayValue, audio: dayValue, analytics: dayValue, metadata: dayValue })
  .refine((v) => Object.keys(v).length > 0, "send at least one of transcripts, audio, analytics, metadata");

retentionRoutes.patch(
  "/campaigns/:id/retention",
  op({
    summary: "Shorten a campaign's retention per data type (null removes the campaign's value)",
    description: "A campaign may only shorten its org's retention: a value longer than the org's is refused (400 RETENTION_TOO_LONG). The sweep applies it from its next run.",
    tags: ["privacy"],
    auth: "key",
    action: "campaign.write",
    resource: "campaign",
    responses: { 200: { description: "the campaign's retention", schema: CampaignRetention } },
  }),
  jsonBody(PatchCampaignRetention),
  async (c) => {
    const campaign = await campaignFromPath(c);
    const body = c.req.valid("json");
    const next: RetentionOverrides = { ...(parseOverrides(campaign.retention) ?? {}) };
    for (const t of DATA_TYPES) {
      const v = body[t];
      if (v === null) delete next[t];
      else if (v !== undefined) next[t] = v;
    }
    const orgDays = effectiveOrgRetention(await orgRow(c));
    const longer = longerThanOrg(orgDays, next).filter((t) => body[t] !== undefined);
    if (longer.length) {
      throw new ApiError(400, "RETENTION_TOO_LONG", `a campaign may only shorten the org's retention: ${longer.map((t) => `${t} at most ${orgDays[t]} days`).join(", ")}`, {
        fields: longer.map((t) => ({ path: t, message: `at most ${orgDays[t]} days (the org's retention)` })),
      });
    }
    const stored = Object.keys(next).length ? JSON.stringify(next) : null;
    await c.env.DB.prepare("UPDATE campaigns SET retention = ?, updated_at = ? WHERE id = ?").bind(stored, Math.max(Date.now(), campaign.updated_at + 1), campaign.id).run();
    return c.json(await campaignRetentionJson(c, { id: campaign.id, retention: stored }));
  },
);

retentionRoutes.get(
  "/sessions/:id/retention",
  op({
    summary: "When each kind of a session's data will be (or was) deleted",
    description: "dueAt is null while the session has not ended: its retention starts at the end.",
    tags: ["privacy"],
    auth: "key",
    action: "session.read",
    resource: "session",
    responses: { 200: { description: "the schedule", schema: SessionRetention } },
  }),
  async (c) => {
    const id = c.req.param("id") ?? "";
    const orgId = c.get("principal")!.orgId;
    const row = sesId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, orgId).first<SessionRow>() : null;
    if (!row) throw notFound("session");
    c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
    const campaign = await c.env.DB.prepare("SELECT retention FROM campaigns WHERE id = ?").bind(row.campaign_id).first<{ retention: string | null }>();
    const days = campaignRetention(effectiveOrgRetention(await orgRow(c)), parseOverrides(campaign?.retention ?? null));
    const ended = row.status === "completed" ? row.completed_at : row.status === "abandoned" ? (row.completed_at ?? row.created_at) : null;
    const due = ended === null ? null : dueDates(days, ended);
    const purged: Record<DataType, number | null> = { transcripts: row.transcript_purged_at, audio: row.audio_purged_at, analytics: row.analytics_purged_at, metadata: null };
    return c.json({ sessionId: row.id, endedAt: iso(ended), schedule: DATA_TYPES.map((type) => ({ type, days: days[type], dueAt: iso(due?.[type]), purgedAt: iso(purged[type]) })) });
  },
);
