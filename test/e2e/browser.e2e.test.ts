// The dashboard and the participant page in a real browser (Debian's Chromium via playwright-core)
// against the real local server: a live-watched interview with pause and resume, session filters
// in the URL with 1,000 sessions, what each role's session page shows, and a dropped connection.
// Screenshots of every screen go to SCREENSHOT_DIR (default: the OS temp dir's screens/).
import { cpus, loadavg } from "node:os";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, d1Execute, instrumentSockets, launchBrowser, recordFirstHeading, screenshot, SCREEN_DIR, sessionRowsSql, signIn, type SeedSession } from "./helpers/browser";
import { api, eventually, expectStatus, Socket, startServer, type TestServer } from "./helpers/server";

const PASSWORD = "correct horse battery staple";
/** How soon a watcher must see what the participant did. */
const LIVE_BOUND_MS = 5_000;

let server: TestServer;
let browser: Browser;
let key: string;
let orgId: string;
const emails = { owner: "", admin: "", analyst: "", viewer: "" };
const contexts: BrowserContext[] = [];
const figures: Record<string, string> = {};

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({
      vars: {
        HEARTBEAT_TIMEOUT_SECONDS: "120",
        PAUSE_EXPIRY_SECONDS: "600",
        LEAVE_GRACE_SECONDS: "60",
        RATE_LIMIT_LOGIN_PER_MINUTE: "200",
        RATE_LIMIT_JOIN_PER_MINUTE: "200",
      },
    }),
    launchBrowser(),
  ]);
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  for (const role of Object.keys(emails) as (keyof typeof emails)[]) emails[role] = `${role}-${suffix}@browser.example`;
  const org = expectStatus(
    await api(server, "POST", "/v1/orgs", {
      key: server.vars.OPERATOR_TOKEN,
      body: { name: "Browser Research", plan: "professional", owner: { email: emails.owner, name: "Olivia Owner", password: PASSWORD } },
    }),
    201,
    "POST /v1/orgs",
  );
  key = org.apiKey.key;
  orgId = org.org.id;
  for (const role of ["admin", "analyst", "viewer"] as const) {
    expectStatus(
      await api(server, "POST", "/v1/members", { key, body: { email: emails[role], name: `${role[0]!.toUpperCase()}${role.slice(1)} Member`, role, password: PASSWORD } }),
      201,
      `POST /v1/members (${role})`,
    );
  }
}, 180_000);

let logMark = 0;
afterEach(async (ctx) => {
  const logs = server?.logs() ?? "";
  if (ctx.task.result?.state === "fail") console.error(`---- wrangler dev output during "${ctx.task.name}" ----\n${logs.slice(Math.max(logMark, logs.length - 20_000))}`);
  logMark = logs.length;
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  if (Object.keys(figures).length) {
    console.log(`\n---- browser measurements ----\n${Object.entries(figures).map(([k, v]) => `${k}: ${v}`).join("\n")}\nscreenshots: ${SCREEN_DIR}\n`);
  }
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

async function newContext(opts: { mobile?: boolean; locale?: string } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    ...(opts.mobile ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { viewport: { width: 1366, height: 900 } }),
    ...(opts.locale ? { locale: opts.locale } : {}),
  });
  contexts.push(ctx);
  return ctx;
}

async function createCampaign(name: string, questions: string[], settings: Record<string, unknown> = {}) {
  return expectStatus(
    await api(server, "POST", "/v1/campaigns", {
      key,
      body: { name, questions: questions.map((text) => ({ text, probe: "none" })), settings: { consentRequired: true, consentText: "This interview is recorded for research.", ...settings } },
    }),
    201,
    "POST /v1/campaigns",
  ) as { id: string };
}

async function createInvite(campaignId: string, name: string) {
  return expectStatus(await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { name, email: `${name.split(" ")[0]!.toLowerCase()}@browser.example` } } }), 201, "POST invites") as {
    id: string;
    token: string;
    url: string;
  };
}

