// Analytics in a real browser (Chromium via playwright-core) against the real local server:
// interviews run over the participant socket, then the campaign's Analytics tab must show what
// the API says (funnel counts, histogram buckets, sentiment per question, themes, patterns), a
// custom report is built, run, downloaded, saved and re-run, and the session page's insights
// follow the role (a viewer sees figures but no participant's words). Screenshots go to SCREEN_DIR.
import { readFile } from "node:fs/promises";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, d1Execute, launchBrowser, screenshot, SCREEN_DIR, signIn } from "./helpers/browser";
import { api, eventually, expectStatus, startServer, type TestServer, orgWithMember, answerOverSocket, Socket } from "./helpers/server";

const PASSWORD = "correct horse battery staple";
let server: TestServer;
let browser: Browser;
let key: string;
const emails = { owner: "", viewer: "" };
const contexts: BrowserContext[] = [];
let campaign: { id: string; questions: string[] };
const sessions: string[] = [];

const QUESTIONS = ["What do you like about the product?", "What almost stopped you from signing up?", "How does your team use it each week?"];
const INTERVIEWS: { answers: string[]; leaveAt?: number }[] = [
  { answers: ["I love the fast export, it is wonderful and saves my team hours.", "The price is terrible and far too expensive for a small studio.", "We organise the week together with the shared dashboard."] },
  { answers: ["Search is quick and the interface is simple and intuitive.", "Honestly the subscription price made me hesitate for a month.", "Our team shares reports with clients every Friday."] },
  { answers: ["Great support, they answered within minutes and were helpful.", "Setup was confusing and the onboarding tutorial felt long."] , leaveAt: 2 },
  { answers: ["The dashboard is fast and the exports are reliable.", "The plan costs too much money for our budget."], leaveAt: 2 },
  { answers: ["It is easy to use and quick to learn for everyone."], leaveAt: 1 },
];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ vars: { RATE_LIMIT_LOGIN_PER_MINUTE: "200", RATE_LIMIT_JOIN_PER_MINUTE: "200" } }), launchBrowser()]);
  const seeded = await orgWithMember(server, { name: "Analytics Research", plan: "professional", domain: "analytics.example", password: PASSWORD, member: { role: "viewer", name: "Vic Viewer" } });
  key = seeded.key;
  emails.owner = seeded.ownerEmail;
  emails.viewer = seeded.memberEmail;
  const c = expectStatus(await api(server, "POST", "/v1/campaigns", { key, body: { name: "Onboarding study", questions: QUESTIONS.map((text) => ({ text })), settings: { consentRequired: false } } }), 201, "POST /v1/campaigns");
  campaign = { id: c.id, questions: QUESTIONS };
  for (const [n, iv] of INTERVIEWS.entries()) sessions.push(await interview(iv.answers, iv.leaveAt, { segment: n % 2 ? "agency" : "studio" }));
  // Every finished session folded, every main answer analysed and in the patterns.
  const mainAnswers = INTERVIEWS.reduce((n, iv) => n + iv.answers.length, 0);
  await eventually(
    async () => {
      const a = (await api(server, "GET", `/v1/campaigns/${campaign.id}/analytics`, { key })).json;
      const inPatterns = a?.responsePatterns?.reduce((n: number, p: any) => n + p.clusters.reduce((m: number, k: any) => m + k.count, 0), 0);
      const analysed = a?.sentimentTrend?.reduce((n: number, t: any) => n + t.positive + t.neutral + t.negative, 0);
      return a?.sessions?.total === INTERVIEWS.length && inPatterns === mainAnswers && analysed >= mainAnswers;
    },
    "the campaign's analytics to include every session and answer",
    30_000,
    250,
  );
}, 240_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  console.log(`screenshots: ${SCREEN_DIR}`);
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

async function interview(answers: string[], leaveAt: number | undefined, attributes: Record<string, string>): Promise<string> {
  const invite = expectStatus(await api(server, "POST", `/v1/campaigns/${campaign.id}/invites`, { key, body: { participant: { attributes } } }), 201, "invite");
  const { sessionId, socket: p } = await answerOverSocket(server, invite.token, answers);
  if (leaveAt !== undefined) {
    await p.next((f) => f.type === "question" && f.index === leaveAt && !f.followUp, "the question they leave at", { timeoutMs: 15_000 });
    p.send({ type: "consent", granted: false }); // withdrawing mid-interview ends it as abandoned
  }
  await p.next((f) => f.type === "ended", "ended", { timeoutMs: 15_000 });
  p.close();
  return sessionId;
}

