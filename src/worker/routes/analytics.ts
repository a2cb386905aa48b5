// Insight: one session's analytics, a campaign's (from its incremental aggregates), custom
// reports, and saved reports that can be run again.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { typedText } from "../../shared/text";
import { embedder, spacesOf } from "../../ai/embeddings";
import { campaignAnalytics, campaignAnalyticsInRange } from "../../db/analytics";
import { keysetPage } from "../../db/cursor";
import { ownedCampaigns, ReportDefinition, reportCsv, runReport } from "../../db/reports";
import type { SessionRow } from "../../db/schema";
import { newId } from "../../shared/crypto";
import { parseJson } from "../../shared/json";
import { notFound } from "../errors";
import { emptyBody, jsonBody, op, queryOf } from "../openapi";
import { canRead } from "../policy";
import { idParam, listQuery, CampaignAnalytics, CampaignAnalyticsQuery, SessionAnalytics } from "../schemas";
import { analyticsForRole } from "../session-bundle";
import type { AppEnv } from "../types";
import { badCursor, campaignFromPath } from "./campaigns";

export const analyticsRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");
const rptId = idParam("rpt");

/** Quotes are the participant's own words: a role that may not read transcripts gets none. */
const seesQuotes = (c: Context<AppEnv>) => canRead(c.get("principal")!.role, "transcript");

analyticsRoutes.get(
  "/sessions/:id/analytics",
  op({
    summary: "One session's insight: sentiment, per-answer analysis, themes, quotes, engagement, timing, drop-off, and a short summary",
    description:
      "engagementScore is 0-100: the mean of each answer's engagement, a composite of length (40%, saturating at 60 words), relevance to the question (40%) and emotional intensity (20%). Abandoned sessions are included and marked partial. Roles that may not read transcripts (viewer) get no quotes (quotesHidden: true).",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "session",
    responses: { 200: { description: "the session's analytics", schema: SessionAnalytics } },
  }),
  async (c) => {
    const id = c.req.param("id");
    const orgId = c.get("principal")!.orgId;
    const row = sesId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, orgId).first<SessionRow>() : null;
    if (!row) throw notFound("session");
    c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
    const stub = c.env.SESSION.get(c.env.SESSION.idFromName(row.id));
    const [view, transcript] = await Promise.all([stub.view(), stub.transcript()]);
    // The index row is the session (as for GET /v1/sessions/{id}); an object holding nothing (its
    // data purged, or never written) leaves figures from the row and an empty transcript.
    return c.json(await analyticsForRole(c.env, row, view.ok ? view.value : null, transcript.ok ? transcript.value : { segments: [], events: [] }, c.get("principal")!.role));
  },
);

analyticsRoutes.get(
  "/campaigns/:id/analytics",
  op({
    summary: "A campaign's insight: funnel, durations, sentiment trend, top themes with quotes, response patterns",
    description:
      "Without from/to, read from aggregates kept incrementally as sessions finish and answers are analysed; never a scan of every session. sessions counts finished (completed or abandoned) sessions: abandoned is every session whose status is abandoned, and splits into declined (consent refused, or withdrawn before answering anything) and droppedOut; completionRate is completed / (total − declined), completion among those who agreed to take part, and consentRate (total − declined) / total. funnel and duration count finished sessions that took part (declined ones left out: they reached no question and have no interview time). sentimentTrend, topThemes and responsePatterns grow as answers are analysed, so they include sessions still in progress. sentimentTrend counts each question's main answers (one per session; follow-up replies are not counted), topThemes every analysed answer, follow-ups included. responsePatterns are clusters of similar main answers per question (multilingual bge-m3 embeddings in production, hashed keyword vectors offline), largest first. Roles that may not read transcripts (viewer) get counts without quotes.\n\n" +
      "from/to (ISO 8601 instants, either or both) restrict every figure to sessions that started within the range; a session never started (declined at the consent step, or left before starting) counts from when its link was opened. The figures are then computed from per-session records: the session index, the answer analyses and each answer's pattern membership, so sessions erased since (whose anonymous counts the whole-campaign aggregates keep) are not in them. Within a range, responsePatterns count the range's answers in the campaign's clusters (labels name the whole cluster; examples are the cluster's kept quotes from the range) and topThemes carry no quotes (they are kept for the whole campaign only): range.themeQuotes is false.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "campaign",
    responses: { 200: { description: "the campaign's analytics", schema: CampaignAnalytics } },
  }),
  queryOf(CampaignAnalyticsQuery),
  async (c) => {
    const campaign = await campaignFromPath(c);
    const { from, to } = c.req.valid("query");
    const hub = c.env.CAMPAIGN_LIVE.get(c.env.CAMPAIGN_LIVE.idFromName(campaign.id));
    const spaces = spacesOf(embedder(c.env));
    const ranged = from !== undefined || to !== undefined;
    // Whole campaign: the object's patterns and D1's aggregates are read at the same time. A range:
    // per-session rows, then the patterns of the sessions they found.
    const a = ranged
      ? {
          ...(await campaignAnalyticsInRange(c.env.DB, campaign.id, campaign.total_questions, { from: from === undefined ? undefined : Date.parse(from), to: to === undefined ? undefined : Date.parse(to) }, (ids) =>
            hub.patterns(spaces, campaign.total_questions, ids),
          )),
          range: { from: from === undefined ? null : new Date(from).toISOString(), to: to === undefined ? null : new Date(to).toISOString(), themeQuotes: false as const },
        }
      : await campaignAnalytics(c.env.DB, campaign.id, campaign.total_questions, hub.patterns(spaces, campaign.total_questions));
    if (seesQuotes(c)) return c.json({ campaignId: campaign.id, ...a });
    return c.json({
      campaignId: campaign.id,
      ...a,
      topThemes: a.topThemes.map((t) => ({ ...t, quotes: [] })),
      responsePatterns: a.responsePatterns.map((p) => ({ ...p, clusters: p.clusters.map((k) => ({ ...k, examples: [] })) })),
      quotesHidden: true,
    });
  },
);