async function participantAnswers(sessionId: string): Promise<string[]> {
  const t = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/transcript`, { key }), 200, "GET transcript");
  return (t.segments as { speaker: string; text: string }[]).filter((s) => s.speaker === "participant").map((s) => s.text);
}

/** The question on screen now, or null (never waits long: polls call it repeatedly). */
const question = (page: Page) => ({ textContent: () => page.locator("h1.question").textContent({ timeout: 500 }).catch(() => null) });

async function answer(page: Page, text: string) {
  const box = page.locator("textarea#answer");
  await box.waitFor({ state: "visible" });
  await expect.poll(() => box.isEnabled(), { timeout: 10_000, message: "the answer box to be enabled" }).toBe(true);
  await box.fill(text);
  await page.getByRole("button", { name: "Send answer" }).click();
}

/** The page's participant sockets, which a test cuts (and keeps refused) until it restores them. */
async function cuttableSockets(page: Page) {
  let refuse = false;
  const routes: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/connect/, (ws) => {
    if (refuse) return void ws.close({ code: 4000, reason: "network down" }).catch(() => undefined);
    ws.connectToServer();
    routes.push(ws);
  });
  return {
    async cut() {
      refuse = true;
      for (const r of routes.splice(0)) await r.close({ code: 4001, reason: "network drop" }).catch(() => undefined);
    },
    restore() {
      refuse = false;
    },
  };
}

describe("dashboard and participant page in Chromium", () => {
  it("a participant completes an interview while a researcher watches it live, pausing and resuming it", async () => {
    const questions = ["What brought you to us this year?", "What almost made you give up?", "What should we build next?"];
    const answers = ["A colleague recommended the tool for our weekly research.", "The first import of our contacts failed twice.", "Better tagging for quotes, please."];
    const campaign = await createCampaign("Live watch study", questions);
    const invite = await createInvite(campaign.id, "Pat Participant");

    // The researcher signs in (Secure cookie over http://127.0.0.1) and opens Live for this campaign.
    const researcherCtx = await newContext();
    const researcher = await signIn(researcherCtx, server.base, emails.owner, PASSWORD);
    const researcherErrors = collectErrors(researcher);
    const cookies = await researcherCtx.cookies();
    const sessionCookie = cookies.find((c) => c.name === "ir_session");
    expect(sessionCookie, "the sign-in cookie is stored by Chromium on http://127.0.0.1").toBeTruthy();
    expect(sessionCookie!.secure && sessionCookie!.httpOnly).toBe(true);
    await screenshot(researcher, "01-dashboard-campaigns");
    await researcher.goto(`${server.base}/live?campaign=${campaign.id}`);
    await researcher.getByText("No interview is running right now").waitFor({ timeout: 15_000 });
    await screenshot(researcher, "02-live-empty");

    // A second dashboard tab on the campaign's session list, empty for now.
    const list = await researcherCtx.newPage();
    const listErrors = collectErrors(list);
    await list.goto(`${server.base}/campaigns/${campaign.id}/sessions`);
    await list.getByText("No sessions yet").waitFor({ timeout: 15_000 });

    // The participant opens the invite link in another browser context.
    const participantCtx = await newContext({ mobile: true });
    await recordFirstHeading(participantCtx);
    const participant = await participantCtx.newPage();
    const participantErrors = collectErrors(participant);
    await participant.goto(invite.url);
    await participant.getByRole("heading", { name: "Before we begin" }).waitFor({ timeout: 15_000 });
    const firstRender = await participant.evaluate(() => {
      const w = window as unknown as { __firstH1?: number };
      const fcp = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null;
      return { firstH1: w.__firstH1 ?? null, fcp };
    });
    figures["participant page, first load of the run (cold server): consent screen at"] = `${firstRender.firstH1?.toFixed(0)} ms (first paint ${firstRender.fcp?.toFixed(0)} ms)`;
    await screenshot(participant, "03-participant-consent");
    await participant.getByRole("button", { name: "I agree, start the interview" }).click();
    await expect.poll(() => question(participant).textContent(), { timeout: 10_000 }).toBe(questions[0]);
    await screenshot(participant, "04-participant-question");

    // The new session appears in the live list without a reload; the researcher opens it.
    const card = researcher.locator(".live-card", { hasText: "Pat Participant" });
    await card.waitFor({ timeout: LIVE_BOUND_MS });
    await card.click();
    const pane = researcher.locator("[data-testid=watch-pane]");
    const liveTranscript = researcher.locator("[data-testid=live-transcript]");
    await expect.poll(() => liveTranscript.textContent(), { timeout: LIVE_BOUND_MS }).toContain(questions[0]);
    const sessionId = new URL(researcher.url()).searchParams.get("session")!;
    expect(sessionId).toMatch(/^ses_/);

    // Each answer shows up in the researcher's transcript as it is given.
    await answer(participant, answers[0]!);
    const sentAt = Date.now();
    await expect.poll(() => liveTranscript.textContent(), { timeout: LIVE_BOUND_MS }).toContain(answers[0]);
    figures["answer visible in the watcher's transcript after"] = `${Date.now() - sentAt} ms (including the poll interval)`;
    await expect.poll(() => question(participant).textContent(), { timeout: 10_000 }).toBe(questions[1]);
    await screenshot(researcher, "05-live-watching");

    // Pause from the dashboard: the participant sees "Interview paused"; resume: it continues.
    await pane.getByRole("button", { name: "Pause" }).click();
    await participant.getByRole("heading", { name: "Interview paused" }).waitFor({ timeout: LIVE_BOUND_MS });
    await expect.poll(() => pane.getAttribute("data-status"), { timeout: LIVE_BOUND_MS }).toBe("paused");
    await screenshot(participant, "06-participant-paused");
    await screenshot(researcher, "07-live-paused");
    await pane.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => question(participant).textContent(), { timeout: LIVE_BOUND_MS }).toBe(questions[1]);
    await expect.poll(() => pane.getAttribute("data-status"), { timeout: LIVE_BOUND_MS }).toBe("in_progress");

    await answer(participant, answers[1]!);
    await expect.poll(() => question(participant).textContent(), { timeout: 10_000 }).toBe(questions[2]);
    await answer(participant, answers[2]!);
    await participant.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 10_000 });
    await screenshot(participant, "08-participant-thank-you");
    await expect.poll(() => pane.getAttribute("data-status"), { timeout: LIVE_BOUND_MS }).toBe("completed");
    await expect.poll(() => liveTranscript.textContent(), { timeout: LIVE_BOUND_MS }).toContain(answers[2]);
    await screenshot(researcher, "09-live-completed");

    // The session list tab followed along without a reload: the new row, now completed, at 100%.
    const row = list.locator(`tr[data-session="${sessionId}"]`);
    await expect.poll(() => row.getAttribute("data-status"), { timeout: LIVE_BOUND_MS }).toBe("completed");
    await expect.poll(() => row.locator("[role=meter]").getAttribute("aria-valuenow"), { timeout: LIVE_BOUND_MS }).toBe("100");
    expect(await row.textContent()).toContain("Pat Participant");
    expect(listErrors, "no errors on the session list").toEqual([]);

    // The record: every answer once, in order; the timeline shows the pause and the resume.
    expect(await participantAnswers(sessionId)).toEqual(answers);
    await researcher.goto(`${server.base}/sessions/${sessionId}`);
    const timeline = researcher.locator("[data-testid=timeline]");
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain("Resumed");
    expect(await timeline.textContent()).toContain("Paused");
    expect(await timeline.textContent()).toContain("Completed");
    // Search highlights matches in the transcript.
    await researcher.getByLabel("Search the transcript").fill("import");
    await expect.poll(() => researcher.locator("[data-testid=transcript] mark").count()).toBe(1);
    expect(await researcher.locator("[data-testid=match-count]").textContent()).toBe("1 match");
    await screenshot(researcher, "10-session-detail-owner", { fullPage: true });

    expect(participantErrors, "no errors on the participant page").toEqual([]);
    expect(researcherErrors, "no errors on the dashboard").toEqual([]);
  }, 150_000);

  it("the participant page renders its first screen within 1 s", async () => {
    const campaign = await createCampaign("First render", ["How are you today?"]);
    const runs: { firstH1: number; fcp: number; join: number; html: number; css: number; js: number; joinStart: number }[] = [];
    // One warm-up load, then five measured ones, each a fresh browser context and a fresh invite.
    for (let i = 0; i < 6; i++) {
      const invite = await createInvite(campaign.id, `Runner ${i}`);
      const ctx = await newContext({ mobile: true });
      await recordFirstHeading(ctx);
      const page = await ctx.newPage();
      await page.goto(invite.url);
      await page.getByRole("heading", { name: "Before we begin" }).waitFor({ timeout: 15_000 });
      const r = await page.evaluate(() => {
        const w = window as unknown as { __firstH1?: number };
        const res = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
        const end = (suffix: string) => res.find((e) => e.name.endsWith(suffix))?.responseEnd ?? NaN;
        const join = res.find((e) => e.name.endsWith("/v1/join"));
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        return {
          firstH1: w.__firstH1 ?? NaN,
          fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
          join: join?.duration ?? NaN,
          html: nav?.responseEnd ?? NaN,
          css: end("/app/styles.css"),
          js: end("/app/participant.js"),
          joinStart: join?.startTime ?? NaN,
        };
      });
      if (i === 0) await screenshot(page, "03b-participant-consent-mobile");
      else runs.push(r);
      await ctx.close();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = { firstH1: median(runs.map((r) => r.firstH1)), fcp: median(runs.map((r) => r.fcp)), join: median(runs.map((r) => r.join)) };
    figures["participant page: consent screen rendered, median of 5 (navigation start to first <h1>)"] = `${m.firstH1.toFixed(0)} ms (runs: ${runs.map((r) => r.firstH1.toFixed(0)).join(", ")})`;
    figures["participant page: first contentful paint, median"] = `${m.fcp.toFixed(0)} ms`;
    figures["participant page: POST /v1/join, median"] = `${m.join.toFixed(0)} ms`;
    const med = (k: keyof (typeof runs)[number]) => median(runs.map((r) => r[k])).toFixed(0);
    figures["participant page: timeline, medians (ms after navigation start)"] = `HTML ${med("html")}, CSS ${med("css")}, JS ${med("js")}, join sent ${med("joinStart")}, first paint ${med("fcp")}, consent screen ${med("firstH1")}`;
    // The budget is for this machine doing this work; when other jobs saturate its CPUs the figure
    // is still printed, with the load, but not held against the page.
    const load = loadavg()[0]! / cpus().length;
    figures["participant page: machine load during the measurement"] = `${load.toFixed(2)} per CPU (${cpus().length} CPUs)`;
    if (load <= 2) expect(m.firstH1, "first render of the participant page under 1 s").toBeLessThan(1_000);
    else console.warn(`participant first render ${m.firstH1.toFixed(0)} ms not asserted: the machine is overloaded (load ${load.toFixed(2)} per CPU)`);
  }, 120_000);

  it("filters narrow a 1,000-session list and live in the URL; the list renders within budget", async () => {
    const campaign = await createCampaign("Large study", ["Q1", "Q2", "Q3", "Q4"]);
    const STATUSES = ["completed", "completed", "completed", "completed", "abandoned", "abandoned", "in_progress", "paused", "created", "completed"] as const;
    const LANGS = ["en", "de", "fr", "en-GB"];
    const SENT = ["positive", "neutral", "negative", null] as const;
    const now = Date.now();
    const rows: SeedSession[] = Array.from({ length: 1000 }, (_, i) => {
      const status = STATUSES[i % 10]!;
      const started = status === "created" ? null : now - i * 90_000;
      const completion = status === "completed" ? 100 : status === "created" ? 0 : [25, 50, 75][i % 3]!;
      return {
        id: `ses_bulk${String(i).padStart(6, "0")}${campaign.id.slice(-6)}`,
        status,
        createdAt: now - i * 90_000 - 5_000,
        startedAt: started,
        duration: 60 + (i % 30) * 30,
        completion,
        questionsAnswered: completion / 25,
        totalQuestions: 4,
        language: LANGS[i % 4]!,
        flagged: i % 7 === 0,
        sentiment: SENT[i % 4]!,
        participantName: `Participant ${i}`,
        participantEmail: `p${i}@bulk.example`,
      };
    });
    await d1Execute(server, sessionRowsSql(orgId, campaign.id, rows));
    const expected = (pred: (r: SeedSession) => boolean) => rows.filter(pred).length;

    const ctx = await newContext();
    const page = await signIn(ctx, server.base, emails.owner, PASSWORD);
    const errors = collectErrors(page);
    const table = page.locator("table[data-testid=sessions]");
    const rowsShown = async () => Number(await table.getAttribute("data-rows"));

    // Cold: from a click on the campaign to 1,000 rows on screen (ten API pages of 100).
    await page.goto(`${server.base}/campaigns`);
    await page.getByRole("link", { name: "Large study" }).waitFor();
    const t0 = Date.now();
    await page.getByRole("link", { name: "Large study" }).click();
    await expect.poll(rowsShown, { timeout: 30_000, interval: 50 }).toBe(1000);
    const coldMs = Date.now() - t0;
    const full = await eventually(
      async () =>
        (await page.evaluate(() => (window as unknown as { __irPerf?: { sessionsRenders: { rows: number; ms: number }[] } }).__irPerf?.sessionsRenders ?? [])).filter((r) => r.rows === 1000).pop(),
      "the render measurement of the 1,000-row list",
      10_000,
    );
    figures["session list: click to 1,000 rows painted (10 API pages)"] = `${coldMs} ms`;
    figures["session list: render of the 1,000-row update (measured in the page)"] = `${full?.ms.toFixed(1)} ms`;
    // The table is windowed: the rows near the viewport are in the DOM, the rest are spacers.
    const inDom = await page.locator("table[data-testid=sessions] tbody tr[data-session]").count();
    expect(inDom).toBeGreaterThan(10);
    expect(inDom).toBeLessThan(1000);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.locator("tr[data-session]", { hasText: "Participant 999" }).waitFor({ timeout: 5_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "11-sessions-1000");

    // Warm: back from a session, the 1,000-row list mounts at once from memory (then refreshes).
    await page.locator("table[data-testid=sessions] tbody tr[data-session]").first().locator("a").click();
    await page.locator("[data-testid=overview]").waitFor({ timeout: 15_000 });
    await page.evaluate(() => ((window as unknown as { __irPerf?: unknown }).__irPerf = { sessionsRenders: [] }));
    await page.goBack();
    await expect.poll(rowsShown, { timeout: 15_000, interval: 20 }).toBe(1000);
    const mount = await eventually(
      () => page.evaluate(() => (window as unknown as { __irPerf?: { sessionsRenders: { rows: number; ms: number }[] } }).__irPerf?.sessionsRenders[0] ?? null),
      "the render measurement of the remounted list",
      10_000,
    );
    expect(mount.rows).toBe(1000);
    figures["session list: mount with 1,000 rows, data to paint (measured in the page)"] = `${mount.ms.toFixed(1)} ms`;
    expect(mount.ms, "rendering 1,000 sessions takes under 500 ms").toBeLessThan(500);
    expect(full.ms, "re-rendering the list at 1,000 rows takes under 500 ms").toBeLessThan(500);

    // Status filter: a chip; the URL says so and only completed sessions remain.
    await page.locator("label.chip-toggle", { hasText: "Completed" }).click();
    await page.waitForURL((u) => u.searchParams.get("status") === "completed");
    const completed = expected((r) => r.status === "completed");
    await expect.poll(rowsShown, { timeout: 15_000 }).toBe(completed);
    expect(await page.locator("table[data-testid=sessions] tbody tr[data-session]:not([data-status=completed])").count()).toBe(0);

    // Flagged only, added to it.
    await page.locator("select[name=flagged]").selectOption("true");
    await page.waitForURL((u) => u.searchParams.get("flagged") === "true" && u.searchParams.get("status") === "completed");
    const completedFlagged = expected((r) => r.status === "completed" && r.flagged);
    await expect.poll(rowsShown, { timeout: 15_000 }).toBe(completedFlagged);
    expect(completedFlagged).toBeGreaterThan(0);
    expect(completedFlagged).toBeLessThan(completed);
    await screenshot(page, "12-sessions-filtered");

    // The URL is the view: a fresh load (as a colleague opening a shared link) shows the same rows.
    const shared = page.url();
    const colleague = await ctx.newPage();
    await colleague.goto(shared);
    await expect.poll(async () => Number(await colleague.locator("table[data-testid=sessions]").getAttribute("data-rows")), { timeout: 15_000 }).toBe(completedFlagged);
    expect(await colleague.locator("label.chip-toggle.on", { hasText: "Completed" }).count()).toBe(1);
    await colleague.close();

    // More filters: language and a completion range, typed and committed with Enter.
    await page.locator("[data-testid=clear-filters]").click();
    await page.waitForURL((u) => u.search === "");
    await expect.poll(rowsShown, { timeout: 15_000 }).toBe(1000);
    await page.getByRole("button", { name: /More filters/ }).click();
    await page.locator("input[name=language]").fill("de");
    await page.locator("input[name=language]").press("Enter");
    await page.waitForURL((u) => u.searchParams.get("language") === "de");
    await expect.poll(rowsShown, { timeout: 15_000 }).toBe(expected((r) => r.language === "de"));
    await page.locator("input[name=minCompletion]").fill("30");
    await page.locator("input[name=minCompletion]").press("Enter");
    await page.locator("input[name=maxCompletion]").fill("80");
    await page.locator("input[name=maxCompletion]").press("Enter");
    await page.waitForURL((u) => u.searchParams.get("minCompletion") === "30" && u.searchParams.get("maxCompletion") === "80");
    await expect.poll(rowsShown, { timeout: 15_000 }).toBe(expected((r) => r.language === "de" && r.completion >= 30 && r.completion <= 80));
    await page.locator("label.chip-toggle", { hasText: "Not started" }).click();
    await page.getByText("No sessions match these filters").waitFor({ timeout: 15_000 });
    await screenshot(page, "13-sessions-no-match");
    expect(errors).toEqual([]);
  }, 180_000);

  it("an analyst's session page has no audio or delete controls, and a viewer's shows no transcript text", async () => {
    const questions = ["How do you feel about the price?", "Would you recommend us?"];
    const said = "Honestly the pricing feels fair for a small team like ours.";
    const campaign = await createCampaign("Voice pricing pilot", questions, { mode: "voice", recordAudio: true });
    const invite = await createInvite(campaign.id, "Val Voice");
    const joined = expectStatus(await api(server, "POST", "/v1/join", { body: { token: invite.token, device: { browser: "e2e", os: "linux", deviceType: "desktop" } } }), 201, "join");
    const ws = await Socket.open(`${server.wsBase}/v1/sessions/${joined.sessionId}/connect?token=${encodeURIComponent(joined.participantToken)}`, "participant");
    try {
      ws.send({ type: "hello", lastSeq: 0 });
      ws.send({ type: "consent", granted: true });
      ws.send({ type: "start" });
      await ws.next((f) => f.type === "question" && f.index === 0, "the first question");
      ws.send({ type: "answer", id: "a1", text: said });
      await ws.next((f) => f.type === "ack" && f.id === "a1", "the ack of the answer");
      await ws.next((f) => f.type === "question" && f.index === 1, "the second question", { timeoutMs: 10_000 });
    } finally {
      ws.close();
    }
    const url = `${server.base}/sessions/${joined.sessionId}`;

    // The owner: audio and deletion are there (the controls the others must not get).
    const ownerCtx = await newContext();
    const owner = await signIn(ownerCtx, server.base, emails.owner, PASSWORD);
    await owner.goto(url);
    await owner.locator("[data-testid=transcript]").getByText(said).waitFor({ timeout: 15_000 });
    await owner.locator("[data-testid=audio-panel]").waitFor({ timeout: 10_000 });
    // The answer was typed, so there is no recording yet: the panel says so (the player itself is
    // exercised with real recordings in voice.e2e.test.ts).
    await owner.locator("[data-testid=audio-panel]").getByText("No spoken answer has been recorded yet").waitFor({ timeout: 10_000 });
    expect(await owner.locator("[data-testid=delete-data]").count()).toBe(1);
    expect(await owner.getByRole("button", { name: "Pause" }).count()).toBe(1);

    // The analyst reads the transcript but gets no audio, no deletion and no session control.
    const analystCtx = await newContext();
    const analyst = await signIn(analystCtx, server.base, emails.analyst, PASSWORD);
    const analystErrors = collectErrors(analyst);
    await analyst.goto(url);
    await analyst.locator("[data-testid=transcript]").getByText(said).waitFor({ timeout: 15_000 });
    await analyst.locator("[data-testid=notes]").waitFor();
    // The campaign (whose mode decides the audio panel) has loaded: absence below is a decision, not a delay.
    await analyst.locator(".crumbs", { hasText: "Voice pricing pilot" }).waitFor();
    expect(await analyst.locator("[data-testid=audio-panel]").count()).toBe(0);
    expect(await analyst.locator("audio, [href*='/audio']").count()).toBe(0);
    expect(await analyst.locator("[data-testid=delete-data]").count()).toBe(0);
    expect(await analyst.getByRole("button", { name: /delete/i }).count()).toBe(0);
    for (const control of ["Pause", "Resume", "End", "Reassign"]) expect(await analyst.getByRole("button", { name: control, exact: true }).count()).toBe(0);
    expect(await analyst.getByRole("button", { name: /Flag/ }).count()).toBe(1);
    // Analysts may add notes.
    await analyst.locator("#note-text").fill("Mentions small-team pricing.");
    await analyst.getByRole("button", { name: "Add note" }).click();
    await analyst.locator("[data-testid=notes] .note", { hasText: "Mentions small-team pricing." }).waitFor();
    await screenshot(analyst, "14-session-analyst", { fullPage: true });
    expect(analystErrors).toEqual([]);

    // The viewer sees the metadata and no words of the interview, and no Live or Settings.
    const viewerCtx = await newContext();
    const viewer = await signIn(viewerCtx, server.base, emails.viewer, PASSWORD);
    const viewerErrors = collectErrors(viewer);
    expect(await viewer.locator("nav.nav a", { hasText: "Live" }).count()).toBe(0);
    expect(await viewer.locator("nav.nav a", { hasText: "Settings" }).count()).toBe(0);
    await viewer.goto(url);
    await viewer.locator("[data-testid=overview]").waitFor({ timeout: 15_000 });
    await viewer.locator("[data-testid=transcript-restricted]").waitFor();
    await viewer.locator(".crumbs", { hasText: "Voice pricing pilot" }).waitFor();
    const body = (await viewer.locator("body").textContent()) ?? "";
    expect(body).not.toContain(said);
    expect(body).not.toContain(questions[0]);
    expect(body).not.toContain("Val Voice");
    expect(await viewer.locator("audio, [data-testid=audio-panel], [data-testid=delete-data], [data-testid=notes]").count()).toBe(0);
    await screenshot(viewer, "15-session-viewer");
    // A viewer opening /live directly gets a clear refusal, not a broken page.
    await viewer.goto(`${server.base}/live`);
    await viewer.locator("[data-testid=forbidden]").waitFor();
    expect(viewerErrors).toEqual([]);
  }, 120_000);

  it("the participant page survives dropped connections mid-interview with no lost or duplicated answers", async () => {
    const questions = ["First, tell us about your role.", "Which feature do you use most?", "What is missing?", "Anything else?"];
    const answers = ["I coordinate field research for a retail chain.", "Mostly the live transcript view.", "Offline capture for stores with poor signal.", "No, thank you."];
    const campaign = await createCampaign("Flaky network study", questions, { consentRequired: false });
    const invite = await createInvite(campaign.id, "Nia Network");

    const ctx = await newContext({ mobile: true });
    await instrumentSockets(ctx);
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    await page.goto(invite.url);
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[0]);
    await answer(page, answers[0]!);
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[1]);

    // The network goes away: the socket drops and reconnecting fails for a while.
    const socketsBefore = await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length);
    await ctx.setOffline(true);
    await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(4000, "network lost"));
    await page.getByText("Reconnecting…").waitFor({ timeout: 5_000 });
    // The participant answers anyway; the answer waits for the connection.
    await answer(page, answers[1]!);
    await page.getByRole("button", { name: "Sending…" }).waitFor();
    await screenshot(page, "16-participant-reconnecting");
    await page.waitForTimeout(1_500);
    await ctx.setOffline(false);
    await expect.poll(() => question(page).textContent(), { timeout: 30_000 }).toBe(questions[2]);
    expect(await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length)).toBeGreaterThan(socketsBefore);

    // Pause pressed while the connection is down is delivered when it comes back.
    await ctx.setOffline(true);
    await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(4000, "network lost again"));
    await page.getByText("Reconnecting…").waitFor({ timeout: 5_000 });
    await page.getByRole("button", { name: "Pause" }).click();
    await ctx.setOffline(false);
    await page.getByRole("heading", { name: "Interview paused" }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Resume the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[2]);

    // The connection drops right after an answer leaves, before its ack: the retry must not duplicate it.
    await page.locator("textarea#answer").fill(answers[2]!);
    await page.evaluate(() => {
      (document.querySelector("form button[type=submit]") as HTMLButtonElement).click();
      (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(4000, "dropped mid-answer");
    });
    await expect.poll(() => question(page).textContent(), { timeout: 30_000 }).toBe(questions[3]);

    // And a full page reload mid-interview resumes at the same question.
    await page.reload();
    await expect.poll(() => question(page).textContent(), { timeout: 15_000 }).toBe(questions[3]);
    await answer(page, answers[3]!);
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 10_000 });

    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    expect(sessions.data).toHaveLength(1);
    const sessionId = sessions.data[0].id as string;
    expect(await participantAnswers(sessionId)).toEqual(answers);
    const session = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "get session");
    expect(session.status).toBe("completed");
    expect(session.questionsAnswered).toBe(4);
    expect(errors).toEqual([]);
  }, 120_000);

  it("the participant page speaks the campaign's language: Spanish end to end, Arabic right to left", async () => {
    const es = await createCampaign("Estudio de pagos", ["¿Qué te trajo aquí?", "¿Qué cambiarías primero?"], { language: "es-MX", consentText: "Esta entrevista se graba con fines de investigación." });
    // The browser prefers German: the interview's language still wins.
    const ctx = await newContext({ mobile: true, locale: "de-DE" });
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    await page.goto((await createInvite(es.id, "Elena Spanish")).url);
    await page.getByRole("heading", { name: "Antes de empezar" }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, document.title])).toEqual(["es", "ltr", "Tu entrevista"]);
    await page.getByRole("button", { name: "Acepto, empezar la entrevista" }).click();
    await page.getByText("Pregunta 1 de 2").waitFor({ timeout: 10_000 });
    const box = page.locator("textarea#answer");
    for (const text of ["Una amiga me lo recomendó.", "Las facturas, que cueste menos encontrarlas."]) {
      await expect.poll(() => box.isEnabled(), { timeout: 10_000 }).toBe(true);
      await box.fill(text);
      await page.getByRole("button", { name: "Enviar respuesta" }).click();
    }
    await page.getByRole("heading", { name: "¡Gracias!" }).waitFor({ timeout: 10_000 });
    await screenshot(page, "16c-participant-spanish");

    // Arabic: the page turns right to left; an invalid link in a German browser is refused in German.
    const ar = await createCampaign("دراسة الدفع", ["ما الذي جاء بك إلى هنا؟"], { language: "ar", consentRequired: false });
    const arPage = await ctx.newPage();
    await arPage.goto((await createInvite(ar.id, "Amal Arabic")).url);
    await arPage.getByRole("heading", { name: "مرحبًا بك" }).waitFor({ timeout: 10_000 });
    expect(await arPage.evaluate(() => [document.documentElement.lang, document.documentElement.dir])).toEqual(["ar", "rtl"]);
    // Laid out right to left: the primary button sits at the right edge of the card.
    const card = (await arPage.locator("main.card").boundingBox())!;
    const start = (await arPage.getByRole("button", { name: "ابدأ المقابلة" }).boundingBox())!;
    expect(card.x + card.width - (start.x + start.width)).toBeLessThan(start.x - card.x);
    await screenshot(arPage, "16d-participant-arabic");
    expect(errors).toEqual([]);

    // A catalog that takes longer than 3 s: the page goes on in English, then switches when it arrives.
    const slow = await ctx.newPage();
    await slow.route("**/app/chunks/es-*.js", async (route) => {
      await new Promise((r) => setTimeout(r, 4_500));
      await route.continue();
    });
    await slow.goto((await createInvite(es.id, "Sergio Slow")).url);
    await slow.getByRole("heading", { name: "Before we begin" }).waitFor({ timeout: 10_000 });
    await slow.getByRole("heading", { name: "Antes de empezar" }).waitFor({ timeout: 10_000 });
    expect(await slow.evaluate(() => document.documentElement.lang)).toBe("es");
    const de = await ctx.newPage();
    await de.goto(`${server.base}/i/not-a-real-token-${Date.now()}`);
    await de.getByRole("heading", { name: "Dieses Interview kann nicht geöffnet werden" }).waitFor({ timeout: 10_000 });
    await de.getByText("Dieser Interview-Link ist ungültig.", { exact: false }).waitFor();
  }, 90_000);

  it("a participant whose session the team deletes mid-interview is told, and the page stops reconnecting", async () => {
    const campaign = await createCampaign("Withdrawn study", ["What brought you here?", "What else?"], { consentRequired: false });
    const invite = await createInvite(campaign.id, "Wes Withdrawn");
    const ctx = await newContext({ mobile: true });
    await instrumentSockets(ctx);
    const page = await ctx.newPage();
    await page.goto(invite.url);
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe("What brought you here?");
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    const sessionId = sessions.data[0].id as string;
    expectStatus(await api(server, "DELETE", `/v1/sessions/${sessionId}/data`, { key, headers: { "X-Confirm-Delete": "true" } }), 200, "delete the session's data");
    await page.getByRole("heading", { name: "This interview was withdrawn" }).waitFor({ timeout: 10_000 });
    await screenshot(page, "16b-participant-withdrawn");
    // No reconnection to a session that is gone: the socket count stays put and no banner appears.
    const sockets = await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length);
    await page.waitForTimeout(3_000);
    expect(await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length)).toBe(sockets);
    expect(await page.getByText("Reconnecting…").count()).toBe(0);
    await ctx.close();
  }, 60_000);

  it("a stale tab's answer to an earlier question is refused and said so, never filed under the next question", async () => {
    const questions = ["What do you do for a living?", "Tell me about the last time the product helped you.", "What should we build next?"];
    const campaign = await createCampaign("Two tabs study", questions, { consentRequired: false });
    const invite = await createInvite(campaign.id, "Tess Tabs");
    const ctx = await newContext();
    const a = await ctx.newPage();
    const aErrors = collectErrors(a);
    await a.goto(invite.url);
    await a.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(a).textContent(), { timeout: 10_000 }).toBe(questions[0]);

    // Tab B (same browser, so the same session) loses its connection and cannot get it back for now.
    const b = await ctx.newPage();
    const link = await cuttableSockets(b);
    await b.goto(invite.url);
    await expect.poll(() => question(b).textContent(), { timeout: 10_000 }).toBe(questions[0]);
    await link.cut();
    await b.getByText("Reconnecting…").waitFor({ timeout: 5_000 });

    // A answers question 1; B, still showing question 1, answers it too.
    await answer(a, "Tab A: I run logistics for a small shop.");
    await expect.poll(() => question(a).textContent(), { timeout: 10_000 }).toBe(questions[1]);
    await answer(b, "Tab B: my answer to what I do, typed in the stale tab.");
    await b.getByRole("button", { name: "Sending…" }).waitFor();
    link.restore();
    // B reconnects, catches up with question 2 and says its answer was not saved.
    await b.getByText("The interview moved on in another window; your answer to the earlier question was not saved.").waitFor({ timeout: 30_000 });
    await expect.poll(() => question(b).textContent(), { timeout: 5_000 }).toBe(questions[1]);
    expect(await b.locator("p.notice.error[role=alert]").count()).toBe(1);
    expect(await b.locator("textarea#answer").isEnabled()).toBe(true);
    await screenshot(b, "16e-participant-stale-answer");
    // Nothing else comes back: the refused answer is not resent after later state frames.
    await answer(a, "Tab A: the import saved me a day.");
    await expect.poll(() => question(b).textContent(), { timeout: 10_000 }).toBe(questions[2]);
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    expect(sessions.data).toHaveLength(1);
    expect(await participantAnswers(sessions.data[0].id as string)).toEqual(["Tab A: I run logistics for a small shop.", "Tab A: the import saved me a day."]);
    expect(aErrors).toEqual([]);
  }, 90_000);

  it("a connection that goes silent (no pong) or a browser that goes offline shows Reconnecting… and recovers", async () => {
    const questions = ["What do you do?", "What else?", "Anything more?"];
    const campaign = await createCampaign("Silent network study", questions, { consentRequired: false });
    const invite = await createInvite(campaign.id, "Sid Silent");
    const ctx = await newContext({ mobile: true });
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    // The first socket goes silent on demand: nothing passes either way, and nothing closes it.
    let silent = false;
    let first = true;
    await page.routeWebSocket(/\/connect/, (ws) => {
      if (!first) return void ws.connectToServer();
      first = false;
      const server = ws.connectToServer();
      ws.onMessage((m) => !silent && server.send(m));
      server.onMessage((m) => !silent && ws.send(m));
    });
    await page.goto(invite.url);
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[0]);
    silent = true;
    const sentAt = Date.now();
    await answer(page, "An answer sent into a dead connection.");
    await page.getByText("Reconnecting…").waitFor({ timeout: 12_000 });
    figures["dead socket noticed after an answer"] = `${Date.now() - sentAt} ms`;
    await expect.poll(() => question(page).textContent(), { timeout: 20_000 }).toBe(questions[1]);
    // The browser going offline shows it at once; online reconnects without waiting for the backoff.
    await ctx.setOffline(true);
    await page.getByText("Reconnecting…").waitFor({ timeout: 3_000 });
    await page.waitForTimeout(4_000);
    await ctx.setOffline(false);
    await expect.poll(() => page.getByText("Reconnecting…").count(), { timeout: 3_000 }).toBe(0);
    await answer(page, "And one after the network came back.");
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[2]);
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    expect(await participantAnswers(sessions.data[0].id as string)).toEqual(["An answer sent into a dead connection.", "And one after the network came back."]);
    expect(errors).toEqual([]);
  }, 60_000);

  it("a shared link's session ended while the page was offline: the page says it ended and makes no new session", async () => {
    const campaign = await createCampaign("Shared link study", ["What brought you here?", "What else?"], { consentRequired: false });
    const invite = expectStatus(await api(server, "POST", `/v1/campaigns/${campaign.id}/invites`, { key, body: { maxUses: 2 } }), 201, "POST shared invite") as { url: string };
    const ctx = await newContext({ mobile: true });
    await instrumentSockets(ctx);
    const page = await ctx.newPage();
    const link = await cuttableSockets(page);
    await page.goto(invite.url);
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe("What brought you here?");
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    const sessionId = sessions.data[0].id as string;
    await link.cut();
    await page.getByText("Reconnecting…").waitFor({ timeout: 5_000 });
    expectStatus(await api(server, "POST", `/v1/sessions/${sessionId}/end`, { key }), 200, "end the session");
    // The background re-join (resumeOnly) learns the session ended: the thank-you screen, and no more reconnecting.
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 30_000 });
    expect(await page.getByText("Reconnecting…").count()).toBe(0);
    const sockets = await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length);
    await page.waitForTimeout(3_000);
    expect(await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length)).toBe(sockets);
    const after = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    expect(after.data.map((x: { id: string }) => x.id)).toEqual([sessionId]);
    // Reopening the link in this browser says it ended (no new session); the page offers a new
    // interview for the next person at this device, and a link with no places left says so.
    link.restore();
    await page.reload();
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 10_000 });
    expect(expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions").data).toHaveLength(1);
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Start the interview" }).click()]);
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe("What brought you here?");
    expect(expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions").data).toHaveLength(2);
    // On a phone, Return adds a line (there is no Shift+Enter); the button sends.
    const box = page.locator("textarea#answer");
    await box.fill("First line");
    await box.press("Enter");
    expect(await box.inputValue()).toBe("First line\n");
    const late = await (await newContext()).newPage();
    await late.goto(invite.url);
    await late.getByText("already had all the participants it allows").waitFor({ timeout: 10_000 });
  }, 90_000);

  it("the participant page keeps a half-typed answer over pauses and a reload, ignores IME Enter, caps answers, and moves focus", async () => {
    const longUrl = `https://research.example.com/very/long/path/${"segment".repeat(30)}?ref=${"x".repeat(60)}`;
    const questions = [`Have a look at ${longUrl} first: what do you see?`, "What would you change?"];
    const campaign = await createCampaign("Drafts study", questions, { consentRequired: false });
    const invite = await createInvite(campaign.id, "Dana Draft");
    const ctx = await newContext({ mobile: true });
    const page = await ctx.newPage();
    const errors = collectErrors(page);
    await page.goto(invite.url);
    // Ready screen: its button has the focus (by ref, not autofocus).
    await page.getByRole("button", { name: "Start the interview" }).waitFor({ timeout: 10_000 });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Start the interview");
    await page.getByRole("button", { name: "Start the interview" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[0]);
    // A question with a long URL wraps on a phone instead of widening the page.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    const box = page.locator("textarea#answer");
    await box.fill("half-typed answer before a break");
    // Enter that confirms an IME conversion does not send.
    await box.evaluate((el) => {
      el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", isComposing: true, bubbles: true, cancelable: true }));
      el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", keyCode: 229, bubbles: true, cancelable: true }));
    });
    await page.waitForTimeout(500);
    expect(await page.getByRole("button", { name: "Sending…" }).count()).toBe(0);
    expect(await box.inputValue()).toBe("half-typed answer before a break");

    // The participant pauses: focus lands on Resume; resuming brings the draft back.
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("heading", { name: "Interview paused" }).waitFor({ timeout: 10_000 });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Resume the interview");
    await page.getByRole("button", { name: "Resume the interview" }).click();
    await expect.poll(() => box.inputValue(), { timeout: 10_000 }).toBe("half-typed answer before a break");
    // The team pauses and resumes: the draft is still there.
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "list sessions");
    const sessionId = sessions.data[0].id as string;
    expectStatus(await api(server, "POST", `/v1/sessions/${sessionId}/pause`, { key, body: { reason: "check" } }), 200, "admin pause");
    await page.getByText("The research team has paused this interview", { exact: false }).waitFor({ timeout: 10_000 });
    expectStatus(await api(server, "POST", `/v1/sessions/${sessionId}/resume`, { key }), 200, "admin resume");
    await expect.poll(() => box.inputValue(), { timeout: 10_000 }).toBe("half-typed answer before a break");
    // And a reload.
    await page.reload();
    await expect.poll(() => question(page).textContent(), { timeout: 15_000 }).toBe(questions[0]);
    await expect.poll(() => box.inputValue(), { timeout: 5_000 }).toBe("half-typed answer before a break");

    // Answers stop at 20,000 characters, with a counter near the limit.
    await box.fill("y".repeat(20_050));
    expect((await box.inputValue()).length).toBe(20_000);
    expect(await page.locator(".char-count").textContent()).toBe("20,000 / 20,000");
    await page.getByRole("button", { name: "Send answer" }).click();
    await expect.poll(() => question(page).textContent(), { timeout: 10_000 }).toBe(questions[1]);
    expect(await box.inputValue()).toBe("");
    expect(await page.locator(".char-count").count()).toBe(0);
    // Saved drafts go once acked: a reload shows the next question with an empty box.
    await page.reload();
    await expect.poll(() => question(page).textContent(), { timeout: 15_000 }).toBe(questions[1]);
    expect(await box.inputValue()).toBe("");

    // The participant can stop part-way, after confirming; cancelling the confirmation changes nothing.
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Stop the interview" }).click();
    await page.waitForTimeout(500);
    expect(await question(page).textContent()).toBe(questions[1]);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Stop the interview" }).click();
    await page.getByRole("heading", { name: "You stopped the interview" }).waitFor({ timeout: 10_000 });
    // The page says the answers so far were kept (they were: it does not claim nothing was recorded).
    expect(await page.locator("main").textContent()).toContain("Your answers up to this point have been kept");
    const stopped = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "stopped session");
    expect(stopped).toMatchObject({ status: "abandoned", endReason: "consent_withdrawn" });
    expect(errors).toEqual([]);
    // Reopened, the used personal link answers 409 with how its session ended, and the page says so.
    await page.reload();
    await page.getByRole("heading", { name: "You stopped the interview" }).waitFor({ timeout: 15_000 });
    expect(errors.filter((e) => !e.includes("409 (Conflict)"))).toEqual([]);
  }, 90_000);

  it("a malformed link says it is not valid; a declined or left interview is not called completed", async () => {
    const ctx = await newContext({ mobile: true });
    const page = await ctx.newPage();
    await page.goto(`${server.base}/i/%E0%A4%A`);
    await page.getByRole("heading", { name: "We can't open this interview" }).waitFor({ timeout: 10_000 });
    await page.getByText("This interview link is not valid.", { exact: false }).waitFor();

    const campaign = await createCampaign("Declined study", ["What brought you here?"]);
    const invite = await createInvite(campaign.id, "Nora Nothanks");
    await page.goto(invite.url);
    await page.getByRole("button", { name: "No, thanks" }).click();
    await page.getByRole("heading", { name: "No problem" }).waitFor({ timeout: 10_000 });
    await page.reload();
    await page.getByRole("heading", { name: "No problem" }).waitFor({ timeout: 10_000 });
    expect(await page.getByText("already been completed").count()).toBe(0);
  }, 60_000);

  it("screens: campaign editor, invites, members, API keys, audit log (owner)", async () => {
    const ctx = await newContext();
    const page = await signIn(ctx, server.base, emails.owner, PASSWORD);
    const errors = collectErrors(page);

    // Create a campaign through the editor, then an invite whose link can be copied.
    await page.getByRole("link", { name: "New campaign" }).click();
    await page.locator("input[name=name]").fill("Made in the browser");
    await page.locator("textarea#q-0").fill("What is your favourite feature?");
    await page.getByRole("button", { name: "+ Add a question" }).click();
    await page.locator("textarea#q-1").fill("What would you remove?");
    await screenshot(page, "17-campaign-editor");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.waitForURL(/\/campaigns\/cmp_[a-z0-9]+\/invites$/);
    const campaignId = page.url().split("/")[4]!;
    await page.locator("[data-testid=invite-form] input[name=name]").fill("Ivy Invitee");
    await page.getByRole("button", { name: "Create invite link" }).click();
    const link = page.locator("[data-testid=invite-link] input");
    await link.waitFor();
    const inviteUrl = await link.inputValue();
    expect(inviteUrl).toMatch(new RegExp(`^${server.base}/i/`));
    await screenshot(page, "18-invites");
    const check = await api(server, "POST", "/v1/join", { body: { token: inviteUrl.split("/i/")[1] } });
    expect(check.status, "the copied link opens the interview").toBe(201);
    // A second link, revoked from the list: it no longer opens, and the row offers to reopen it.
    await page.locator("[data-testid=invite-form] input[name=name]").fill("Rex Revoked");
    await page.getByRole("button", { name: "Create invite link" }).click();
    await expect.poll(() => page.locator("[data-testid=invite-link] input").count()).toBe(2);
    const revokedUrl = await page.locator("[data-testid=invite-link] input").first().inputValue();
    const rexRow = page.locator("tr", { hasText: "Rex Revoked" });
    page.once("dialog", (d) => void d.accept());
    await rexRow.getByRole("button", { name: "Revoke" }).click();
    await rexRow.getByRole("button", { name: "Reopen for 30 days" }).waitFor();
    const refused = await api(server, "POST", "/v1/join", { body: { token: revokedUrl.split("/i/")[1] } });
    expect(refused.status, "a revoked link opens nothing").toBe(410);

    // Editing the questions makes a new script version.
    await page.getByRole("link", { name: "Questions & settings" }).click();
    await page.locator("textarea#q-1").fill("What would you remove first?");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved as script version 2.").waitFor();
    const edited = expectStatus(await api(server, "GET", `/v1/campaigns/${campaignId}`, { key }), 200, "get campaign");
    expect(edited.scriptVersion).toBe(2);

    // Members and roles.
    await page.goto(`${server.base}/settings/members`);
    await page.locator("table[data-testid=members]").getByText(emails.analyst).waitFor();
    await page.getByRole("button", { name: "Add member" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.locator("input").nth(0).fill("Nora New");
    await dialog.locator("input[type=email]").fill(`nora-${Date.now()}@browser.example`);
    await dialog.locator("select").selectOption("viewer");
    await dialog.locator("input[type=password]").fill(PASSWORD);
    await dialog.getByRole("button", { name: "Add member" }).click();
    await page.locator("table[data-testid=members]").getByRole("cell", { name: "Nora New", exact: true }).waitFor();
    await screenshot(page, "19-members");

    // API keys: the secret is shown once.
    await page.goto(`${server.base}/settings/api-keys`);
    await page.locator("[data-testid=key-form] input").fill("Warehouse sync");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = await page.locator("[data-testid=new-key] input").inputValue();
    expect(secret).toMatch(/^irk_/);
    expect((await api(server, "GET", "/v1/campaigns", { key: secret })).status).toBe(200);
    await screenshot(page, "20-api-keys");
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.locator("body").textContent()).not.toContain(secret);

    // Audit log with a filter in the URL.
    await page.goto(`${server.base}/settings/audit?action=transcript.read`);
    await page.locator("table[data-testid=audit] tbody tr").first().waitFor({ timeout: 15_000 });
    const actions = await page.locator("table[data-testid=audit] tbody tr td:nth-child(3)").allTextContents();
    expect(new Set(actions)).toEqual(new Set(["transcript.read"]));
    await screenshot(page, "21-audit-log");
    expect(errors).toEqual([]);
  }, 120_000);
});
