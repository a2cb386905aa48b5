// A golden campaign with known answers: every figure of session and campaign analytics, and reports.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { campaignAnalytics, finishedInRangeSql, rangeWhere } from "../../src/db/analytics";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { parseCsv } from "../helpers/csv";
import { auditRows } from "../helpers/fixtures";
import { until } from "../helpers/session";
import { openSocket } from "../helpers/socket";

const POS = "I love the fast export, it is wonderful and saves my team hours.";
const NEG = "The price is terrible and far too expensive for a small studio.";
const NEU = "We use it on Mondays for planning the week.";

const patternTotal = (a: any) => a.responsePatterns.reduce((n: number, p: any) => n + p.clusters.reduce((m: number, c: any) => m + c.count, 0), 0);

async function interview(key: string, campaignId: string, answers: string[], attributes: Record<string, string>, abandonAfter?: number) {
  const invite = await createInvite(key, campaignId, { participant: { attributes } });
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "start" });
  for (const [i, text] of answers.entries()) {
    await ws.next((f) => f.type === "question" && f.index === i && !f.followUp, `question ${i}`);
    ws.send({ type: "answer", id: `a${i}`, text });
    await ws.next((f) => f.type === "ack" && f.id === `a${i}`, `ack ${i}`);
  }
  if (abandonAfter !== undefined) {
    await ws.next((f) => f.type === "question" && f.index === abandonAfter, "the question they leave at");
    ws.send({ type: "consent", granted: false });
  }
  await ws.next((f) => f.type === "ended", "ended");
  return j.sessionId as string;
}

