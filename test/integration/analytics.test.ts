// A golden campaign with known answers: every figure of session and campaign analytics, and reports.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { until } from "../helpers/session";
import { openSocket } from "../helpers/socket";

const POS = "I love the fast export, it is wonderful and saves my team hours.";
const NEG = "The price is terrible and far too expensive for a small studio.";
const NEU = "We use it on Mondays for planning the week.";

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
    const { apiKey } = await createOrg();
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
    const a = (await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
    expect(a.sessions).toEqual({ total: 3, completed: 2, abandoned: 1 });
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
    expect(a.duration.histogram.reduce((n: number, b: any) => n + b.count, 0)).toBe(3);
    const pricing = a.topThemes.find((t: any) => t.theme === "pricing");
    expect(pricing.count).toBe(2);
    expect(pricing.quotes[0]).toBe(NEG);
    expect(a.responsePatterns[1].clusters.map((c: any) => c.label)).toEqual(expect.arrayContaining(["pricing"]));
    // Funnel counts never grow down the questions; trends add up to the answers analysed.
    for (let i = 1; i < a.funnel.length; i++) expect(a.funnel[i].reached).toBeLessThanOrEqual(a.funnel[i - 1].reached);
    expect(a.sentimentTrend.reduce((n: number, q: any) => n + q.positive + q.neutral + q.negative, 0)).toBe(7);

    const one = (await call("GET", `/v1/sessions/${s1}/analytics`, { key })).json;
    expect(one).toMatchObject({ status: "completed", partial: false, responseRate: 1, dropOffQuestion: null, sentiment: { distribution: { positive: 1, neutral: 1, negative: 1 } } });
    expect(one.answers.map((x: any) => x.sentiment.label)).toEqual(["positive", "negative", "neutral"]);
    expect(one.answers[0]).toMatchObject({ questionIndex: 0, wordCount: 13 });
    expect(one.engagementScore).toBeGreaterThan(0);
    expect(one.timePerQuestion).toHaveLength(3);
    expect(one.summary).toContain("3 answers");
    const three = (await call("GET", `/v1/sessions/${s3}/analytics`, { key })).json;
    expect(three).toMatchObject({ status: "abandoned", partial: true, dropOffQuestion: 1, responseRate: 0.33 });
    expect(s2).toMatch(/^ses_/);

    const viewer = await call("POST", "/v1/api-keys", { key, body: { name: "v", role: "viewer" } });
    expect((await call("GET", `/v1/campaigns/${campaign.id}/analytics`, { key: viewer.json.key })).status).toBe(200);

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