/** Runs a definition for the caller's org; campaigns of other orgs are not found. */
async function answerReport(c: Context<AppEnv>, q: ReportDefinition, format: "json" | "csv", filename = "report") {
  const orgId = c.get("principal")!.orgId;
  const ids = await ownedCampaigns(c.env.DB, orgId, q.campaignIds);
  if (ids.length !== new Set(q.campaignIds).size) throw notFound("campaign");
  const data = await runReport(c.env.DB, orgId, q, ids);
  if (format === "csv") {
    return c.body(reportCsv(q, data), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80) || "report"}.csv"`,
    });
  }
  return c.json({ groupBy: q.groupBy, metrics: q.metrics, data });
}

analyticsRoutes.post(
  "/reports",
  op({
    summary: "A custom report: campaigns × date range × metrics, grouped by campaign, question, date or participant segment",
    description:
      "from and to are instants (send a local day's bounds for local days, as the dashboard does). A session counts from when it started, or, for one never started (declined at the consent step, left before starting, or not begun yet), from when its link was opened. groupBy=date groups by the UTC date of that moment (yyyy-mm-dd). groupBy=segment groups by the invite attribute named in segmentAttribute (default \"segment\"). Session metrics count distinct sessions started in the range: abandoned every abandoned session, declined those of them whose participant declined consent or withdrew it before answering anything, completionRate completed / (sessions − declined), meanDuration the mean active seconds of those that took part (declined ones left out); answer metrics count analysed main answers (follow-up replies are part of their question's answer, not more answers); by question, a session counts under each question it answered.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "report",
    responses: { 200: { description: "rows, one per group" } },
  }),
  jsonBody(ReportDefinition),
  async (c) => {
    const q = c.req.valid("json");
    return answerReport(c, q, q.format);
  },
);

// ---- saved reports ----