describe("analytics", () => {
  it("adds up a golden campaign exactly, session by session and across the campaign", async () => {
    const { org, apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, {
      questions: [{ text: "What do you like?" }, { text: "What would stop you from using us?" }, { text: "How do you use it?" }],
      settings: { consentRequired: false },
    });
    const s1 = await interview(key, campaign.id, [POS, NEG, NEU], { segment: "studio" });
    const s2 = await interview(key, campaign.id, [POS, POS, NEG], { segment: "agency" });
    const s3 = await interview(key, campaign.id, [POS], { segment: "studio" }, 1);

    await until(async () => (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json.sessions.total === 3, "all three sessions folded", 15_000);
    await until(
      async () => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE campaign_id = ?").bind(campaign.id).first<{ n: number }>())!.n) === 7,
      "all seven answers analysed",
      15_000,
    );
    // Response patterns are folded right after each answer's analysis: seven main answers.
    await until(async () => patternTotal((await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json) === 7, "all seven answers in the patterns", 15_000);
    const a = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    expect(a.sessions).toEqual({ total: 3, completed: 2, abandoned: 1, declined: 0, droppedOut: 1, completionRate: 0.667, consentRate: 1 });
    expect(a.funnel).toEqual([
      { questionIndex: 0, reached: 3, answered: 3, dropped: 0 },
      { questionIndex: 1, reached: 3, answered: 2, dropped: 1 },
      { questionIndex: 2, reached: 2, answered: 2, dropped: 0 },
    ]);
    expect(a.sentimentTrend).toEqual([
      { questionIndex: 0, positive: 3, neutral: 0, negative: 0 },
      { questionIndex: 1, positive: 1, neutral: 0, negative: 1 },
      { questionIndex: 2, positive: 0, neutral: 1, negative: 1 },
    ]);
    // The interviews take well under a second: every duration is 0 s.
    expect(a.duration).toEqual({ mean: 0, median: 0, histogram: [{ from: 0, to: 60, count: 3 }] });
    // POS names performance (fast), features (export) and collaboration (team); NEG pricing.
    expect(a.topThemes).toEqual([
      { theme: "collaboration", count: 4, quotes: [POS, POS, POS] },
      { theme: "features", count: 4, quotes: [POS, POS, POS] },
      { theme: "performance", count: 4, quotes: [POS, POS, POS] },
      { theme: "pricing", count: 2, quotes: [NEG, NEG] },
    ]);
    // Question 0: three identical answers make one pattern; question 1: price and a praise apart.
    expect(a.responsePatterns[0].clusters).toEqual([{ label: expect.stringMatching(/^performance/), count: 3, examples: [POS, POS, POS] }]);
    expect(a.responsePatterns[1].clusters.map((c: any) => [c.label.split(" · ")[0], c.count])).toEqual(expect.arrayContaining([["pricing", 1], ["performance", 1]]));
    expect(a.responsePatterns[1].clusters).toHaveLength(2);
    // Funnel counts never grow down the questions; trends add up to the answers analysed.
    for (let i = 1; i < a.funnel.length; i++) expect(a.funnel[i].reached).toBeLessThanOrEqual(a.funnel[i - 1].reached);
    expect(a.sentimentTrend.reduce((n: number, q: any) => n + q.positive + q.neutral + q.negative, 0)).toBe(7);

    const one = (await call("GET", `/v1/sessions/${s1}/analytics`, { key })).json;
    expect(one).toMatchObject({ status: "completed", partial: false, responseRate: 1, dropOffQuestion: null, pauseCount: 0, analysed: true, sentiment: { overall: "positive", distribution: { positive: 1, neutral: 1, negative: 1 } } });
    // Engagement = 0.4 × min(1, words/60) + 0.4 × relevance + 0.2 × min(1, 2|score|):
    // POS 0.4×13/60 + 0.4×0.7 + 0.2×0.538 = 0.47; NEG 0.08 + 0.28 + 0.05 = 0.41; NEU 0.06 + 0.24 + 0 = 0.30.
    expect(one.answers.map((x: any) => [x.questionIndex, x.sentiment.label, x.sentiment.score, x.wordCount, x.relevance, x.engagement, x.themes])).toEqual([
      [0, "positive", 0.269, 13, 0.7, 0.47, ["performance", "features", "collaboration"]],
      [1, "negative", -0.125, 12, 0.7, 0.41, ["pricing"]],
      [2, "neutral", 0, 9, 0.6, 0.3, []],
    ]);
    expect(one.engagementScore).toBe(39); // mean(0.47, 0.41, 0.30) = 0.393
    expect(one.averageResponseLength).toBe(11.3); // (13 + 12 + 9) / 3
    expect(one.themes).toEqual([
      { theme: "collaboration", count: 1 },
      { theme: "features", count: 1 },
      { theme: "performance", count: 1 },
      { theme: "pricing", count: 1 },
    ]);
    expect(one.quotes).toEqual([
      { text: POS, questionIndex: 0 },
      { text: NEG, questionIndex: 1 },
      { text: NEU, questionIndex: 2 },
    ]);
    expect(one.timePerQuestion.map((t: any) => t.questionIndex)).toEqual([0, 1, 2]);
    expect(one.summary).toBe("3 answers. Overall tone: positive. Topics: collaboration, features, performance, pricing. Longest answer: 13 words.");
    const three = (await call("GET", `/v1/sessions/${s3}/analytics`, { key })).json;
    expect(three).toMatchObject({ status: "abandoned", partial: true, dropOffQuestion: 1, responseRate: 0.33 });
    expect(s2).toMatch(/^ses_/);

    // A viewer reads the same figures but none of the participants' words.
    const viewer = await call("POST", "/v1/api-keys", { key, body: { name: "v", role: "viewer" } });
    const seen = await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key: viewer.json.key });
    expect(seen.status).toBe(200);
    expect(seen.json.funnel).toEqual(a.funnel);
    expect(seen.json.quotesHidden).toBe(true);
    expect(seen.json.topThemes.map((t: any) => [t.theme, t.count, t.quotes])).toEqual(a.topThemes.map((t: any) => [t.theme, t.count, []]));
    expect(seen.json.responsePatterns[0].clusters).toEqual([{ label: a.responsePatterns[0].clusters[0].label, count: 3, examples: [] }]);
    expect(seen.text).not.toContain("wonderful");
    const viewerSession = await call("GET", `/v1/sessions/${s1}/analytics`, { key: viewer.json.key });
    expect(viewerSession.json).toMatchObject({ quotes: [], quotesHidden: true, engagementScore: 39 });

    // include=analytics carries the same figures: on the session with its summary, on each listed
    // session without it (an AI call per session); quotes only for roles that read transcripts.
    const analyticsReads = async () => (await auditRows("org_id = ? AND action = 'analytics.read' AND resource_type = 'session'", org.id)).length;
    // Audit rows are written after the response: the three session reads above land first.
    await until(async () => (await analyticsReads()) === 3 || null, "the session analytics reads above audited");
    expect((await call("GET", `/v1/sessions/${s1}?include=analytics`, { key })).json.analytics).toEqual(one);
    const { summary: _summary, ...withoutSummary } = one;
    const listed = (await call("GET", `/v1/campaigns/${campaign.id}/sessions?include=analytics`, { key })).json.data;
    expect(listed.find((x: any) => x.id === s1).analytics).toEqual(withoutSummary);
    expect(listed.find((x: any) => x.id === s3).analytics).toMatchObject({ status: "abandoned", partial: true, dropOffQuestion: 1, responseRate: 0.33 });
    const viewerListed = await call("GET", `/v1/campaigns/${campaign.id}/sessions?include=analytics`, { key: viewer.json.key });
    expect(viewerListed.json.data.find((x: any) => x.id === s1).analytics).toMatchObject({ quotes: [], quotesHidden: true, engagementScore: 39 });
    expect(viewerListed.text).not.toContain("wonderful");
    const table = parseCsv((await call("GET", `/v1/campaigns/${campaign.id}/sessions?include=analytics&format=csv`, { key })).text);
    const header = table[0]!;
    const row1 = Object.fromEntries(header.map((h, i) => [h, table.find((r) => r[0] === s1)![i]]));
    expect(row1).toMatchObject({ sentimentPositive: "1", sentimentNegative: "1", engagementScore: "39", pauseCount: "0", dropOffQuestion: "", themes: "collaboration; features; performance; pricing" });
    // One analytics.read per session read: 3 above, then 1 + 3 listed + 3 by the viewer + 3 in the CSV.
    await until(async () => (await analyticsReads()) === 13 || null, "each included analytics read audited");

    const byQuestion = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["answers", "positive", "negative"], groupBy: "question" } });
    expect(byQuestion.json.data).toEqual([
      { question: 0, answers: 3, positive: 3, negative: 0 },
      { question: 1, answers: 2, positive: 1, negative: 1 },
      { question: 2, answers: 2, positive: 0, negative: 1 },
    ]);
    const bySegment = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "completed"], groupBy: "segment", segmentAttribute: "segment" } });
    expect(bySegment.json.data).toEqual([
      { segment: "agency", sessions: 1, completed: 1 },
      { segment: "studio", sessions: 2, completed: 1 },
    ]);
    const csv = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "completionRate"], groupBy: "campaign", format: "csv" } });
    expect(csv.text).toBe(`campaign,sessions,completionRate\r\n${campaign.id},3,0.667\r\n`);
    const other = await createOrg();
    expect((await call("POST", "/v1/reports", { key: other.apiKey.key, body: { campaignIds: [campaign.id], metrics: ["sessions"], groupBy: "campaign" } })).status).toBe(404);
  }, 60_000);
});

