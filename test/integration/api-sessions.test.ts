// Contract tests for the sessions API: shape, filters, pagination, CSV, controls and their
// illegal transitions, notes, flags, deletion, tenancy and roles (with their audit rows).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../src/worker/app";
import { routeTable } from "../../src/worker/openapi";
import { encodeCursor, keysetSql } from "../../src/db/cursor";
import { filterSql } from "../../src/db/sessions";
import { parseCsv } from "../helpers/csv";
import {
  allPages,
  answer,
  auditRows,
  call,
  callRoute,
  createCampaign,
  createOrg,
  createdSession,
  errorCode,
  fillId,
  join,
  keyWithRole,
  mirroredStatus,
  seedSessionRow,
  startedInterview,
  tableCounts,
  validRequest,
  waitFor,
} from "../helpers/fixtures";
import { until } from "../helpers/session";
import { MIRROR_COALESCE_MS } from "../../src/objects/outbox";

const ids = (r: { json: { data: { id: string }[] } }) => r.json.data.map((s) => s.id).sort();

describe("session JSON", () => {
  it("carries the contract's fields", async () => {
    const i = await startedInterview({ participant: { email: "pat@example.com", name: "Pat" } });
    await answer(i, "a1", "My first answer, long enough to count.");
    const r = await call("GET", `/v1/sessions/${i.sessionId}`, { key: i.key });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      id: i.sessionId,
      campaignId: i.campaign.id,
      inviteId: i.invite.id,
      status: "in_progress",
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      completedAt: null,
      duration: expect.any(Number),
      questionsAnswered: 1,
      totalQuestions: 3,
      completion: 33,
      language: null,
      device: { browser: "Firefox", os: "Linux", deviceType: "desktop" },
      consent: { required: true, granted: true, at: expect.any(String) },
      flagged: false,
      sentiment: null,
      endReason: null,
      lastQuestionIndex: 1,
      pausedReason: null,
      participant: { email: "pat@example.com", name: "Pat" },
    });
    for (const k of ["id", "campaignId", "inviteId", "status", "startedAt", "completedAt", "duration", "questionsAnswered", "totalQuestions", "language", "device", "consent", "completion", "flagged", "sentiment", "endReason", "lastQuestionIndex", "pausedReason"]) {
      expect(r.json, k).toHaveProperty(k);
    }
    expect(r.json.transcript).toBeUndefined();

    const withT = await call("GET", `/v1/sessions/${i.sessionId}?include=transcript,notes`, { key: i.key });
    expect(withT.json.transcript.map((s: { speaker: string }) => s.speaker)).toEqual(["ai", "participant", "ai"]);
    expect(withT.json.notes).toEqual([]);
    for (const q of ["include=audio", "include=", "foo=1"]) {
      const bad = await call("GET", `/v1/sessions/${i.sessionId}?${q}`, { key: i.key });
      expect(bad.status, q).toBe(400);
    }
    i.ws.close();
  });
});

