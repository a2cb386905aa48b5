// The retention sweep: each plan's retention (src/shared/retention.ts), shortened per campaign,
// enforced without anyone remembering to. It runs from the cron trigger, removes at most a
// bounded number of sessions' data per run (the next run continues), marks what it removed on
// the session row (so a second run finds nothing: idempotent) and writes one audit row per org.
import type { SessionRow } from "../db/schema";
import type { Env } from "../env";
import { parseJson } from "../shared/json";
import { deletePrefix } from "../shared/r2";
import { DATA_TYPES, DAY_MS, RetentionOverrides, campaignRetention, orgRetention, type DataType, type Plan, type RetentionDays } from "../shared/retention";
import { appendAudit } from "./audit";
import { eraseExportsContaining, eraseSession, forgetQuotes } from "./erasure";

/** Sessions handled per type per run: the cron comes back for the rest. */
export const RETENTION_BATCH = 100;

export interface OrgRetentionRow {
  id: string;
  plan: Plan;
  retention_days: number | null;
  retention: string | null;
}

const Stored = RetentionOverrides.nullable();
export const parseOverrides = (text: string | null): RetentionOverrides | null => (text ? parseJson(Stored, text) : null);

export const effectiveOrgRetention = (org: OrgRetentionRow): RetentionDays => orgRetention({ plan: org.plan, retention_days: org.retention_days, retention: parseOverrides(org.retention) });

/** The column marking a type as removed; metadata has none (the row itself goes). */
const PURGED: Record<Exclude<DataType, "metadata">, string> = { transcripts: "transcript_purged_at", audio: "audio_purged_at", analytics: "analytics_purged_at" };

/**
 * Terminal sessions of one org (optionally one campaign) whose `type` is due before `cutoff`. A
 * session's clock starts when it ended: completed_at for completed sessions; an abandoned
 * session's end is not in the index, so its creation (earlier, never later) is used.
 */
async function dueSessions(env: Env, orgId: string, campaignId: string | null, type: DataType, cutoff: number, limit: number): Promise<SessionRow[]> {
  const notYet = type === "metadata" ? "" : ` AND ${PURGED[type]} IS NULL`;
  const byCampaign = campaignId ? " AND campaign_id = ?" : "";
  const binds = campaignId ? [orgId, campaignId] : [orgId];
  // Two indexed ranges on (org_id, completed_at) rather than one scan of the COALESCE.
  const completed = await env.DB.prepare(`SELECT * FROM sessions WHERE org_id = ? AND completed_at < ?${byCampaign} AND status = 'completed'${notYet} ORDER BY completed_at LIMIT ?`)
    .bind(orgId, cutoff, ...binds.slice(1), limit)
    .all<SessionRow>();
  if (completed.results.length >= limit) return completed.results;
  const abandoned = await env.DB.prepare(`SELECT * FROM sessions WHERE org_id = ? AND completed_at IS NULL AND status = 'abandoned' AND created_at < ?${byCampaign}${notYet} ORDER BY created_at LIMIT ?`)
    .bind(orgId, cutoff, ...binds.slice(1), limit - completed.results.length)
    .all<SessionRow>();
  return [...completed.results, ...abandoned.results];
}