/** An interview that answers follow-ups too: main answers in order, `followUp` to every follow-up. */
async function probed(key: string, campaignId: string, answers: string[], followUp: string) {
  const invite = await createInvite(key, campaignId, {});
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "start" });
  const done = new Set<number>();
  let followUps = 0;
  for (let n = 0; ; n++) {
    const f = await ws.next((x) => x.type === "ended" || (x.type === "question" && !done.has(x.seq)), `frame after answer ${n}`);
    if (f.type === "ended") break;
    done.add(f.seq);
    if (f.followUp) followUps++;
    ws.send({ type: "answer", id: `a${n}`, text: f.followUp ? followUp : answers[f.index] });
    await ws.next((x) => x.type === "ack" && x.id === `a${n}`, `ack ${n}`);
  }
  return { id: j.sessionId as string, followUps };
}

describe("follow-up replies in per-question figures", () => {
  it("a question's sentiment and report answer counts are its main answers, not its follow-up replies", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, {
      questions: [{ text: "What do you like?", probe: "deep" }, { text: "What would stop you?", probe: "none" }],
      settings: { consentRequired: false },
    });
    const LIKE = "I love it, wonderful.";
    const done = [await probed(key, campaign.id, [LIKE, NEG], "Nothing more to add, really."), await probed(key, campaign.id, [LIKE, NEG], "Nothing more to add, really.")];
    const followUps = done.reduce((n, d) => n + d.followUps, 0);
    expect(followUps).toBeGreaterThanOrEqual(2); // the deep probe asked each participant again
    const analysed = 4 + followUps;
    await until(async () => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE campaign_id = ?").bind(campaign.id).first<{ n: number }>())!.n) === analysed, "every answer analysed", 15_000);
    await until(async () => (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json.sessions.total === 2, "both sessions folded", 15_000);
    const a = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    // Two people answered Q1 warmly; their "nothing more to add" replies were counted as more, neutral, answers.
    expect(a.sentimentTrend).toEqual([
      { questionIndex: 0, positive: 2, neutral: 0, negative: 0 },
      { questionIndex: 1, positive: 0, neutral: 0, negative: 2 },
    ]);
    const r = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["answers", "positive", "neutral", "negative"], groupBy: "question" } });
    expect(r.json.data).toEqual([
      { question: 0, answers: 2, positive: 2, neutral: 0, negative: 0 },
      { question: 1, answers: 2, positive: 0, neutral: 0, negative: 2 },
    ]);
    const byCampaign = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "answers", "neutral"], groupBy: "campaign" } });
    expect(byCampaign.json.data).toEqual([{ campaign: campaign.id, sessions: 2, answers: 4, neutral: 0 }]);
    // The session's own analytics still list the follow-ups, marked as such.
    const one = (await call("GET", `/v1/sessions/${done[0]!.id}/analytics`, { key })).json;
    expect(one.answers.filter((x: any) => x.followUp)).toHaveLength(done[0]!.followUps);
  }, 60_000);
});

