// Insight: one session's analytics, a campaign's (from its incremental aggregates), and reports.
import { Hono } from "hono";
import { z } from "zod";
import { campaignAnalytics } from "../../db/analytics";
import type { SessionRow } from "../../db/schema";
import { csvLine } from "../../db/sessions";
import { fromRpcError, notFound } from "../errors";
import { jsonBody, op } from "../openapi";
import { idParam } from "../schemas";
import { analyticsFor } from "../session-bundle";
import type { AppEnv } from "../types";
import { campaignFromPath } from "./campaigns";

export const analyticsRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");

analyticsRoutes.get(
  "/sessions/:id/analytics",
  op({
    summary: "One session's insight: sentiment, per-answer analysis, themes, quotes, engagement, timing, drop-off, and a short summary",
    description:
      "engagementScore is 0-100: the mean of each answer's engagement, a composite of length (40%, saturating at 60 words), relevance to the question (40%) and emotional intensity (20%). Abandoned sessions are included and marked partial.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "session",
    responses: { 200: { description: "the session's analytics" } },
  }),
  async (c) => {
    const id = c.req.param("id");
    const orgId = c.get("principal")!.orgId;
    const row = sesId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, orgId).first<SessionRow>() : null;
    if (!row) throw notFound("session");
    c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
    const stub = c.env.SESSION.get(c.env.SESSION.idFromName(row.id));
    const [view, transcript] = await Promise.all([stub.view(), stub.transcript()]);
    if (!view.ok) throw fromRpcError(view.error);
    if (!transcript.ok) throw fromRpcError(transcript.error);
    return c.json(await analyticsFor(c.env, row, view.value, transcript.value));
  },
);

analyticsRoutes.get(
  "/campaigns/:id/analytics",
  op({
    summary: "A campaign's insight: funnel, durations, sentiment trend, top themes with quotes, response patterns",
    description: "Read from aggregates kept incrementally as sessions finish and answers are analysed; never a scan of every session.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "campaign",
    responses: { 200: { description: "the campaign's analytics" } },
  }),
  async (c) => {
    const campaign = await campaignFromPath(c);
    return c.json({ campaignId: campaign.id, ...(await campaignAnalytics(c.env.DB, campaign.id, campaign.total_questions)) });
  },
);

const Report = z.strictObject({
  campaignIds: z.array(idParam("cmp")).min(1).max(50),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  metrics: z.array(z.enum(["sessions", "completed", "abandoned", "completionRate", "meanDuration", "answers", "positive", "neutral", "negative", "meanEngagement"])).min(1),
  groupBy: z.enum(["campaign", "question", "date", "segment"]),
  segmentAttribute: z.string().min(1).max(64).optional(),
  format: z.enum(["json", "csv"]).default("json"),
});

analyticsRoutes.post(
  "/reports",
  op({
    summary: "A custom report: campaigns × date range × metrics, grouped by campaign, question, date or participant segment",
    description: "groupBy=segment groups by an invite attribute named in segmentAttribute. Session metrics count sessions started in the range; answer metrics count analysed answers.",
    tags: ["analytics"],
    auth: "key",
    action: "analytics.read",
    resource: "report",
    responses: { 200: { description: "rows, one per group" } },
  }),
  jsonBody(Report),
  async (c) => {
    const q = c.req.valid("json");
    const orgId = c.get("principal")!.orgId;
    // Only the caller's own campaigns count; others' ids are simply not found.
    const owned = await c.env.DB.prepare(`SELECT id FROM campaigns WHERE org_id = ? AND id IN (${q.campaignIds.map(() => "?").join(", ")})`)
      .bind(orgId, ...q.campaignIds)
      .all<{ id: string }>();
    if (owned.results.length !== new Set(q.campaignIds).size) throw notFound("campaign");
    const ids = owned.results.map((r) => r.id);
    const where = [`s.campaign_id IN (${ids.map(() => "?").join(", ")})`];
    const binds: unknown[] = [...ids];
    if (q.from) (where.push("s.started_at >= ?"), binds.push(Date.parse(q.from)));
    if (q.to) (where.push("s.started_at <= ?"), binds.push(Date.parse(q.to)));
    const group =
      q.groupBy === "campaign"
        ? "s.campaign_id"
        : q.groupBy === "date"
          ? "date(s.started_at / 1000, 'unixepoch')"
          : q.groupBy === "segment"
            ? "COALESCE(json_extract(i.participant_attributes, ?), '(none)')"
            : "a.question_index";
    const groupBinds = q.groupBy === "segment" ? [`$.${(q.segmentAttribute ?? "segment").replace(/[^A-Za-z0-9_]/g, "")}`] : [];
    const sql = `SELECT ${group} AS grp,
        COUNT(DISTINCT s.id) AS sessions,
        COUNT(DISTINCT CASE WHEN s.status = 'completed' THEN s.id END) AS completed,
        COUNT(DISTINCT CASE WHEN s.status = 'abandoned' THEN s.id END) AS abandoned,
        AVG(DISTINCT s.duration) AS mean_duration,
        COUNT(a.answer_id) AS answers,
        SUM(a.sentiment_label = 'positive') AS positive, SUM(a.sentiment_label = 'neutral') AS neutral, SUM(a.sentiment_label = 'negative') AS negative,
        AVG(a.engagement) AS mean_engagement
      FROM sessions s
      LEFT JOIN answer_analysis a ON a.session_id = s.id
      LEFT JOIN invites i ON i.id = s.invite_id
      WHERE ${where.join(" AND ")} AND s.org_id = ?
      GROUP BY grp ORDER BY grp`;
    const rows = await c.env.DB.prepare(sql)
      .bind(...groupBinds, ...binds, orgId)
      .all<Record<string, number | string | null>>();
    const metric = (r: Record<string, number | string | null>, m: (typeof q.metrics)[number]) => {
      const n = (k: string) => Number(r[k] ?? 0);
      switch (m) {
        case "completionRate":
          return n("sessions") ? Math.round((n("completed") / n("sessions")) * 1000) / 1000 : 0;
        case "meanDuration":
          return Math.round(n("mean_duration") * 10) / 10;
        case "meanEngagement":
          return Math.round(n("mean_engagement") * 100) / 100;
        default:
          return n(m);
      }
    };
    const data = rows.results.map((r) => ({ [q.groupBy]: r.grp, ...Object.fromEntries(q.metrics.map((m) => [m, metric(r, m)])) }));
    if (q.format === "csv") {
      return c.body(csvLine([q.groupBy, ...q.metrics]) + data.map((d) => csvLine([d[q.groupBy], ...q.metrics.map((m) => d[m])])).join(""), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="report.csv"',
      });
    }
    return c.json({ groupBy: q.groupBy, metrics: q.metrics, data });
  },
);
