// Custom reports: campaigns × date range × metrics, grouped by campaign, question, date or an
// invite attribute. One query over the session index and the answer analyses; session metrics
// are taken over distinct sessions, answer metrics over main answers (not follow-up replies).
import { z } from "zod";
import { declinedSql, rangeTimeSql } from "../shared/declined";
import { ordered } from "../shared/ordered";
import { CSV_BOM, csvLine } from "./sessions";

const CampaignId = z.string().regex(/^cmp_[a-z0-9]{8,64}$/, "expected an id like cmp_…");
export const REPORT_METRICS = ["sessions", "completed", "abandoned", "declined", "completionRate", "meanDuration", "answers", "positive", "neutral", "negative", "meanEngagement"] as const;
export type ReportMetric = (typeof REPORT_METRICS)[number];

export const ReportDefinition = z.strictObject({
  campaignIds: z.array(CampaignId).min(1).max(50),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  metrics: z.array(z.enum(REPORT_METRICS)).min(1),
  groupBy: z.enum(["campaign", "question", "date", "segment"]),
  /** The invite attribute that names a participant's segment (groupBy=segment); "segment" by default. */
  segmentAttribute: z.string().min(1).max(64).refine((s) => !/["\\]/.test(s), "may not contain quotes or backslashes").optional(),
  format: z.enum(["json", "csv"]).default("json"),
}).superRefine(ordered([["from", "to"]]));
export type ReportDefinition = z.output<typeof ReportDefinition>;
export type ReportRow = Record<string, string | number | null>;

/** Which of these campaign ids belong to the org (the others do not exist for it). */
export async function ownedCampaigns(db: D1Database, orgId: string, ids: string[]): Promise<string[]> {
  const owned = await db
    .prepare(`SELECT id FROM campaigns WHERE org_id = ? AND id IN (${ids.map(() => "?").join(", ")})`)
    .bind(orgId, ...ids)
    .all<{ id: string }>();
  return owned.results.map((r) => r.id);
}

/** The report's rows, one per group, in group order. `campaignIds` must already be the org's own. */
export async function runReport(db: D1Database, orgId: string, q: ReportDefinition, campaignIds: string[]): Promise<ReportRow[]> {
  const where = [`s.org_id = ?`, `s.campaign_id IN (${campaignIds.map(() => "?").join(", ")})`];
  const binds: unknown[] = [orgId, ...campaignIds];
  // When a session started; one never started (declined at the consent step, or not begun) counts
  // from when its link was opened, so that a range or a date still finds who declined.
  const at = rangeTimeSql("s");
  if (q.from) (where.push(`${at} >= ?`), binds.push(Date.parse(q.from)));
  if (q.to) (where.push(`${at} <= ?`), binds.push(Date.parse(q.to)));
  const group =
    q.groupBy === "campaign"
      ? "s.campaign_id"
      : q.groupBy === "date"
        ? `date(${at} / 1000, 'unixepoch')`
        : q.groupBy === "segment"
          ? "COALESCE(json_extract(i.participant_attributes, ?), '(none)')"
          : "a.question_index";
  const groupBinds = q.groupBy === "segment" ? [`$."${q.segmentAttribute ?? "segment"}"`] : [];
  // Answer metrics are over main answers, as the campaign's per-question sentiment: a follow-up
  // reply is part of its question's answer, not another respondent. By question, a session counts
  // under each question it has an analysed main answer to.
  const answerJoin = q.groupBy === "question" ? "JOIN" : "LEFT JOIN";
  const sql = `WITH r AS (
      SELECT ${group} AS grp, s.id AS sid, s.status AS status, ${declinedSql("s")} AS declined, s.duration AS duration, a.answer_id AS answer_id, a.sentiment_label AS label, a.engagement AS engagement
      FROM sessions s
      ${answerJoin} answer_analysis a ON a.session_id = s.id AND a.follow_up = 0
      LEFT JOIN invites i ON i.id = s.invite_id
      WHERE ${where.join(" AND ")}
    ),
    per_session AS (SELECT DISTINCT grp, sid, status, declined, duration FROM r),
    ss AS (SELECT grp, COUNT(*) AS sessions, SUM(status = 'completed') AS completed, SUM(status = 'abandoned') AS abandoned, SUM(declined) AS declined,
      AVG(CASE WHEN declined THEN NULL ELSE duration END) AS mean_duration FROM per_session GROUP BY grp),
    aa AS (SELECT grp, COUNT(answer_id) AS answers, SUM(label = 'positive') AS positive, SUM(label = 'neutral') AS neutral, SUM(label = 'negative') AS negative, AVG(engagement) AS mean_engagement FROM r GROUP BY grp)
    SELECT ss.grp AS grp, ss.sessions, ss.completed, ss.abandoned, ss.declined, ss.mean_duration, aa.answers, aa.positive, aa.neutral, aa.negative, aa.mean_engagement
    FROM ss JOIN aa ON aa.grp IS ss.grp
    ORDER BY ss.grp`;
  const rows = await db
    .prepare(sql)
    .bind(...groupBinds, ...binds)
    .all<Record<string, number | string | null>>();
  const metric = (r: Record<string, number | string | null>, m: ReportMetric) => {
    const n = (k: string) => Number(r[k] ?? 0);
    switch (m) {
      case "completionRate": {
        // Completion among those who agreed to take part: declined sessions are not in the base.
        const consented = n("sessions") - n("declined");
        return consented > 0 ? Math.round((n("completed") / consented) * 1000) / 1000 : 0;
      }
      case "meanDuration":
        return Math.round(n("mean_duration") * 10) / 10;
      case "meanEngagement":
        return Math.round(n("mean_engagement") * 100) / 100;
      case "sessions":
        return n("sessions");
      case "completed":
        return n("completed");
      case "abandoned":
        return n("abandoned");
      case "declined":
        return n("declined");
      default:
        return n(m);
    }
  };
  return rows.results.map((r) => ({ [q.groupBy]: r.grp ?? null, ...Object.fromEntries(q.metrics.map((m) => [m, metric(r, m)])) }));
}

export function reportCsv(q: Pick<ReportDefinition, "groupBy" | "metrics">, data: ReportRow[]): string {
  return CSV_BOM + csvLine([q.groupBy, ...q.metrics]) + data.map((d) => csvLine([d[q.groupBy], ...q.metrics.map((m) => d[m])])).join("");
}