describe("migration 0013", () => {
  it("takes the follow-up replies folded before back out of each question's sentiment", async () => {
    const cmp = "cmp_migr0013aa";
    await env.DB.prepare("INSERT INTO campaign_question_stats (campaign_id, question_index, reached, answered, dropped, positive, neutral, negative) VALUES (?, 0, 3, 3, 0, 3, 5, 1), (?, 1, 3, 3, 0, 1, 1, 1)").bind(cmp, cmp).run();
    // Question 0: three people, one answer each (2 positive, 1 neutral), then 4 neutral and 1 positive follow-up
    // replies still on record and 1 negative whose session was erased since (no longer on record).
    const rows: [string, number, number, string][] = [
      ["a1", 0, 0, "positive"], ["a2", 0, 0, "positive"], ["a3", 0, 0, "neutral"],
      ["f1", 0, 1, "neutral"], ["f2", 0, 1, "neutral"], ["f3", 0, 1, "neutral"], ["f4", 0, 1, "neutral"], ["f5", 0, 1, "positive"],
      ["b1", 1, 0, "positive"], ["b2", 1, 0, "neutral"], ["b3", 1, 0, "negative"],
    ];
    for (const [id, q, f, label] of rows)
      await env.DB.prepare("INSERT INTO answer_analysis (session_id, answer_id, org_id, campaign_id, question_index, follow_up, word_count, sentiment_label, sentiment_score, themes, low_confidence, created_at) VALUES ('ses_migr0013', ?, 'org_x', ?, ?, ?, 5, ?, 0, '[]', 0, 0)").bind(id, cmp, q, f, label).run();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0013_"))!;
    for (const q of migration.queries) await env.DB.prepare(q).run();
    const after = await env.DB.prepare("SELECT question_index, positive, neutral, negative FROM campaign_question_stats WHERE campaign_id = ? ORDER BY question_index").bind(cmp).all();
    expect(after.results).toEqual([
      { question_index: 0, positive: 2, neutral: 1, negative: 1 },
      { question_index: 1, positive: 1, neutral: 1, negative: 1 },
    ]);
  });
});

describe("migration 0014", () => {
  it("counts the declined sessions already folded and takes them out of the durations and the funnel", async () => {
    const cmp = "cmp_migr0014aa";
    const { org } = await createOrg();
    // Five sessions folded as before: two took part (90 s and 30 s), one withdrew consent at the first
    // question (5 s, counted as reaching it and dropping out), two declined at the consent step (0 s).
    // A sixth declined session ended but was not folded yet: its fold, with the new code, counts it.
    await env.DB.prepare("INSERT INTO campaign_stats (campaign_id, org_id, total, completed, abandoned, duration_sum, duration_count) VALUES (?, 'org_x', 5, 1, 4, 125, 5)").bind(cmp).run();
    await env.DB.prepare("INSERT INTO campaign_duration_buckets (campaign_id, bucket, count) VALUES (?, 0, 2), (?, 5, 1), (?, 30, 1), (?, 90, 1)").bind(cmp, cmp, cmp, cmp).run();
    await env.DB.prepare("INSERT INTO campaign_question_stats (campaign_id, question_index, reached, answered, dropped, positive, neutral, negative) VALUES (?, 0, 3, 2, 1, 2, 0, 0), (?, 1, 2, 1, 1, 1, 0, 0)").bind(cmp, cmp).run();
    const sessions: [string, string, number, number, number | null, number | null][] = [
      // id, status, duration, questions answered, last question index, consent granted
      ["ses_m14done", "completed", 90, 2, 1, 1],
      ["ses_m14drop", "abandoned", 30, 1, 1, 0],
      ["ses_m14withdrew", "abandoned", 5, 0, 0, 0],
      ["ses_m14declin1", "abandoned", 0, 0, null, 0],
      ["ses_m14declin2", "abandoned", 0, 0, null, 0],
      ["ses_m14notyet", "abandoned", 0, 0, null, 0],
    ];
    for (const [id, status, duration, answered, last, consent] of sessions) {
      await env.DB.prepare(
        "INSERT INTO sessions (id, org_id, campaign_id, invite_id, script_version, status, created_at, duration, questions_answered, total_questions, completion, consent_required, consent_granted, flagged, last_question_index, mirror_version, updated_at) VALUES (?, ?, ?, 'inv_x', 1, ?, 0, ?, ?, 2, 0, 1, ?, 0, ?, 1, 0)",
      )
        .bind(id, org.id, cmp, status, duration, answered, consent, last)
        .run();
      if (id !== "ses_m14notyet") await env.DB.prepare("INSERT INTO processed_messages (key, processed_at) VALUES (?, 0)").bind(`fold.session:${id}`).run();
    }
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0014_"))!;
    for (const q of migration.queries.filter((q) => /^\s*(--[^\n]*\n\s*)*UPDATE/.test(q))) await env.DB.prepare(q).run();
    const a = await campaignAnalytics(env.DB, cmp, 2, []);
    expect(a.sessions).toEqual({ total: 5, completed: 1, abandoned: 4, declined: 3, droppedOut: 1, completionRate: 0.5, consentRate: 0.4 });
    expect(a.duration).toMatchObject({ mean: 60, median: 60 });
    expect(a.duration.histogram.reduce((n, b) => n + b.count, 0)).toBe(2);
    expect(a.funnel).toEqual([
      { questionIndex: 0, reached: 2, answered: 2, dropped: 0 },
      { questionIndex: 1, reached: 2, answered: 1, dropped: 1 },
    ]);
  });
});

