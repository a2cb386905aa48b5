// Retention by plan: for every plan × data type, data one day inside its limit stays and one day
// past it goes (transcripts from the session object, audio from R2, analyses from D1, the session
// row itself); a campaign may shorten but never lengthen; the sweep is bounded, idempotent and audited.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DATA_TYPES, DAY_MS, RETENTION_TABLE, type DataType, type Plan } from "../../src/shared/retention";
import { sweepRetention } from "../../src/worker/retention";
import { ERASED_EXPORT } from "../../src/worker/erasure";
import { call, createCampaign, createOrg, seedSessionRow, waitFor } from "../helpers/fixtures";
import { analyses, audioObjects, sessionWithEverything } from "../helpers/privacy";
import { sessionStub } from "../helpers/session";

const segments = async (id: string) => {
  const t = await sessionStub(id).transcript();
  return t.ok ? t.value.segments.length : -1;
};
const row = (id: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<Record<string, any>>();

/** Whether each type of the session's data is still there. */
async function present(id: string): Promise<Record<DataType, boolean>> {
  const r = await row(id);
  return { transcripts: (await segments(id)) > 0, audio: (await audioObjects(id)) > 0, analytics: (await analyses(id)) > 0, metadata: r !== null };
}

const CUSTOM = { transcripts: 40, audio: 12, analytics: 50, metadata: 120 };
const CASES: { name: string; plan: Plan; custom?: typeof CUSTOM; days: Record<DataType, number> }[] = [
  ...(["free", "starter", "professional", "enterprise"] as const).map((plan) => ({ name: plan, plan, days: RETENTION_TABLE[plan] })),
  { name: "enterprise with custom values", plan: "enterprise", custom: CUSTOM, days: CUSTOM },
];

describe("retention by plan", () => {
  it.each(CASES)("$name: each type kept at its limit − 1 day, removed at its limit + 1 day", async ({ plan, custom, days }) => {
    const { apiKey, org } = await createOrg(plan);
    if (custom) {
      const set = await call("PATCH", "/v1/org", { key: apiKey.key, body: { retention: custom } });
      expect(set.status).toBe(200);
      expect(set.json.retention).toEqual(custom);
    }
    const s = await sessionWithEverything(apiKey.key);
    // Limits in the order they run out (types sharing a limit go together); at each limit − 1 day
    // its types are still there, at + 1 day they are gone and every longer-kept type is not.
    const limits = [...new Set(DATA_TYPES.map((t) => days[t]))].sort((a, b) => a - b);
    for (const limit of limits) {
      const types = DATA_TYPES.filter((t) => days[t] === limit);
      await sweepRetention(env, s.end + (limit - 1) * DAY_MS);
      const before = await present(s.sessionId);
      for (const type of types) expect(before[type], `${plan} ${type} at ${limit} − 1 days`).toBe(true);
      await sweepRetention(env, s.end + (limit + 1) * DAY_MS);
      const after = await present(s.sessionId);
      for (const type of types) expect(after[type], `${plan} ${type} at ${limit} + 1 days`).toBe(false);
      for (const other of DATA_TYPES.filter((t) => days[t] > limit + 1)) expect(after[other], `${plan} ${other} after the ${limit}-day types went`).toBe(true);
      if (!types.includes("metadata")) {
        const r = (await row(s.sessionId))!;
        for (const type of types) expect(r[{ transcripts: "transcript_purged_at", audio: "audio_purged_at", analytics: "analytics_purged_at" }[type as "audio"]]).not.toBeNull();
      }
    }
    // The session is gone from the API too.
    expect((await call("GET", `/v1/sessions/${s.sessionId}`, { key: apiKey.key })).status).toBe(404);
    const audits = await env.DB.prepare("SELECT details FROM audit_log WHERE org_id = ? AND action = 'retention.purge'").bind(org.id).all<{ details: string }>();
    expect(audits.results.length).toBe(limits.length);
  }, 90_000);

  it("the sweep is idempotent and audited, and bounded per run", async () => {
    const { apiKey, org } = await createOrg("free");
    const campaign = await createCampaign(apiKey.key);
    const old = Date.now() - 100 * DAY_MS;
    const seeded = [];
    for (let i = 0; i < 3; i++) seeded.push(await seedSessionRow(org.id, campaign.id, { completed_at: old + i, created_at: old, sentiment: "positive" }));
    const now = Date.now();
    // A batch of 1: one session per type this run, the rest on the next.
    const first = await sweepRetention(env, now, 1);
    expect(first.more).toBe(true);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE org_id = ?").bind(org.id).first<{ n: number }>())!.n).toBe(2);
    await sweepRetention(env, now, 10);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE org_id = ?").bind(org.id).first<{ n: number }>())!.n).toBe(0);
    const audits = async () => (await env.DB.prepare("SELECT actor_type, actor_id, details FROM audit_log WHERE org_id = ? AND action = 'retention.purge' ORDER BY seq").bind(org.id).all<Record<string, string>>()).results;
    const rows = await audits();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ actor_type: "system", actor_id: "retention-sweep" });
    const details = rows.map((r) => JSON.parse(String(r.details)));
    expect(details[0].metadata + details[1].metadata).toBe(3);
    expect(details.map((d) => d.sessions).join(",")).toContain(seeded[0]!.id);
    // Again: nothing due, nothing removed, no new audit row.
    const again = await sweepRetention(env, now, 10);
    expect(again.purged).toEqual({ transcripts: 0, audio: 0, analytics: 0, metadata: 0 });
    expect(await audits()).toHaveLength(2);
  }, 30_000);

  it("a campaign may shorten its org's retention but never lengthen it", async () => {
    const { apiKey } = await createOrg("free");
    const short = await sessionWithEverything(apiKey.key);
    const normal = await sessionWithEverything(apiKey.key);

    const tooLong = await call("PATCH", `/v1/campaigns/${short.campaignId}/retention`, { key: apiKey.key, body: { audio: 8, transcripts: 20 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error.code).toBe("RETENTION_TOO_LONG");
    expect(tooLong.json.error.details.fields).toEqual([expect.objectContaining({ path: "audio" })]);
    expect((await call("GET", `/v1/campaigns/${short.campaignId}/retention`, { key: apiKey.key })).json.retention).toEqual({});
    const unknown = await call("PATCH", `/v1/campaigns/${short.campaignId}/retention`, { key: apiKey.key, body: { audio: 3, video: 1 } });
    expect(unknown.status).toBe(400);

    const set = await call("PATCH", `/v1/campaigns/${short.campaignId}/retention`, { key: apiKey.key, body: { audio: 3, transcripts: 10 } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ retention: { audio: 3, transcripts: 10 }, effective: { audio: 3, transcripts: 10, analytics: 30, metadata: 90 } });
    const schedule = (await call("GET", `/v1/sessions/${short.sessionId}/retention`, { key: apiKey.key })).json.schedule;
    expect(schedule.find((x: any) => x.type === "audio")).toMatchObject({ days: 3, dueAt: new Date(short.end + 3 * DAY_MS).toISOString(), purgedAt: null });

    const end = Math.max(short.end, normal.end);
    await sweepRetention(env, end + 4 * DAY_MS);
    expect(await present(short.sessionId)).toMatchObject({ audio: false, transcripts: true });
    expect(await present(normal.sessionId)).toMatchObject({ audio: true, transcripts: true });
    await sweepRetention(env, end + 11 * DAY_MS);
    expect(await present(short.sessionId)).toMatchObject({ transcripts: false, analytics: true, metadata: true });
    expect(await present(normal.sessionId)).toMatchObject({ audio: false, transcripts: true });
    // The org page shows the campaign's override and what is due next.
    const org = (await call("GET", "/v1/retention", { key: apiKey.key })).json;
    expect(org).toMatchObject({ plan: "free", effective: RETENTION_TABLE.free, campaigns: [{ id: short.campaignId, retention: { audio: 3, transcripts: 10 } }] });
    expect(org.upcoming.find((u: any) => u.type === "transcripts").dueWithinHorizon).toBe(1);
    // null removes the campaign's value.
    expect((await call("PATCH", `/v1/campaigns/${short.campaignId}/retention`, { key: apiKey.key, body: { audio: null, transcripts: null } })).json.retention).toEqual({});
  }, 90_000);

  it("a bulk export holding a session whose transcript went is removed with it", async () => {
    const { apiKey, org } = await createOrg("free");
    const campaign = await createCampaign(apiKey.key);
    const old = await seedSessionRow(org.id, campaign.id, { completed_at: Date.now() - 31 * DAY_MS, created_at: Date.now() - 31 * DAY_MS });
    const fresh = await seedSessionRow(org.id, campaign.id);
    const exportOf = async (ids: string[]) => {
      const r = await call("POST", `/v1/campaigns/${campaign.id}/exports`, { key: apiKey.key, body: { format: "json", sessionIds: ids } });
      expect(r.status, r.text).toBe(202);
      return (await waitFor(async () => (await call("GET", `/v1/exports/${r.json.id}`, { key: apiKey.key })).json, (j) => j?.status === "ready", "export ready", 30_000)).id as string;
    };
    const holding = await exportOf([old.id, fresh.id]);
    const other = await exportOf([fresh.id]);
    await sweepRetention(env);
    expect((await call("GET", `/v1/exports/${holding}`, { key: apiKey.key })).json).toMatchObject({ status: "failed", error: ERASED_EXPORT });
    expect(await env.EXPORTS_BUCKET.head(`exports/${holding}.zip`)).toBeNull();
    expect((await call("GET", `/v1/exports/${other}`, { key: apiKey.key })).json.status).toBe("ready");
    const audit = await env.DB.prepare("SELECT details FROM audit_log WHERE org_id = ? AND action = 'retention.purge'").bind(org.id).first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ transcripts: 1, exports: 1 });
  }, 60_000);

  it("the audio purge withdraws audio exports of the session (old link 410, status not ready) and keeps transcript exports until theirs", async () => {
    const { apiKey } = await createOrg("free");
    const key = apiKey.key;
    const s = await sessionWithEverything(key);
    const exportOf = async (format: string) => {
      const r = await call("POST", `/v1/campaigns/${s.campaignId}/exports`, { key, body: { format, sessionIds: [s.sessionId] } });
      expect(r.status, r.text).toBe(202);
      return waitFor(async () => (await call("GET", `/v1/exports/${r.json.id}`, { key })).json, (j) => j?.status === "ready", `${format} export ready`, 30_000);
    };
    const audio = await exportOf("audio");
    const json = await exportOf("json");
    const download = (url: string) => call("GET", url.slice(url.indexOf("/v1/")));
    expect((await download(audio.downloadUrl)).status).toBe(200);

    // Free plan: audio is kept 7 days, transcripts 30.
    await sweepRetention(env, s.end + 8 * DAY_MS);
    expect(await audioObjects(s.sessionId)).toBe(0);
    const status = (await call("GET", `/v1/exports/${audio.id}`, { key })).json;
    expect(status).toMatchObject({ status: "failed", error: ERASED_EXPORT });
    expect(status.downloadUrl).toBeUndefined();
    const gone = await download(audio.downloadUrl);
    expect(gone.status).toBe(410);
    expect(gone.json.error.code).toBe("EXPORT_GONE");
    expect(await env.EXPORTS_BUCKET.head(`exports/${audio.id}.zip`)).toBeNull();
    // The JSON export holds no audio: it stays until the transcripts go.
    expect((await call("GET", `/v1/exports/${json.id}`, { key })).json.status).toBe("ready");
    expect((await download(json.downloadUrl)).status).toBe(200);
    await sweepRetention(env, s.end + 31 * DAY_MS);
    expect((await call("GET", `/v1/exports/${json.id}`, { key })).json).toMatchObject({ status: "failed", error: ERASED_EXPORT });
    expect((await download(json.downloadUrl)).status).toBe(410);
  }, 90_000);

  it("custom values are for enterprise orgs only, and leaving enterprise drops them", async () => {
    const { apiKey } = await createOrg("starter");
    const refused = await call("PATCH", "/v1/org", { key: apiKey.key, body: { retention: { audio: 5 } } });
    expect(refused.status).toBe(400);
    expect((await call("GET", "/v1/org", { key: apiKey.key })).json.retention).toEqual(RETENTION_TABLE.starter);
    const up = await call("PATCH", "/v1/org", { key: apiKey.key, body: { plan: "enterprise", retentionDays: 500, retention: { audio: 5 } } });
    expect(up.json.retention).toEqual({ transcripts: 500, audio: 5, analytics: 500, metadata: 500 });
    expect((await call("PATCH", "/v1/org", { key: apiKey.key, body: { retention: { audio: 0 } } })).status).toBe(400);
    const down = await call("PATCH", "/v1/org", { key: apiKey.key, body: { plan: "professional" } });
    expect(down.json).toMatchObject({ retentionDays: null, retentionCustom: null, retention: RETENTION_TABLE.professional });
  });
});
