// Quotes in campaign insights ("top themes") are the participant's own words: erasure and the
// retention sweep must remove every one of them, whatever characters they hold. The stored
// examples are JSON text, so quotes with `"`, `\`, a newline, `%`, `_` or non-ASCII are the cases
// that a textual prefilter misses. Response patterns (in the campaign's object) keep quotes too.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keywords } from "../../src/ai/clusters";
import { DAY_MS } from "../../src/shared/retention";
import { sweepRetention } from "../../src/worker/retention";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { mirroredStatus } from "../helpers/fixtures";
import { until } from "../helpers/session";
import { openSocket } from "../helpers/socket";

// One per question, each naming a different theme, so each is kept as one of its theme's quotes.
const TRICKY = [
  'The "Pro" pricing is too expensive for us',
  "Loading went up 40% and the app feels slow",
  "Support at Quartz_Design was helpful but rare",
  "Setup from C:\\Temp\\onboarding took a while",
  "The search feature\nbroke twice",
  "Our team in Zürich — naïve colleagues — shares everything ✓",
];
const QUESTIONS = TRICKY.map((_, i) => ({ text: `Question ${i + 1}?`, probe: "none" }));

async function interview(key: string, campaignId: string, email: string, answers: string[]) {
  const invite = await createInvite(key, campaignId, { participant: { email } });
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "start" });
  for (let i = 0; i < answers.length; i++) {
    await ws.next((f) => f.type === "question" && f.index === i && !f.followUp, `question ${i}`, 0, 10_000);
    ws.send({ type: "answer", id: `a${i}`, text: answers[i] });
  }
  await ws.next((f) => f.type === "ended", "ended", 0, 10_000);
  ws.close();
  await mirroredStatus(j.sessionId, "completed");
  return j.sessionId as string;
}

/** Every quote the campaign keeps: the API's top themes and response patterns, and every stored examples row. */
async function quotes(key: string, campaignId: string) {
  const api = (await call("GET", `/v1/campaigns/${campaignId}/analytics`, { key })).json;
  const rows = await env.DB.prepare("SELECT examples FROM campaign_theme_stats WHERE campaign_id = ?").bind(campaignId).all<{ examples: string }>();
  return {
    api: (api.topThemes as { quotes: string[] }[]).flatMap((t) => t.quotes),
    patterns: (api.responsePatterns as { clusters: { examples: string[] }[] }[]).flatMap((q) => q.clusters.flatMap((c) => c.examples)),
    labelWords: (api.responsePatterns as { clusters: { label: string }[] }[]).flatMap((q) => q.clusters.flatMap((c) => c.label.split(" · "))),
    stored: rows.results.flatMap((r) => JSON.parse(r.examples) as string[]),
  };
}

async function campaignWithTrickyQuotes() {
  const { apiKey } = await createOrg("free");
  const key = apiKey.key;
  const campaign = await createCampaign(key, { questions: QUESTIONS, settings: { consentRequired: false } });
  const email = `quotes-${crypto.randomUUID()}@example.com`;
  const sessionId = await interview(key, campaign.id, email, TRICKY);
  const kept = "The pricing of keeperplan is fair";
  const keeperAnswers = [kept, ...TRICKY.slice(1).map((_, i) => `Fine ${i}`)];
  await interview(key, campaign.id, "keeper@example.com", keeperAnswers);
  await until(
    async () => {
      const q = await quotes(key, campaign.id);
      return TRICKY.every((t) => q.api.includes(t) && q.patterns.includes(t)) && q.api.includes(kept) && q.patterns.includes(kept);
    },
    "every tricky quote among the campaign's top themes and response patterns",
    20_000,
  );
  return { key, campaignId: campaign.id, email, sessionId, kept, keeperAnswers };
}

/** The erased participant's quotes are gone everywhere (API, stored aggregates, response patterns, labels); the other's stay. */
async function expectOnlyKeptQuotes(key: string, campaignId: string, kept: string, theirs: Set<string>) {
  const after = await quotes(key, campaignId);
  expect(after.api.filter((q) => TRICKY.includes(q))).toEqual([]);
  expect(after.stored.filter((q) => TRICKY.includes(q))).toEqual([]);
  expect(after.patterns.filter((q) => TRICKY.includes(q))).toEqual([]);
  expect(after.api).toContain(kept);
  expect(after.patterns).toContain(kept);
  expect(after.labelWords.filter((w) => theirs.has(w))).toEqual([]);
}

describe("erasure removes every quote of the participant from campaign insights", () => {
  it("participant erasure: quotes with quotes, %, _, backslash, newline and non-ASCII all go; others stay", async () => {
    const { key, campaignId, email, kept, keeperAnswers } = await campaignWithTrickyQuotes();
    // Words only the erased participant used, as response-pattern labels show them.
    const theirs = new Set(TRICKY.flatMap(keywords).filter((w) => !keeperAnswers.flatMap(keywords).includes(w)));
    expect((await quotes(key, campaignId)).labelWords.filter((w) => theirs.has(w)).length).toBeGreaterThan(0);
    const r = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(email)}`, { key, headers: { "X-Confirm-Delete": "true" } });
    expect(r.status).toBe(200);
    await expectOnlyKeptQuotes(key, campaignId, kept, theirs);
  }, 90_000);

  it("the retention sweep's transcript purge removes them too, response patterns included", async () => {
    const { key, campaignId, sessionId, kept, keeperAnswers } = await campaignWithTrickyQuotes();
    const theirs = new Set(TRICKY.flatMap(keywords).filter((w) => !keeperAnswers.flatMap(keywords).includes(w)));
    // The erased participant's interview ended 31 days ago (free plan: transcripts kept 30 days);
    // the other one just now, so the same sweep keeps its quote.
    await env.DB.prepare("UPDATE sessions SET completed_at = completed_at - ? WHERE id = ?").bind(31 * DAY_MS, sessionId).run();
    const report = await sweepRetention(env);
    expect(report.purged.transcripts).toBe(1);
    await expectOnlyKeptQuotes(key, campaignId, kept, theirs);
  }, 90_000);
});