describe("answers in scripts without spaces", () => {
  it("a Japanese interview's average length, quotes, summary and CSV count words, not space-separated runs", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, {
      questions: [{ text: "請求について教えてください。", probe: "none" }, { text: "サポートはどうでしたか？", probe: "none" }],
      settings: { consentRequired: false, language: "ja" },
    });
    const JA = ["請求書の画面がとても分かりにくくて、毎月探すのに時間がかかります。", "サポートの人はとても親切で、すぐに問題を解決してくれました。"];
    const id = await interview(key, campaign.id, JA, {});
    await until(async () => (await call("GET", `/v1/sessions/${id}/analytics`, { key })).json.analysed === true || null, "both answers analysed", 15_000);
    const a = (await call("GET", `/v1/sessions/${id}/analytics`, { key })).json;
    const counts: number[] = a.answers.map((x: any) => x.wordCount);
    expect(counts.every((n) => n > 8)).toBe(true);
    const average = Math.round((counts.reduce((x, y) => x + y, 0) / counts.length) * 10) / 10;
    // Before: 1 (each answer had no spaces, so it was one "word"), no quotes, "Longest answer: 1 words."
    expect(a.averageResponseLength).toBe(average);
    expect(a.quotes.map((q: any) => q.questionIndex).sort()).toEqual([0, 1]);
    expect(a.summary).toContain(`Longest answer: ${Math.max(...counts)} words.`);
    const table = parseCsv((await call("GET", `/v1/campaigns/${campaign.id}/sessions?include=analytics&format=csv`, { key })).text);
    const row = Object.fromEntries(table[0]!.map((h, i) => [h, table.find((r) => r[0] === id)![i]]));
    expect(Number(row.averageResponseLength)).toBe(average);
  }, 60_000);
});

describe("response patterns", () => {
  it("groups answers about the same thing together, whatever their words, and erasure removes their quotes", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "What frustrates you most?" }], settings: { consentRequired: false } });
    const answers = [
      "Honestly it is far too expensive for what we get.",
      "The reports are slow and loading takes forever.",
      "The price went up twice this year and the plan costs too much.",
      "Everything is laggy, every page is slow to open.",
      "The subscription price is hard to justify to my boss.",
    ];
    const ids: string[] = [];
    for (const text of answers) ids.push(await interview(key, campaign.id, [text], {}));
    await until(async () => patternTotal((await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json) === 5, "five answers in the patterns", 15_000);
    const a = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    expect(a.responsePatterns).toHaveLength(1);
    const clusters = a.responsePatterns[0].clusters;
    expect(clusters.map((c: any) => [c.label, c.count])).toEqual([
      ["pricing · price", 3],
      ["performance · slow", 2],
    ]);
    // Examples come in the order the answers were analysed (the queue's order).
    expect([...clusters[0].examples].sort()).toEqual([answers[0], answers[2], answers[4]].sort());
    expect([...clusters[1].examples].sort()).toEqual([answers[1], answers[3]].sort());

    // Erasing one participant keeps the (anonymous) count and drops their words.
    const del = await call("DELETE", `/v1/sessions/${ids[2]}/data`, { key, headers: { "X-Confirm-Delete": "true" } });
    expect(del.status).toBe(200);
    const after = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json.responsePatterns[0].clusters;
    expect(after[0]).toMatchObject({ label: "pricing", count: 3 });
    expect([...after[0].examples].sort()).toEqual([answers[0], answers[4]].sort());
  }, 60_000);
});