describe("listing a campaign's sessions", () => {
  it("narrows by every filter and pages with cursors", async () => {
    const { org, apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const day = 86_400_000;
    const base = Date.UTC(2026, 0, 1);
    const seed = (n: number, over: Record<string, unknown>) => seedSessionRow(org.id, c.id, { created_at: base + n * 1000, ...over });
    const s1 = await seed(1, { status: "completed", started_at: base, duration: 10, completion: 100, language: "en", sentiment: "positive" });
    const s2 = await seed(2, { status: "abandoned", started_at: base + day, duration: 100, completion: 33, language: "pt-BR", flagged: 1, sentiment: "negative" });
    const s3 = await seed(3, { status: "in_progress", started_at: base + 2 * day, completed_at: null, duration: 1000, completion: 66, language: "de", sentiment: "neutral" });
    const s4 = await seed(4, { status: "created", started_at: null, completed_at: null, duration: 0, completion: 0, language: null });
    const s5 = await seed(5, { status: "paused", started_at: base + 3 * day, completed_at: null, duration: 500, completion: 50, language: "en-GB", flagged: 1 });
    const iso = (t: number) => new Date(t).toISOString();
    const cases: [string, { id: string }[]][] = [
      ["", [s1, s2, s3, s4, s5]],
      ["status=completed,abandoned", [s1, s2]],
      ["status=paused", [s5]],
      [`from=${iso(base + day)}`, [s2, s3, s5]],
      [`to=${iso(base + 2 * day)}`, [s1, s2, s3]],
      [`from=${iso(base + day)}&to=${iso(base + 2 * day)}`, [s2, s3]],
      ["minDuration=100", [s2, s3, s5]],
      ["maxDuration=100", [s1, s2, s4]],
      ["minDuration=100&maxDuration=500", [s2, s5]],
      ["minCompletion=50", [s1, s3, s5]],
      ["maxCompletion=50", [s2, s4, s5]],
      ["minCompletion=34&maxCompletion=99", [s3, s5]],
      ["language=en", [s1, s5]],
      ["language=pt-BR", [s2]],
      ["language=pt", [s2]],
      ["language=en-GB", [s5]],
      ["flagged=true", [s2, s5]],
      ["flagged=false", [s1, s3, s4]],
      ["sentiment=positive,neutral", [s1, s3]],
      ["status=completed&flagged=true", []],
    ];
    for (const [q, want] of cases) {
      const r = await call("GET", `/v1/campaigns/${c.id}/sessions?${q}`, { key: apiKey.key });
      expect(r.status, q).toBe(200);
      expect(ids(r), q).toEqual(want.map((s) => s.id).sort());
      expect(await allPages(`/v1/campaigns/${c.id}/sessions?${q}`, apiKey.key, 2), `paged ${q}`).toEqual(
        [...want].sort((a, b) => (b as any).created_at - (a as any).created_at).map((s) => s.id),
      );
    }
    // A cursor belongs to its list: with other filters, on another campaign or on another kind of
    // list it is refused rather than read as a position in something else.
    const firstPage = await call("GET", `/v1/campaigns/${c.id}/sessions?status=completed,abandoned&limit=1`, { key: apiKey.key });
    const cursor = encodeURIComponent(firstPage.json.nextCursor);
    expect((await call("GET", `/v1/campaigns/${c.id}/sessions?status=completed,abandoned&limit=1&cursor=${cursor}`, { key: apiKey.key })).json.data.map((x: { id: string }) => x.id)).toEqual([s1.id]);
    const c2 = await createCampaign(apiKey.key);
    for (const path of [`/v1/campaigns/${c.id}/sessions?status=completed&cursor=${cursor}`, `/v1/campaigns/${c.id}/sessions?cursor=${cursor}`, `/v1/campaigns/${c2.id}/sessions?status=completed,abandoned&cursor=${cursor}`, `/v1/campaigns?cursor=${cursor}`]) {
      const r = await call("GET", path, { key: apiKey.key });
      expect(r.status, path).toBe(400);
      expect(r.json.error.details.fields[0].path, path).toBe("cursor");
    }
    for (const q of ["status=done", "status=", "minCompletion=101", "maxCompletion=-1", "minDuration=-1", "minDuration=abc", "flagged=yes", "from=yesterday", "to=2026-01-01", "language=English", "format=xml", "include=audio", "cursor=zzz", "limit=0", "limit=101", "nope=1"]) {
      const r = await call("GET", `/v1/campaigns/${c.id}/sessions?${q}`, { key: apiKey.key });
      expect(r.status, q).toBe(400);
      expect(errorCode(r), q).toBe("VALIDATION_FAILED");
    }
    // Another org's key learns nothing of the campaign, whatever the cursor: 404 before any 400.
    const other = await createOrg();
    for (const q of ["", "cursor=zzz", `cursor=${encodeURIComponent(encodeCursor(Date.now(), "ses_x", "sessions"))}`]) {
      const r = await call("GET", `/v1/campaigns/${c.id}/sessions?${q}`, { key: other.apiKey.key });
      expect(r.status, q).toBe(404);
      expect(r.json.data, q).toBeUndefined();
    }
  });

  it("a language filter matches the tag and its subtags, never a longer tag that starts alike", async () => {
    const { org, apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const langs = ["en", "en-GB", "eng", "ptx-AB", "pt-BR", null] as const;
    const rows: Record<string, string> = {};
    for (const [n, language] of langs.entries()) rows[String(language)] = (await seedSessionRow(org.id, c.id, { created_at: Date.UTC(2026, 0, 1 + n), language })).id;
    const cases: [string, string[]][] = [
      ["en", ["en", "en-GB"]],
      ["en-GB", ["en-GB"]],
      ["eng", ["eng"]],
      ["pt", ["pt-BR"]],
      ["ptx", ["ptx-AB"]],
      ["ptx-AB", ["ptx-AB"]],
      ["de", []],
    ];
    for (const [language, want] of cases) {
      const r = await call("GET", `/v1/campaigns/${c.id}/sessions?language=${language}`, { key: apiKey.key });
      expect(r.status, language).toBe(200);
      expect(ids(r), language).toEqual(want.map((l) => rows[l]).sort());
    }
  });

  it("walks an index in date order for every filter, and the language index for a language", async () => {
    // What keeps a page cheap over 100,000 sessions: the planner reads an index in the order of the
    // page (no sort of all matches in a temporary b-tree) and, for a language, only that language's
    // entries. A filter whose SQL drifted from the index expression would fall back to the date walk.
    const filters: [Parameters<typeof filterSql>[0], string][] = [
      [{}, "sessions_campaign_created_idx"],
      [{ language: "fr", minDuration: 1800, maxDuration: 2400 }, "sessions_campaign_language_idx"],
      [{ language: "pt-BR" }, "sessions_campaign_language_idx"],
      [{ status: ["abandoned"], language: "ja", maxCompletion: 30 }, ""],
      [{ status: ["completed"], minDuration: 900 }, "sessions_campaign_status_idx"],
      [{ flagged: true }, "sessions_campaign_flagged_idx"],
      [{ from: "2026-01-01T00:00:00.000Z", to: "2026-02-01T00:00:00.000Z" }, "sessions_campaign_created_idx"],
    ];
    for (const [filter, index] of filters) {
      const { where, binds } = filterSql(filter);
      for (const afterCursor of [false, true]) {
        const sql = keysetSql("sessions", `campaign_id = ?${where}`, afterCursor);
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind("cmp_x", ...binds, ...(afterCursor ? [1, 1, "s"] : []), 51)
          .all<{ detail: string }>();
        const details = plan.results.map((r) => r.detail).join(" | ");
        expect(details, JSON.stringify(filter)).toMatch(/^SEARCH sessions USING INDEX sessions_campaign_\w+_idx \(campaign_id=\?/);
        expect(details, JSON.stringify(filter)).not.toContain("TEMP B-TREE");
        if (index) expect(details, JSON.stringify(filter)).toContain(index);
      }
    }
  });

  it("answers a session's analytics from its index row when its object holds nothing", async () => {
    const { org, apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const s = await seedSessionRow(org.id, c.id, { status: "abandoned", started_at: Date.now() - 60_000, duration: 42, completion: 33, questions_answered: 1, total_questions: 3, last_question_index: 1 });
    const r = await call("GET", `/v1/sessions/${s.id}/analytics`, { key: apiKey.key });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ sessionId: s.id, status: "abandoned", partial: true, duration: 42 });
  });

  it("pages 50 by default and never skips or repeats rows that share a timestamp", async () => {
    const { org, apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const at = Date.UTC(2026, 5, 1);
    const seeded: string[] = [];
    for (let n = 0; n < 55; n++) seeded.push((await seedSessionRow(org.id, c.id, { created_at: at + (n % 3) })).id);
    const first = await call("GET", `/v1/campaigns/${c.id}/sessions`, { key: apiKey.key });
    expect(first.json.data).toHaveLength(50);
    expect(typeof first.json.nextCursor).toBe("string");
    const second = await call("GET", `/v1/campaigns/${c.id}/sessions?cursor=${encodeURIComponent(first.json.nextCursor)}`, { key: apiKey.key });
    expect(second.json.data).toHaveLength(5);
    expect(second.json.nextCursor).toBeNull();
    for (const limit of [1, 7, 50, 100]) {
      const paged = await allPages(`/v1/campaigns/${c.id}/sessions`, apiKey.key, limit);
      expect(paged, `limit ${limit}`).toHaveLength(55);
      expect(new Set(paged).size).toBe(55);
      expect([...paged].sort()).toEqual([...seeded].sort());
    }
  });

  it("renders CSV (RFC 4180, formula cells neutralised) and includes transcripts on request", async () => {
    const i = await startedInterview({ participant: { email: "csv@example.com", name: "Cee" } });
    await answer(i, "a1", 'I said "yes", then\nI said no, =SUM(1)');
    const end = await call("POST", `/v1/sessions/${i.sessionId}/end`, { key: i.key, body: { reason: "=SUM(1)" } });
    expect(end.status).toBe(200);
    await mirroredStatus(i.sessionId, "completed");
    const orgId = (await env.DB.prepare("SELECT org_id FROM campaigns WHERE id = ?").bind(i.campaign.id).first<{ org_id: string }>())!.org_id;
    for (const reason of ["+1+1", "-2+3", "@SUM(1)", "\tTAB", 'a "quoted", comma']) {
      await seedSessionRow(orgId, i.campaign.id, { end_reason: reason });
    }

    const r = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?format=csv`, { key: i.key });
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toMatch(/^text\/csv/);
    const rows = parseCsv(r.text);
    const header = rows[0]!;
    expect(header).toEqual(expect.arrayContaining(["id", "campaignId", "inviteId", "status", "startedAt", "completedAt", "duration", "questionsAnswered", "totalQuestions", "completion", "endReason", "participantEmail"]));
    expect(rows).toHaveLength(7);
    for (const row of rows) expect(row).toHaveLength(header.length);
    const col = (name: string) => header.indexOf(name);
    const real = rows.find((row) => row[col("id")] === i.sessionId)!;
    expect(real[col("endReason")]).toBe("'=SUM(1)");
    expect(real[col("status")]).toBe("completed");
    expect(real[col("participantEmail")]).toBe("csv@example.com");
    const reasons = rows.slice(1).map((row) => row[col("endReason")]);
    expect(reasons).toEqual(expect.arrayContaining(["'+1+1", "'-2+3", "'@SUM(1)", "'\tTAB", 'a "quoted", comma']));
    for (const row of rows) for (const cell of row) expect(cell, `cell ${JSON.stringify(cell)}`).not.toMatch(/^[=+\-@\t\r]/);

    const withT = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?format=csv&include=transcript&status=completed&limit=100`, { key: i.key });
    const trows = parseCsv(withT.text);
    expect(trows[0]!.at(-1)).toBe("transcript");
    const t = trows.find((row) => row[0] === i.sessionId)!.at(-1)!;
    expect(t).toContain('I said "yes", then\nI said no, =SUM(1)');
    // include=notes adds a notes column (it was silently dropped), formula-neutralised like the rest.
    await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "=HYPERLINK(1) call back" } });
    const withN = parseCsv((await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?format=csv&include=notes,transcript&status=completed`, { key: i.key })).text);
    expect(withN[0]!.slice(-2)).toEqual(["transcript", "notes"]);
    const noteCell = withN.find((row) => row[0] === i.sessionId)!.at(-1)!;
    expect(noteCell).toMatch(/^'?\[\d{4}-\d\d-\d\dT[^\]]+\] =HYPERLINK\(1\) call back$/);
    expect(noteCell).not.toMatch(/^[=+\-@]/);

    const paged = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?format=csv&limit=2`, { key: i.key });
    expect(parseCsv(paged.text)).toHaveLength(3);
    expect(paged.headers.get("X-Next-Cursor")).toBeTruthy();
  });

  it("include=transcript returns each session's segments, and the reads are audited", async () => {
    const i = await startedInterview();
    await answer(i, "a1", "An answer for the transcript list.");
    const r = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?include=transcript`, { key: i.key });
    expect(r.status).toBe(200);
    expect(r.json.data).toHaveLength(1);
    expect(r.json.data[0].transcript.map((s: { text: string }) => s.text)).toContain("An answer for the transcript list.");
    await waitFor(
      () => auditRows("action = 'transcript.read' AND resource_id = ? AND outcome = 'allow'", i.sessionId),
      (rows) => rows.length >= 1,
      "an audit row for the transcript read through the list",
    );
    i.ws.close();
  });
});

describe("session controls", () => {
  it("pause, resume, end and reassign follow the lifecycle; illegal ones are 409 INVALID_TRANSITION", async () => {
    const i = await startedInterview();
    const key = i.key;
    const post = (action: string, body?: unknown) => call("POST", `/v1/sessions/${i.sessionId}/${action}`, { key, body });
    const expect409 = async (action: string, body?: unknown) => {
      const r = await post(action, body);
      expect(r.status, action).toBe(409);
      expect(errorCode(r)).toBe("INVALID_TRANSITION");
    };

    await expect409("resume");
    const paused = await post("pause", { reason: "coffee" });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ id: i.sessionId, status: "paused", pausedReason: "coffee" });
    await i.ws.next((f) => f.type === "paused" && f.by === "admin", "paused frame for the participant");
    await expect409("pause", { reason: "again" });
    const resumed = await post("resume");
    expect(resumed.json).toMatchObject({ status: "in_progress", pausedReason: null });

    // Reassign: same campaign 409, another org's campaign 404, own other campaign moves it.
    await expect409("reassign", { campaignId: i.campaign.id });
    const other = await createOrg();
    const foreign = await createCampaign(other.apiKey.key);
    const cross = await post("reassign", { campaignId: foreign.id });
    expect(cross.status).toBe(404);
    expect(errorCode(cross)).toBe("NOT_FOUND");
    const bad = await post("reassign", { campaignId: "nope" });
    expect(bad.status).toBe(400);
    const target = await createCampaign(key, { name: "Target", questions: [{ text: "T1?" }, { text: "T2?" }, { text: "T3?" }, { text: "T4?" }] });
    const moved = await post("reassign", { campaignId: target.id });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({ campaignId: target.id, totalQuestions: 4 });
    // The object, not the index (written behind), decides "already there": moving straight back
    // is legal, and the index follows a move at once rather than after the mirror's coalescing.
    const back = await post("reassign", { campaignId: i.campaign.id });
    expect(back.status, JSON.stringify(back.json)).toBe(200);
    expect(back.json).toMatchObject({ campaignId: i.campaign.id });
    await expect409("reassign", { campaignId: i.campaign.id });
    const movedAt = Date.now();
    expect((await post("reassign", { campaignId: target.id })).status).toBe(200);
    await until(async () => ids(await call("GET", `/v1/campaigns/${target.id}/sessions`, { key })).includes(i.sessionId) || null, "the index lists the moved session", MIRROR_COALESCE_MS);
    expect(Date.now() - movedAt).toBeLessThan(MIRROR_COALESCE_MS / 2);
    expect(ids(await call("GET", `/v1/campaigns/${i.campaign.id}/sessions`, { key }))).not.toContain(i.sessionId);

    const ended = await post("end", { reason: "enough" });
    expect(ended.json).toMatchObject({ status: "completed", endReason: "enough", completedAt: expect.any(String) });
    await i.ws.next((f) => f.type === "ended", "ended frame");
    await expect409("pause", { reason: "late" });
    await expect409("resume");
    await expect409("end");
    await expect409("reassign", { campaignId: i.campaign.id });
    await mirroredStatus(i.sessionId, "completed");
    const list = await call("GET", `/v1/campaigns/${target.id}/sessions`, { key });
    expect(ids(list)).toEqual([i.sessionId]);
  });

  it("a reassigned session goes on in its new campaign's language and name; a move to the other mode is refused", async () => {
    const i = await startedInterview({ campaign: { name: "English study" } });
    const post = (body: unknown) => call("POST", `/v1/sessions/${i.sessionId}/reassign`, { key: i.key, body });
    const voice = await createCampaign(i.key, { name: "Spoken", settings: { consentRequired: false, mode: "voice" } });
    const refused = await post({ campaignId: voice.id });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({ code: "INVALID_TRANSITION", message: expect.stringContaining("typed interview cannot move to a voice campaign") });
    const french = await createCampaign(i.key, { name: "Étude française", settings: { consentRequired: false, language: "fr" }, questions: [{ text: "Premier ?" }, { text: "Deuxième ?" }] });
    const moved = await post({ campaignId: french.id });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({ campaignId: french.id, language: "fr" });
    // The participant reopening the invite gets the French page under the new campaign's name.
    const reopened = await join(i.invite.token);
    expect(reopened.json).toMatchObject({ sessionId: i.sessionId, resumed: true, language: "fr", campaignName: "Étude française", mode: "text" });
    // And the index lists it under its language.
    await until(async () => ids(await call("GET", `/v1/campaigns/${french.id}/sessions?language=fr`, { key: i.key })).includes(i.sessionId) || null, "listed as French", MIRROR_COALESCE_MS);
    i.ws.close();
  });

  it("a session that has not started cannot be paused or resumed, but can be ended", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const s = await createdSession(apiKey.key, c.id);
    for (const action of ["pause", "resume"]) {
      const r = await call("POST", `/v1/sessions/${s.sessionId}/${action}`, { key: apiKey.key });
      expect(r.status, action).toBe(409);
      expect(errorCode(r)).toBe("INVALID_TRANSITION");
    }
    const end = await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: apiKey.key });
    expect(end.json.status).toBe("completed");
  });

  it("notes and flags", async () => {
    const i = await startedInterview();
    const n = await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "  Watch the pricing answer.  " } });
    expect(n.status).toBe(201);
    expect(n.json).toMatchObject({ id: expect.stringMatching(/^not_[a-z0-9]{8,}$/), sessionId: i.sessionId, text: "Watch the pricing answer.", author: { type: "api_key" }, createdAt: expect.any(String) });
    await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "Second." } });
    const notes = await call("GET", `/v1/sessions/${i.sessionId}/notes`, { key: i.key });
    expect(notes.json.data.map((x: { text: string }) => x.text)).toEqual(["Watch the pricing answer.", "Second."]);
    expect(notes.json.nextCursor).toBeNull();
    // Notes page like every list, oldest first: a third note, two a page.
    await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "Third." } });
    const first = await call("GET", `/v1/sessions/${i.sessionId}/notes?limit=2`, { key: i.key });
    expect(first.json.data.map((x: { text: string }) => x.text)).toEqual(["Watch the pricing answer.", "Second."]);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const second = await call("GET", `/v1/sessions/${i.sessionId}/notes?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`, { key: i.key });
    expect(second.json).toEqual({ data: [expect.objectContaining({ text: "Third." })], nextCursor: null });
    for (const body of [{}, { text: "" }, { text: 5 }, { text: "x", pinned: true }]) {
      const r = await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }

    const f = await call("POST", `/v1/sessions/${i.sessionId}/flag`, { key: i.key, body: { flagged: true, reason: "follow up" } });
    expect(f.status).toBe(200);
    expect(f.json).toMatchObject({ id: i.sessionId, flagged: true, status: "in_progress" });
    const flagged = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?flagged=true`, { key: i.key });
    expect(ids(flagged)).toEqual([i.sessionId]);
    // A later mirror write (another answer) must not clear the flag.
    await answer(i, "a1", "An answer after the flag was set.");
    await waitFor(() => call("GET", `/v1/sessions/${i.sessionId}`, { key: i.key }), (r) => r.json.questionsAnswered === 1, "answer mirrored");
    expect((await call("GET", `/v1/sessions/${i.sessionId}`, { key: i.key })).json.flagged).toBe(true);
    const unf = await call("POST", `/v1/sessions/${i.sessionId}/flag`, { key: i.key, body: { flagged: false } });
    expect(unf.json.flagged).toBe(false);
    expect(ids(await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?flagged=true`, { key: i.key }))).toEqual([]);
    i.ws.close();
  });
});

describe("DELETE /v1/sessions/{id}/data", () => {
  it("needs X-Confirm-Delete: true, then erases everything and audits without personal data", async () => {
    const email = "erase.me@example.com";
    const i = await startedInterview({ participant: { email, name: "Erin Erase" } });
    await answer(i, "a1", "Something personal I would like deleted.");
    await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "a note" } });
    const before = await tableCounts();
    for (const headers of [{}, { "X-Confirm-Delete": "false" }, { "X-Confirm-Delete": "yes" }] as Record<string, string>[]) {
      const r = await call("DELETE", `/v1/sessions/${i.sessionId}/data`, { key: i.key, headers });
      expect(r.status, JSON.stringify(headers)).toBe(400);
      expect(errorCode(r)).toBe("CONFIRMATION_REQUIRED");
    }
    expect(await tableCounts()).toEqual(before);
    expect((await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key: i.key })).json.segments.length).toBeGreaterThan(0);

    const del = await call("DELETE", `/v1/sessions/${i.sessionId}/data`, { key: i.key, headers: { "X-Confirm-Delete": "true" } });
    expect(del.status).toBe(200);
    expect(del.text).not.toContain(email);
    // The participant's page learns why, and that there is nothing to reconnect to.
    expect(await i.ws.closedWithin()).toMatchObject({ code: 4410 });
    expect(i.ws.frames.filter((f: { type: string }) => f.type === "error").map((f: { code: string }) => f.code)).toContain("SESSION_DELETED");
    for (const path of ["", "/transcript", "/notes"]) {
      const r = await call("GET", `/v1/sessions/${i.sessionId}${path}`, { key: i.key });
      expect(r.status, path).toBe(404);
      expect(errorCode(r)).toBe("NOT_FOUND");
    }
    const again = await call("DELETE", `/v1/sessions/${i.sessionId}/data`, { key: i.key, headers: { "X-Confirm-Delete": "true" } });
    expect(again.status).toBe(404);
    const reconnect = await callRoute("GET", `/sessions/${i.sessionId}/connect?token=${i.participantToken}`, undefined, { headers: { Upgrade: "websocket" } });
    expect(reconnect.status).toBe(404);
    expect(ids(await call("GET", `/v1/campaigns/${i.campaign.id}/sessions`, { key: i.key }))).toEqual([]);
    const left = await env.DB.prepare("SELECT (SELECT COUNT(*) FROM notes WHERE session_id = ?1) AS notes, (SELECT COUNT(*) FROM sessions WHERE id = ?1) AS sessions").bind(i.sessionId).first<{ notes: number; sessions: number }>();
    expect(left).toEqual({ notes: 0, sessions: 0 });

    const rows = await waitFor(
      () => auditRows("action = 'gdpr.manage' AND resource_id = ? AND outcome = 'allow'", i.sessionId),
      (r) => r.length === 1,
      "one audit row for the deletion",
    );
    expect(rows[0]).toMatchObject({ resource_type: "session", actor_type: "api_key" });
    const orgId = rows[0]!.org_id as string;
    const everything = JSON.stringify(await auditRows("org_id = ?", orgId));
    expect(everything).not.toContain(email);
    expect(everything).not.toContain("Erin Erase");
  });
});

describe("tenancy", () => {
  it("another org's key gets 404 on every /v1 route with an id of the first org, and changes nothing", async () => {
    const a = await startedInterview({ participant: { email: "a@example.com" } });
    await call("POST", `/v1/sessions/${a.sessionId}/notes`, { key: a.key, body: { text: "org A's note" } });
    const b = await createOrg();
    const bCampaign = await createCampaign(b.apiKey.key);
    const before = await tableCounts();
    const routes = routeTable(api).filter((r) => r.path.includes(":id") && r.spec?.auth === "key");
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) {
      const path = fillId(r.path, { campaignId: a.campaign.id, sessionId: a.sessionId, memberId: a.org!.owner.id, keyId: a.org!.apiKey.id });
      const res = await callRoute(r.method, path, b.apiKey.key, validRequest(r.method, r.path, { campaignId: bCampaign.id }));
      expect(res.status, `${r.method} ${path}`).toBe(404);
      expect(errorCode(res)).toBe("NOT_FOUND");
    }
    expect(await tableCounts()).toEqual(before);
    // Each attempt is a denial in org B's own audit log (the org that tried), none in org A's.
    const bOrg = b.org.id;
    const tried = await waitFor(
      () => auditRows("org_id = ? AND outcome = 'deny' AND actor_id = ?", bOrg, b.apiKey.id),
      (rows) => rows.length >= routes.length,
      "a denial audited for every cross-org attempt",
    );
    expect(tried.every((r) => JSON.parse(String(r.details)).reason === "not_found")).toBe(true);
    expect(tried.some((r) => r.resource_id === a.sessionId && r.resource_type === "session")).toBe(true);
    expect(await auditRows("org_id = ? AND actor_id = ?", a.org!.org.id, b.apiKey.id)).toEqual([]);
    const s = await call("GET", `/v1/sessions/${a.sessionId}?include=notes`, { key: a.key });
    expect(s.json).toMatchObject({ status: "in_progress", campaignId: a.campaign.id, flagged: false, notes: [{ text: "org A's note" }] });
    expect((await call("GET", `/v1/campaigns/${a.campaign.id}`, { key: a.key })).json.name).not.toBe("Renamed by sample");
    expect((await call("GET", "/v1/campaigns", { key: b.apiKey.key })).json.data.map((c: { id: string }) => c.id)).toEqual([bCampaign.id]);
    a.ws.close();
  });
});

describe("roles", () => {
  it("a viewer reads metadata without participant data and is refused (403, audited) everything else", async () => {
    const i = await startedInterview({ participant: { email: "viewer.sees.not@example.com", name: "Hidden" } });
    const orgId = (await env.DB.prepare("SELECT org_id FROM sessions WHERE id = ?").bind(i.sessionId).first<{ org_id: string }>())!.org_id;
    const viewer = await keyWithRole(orgId, "viewer");
    const other = await createCampaign(i.key, { name: "Other" });

    const s = await call("GET", `/v1/sessions/${i.sessionId}`, { key: viewer.key });
    expect(s.status).toBe(200);
    expect(s.json).not.toHaveProperty("participant");
    expect(s.json).not.toHaveProperty("transcript");
    expect(s.text).not.toContain("viewer.sees.not");
    const list = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions`, { key: viewer.key });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain("viewer.sees.not");
    expect(list.json.data[0]).not.toHaveProperty("participant");
    const csv = await call("GET", `/v1/campaigns/${i.campaign.id}/sessions?format=csv`, { key: viewer.key });
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain("participantEmail");
    expect(csv.text).not.toContain("viewer.sees.not");
    expect((await call("GET", `/v1/campaigns/${i.campaign.id}`, { key: viewer.key })).status).toBe(200);

    const denied: [string, string, { body?: unknown; headers?: Record<string, string> }][] = [
      ["GET", `/sessions/${i.sessionId}/transcript`, {}],
      ["GET", `/sessions/${i.sessionId}?include=transcript`, {}],
      ["GET", `/sessions/${i.sessionId}?include=notes`, {}],
      ["GET", `/campaigns/${i.campaign.id}/sessions?include=transcript`, {}],
      ["POST", `/sessions/${i.sessionId}/pause`, { body: { reason: "x" } }],
      ["POST", `/sessions/${i.sessionId}/resume`, {}],
      ["POST", `/sessions/${i.sessionId}/end`, {}],
      ["POST", `/sessions/${i.sessionId}/reassign`, { body: { campaignId: other.id } }],
      ["POST", `/sessions/${i.sessionId}/notes`, { body: { text: "x" } }],
      ["GET", `/sessions/${i.sessionId}/notes`, {}],
      ["POST", `/sessions/${i.sessionId}/flag`, { body: { flagged: true } }],
      ["DELETE", `/sessions/${i.sessionId}/data`, { headers: { "X-Confirm-Delete": "true" } }],
      ["GET", `/sessions/${i.sessionId}/live`, { headers: { Upgrade: "websocket" } }],
      ["GET", `/campaigns/${i.campaign.id}/live`, { headers: { Upgrade: "websocket" } }],
      ["POST", "/campaigns", { body: { name: "x", questions: [{ text: "q?" }] } }],
      ["PATCH", `/campaigns/${i.campaign.id}`, { body: { name: "x" } }],
      ["POST", `/campaigns/${i.campaign.id}/invites`, { body: {} }],
      ["GET", `/campaigns/${i.campaign.id}/invites`, {}],
    ];
    const before = await tableCounts();
    for (const [method, path, req] of denied) {
      const r = await callRoute(method, path, viewer.key, req);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(errorCode(r)).toBe("FORBIDDEN");
      expect(r.text).not.toContain("viewer.sees.not");
    }
    expect(await tableCounts()).toEqual(before);
    expect((await call("GET", `/v1/sessions/${i.sessionId}`, { key: i.key })).json).toMatchObject({ status: "in_progress", flagged: false, campaignId: i.campaign.id });
    const rows = await waitFor(() => auditRows("actor_id = ? AND outcome = 'deny'", viewer.id), (r) => r.length === denied.length, `${denied.length} deny rows`);
    for (const row of rows) expect(row).toMatchObject({ org_id: orgId, actor_type: "api_key", actor_role: "viewer" });
    i.ws.close();
  });

  it("a cookie write from another site is refused with 403 and audited as a denial", async () => {
    const i = await startedInterview();
    const login = await call("POST", "/v1/auth/login", { body: { email: i.org!.owner.email, password: "correct horse battery staple" } });
    expect(login.status, login.text).toBe(200);
    const cookie = login.headers.get("Set-Cookie")!.split(";")[0]!;
    const evil = await call("POST", `/v1/sessions/${i.sessionId}/notes`, { headers: { Cookie: cookie, Origin: "https://evil.example" }, body: { text: "cross-site" } });
    expect(evil.status).toBe(403);
    expect(errorCode(evil)).toBe("CSRF_REJECTED");
    const same = await call("POST", `/v1/sessions/${i.sessionId}/notes`, { headers: { Cookie: cookie, Origin: "https://interviews.example" }, body: { text: "same-site" } });
    expect(same.status).toBe(201);
    expect((await call("GET", `/v1/sessions/${i.sessionId}/notes`, { key: i.key })).json.data.map((n: { text: string }) => n.text)).toEqual(["same-site"]);
    await waitFor(() => auditRows("actor_id = ? AND outcome = 'deny'", i.org!.owner.id), (r) => r.length === 1, "the CSRF denial in the audit log");
    i.ws.close();
  });

  it("an analyst reads transcripts and adds notes but cannot control sessions; an admin cannot delete data", async () => {
    const i = await startedInterview({ participant: { email: "analysed@example.com" } });
    const orgId = (await env.DB.prepare("SELECT org_id FROM sessions WHERE id = ?").bind(i.sessionId).first<{ org_id: string }>())!.org_id;
    const analyst = await keyWithRole(orgId, "analyst");
    const admin = await keyWithRole(orgId, "admin");

    const t = await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key: analyst.key });
    expect(t.status).toBe(200);
    expect(t.json.segments[0]).toMatchObject({ seq: expect.any(Number), speaker: "ai", text: "First question?", questionIndex: 0, startMs: expect.any(Number), endMs: expect.any(Number) });
    expect((await call("GET", `/v1/sessions/${i.sessionId}`, { key: analyst.key })).json.participant).toEqual({ email: "analysed@example.com", name: null });
    expect((await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: analyst.key, body: { text: "analyst note" } })).status).toBe(201);
    expect((await call("POST", `/v1/sessions/${i.sessionId}/flag`, { key: analyst.key, body: { flagged: true } })).status).toBe(200);
    for (const action of ["pause", "end", "resume"]) {
      const r = await call("POST", `/v1/sessions/${i.sessionId}/${action}`, { key: analyst.key });
      expect(r.status, action).toBe(403);
    }
    expect((await call("POST", "/v1/campaigns", { key: analyst.key, body: { name: "x", questions: [{ text: "q?" }] } })).status).toBe(403);

    const adminDelete = await call("DELETE", `/v1/sessions/${i.sessionId}/data`, { key: admin.key, headers: { "X-Confirm-Delete": "true" } });
    expect(adminDelete.status).toBe(403);
    expect((await call("POST", `/v1/sessions/${i.sessionId}/pause`, { key: admin.key, body: { reason: "admin may" } })).status).toBe(200);

    await waitFor(() => auditRows("actor_id = ? AND outcome = 'deny'", analyst.id), (r) => r.length === 4, "4 analyst deny rows");
    await waitFor(() => auditRows("actor_id = ? AND outcome = 'deny' AND action = 'gdpr.manage'", admin.id), (r) => r.length === 1, "the admin's denied deletion");
    await waitFor(() => auditRows("actor_id = ? AND outcome = 'allow' AND action = 'transcript.read'", analyst.id), (r) => r.length === 1, "the analyst's transcript read");
    i.ws.close();
  });
});