interface SavedRow {
  id: string;
  org_id: string;
  name: string;
  definition: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  last_run_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const savedJson = (r: SavedRow) => ({
  id: r.id,
  name: r.name,
  definition: parseJson(ReportDefinition, r.definition),
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  lastRunAt: iso(r.last_run_at),
});

const SavedReportIn = z.strictObject({ name: typedText(120), definition: ReportDefinition });
const SavedReportPatch = z.strictObject({ name: typedText(120).optional(), definition: ReportDefinition.optional() }).refine((p) => p.name !== undefined || p.definition !== undefined, "send name or definition");
const RunQuery = z.strictObject({ format: z.enum(["json", "csv"]).optional() });

async function savedFromPath(c: Context<AppEnv>): Promise<SavedRow> {
  const id = c.req.param("id") ?? "";
  const row = rptId.safeParse(id).success
    ? await c.env.DB.prepare("SELECT * FROM saved_reports WHERE id = ? AND org_id = ?").bind(id, c.get("principal")!.orgId).first<SavedRow>()
    : null;
  if (!row) throw notFound("saved report");
  c.set("auditResource", { type: "report", id: row.id });
  return row;
}

async function checkCampaigns(c: Context<AppEnv>, def: ReportDefinition) {
  const ids = await ownedCampaigns(c.env.DB, c.get("principal")!.orgId, def.campaignIds);
  if (ids.length !== new Set(def.campaignIds).size) throw notFound("campaign");
}

analyticsRoutes.post(
  "/reports/saved",
  op({
    summary: "Save a custom report's definition (the body of POST /v1/reports) under a name, to run it again later",
    tags: ["analytics"],
    auth: "key",
    action: "report.write",
    resource: "report",
    responses: { 201: { description: "the saved report" } },
  }),
  jsonBody(SavedReportIn),
  async (c) => {
    const body = c.req.valid("json");
    await checkCampaigns(c, body.definition);
    const p = c.get("principal")!;
    const now = Date.now();
    const row: SavedRow = { id: newId("rpt"), org_id: p.orgId, name: body.name, definition: JSON.stringify(body.definition), created_by: p.id, created_at: now, updated_at: now, last_run_at: null };
    await c.env.DB.prepare("INSERT INTO saved_reports (id, org_id, name, definition, created_by, created_at, updated_at, last_run_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")
      .bind(row.id, row.org_id, row.name, row.definition, row.created_by, row.created_at, row.updated_at)
      .run();
    c.set("auditResource", { type: "report", id: row.id });
    return c.json(savedJson(row), 201);
  },
);

analyticsRoutes.get(
  "/reports/saved",
  op({ summary: "The org's saved reports, newest first", tags: ["analytics"], auth: "key", action: "analytics.read", resource: "report", responses: { 200: { description: "a page of saved reports" } } }),
  queryOf(z.strictObject(listQuery)),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<SavedRow>(c.env.DB, "saved_reports", "org_id = ?", [c.get("principal")!.orgId], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(savedJson), nextCursor: p.nextCursor });
  },
);

analyticsRoutes.get(
  "/reports/saved/:id",
  op({ summary: "One saved report", tags: ["analytics"], auth: "key", action: "analytics.read", resource: "report", responses: { 200: { description: "the saved report" } } }),
  async (c) => c.json(savedJson(await savedFromPath(c))),
);

analyticsRoutes.patch(
  "/reports/saved/:id",
  op({ summary: "Rename a saved report or change its definition", tags: ["analytics"], auth: "key", action: "report.write", resource: "report", responses: { 200: { description: "the saved report" } } }),
  jsonBody(SavedReportPatch),
  async (c) => {
    const row = await savedFromPath(c);
    const body = c.req.valid("json");
    if (body.definition) await checkCampaigns(c, body.definition);
    const next: SavedRow = { ...row, name: body.name ?? row.name, definition: body.definition ? JSON.stringify(body.definition) : row.definition, updated_at: Date.now() };
    await c.env.DB.prepare("UPDATE saved_reports SET name = ?, definition = ?, updated_at = ? WHERE id = ? AND org_id = ?").bind(next.name, next.definition, next.updated_at, row.id, row.org_id).run();
    return c.json(savedJson(next));
  },
);

analyticsRoutes.post(
  "/reports/saved/:id/run",
  op({
    summary: "Run a saved report on today's data: the same answer as POST /v1/reports with its definition",
    description: "?format=json|csv overrides the saved format. Records lastRunAt.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "report",
    responses: { 200: { description: "rows, one per group (JSON or CSV)" } },
  }),
  queryOf(RunQuery),
  emptyBody(),
  async (c) => {
    const row = await savedFromPath(c);
    const def = parseJson(ReportDefinition, row.definition);
    const res = await answerReport(c, def, c.req.valid("query").format ?? def.format, row.name);
    await c.env.DB.prepare("UPDATE saved_reports SET last_run_at = ? WHERE id = ?").bind(Date.now(), row.id).run();
    return res;
  },
);

analyticsRoutes.delete(
  "/reports/saved/:id",
  op({ summary: "Delete a saved report (its definition only; nothing else changes)", tags: ["analytics"], auth: "key", action: "report.write", resource: "report", responses: { 204: { description: "deleted" } } }),
  emptyBody(),
  async (c) => {
    const row = await savedFromPath(c);
    await c.env.DB.prepare("DELETE FROM saved_reports WHERE id = ? AND org_id = ?").bind(row.id, row.org_id).run();
    return c.body(null, 204);
  },
);