describe("reports", () => {
  it("mean duration is the mean over sessions, even when two sessions last as long", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "Anything?" }], settings: { consentRequired: false } });
    const ids = [await interview(key, campaign.id, [POS], {}), await interview(key, campaign.id, [NEG], {}), await interview(key, campaign.id, [NEU], {})];
    await until(async () => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE campaign_id = ?").bind(campaign.id).first<{ n: number }>())!.n) === 3, "answers analysed", 15_000);
    // Durations of 60, 60 and 150 s: the mean over sessions is 90 (over distinct durations it would be 105).
    for (const [i, d] of [60, 60, 150].entries()) await env.DB.prepare("UPDATE sessions SET duration = ? WHERE id = ?").bind(d, ids[i]).run();
    const r = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "meanDuration", "answers", "meanEngagement"], groupBy: "campaign" } });
    expect(r.status).toBe(200);
    // One answer per session: the answer join does not weigh sessions differently. Engagement mean(0.47, 0.41, 0.30) = 0.39.
    expect(r.json.data).toEqual([{ campaign: campaign.id, sessions: 3, meanDuration: 90, answers: 3, meanEngagement: 0.39 }]);
    const byDate = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "meanDuration"], groupBy: "date" } });
    expect(byDate.json.data).toEqual([{ date: new Date().toISOString().slice(0, 10), sessions: 3, meanDuration: 90 }]);
    const none = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions"], groupBy: "campaign", from: "2000-01-01T00:00:00Z", to: "2000-01-02T00:00:00Z" } });
    expect(none.json.data).toEqual([]);
  }, 60_000);

  it("saves a report, lists it, runs it again as JSON and CSV, renames and deletes it; other orgs never see it", async () => {
    const { apiKey, org } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "Anything?" }], settings: { consentRequired: false } });
    await interview(key, campaign.id, [POS], { segment: "studio" });
    const definition = { campaignIds: [campaign.id], metrics: ["sessions", "completed"], groupBy: "segment", segmentAttribute: "segment" };
    const saved = await call("POST", "/v1/reports/saved", { key, body: { name: "By segment", definition } });
    expect(saved.status).toBe(201);
    expect(saved.json).toMatchObject({ id: expect.stringMatching(/^rpt_/), name: "By segment", definition: { ...definition, format: "json" }, createdBy: apiKey.id, lastRunAt: null });
    const id = saved.json.id;

    const list = await call("GET", "/v1/reports/saved", { key });
    expect(list.json).toEqual({ data: [saved.json], nextCursor: null });
    const run = await call("POST", `/v1/reports/saved/${id}/run`, { key });
    expect(run.json).toEqual({ groupBy: "segment", metrics: ["sessions", "completed"], data: [{ segment: "studio", sessions: 1, completed: 1 }] });
    // A second session changes the next run: the rows are computed on each run, not stored.
    await interview(key, campaign.id, [NEG], { segment: "agency" });
    const csv = await call("POST", `/v1/reports/saved/${id}/run?format=csv`, { key });
    expect(csv.headers.get("Content-Type")).toContain("text/csv");
    expect(csv.headers.get("Content-Disposition")).toBe('attachment; filename="By-segment.csv"');
    expect(csv.text).toBe("segment,sessions,completed\r\nagency,1,1\r\nstudio,1,1\r\n");
    const got = await call("GET", `/v1/reports/saved/${id}`, { key });
    expect(Date.parse(got.json.lastRunAt)).toBeGreaterThan(0);

    const renamed = await call("PATCH", `/v1/reports/saved/${id}`, { key, body: { name: "Segments" } });
    expect(renamed.json).toMatchObject({ id, name: "Segments", definition: { ...definition, format: "json" } });

    // Bad input is 400 and changes nothing; another org's campaign or report is 404.
    const other = await createOrg();
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM saved_reports WHERE org_id = ?").bind(org.id).first<{ n: number }>();
    for (const body of [
      { name: "x", definition: { ...definition, metrics: ["nonsense"] } },
      { name: "", definition },
      { name: "x", definition, orgId: other.org.id },
      { name: "x", definition: { ...definition, extra: 1 } },
    ]) {
      const r = await call("POST", "/v1/reports/saved", { key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe("VALIDATION_FAILED");
    }
    expect((await call("POST", "/v1/reports/saved", { key, body: { name: "x", definition: { ...definition, campaignIds: [(await createCampaign(other.apiKey.key)).id] } } })).status).toBe(404);
    expect((await call("POST", `/v1/reports/saved/${id}/run?format=xml`, { key })).status).toBe(400);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM saved_reports WHERE org_id = ?").bind(org.id).first<{ n: number }>()).toEqual(before);
    for (const [method, path] of [
      ["GET", `/v1/reports/saved/${id}`],
      ["POST", `/v1/reports/saved/${id}/run`],
      ["DELETE", `/v1/reports/saved/${id}`],
    ]) {
      const r = await call(method!, path!, { key: other.apiKey.key });
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await call("GET", "/v1/reports/saved", { key: other.apiKey.key })).json.data).toEqual([]);

    // Viewers run saved reports but may not change them.
    const viewer = (await call("POST", "/v1/api-keys", { key, body: { name: "v", role: "viewer" } })).json.key;
    expect((await call("POST", `/v1/reports/saved/${id}/run`, { key: viewer })).status).toBe(200);
    expect((await call("DELETE", `/v1/reports/saved/${id}`, { key: viewer })).status).toBe(403);

    expect((await call("DELETE", `/v1/reports/saved/${id}`, { key })).status).toBe(204);
    expect((await call("GET", `/v1/reports/saved/${id}`, { key })).status).toBe(404);
  }, 60_000);
});

/** A consenting participant: consent, start, the answers given, then the end (finish or leave with `withdrawAt`). */
async function consenting(key: string, campaignId: string, answers: string[], end: "finish" | { withdrawAt: number }) {
  const invite = await createInvite(key, campaignId, {});
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "consent", granted: true });
  ws.send({ type: "start" });
  for (const [i, text] of answers.entries()) {
    await ws.next((f) => f.type === "question" && f.index === i && !f.followUp, `question ${i}`);
    ws.send({ type: "answer", id: `a${i}`, text });
    await ws.next((f) => f.type === "ack" && f.id === `a${i}`, `ack ${i}`);
  }
  if (end !== "finish") {
    await ws.next((f) => f.type === "question" && f.index === end.withdrawAt, "the question they withdraw at");
    ws.send({ type: "consent", granted: false });
  }
  await ws.next((f) => f.type === "ended", "ended");
  return j.sessionId as string;
}

/** A participant who opens the link and declines at the consent step. */
async function declining(key: string, campaignId: string) {
  const invite = await createInvite(key, campaignId, {});
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "consent", granted: false });
  const ended = await ws.next((f) => f.type === "ended", "ended");
  expect(ended).toMatchObject({ status: "abandoned", reason: "consent_declined" });
  return j.sessionId as string;
}

const analysedCount = async (campaignId: string) => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE campaign_id = ?").bind(campaignId).first<{ n: number }>())!.n);