async function page(email: string): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  contexts.push(ctx);
  const p = await signIn(ctx, server.base, email, PASSWORD);
  return { page: p, errors: collectErrors(p) };
}

const ints = (xs: (string | null)[]) => xs.map((x) => Number(x));

describe("the campaign's Analytics tab", () => {
  it("draws the funnel, durations, sentiment per question, themes and patterns the API reports", async () => {
    const a = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/analytics`, { key }), 200, "analytics");
    // The golden shape of these five interviews.
    expect(a.sessions).toEqual({ total: 5, completed: 2, abandoned: 3, declined: 0, droppedOut: 3, completionRate: 0.4, consentRate: 1 });
    expect(a.funnel.map((f: any) => [f.reached, f.answered, f.dropped])).toEqual([
      [5, 5, 0],
      [5, 4, 1],
      [4, 2, 2],
    ]);
    const { page: p, errors } = await page(emails.owner);
    await p.goto(`${server.base}/campaigns/${campaign.id}/sessions`);
    await p.getByRole("link", { name: "Analytics" }).click();
    await p.waitForURL((u) => u.pathname === `/campaigns/${campaign.id}/analytics`);
    await p.locator("[data-testid=funnel] .funnel-row").first().waitFor({ timeout: 15_000 });

    // Funnel: one bar per question, labelled with the counts the API gave.
    const rows = p.locator("[data-testid=funnel] .funnel-row");
    expect(await rows.count()).toBe(3);
    expect(ints(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-reached"))))).toEqual([5, 5, 4]);
    expect(await p.locator("[data-testid=funnel] .funnel-answered").allTextContents()).toEqual(["5", "4", "2"]);
    expect(await p.locator("[data-testid=funnel] .funnel-reached").allTextContents()).toEqual(["5", "5", "4"]);
    // The percentage is answered of reached, as the label reads ("2 of 4 · 50%", not 40% of the first question).
    expect(await p.locator("[data-testid=funnel] .funnel-pct").allTextContents()).toEqual([" · 100%", " · 80%", " · 50%"]);
    // The bars' lengths follow the counts: answered 4 of 5 is 80% of the first bar.
    const widths = await p.locator("[data-testid=funnel] .funnel-row rect:nth-of-type(3)").evaluateAll((els) => els.map((e) => Number(e.getAttribute("width"))));
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.8, 2);
    expect(await p.locator("[data-testid=stat-total] .stat-value").textContent()).toBe("5");
    expect(await p.locator("[data-testid=stat-abandoned] .stat-value").textContent()).toBe("3");
    // Each chart says what it counts: the funnel finished sessions, the answer charts in-progress ones too.
    const help = async (heading: string) => (await p.locator("section.panel", { has: p.getByRole("heading", { name: heading, exact: true }) }).locator(".chart-help").textContent()) ?? "";
    expect(await help("Completion funnel")).toMatch(/^Finished sessions/);
    for (const h of ["Sentiment across questions", "Top themes", "Response patterns"]) expect(await help(h)).toContain("sessions still in progress included");

    // Histogram: the API's buckets, their counts summing to the sessions.
    const bars = p.locator("[data-testid=histogram] .hist-bar");
    expect(await bars.count()).toBe(a.duration.histogram.length);
    expect(ints(await bars.evaluateAll((els) => els.map((e) => e.getAttribute("data-count"))))).toEqual(a.duration.histogram.map((b: any) => b.count));

    // Sentiment per question, and its screen-reader table.
    const cols = p.locator("[data-testid=sentiment-trend] .trend-col");
    const shown = await cols.evaluateAll((els) => els.map((e) => ["positive", "neutral", "negative"].map((k) => Number(e.getAttribute(`data-${k}`)))));
    expect(shown).toEqual(a.sentimentTrend.map((t: any) => [t.positive, t.neutral, t.negative]));
    expect(await p.locator("[data-testid=sentiment-trend] svg title").first().textContent()).toBe("Sentiment across questions");
    expect(await p.locator("[data-testid=sentiment-trend] table tbody tr").count()).toBe(3);

    // Themes with counts and a quote each; patterns per question.
    const themes = await p.locator("[data-testid=themes] > .count-bar").evaluateAll((els) => els.map((e) => [e.getAttribute("data-label"), Number(e.getAttribute("data-count"))]));
    expect(themes).toEqual(a.topThemes.map((t: any) => [t.theme, t.count]));
    expect(themes.find(([t]) => t === "pricing")?.[1]).toBe(3);
    await expect(p.locator("[data-testid=themes] q").first().textContent()).resolves.toBe(a.topThemes[0].quotes[0]);
    for (const q of a.responsePatterns) {
      const shownClusters = await p.locator(`[data-testid=patterns-q${q.questionIndex}] > .count-bar`).evaluateAll((els) => els.map((e) => [e.getAttribute("data-label"), Number(e.getAttribute("data-count"))]));
      expect(shownClusters).toEqual(q.clusters.map((k: any) => [k.label, k.count]));
    }
    await screenshot(p, "analytics-campaign", { fullPage: true });
    expect(errors).toEqual([]);
  });

  it("a large campaign's histogram has every bucket of its aggregates, empty ones included", async () => {
    const big = expectStatus(await api(server, "POST", "/v1/campaigns", { key, body: { name: "Pricing survey (seeded)", questions: [{ text: "What do you pay today?" }, { text: "What would you pay?" }] } }), 201, "campaign");
    const org = expectStatus(await api(server, "GET", "/v1/org", { key }), 200, "org").id;
    // Seeded aggregates, as the queue consumer folds them: per-second durations from 20 s to 11 min.
    const durations: [number, number][] = [[20, 4], [45, 9], [75, 14], [110, 22], [150, 18], [200, 12], [260, 7], [400, 3], [660, 1]];
    const total = durations.reduce((n, [, c]) => n + c, 0);
    const sum = durations.reduce((n, [d, c]) => n + d * c, 0);
    await d1Execute(
      server,
      [
        `INSERT INTO campaign_stats (campaign_id, org_id, total, completed, abandoned, duration_sum, duration_count) VALUES ('${big.id}', '${org}', ${total}, ${total - 12}, 12, ${sum}, ${total});`,
        ...durations.map(([d, c]) => `INSERT INTO campaign_duration_buckets (campaign_id, bucket, count) VALUES ('${big.id}', ${d}, ${c});`),
        `INSERT INTO campaign_question_stats VALUES ('${big.id}', 0, ${total}, ${total - 5}, 5, 41, 30, 14), ('${big.id}', 1, ${total - 5}, ${total - 12}, 7, 22, 31, 25);`,
        `INSERT INTO campaign_theme_stats VALUES ('${big.id}', -1, 'pricing', 61, '["It costs more than our old tool."]'), ('${big.id}', -1, 'features', 24, '["Exports are what we pay for."]'), ('${big.id}', -1, 'support', 9, '["Support answered fast."]');`,
      ].join("\n"),
    );
    const a = expectStatus(await api(server, "GET", `/v1/campaigns/${big.id}/analytics`, { key }), 200, "analytics");
    expect(a.duration.histogram.map((b: any) => b.count)).toEqual([13, 36, 18, 12, 7, 0, 3, 0, 0, 0, 0, 1]);
    expect(a.duration.median).toBe(110);
    const { page: p, errors } = await page(emails.owner);
    await p.goto(`${server.base}/campaigns/${big.id}/analytics`);
    await p.locator("[data-testid=histogram] .hist-bar").first().waitFor({ timeout: 15_000 });
    const bars = await p.locator("[data-testid=histogram] .hist-bar").evaluateAll((els) => els.map((e) => [Number(e.getAttribute("data-from")), Number(e.getAttribute("data-count")), e.querySelector("text")?.textContent]));
    expect(bars).toEqual(a.duration.histogram.map((b: any) => [b.from, b.count, String(b.count)]));
    expect(await p.locator("[data-testid=stat-median] .stat-value").textContent()).toBe("1.8 min");
    await screenshot(p, "analytics-histogram", { fullPage: true });
    expect(errors).toEqual([]);
  });
});

describe("declined consent and a date range on the Analytics tab", () => {
  it("shows who declined apart from drop-outs, and narrows every figure to the days picked", async () => {
    const c = expectStatus(await api(server, "POST", "/v1/campaigns", { key, body: { name: "Consent study", questions: [{ text: "What do you like?" }, { text: "What would you change?" }], settings: { consentRequired: false } } }), 201, "campaign");
    const finished = expectStatus(await api(server, "POST", `/v1/campaigns/${c.id}/invites`, { key, body: {} }), 201, "invite");
    const { socket: done } = await answerOverSocket(server, finished.token, ["The exports are fast and reliable.", "Nothing much, maybe the colours."]);
    await done.next((f) => f.type === "ended", "the interview ends", { timeoutMs: 15_000 });
    done.close();
    // A participant opens the link and declines at the consent step.
    const declining = expectStatus(await api(server, "POST", `/v1/campaigns/${c.id}/invites`, { key, body: {} }), 201, "invite");
    const j = expectStatus(await api(server, "POST", "/v1/join", { body: { token: declining.token } }), 201, "join");
    const d = await Socket.open(`${server.wsBase}/v1/sessions/${j.sessionId}/connect?token=${encodeURIComponent(j.participantToken)}`, "participant");
    d.send({ type: "hello" });
    d.send({ type: "consent", granted: false });
    await d.next((f) => f.type === "ended" && f.reason === "consent_declined", "the session ends declined", { timeoutMs: 15_000 });
    d.close();
    await eventually(async () => (await api(server, "GET", `/v1/campaigns/${c.id}/analytics`, { key })).json?.sessions?.total === 2, "both sessions folded", 30_000, 250);

    const { page: p, errors } = await page(emails.owner);
    await p.goto(`${server.base}/campaigns/${c.id}/analytics`);
    await p.locator("[data-testid=stat-declined]").waitFor({ timeout: 15_000 });
    // Before: "Completed 1 · 50% completion", and the declined participant among the drop-outs.
    expect(await p.locator("[data-testid=stat-declined] .stat-value").textContent()).toBe("1");
    expect(await p.locator("[data-testid=stat-declined] .stat-sub").textContent()).toBe("50% consent rate");
    expect(await p.locator("[data-testid=stat-completed] .stat-sub").textContent()).toBe("100% of those who took part");
    expect(await p.locator("[data-testid=stat-abandoned] .stat-sub").textContent()).toBe("0 dropped out · 1 declined");
    expect(await p.locator("[data-testid=stats-help]").textContent()).toContain("completed of those who agreed to take part");
    expect(ints(await p.locator("[data-testid=funnel] .funnel-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-reached"))))).toEqual([1, 1]);

    // The date range: local days, sent as their bounds; tomorrow holds nothing, today everything.
    const [today, tomorrow] = await p.evaluate(() => {
      const ymd = (t: Date) => `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, "0")}-${String(t.getDate()).padStart(2, "0")}`;
      const now = new Date();
      return [ymd(now), ymd(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1))];
    });
    const ranged = (r: { url(): string }) => r.url().includes(`/v1/campaigns/${c.id}/analytics?`);
    const [late] = await Promise.all([p.waitForRequest(ranged), p.getByLabel("Started from").fill(tomorrow)]);
    expect(new URL(late.url()).searchParams.get("from")).toBe(await p.evaluate((d) => new Date(`${d}T00:00:00`).toISOString(), tomorrow));
    await p.getByText("No interviews on these days").waitFor({ timeout: 10_000 });
    expect(new URL(p.url()).searchParams.get("from")).toBe(tomorrow);
    await Promise.all([p.waitForRequest(ranged), p.getByLabel("Started from").fill(today)]);
    await Promise.all([p.waitForRequest(ranged), p.getByLabel("Started until").fill(today)]);
    await eventually(async () => (await p.locator("[data-testid=stat-total] .stat-value").textContent()) === "2", "the day's two sessions", 10_000);
    expect(await p.locator("[data-testid=stat-declined] .stat-value").textContent()).toBe("1");
    expect(await p.locator("[data-testid=analytics-range-help]").textContent()).toContain("Sessions that started on these days");
    await screenshot(p, "analytics-range-declined", { fullPage: true });
    await p.getByRole("button", { name: "Whole campaign" }).click();
    await eventually(async () => new URL(p.url()).search === "", "the range cleared from the URL", 5_000);
    expect(errors).toEqual([]);
  });
});

describe("custom reports", () => {
  it("builds, runs, downloads, saves and re-runs a report; the table matches the API", async () => {
    const { page: p, errors } = await page(emails.owner);
    await p.getByRole("link", { name: "Reports" }).click();
    await p.waitForURL((u) => u.pathname === "/reports");
    await p.getByLabel("Onboarding study").check();
    for (const m of ["Sessions", "Completed", "Completion rate", "Mean duration (s)"]) await p.getByLabel(m, { exact: true }).uncheck();
    for (const m of ["Answers", "Positive", "Negative"]) await p.getByLabel(m, { exact: true }).check();
    await p.getByLabel("Group by").selectOption("question");
    await p.getByRole("button", { name: "Run report" }).click();
    await p.locator("[data-testid=report-table] tbody tr").first().waitFor({ timeout: 15_000 });
    const want = expectStatus(await api(server, "POST", "/v1/reports", { key, body: { campaignIds: [campaign.id], metrics: ["answers", "positive", "negative"], groupBy: "question" } }), 200, "report");
    const cells = await p.locator("[data-testid=report-table] tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(cells).toEqual(want.data.map((r: any) => [`Q${r.question + 1}`, String(r.answers), String(r.positive), String(r.negative)]));
    expect(cells.map((r) => r[1])).toEqual(["5", "4", "2"]);

    const [download] = await Promise.all([p.waitForEvent("download"), p.getByRole("button", { name: "Download CSV" }).click()]);
    const csv = await readFile((await download.path())!, "utf8");
    // With the byte order mark that tells Excel the file is UTF-8.
    expect(csv).toBe(`\uFEFFquestion,answers,positive,negative\r\n${want.data.map((r: any) => `${r.question},${r.answers},${r.positive},${r.negative}\r\n`).join("")}`);

    await p.getByLabel("Name", { exact: true }).fill("Tone by question");
    await p.getByRole("button", { name: "Save report" }).click();
    const saved = p.locator("[data-testid=saved-reports] li", { hasText: "Tone by question" });
    await saved.waitFor({ timeout: 10_000 });
    expect(await saved.textContent()).toContain("never run");
    await p.reload();
    await saved.getByRole("button", { name: "Run" }).click();
    await p.getByRole("heading", { name: "Tone by question" }).waitFor({ timeout: 10_000 });
    expect(await p.locator("[data-testid=report-table] tbody tr").count()).toBe(3);
    await eventually(async () => (await saved.textContent())?.includes("last run"), "the saved report to show its last run", 10_000);
    const list = expectStatus(await api(server, "GET", "/v1/reports/saved", { key }), 200, "saved list");
    expect(list.data.map((r: any) => [r.name, r.definition.groupBy, r.lastRunAt !== null])).toEqual([["Tone by question", "question", true]]);
    await screenshot(p, "analytics-reports", { fullPage: true });
    expect(errors).toEqual([]);
  });
});

describe("dates on the Reports and Sessions screens", () => {
  it("the same dates find the same sessions on both screens, as days in the browser's time zone", async () => {
    const listed = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions");
    const started = Date.parse(listed.data[0].startedAt);
    // A zone without daylight saving whose date differs from the UTC date at that moment: whole UTC
    // days (what Reports used to send) then hold none of these sessions.
    const [zone, offsetH] = new Date(started).getUTCHours() >= 10 ? ["Pacific/Kiritimati", 14] : ["Pacific/Pago_Pago", -11];
    const day = new Date(started + offsetH * 3_600_000).toISOString().slice(0, 10);
    const from = new Date(Date.parse(`${day}T00:00:00Z`) - offsetH * 3_600_000).toISOString();
    const to = new Date(Date.parse(`${day}T23:59:59.999Z`) - offsetH * 3_600_000).toISOString();
    const want = listed.data.filter((x: any) => x.startedAt && x.startedAt >= from && x.startedAt <= to).length;
    expect(want).toBeGreaterThan(0);

    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: zone });
    contexts.push(ctx);
    const p = await signIn(ctx, server.base, emails.owner, PASSWORD);
    const errors = collectErrors(p);
    await p.goto(`${server.base}/reports`);
    await p.getByLabel("Onboarding study").check();
    expect(await p.locator("[data-testid=report-timezone]").textContent()).toContain(zone);
    await p.getByLabel("Started from").fill(day);
    await p.getByLabel("Started until").fill(day);
    const [request] = await Promise.all([p.waitForRequest((r) => r.url().endsWith("/v1/reports") && r.method() === "POST"), p.getByRole("button", { name: "Run report" }).click()]);
    expect(JSON.parse(request.postData() ?? "{}")).toMatchObject({ from, to });
    await p.locator("[data-testid=report-table] tbody tr").first().waitFor({ timeout: 15_000 });
    const cells = await p.locator("[data-testid=report-table] tbody tr").first().evaluate((tr) => [...tr.children].map((td) => td.textContent));
    expect(cells[1]).toBe(String(want)); // the Sessions column

    await p.goto(`${server.base}/campaigns/${campaign.id}/sessions?from=${day}&to=${day}`);
    await eventually(async () => (await p.locator("[data-testid=session-count]").textContent())?.startsWith(`${want} session`), `the Sessions screen to count ${want}`, 15_000);
    expect(errors).toEqual([]);
  });
});

describe("the session page's insights", () => {
  it("shows an analyst-grade panel to the owner and the same figures without quotes to a viewer", async () => {
    const id = sessions[0]!;
    const want = expectStatus(await api(server, "GET", `/v1/sessions/${id}/analytics`, { key }), 200, "session analytics");
    const owner = await page(emails.owner);
    await owner.page.goto(`${server.base}/sessions/${id}`);
    const panel = owner.page.locator("[data-testid=insights]");
    await panel.locator("[data-testid=engagement]").waitFor({ timeout: 15_000 });
    expect(await panel.locator("[data-testid=engagement]").textContent()).toBe(String(want.engagementScore));
    expect(await panel.locator("[data-testid=overall]").textContent()).toBe(want.sentiment.overall);
    expect(await panel.locator("[data-testid=sentiment-bar]").getAttribute("aria-label")).toBe(`${want.sentiment.distribution.positive} positive, ${want.sentiment.distribution.neutral} neutral, ${want.sentiment.distribution.negative} negative`);
    expect(await panel.locator("[data-testid=summary]").textContent()).toBe(want.summary);
    expect(await panel.locator("[data-testid=quotes] q").allTextContents()).toEqual(want.quotes.map((q: any) => q.text));
    await screenshot(owner.page, "analytics-session-owner", { fullPage: true });

    const viewer = await page(emails.viewer);
    await viewer.page.goto(`${server.base}/sessions/${id}`);
    const vpanel = viewer.page.locator("[data-testid=insights]");
    await vpanel.locator("[data-testid=engagement]").waitFor({ timeout: 15_000 });
    expect(await vpanel.locator("[data-testid=engagement]").textContent()).toBe(String(want.engagementScore));
    await vpanel.locator("[data-testid=quotes-hidden]").waitFor();
    expect(await vpanel.locator("q").count()).toBe(0);
    const text = await viewer.page.locator("main").textContent();
    for (const answer of INTERVIEWS[0]!.answers) expect(text).not.toContain(answer);
    expect(await viewer.page.locator("[data-testid=transcript-restricted]").count()).toBe(1);
    await screenshot(viewer.page, "analytics-session-viewer", { fullPage: true });
    // Viewers run saved reports but may not save or delete them.
    await viewer.page.goto(`${server.base}/reports`);
    await viewer.page.locator("[data-testid=report-campaigns]").waitFor({ timeout: 15_000 });
    const savedItem = viewer.page.locator("[data-testid=saved-reports] li", { hasText: "Tone by question" });
    await savedItem.waitFor({ timeout: 15_000 });
    expect(await viewer.page.getByRole("button", { name: "Save report" }).count()).toBe(0);
    expect(await savedItem.getByRole("button", { name: /^Delete/ }).count()).toBe(0);
    await savedItem.getByRole("button", { name: "Run" }).click();
    await viewer.page.locator("[data-testid=report-table] tbody tr").first().waitFor({ timeout: 10_000 });
    expect(await viewer.page.locator("[data-testid=report-table] tbody tr").count()).toBe(3);
    await screenshot(viewer.page, "analytics-reports-viewer", { fullPage: true });
    expect([...owner.errors, ...viewer.errors]).toEqual([]);
  });
});