/** Removes one type of data of one session; returns what it removed, for the audit row. */
async function purgeType(env: Env, row: SessionRow, type: DataType, now: number): Promise<number> {
  if (type === "metadata") {
    // The session row goes, and with it everything the session still holds.
    await eraseSession(env, row);
    return 1;
  }
  let removed = 0;
  if (type === "transcripts" || type === "audio") {
    const stub = env.SESSION.get(env.SESSION.idFromName(row.id));
    if (type === "transcripts") {
      // The participant's quotes kept as campaign theme examples are transcript too.
      const t = await stub.transcript();
      const quotes = forgetQuotes(env, row.campaign_id, t.ok ? t.value.segments : []);
      if (quotes.length) await env.DB.batch(quotes);
      // So are its quotes among the campaign's response patterns, kept in the campaign's object.
      await env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(row.campaign_id)).forgetQuotes(row.id);
    }
    const r = await stub.purge([type === "audio" ? "audio" : "transcript"], `retention_${type}`);
    if (r.ok) removed = type === "audio" ? r.value.audioObjects : r.value.transcriptSegments;
    if (type === "audio" && !r.ok) {
      // No object (never initialised or already erased): its R2 prefix may still hold chunks
      // (and stored MP3s), more than one listing's page of them for a long recording.
      removed = await deletePrefix(env.AUDIO_BUCKET, `sessions/${row.id}/audio/`);
    }
    if (type === "transcripts") {
      // Notes are the team's words about the participant: they go with the transcript.
      const notes = await env.DB.prepare("DELETE FROM notes WHERE session_id = ?").bind(row.id).run();
      removed += notes.meta.changes ?? 0;
    }
  } else {
    const r = await env.DB.batch([
      env.DB.prepare("DELETE FROM answer_analysis WHERE session_id = ?").bind(row.id),
      env.DB.prepare("UPDATE sessions SET sentiment = NULL WHERE id = ?").bind(row.id),
    ]);
    removed = r[0]?.meta.changes ?? 0;
  }
  await env.DB.prepare(`UPDATE sessions SET ${PURGED[type]} = COALESCE(${PURGED[type]}, ?) WHERE id = ?`).bind(now, row.id).run();
  return removed;
}

export interface SweepReport {
  orgs: number;
  purged: Record<DataType, number>;
  /** True when a batch was full: more is due and the next run continues. */
  more: boolean;
}

/** One run of the sweep, over every org; bounded by RETENTION_BATCH sessions per type and org. */
export async function sweepRetention(env: Env, now = Date.now(), batch = RETENTION_BATCH): Promise<SweepReport> {
  const report: SweepReport = { orgs: 0, purged: { transcripts: 0, audio: 0, analytics: 0, metadata: 0 }, more: false };
  const orgs = await env.DB.prepare("SELECT id, plan, retention_days, retention FROM orgs ORDER BY id").all<OrgRetentionRow>();
  for (const org of orgs.results) {
    const orgDays = effectiveOrgRetention(org);
    const campaigns = await env.DB.prepare("SELECT id, retention FROM campaigns WHERE org_id = ? AND retention IS NOT NULL").bind(org.id).all<{ id: string; retention: string }>();
    const counts: Record<DataType, number> = { transcripts: 0, audio: 0, analytics: 0, metadata: 0 };
    const sessionIds: string[] = [];
    // Bulk exports are copies: one holding a type of a session's data that went goes too.
    const contentGone: Record<DataType, string[]> = { transcripts: [], audio: [], analytics: [], metadata: [] };
    // Metadata last: a session whose row goes in this run has its other types counted first.
    for (const type of DATA_TYPES) {
      const scopes: { campaignId: string | null; days: number }[] = [{ campaignId: null, days: orgDays[type] }];
      for (const c of campaigns.results) {
        const days = campaignRetention(orgDays, parseOverrides(c.retention))[type];
        if (days < orgDays[type]) scopes.push({ campaignId: c.id, days });
      }
      let budget = batch;
      for (const scope of scopes) {
        if (budget <= 0) break;
        const rows = await dueSessions(env, org.id, scope.campaignId, type, now - scope.days * DAY_MS, budget);
        budget -= rows.length;
        for (const row of rows) {
          await purgeType(env, row, type, now);
          counts[type]++;
          if (sessionIds.length < 50) sessionIds.push(row.id);
          contentGone[type].push(row.id);
        }
      }
      if (budget <= 0) report.more = true;
    }
    const total = DATA_TYPES.reduce((n, t) => n + counts[t], 0);
    if (total === 0) continue;
    const exportsRemoved: string[] = [];
    for (const type of DATA_TYPES) exportsRemoved.push(...(await eraseExportsContaining(env, org.id, contentGone[type], [type])));
    report.orgs++;
    for (const t of DATA_TYPES) report.purged[t] += counts[t];
    // One audit row per org and run: what kinds were removed from how many sessions (no content).
    await appendAudit(
      env,
      { type: "system", id: "retention-sweep", role: null, ip: null, userAgent: null, requestId: null },
      {
        orgId: org.id,
        action: "retention.purge",
        outcome: "allow",
        resourceType: "org",
        resourceId: org.id,
        details: { ...counts, exports: exportsRemoved.length, sessions: sessionIds.join(","), plan: org.plan },
      },
    );
  }
  return report;
}