describe("declined consent", () => {
  it("is counted apart from drop-outs: completion over those who took part, no drop at question 1, no zero durations", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "What do you like?" }, { text: "What would stop you?" }], settings: { consentRequired: true } });
    const done = await consenting(key, campaign.id, [POS, NEG], "finish");
    const dropped = await consenting(key, campaign.id, [POS], { withdrawAt: 1 });
    const withdrew = await consenting(key, campaign.id, [], { withdrawAt: 0 });
    const declined = [await declining(key, campaign.id), await declining(key, campaign.id)];
    await until(async () => (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json.sessions.total === 5, "all five sessions folded", 15_000);
    await until(async () => (await analysedCount(campaign.id)) === 3, "the three answers analysed", 15_000);
    // The participants' sessions: every one of them abandoned except the first, as the contract's status says.
    const statuses = (await call("GET", `/v1/campaigns/${campaign.id}/sessions`, { key })).json.data.map((s: any) => [s.id, s.status, s.endReason]);
    expect(statuses).toEqual(expect.arrayContaining([[done, "completed", "finished"], [dropped, "abandoned", "consent_withdrawn"], [withdrew, "abandoned", "consent_withdrawn"], [declined[0], "abandoned", "consent_declined"]]));

    const a = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    // Before: completion 1 of 5 (20%); abandoned 4 with nothing to tell three people who never took part apart.
    expect(a.sessions).toEqual({ total: 5, completed: 1, abandoned: 4, declined: 3, droppedOut: 1, completionRate: 0.5, consentRate: 0.4 });
    // Before: the withdrawal at the first question showed as reaching it and dropping out there (reached 3, dropped 1).
    expect(a.funnel).toEqual([
      { questionIndex: 0, reached: 2, answered: 2, dropped: 0 },
      { questionIndex: 1, reached: 2, answered: 1, dropped: 1 },
    ]);
    // Before: five durations, three of them the declined sessions' zeros.
    expect(a.duration.histogram.reduce((n: number, b: any) => n + b.count, 0)).toBe(2);

    // The session's own analytics: abandoned, but not a drop-out.
    expect((await call("GET", `/v1/sessions/${withdrew}/analytics`, { key })).json).toMatchObject({ status: "abandoned", declined: true, dropOffQuestion: null });
    expect((await call("GET", `/v1/sessions/${declined[0]}/analytics`, { key })).json).toMatchObject({ status: "abandoned", declined: true, dropOffQuestion: null });
    expect((await call("GET", `/v1/sessions/${dropped}/analytics`, { key })).json).toMatchObject({ status: "abandoned", declined: false, dropOffQuestion: 1 });

    // Reports: declined is a metric; completion is over those who took part, as on the campaign.
    const r = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "completed", "abandoned", "declined", "completionRate"], groupBy: "campaign" } });
    expect(r.json.data).toEqual([{ campaign: campaign.id, sessions: 5, completed: 1, abandoned: 4, declined: 3, completionRate: 0.5 }]);
    // A date range finds the declined (never started: they count from when the link was opened).
    const today = new Date();
    const range = { from: new Date(today.getTime() - 3_600_000).toISOString(), to: new Date(today.getTime() + 3_600_000).toISOString() };
    const ranged = await call("POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["sessions", "declined", "completionRate"], groupBy: "date", ...range } });
    expect(ranged.json.data).toEqual([{ date: today.toISOString().slice(0, 10), sessions: 5, declined: 3, completionRate: 0.5 }]);

    // The same figures over a date range, from the per-session rows: the index's SQL test of
    // "declined" agrees with the session object's.
    const inRange = (await call("GET", `/v1/campaigns/${campaign.id}/analytics?from=${range.from}&to=${range.to}`, { key })).json;
    expect(inRange.sessions).toEqual(a.sessions);
    expect(inRange.funnel).toEqual(a.funnel);
    expect(inRange.duration).toEqual(a.duration);
  }, 60_000);
});

describe("campaign analytics over a date range", () => {
  it("walks the (campaign, status, time began) index, reading no table row per session", async () => {
    for (const range of [{ from: 1 }, { to: 2 }, { from: 1, to: 2 }]) {
      const { inRange, binds } = rangeWhere(range);
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${finishedInRangeSql(inRange)}`).bind("cmp_x", ...binds).all<{ detail: string }>();
      expect(plan.results.map((r) => r.detail).join(" | "), JSON.stringify(range)).toMatch(/^SEARCH s USING COVERING INDEX sessions_campaign_began_idx \(campaign_id=\? AND status=\? AND <expr>/);
    }
  });

  it("every part of the answer covers only the sessions that started in the range", async () => {
    const { org, apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "What do you like?" }, { text: "What would stop you?" }], settings: { consentRequired: false } });
    const old = await interview(key, campaign.id, [NEG, NEG], {});
    const recent = [await interview(key, campaign.id, [POS, POS], {}), await interview(key, campaign.id, [POS], {}, 1)];
    await until(async () => (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json.sessions.total === 3, "all three folded", 15_000);
    await until(async () => patternTotal((await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json) === 5, "five answers in the patterns", 15_000);
    // The first interview took place in March 2026 (its index row says so; the whole-campaign figures do not change).
    const march = Date.parse("2026-03-10T09:00:00Z");
    await env.DB.prepare("UPDATE sessions SET created_at = ?, started_at = ?, duration = 400 WHERE id = ?").bind(march - 60_000, march, old).run();
    for (const id of recent) await env.DB.prepare("UPDATE sessions SET duration = 100 WHERE id = ?").bind(id).run();

    const whole = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    expect(whole.range).toBeUndefined();
    expect(whole.sessions).toMatchObject({ total: 3, completed: 2, abandoned: 1 });

    const from = "2026-04-01T00:00:00.000Z";
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const r = await call("GET", `/v1/campaigns/${campaign.id}/analytics?from=${from}&to=${to}`, { key });
    expect(r.status).toBe(200);
    const a = r.json;
    expect(a.range).toEqual({ from, to, themeQuotes: false });
    expect(a.sessions).toEqual({ total: 2, completed: 1, abandoned: 1, declined: 0, droppedOut: 1, completionRate: 0.5, consentRate: 1 });
    expect(a.funnel).toEqual([
      { questionIndex: 0, reached: 2, answered: 2, dropped: 0 },
      { questionIndex: 1, reached: 2, answered: 1, dropped: 1 },
    ]);
    expect(a.duration).toEqual({ mean: 100, median: 100, histogram: [{ from: 0, to: 60, count: 0 }, { from: 60, to: 120, count: 2 }] });
    // Only the recent answers' tone: three positive main answers, none of March's negative ones.
    expect(a.sentimentTrend).toEqual([
      { questionIndex: 0, positive: 2, neutral: 0, negative: 0 },
      { questionIndex: 1, positive: 1, neutral: 0, negative: 0 },
    ]);
    // Themes by count from the range's answers (no pricing: only March's answers named it), without quotes.
    expect(a.topThemes).toEqual([
      { theme: "collaboration", count: 3, quotes: [] },
      { theme: "features", count: 3, quotes: [] },
      { theme: "performance", count: 3, quotes: [] },
    ]);
    expect(patternTotal(a)).toBe(3);
    expect(a.responsePatterns[0].clusters.map((c: any) => c.count)).toEqual([2]);
    expect(a.responsePatterns[0].clusters[0].examples).toEqual([POS, POS]);

    // March alone: the other session, with its own figures.
    const m = (await call("GET", `/v1/campaigns/${campaign.id}/analytics?from=2026-03-01T00:00:00Z&to=2026-03-31T23:59:59.999Z`, { key })).json;
    expect(m.sessions).toMatchObject({ total: 1, completed: 1, abandoned: 0 });
    expect(m.duration.mean).toBe(400);
    expect(m.sentimentTrend.map((t: any) => t.negative)).toEqual([1, 1]);
    expect(m.topThemes).toEqual([{ theme: "pricing", count: 2, quotes: [] }]);
    expect(patternTotal(m)).toBe(2);
    // One bound alone is a range too; a range with nothing in it is zeros, not the whole campaign.
    expect((await call("GET", `/v1/campaigns/${campaign.id}/analytics?to=2026-03-31T23:59:59Z`, { key })).json.sessions.total).toBe(1);
    const none = (await call("GET", `/v1/campaigns/${campaign.id}/analytics?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`, { key })).json;
    expect([none.sessions.total, patternTotal(none), none.topThemes.length, none.duration.histogram.length]).toEqual([0, 0, 0, 0]);

    // A viewer gets the range's counts without words.
    const viewerKey = (await call("POST", "/v1/api-keys", { key, body: { name: "v", role: "viewer" } })).json;
    const seen = await call("GET", `/v1/campaigns/${campaign.id}/analytics?from=${from}&to=${to}`, { key: viewerKey.key });
    expect(seen.json).toMatchObject({ quotesHidden: true, sessions: a.sessions });
    expect(seen.json.responsePatterns[0].clusters[0].examples).toEqual([]);

    // Bad ranges are the sessions list's 400s.
    for (const [q, field] of [
      ["from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"],
      ["from=yesterday", "from"],
      ["to=2026-13-01T00:00:00Z", "to"],
      ["since=2026-01-01T00:00:00Z", "since"],
    ] as const) {
      const bad = await call("GET", `/v1/campaigns/${campaign.id}/analytics?${q}`, { key });
      expect(bad.status, q).toBe(400);
      expect(bad.json.error.code).toBe("VALIDATION_FAILED");
      expect(JSON.stringify(bad.json.error.details.fields), q).toContain(field);
    }
    // A ranged read is audited as any other: the viewer made one.
    await until(
      async () => (await auditRows("org_id = ? AND actor_id = ? AND action = 'analytics.read' AND resource_type = 'campaign' AND resource_id = ? AND outcome = 'allow'", org.id, viewerKey.id, campaign.id)).length === 1 || null,
      "the viewer's ranged read audited",
    );
  }, 60_000);
});
