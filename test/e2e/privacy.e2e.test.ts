// The data lifecycle against the real local server: the PDF export read back with pdftotext
// (poppler-utils), and Settings → Privacy in Chromium — the retention table with what is deleted
// next, an owner erasing a participant and reading the receipt, an admin seeing retention without
// the deletion flow. Screenshots go to SCREENSHOT_DIR (default: the OS temp dir's screens/).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, launchBrowser, screenshot, signIn } from "./helpers/browser";
import { api, eventually, expectStatus, Socket, startServer, type TestServer, orgWithMember } from "./helpers/server";

const PASSWORD = "correct horse battery staple";
let server: TestServer;
let browser: Browser;
let key: string;
const emails = { owner: "", admin: "" };
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ vars: { RATE_LIMIT_LOGIN_PER_MINUTE: "200", RATE_LIMIT_JOIN_PER_MINUTE: "200" } }), launchBrowser()]);
  const seeded = await orgWithMember(server, { name: "Privacy Research", plan: "starter", domain: "privacy.example", password: PASSWORD, member: { role: "admin", name: "Adam Admin" } });
  key = seeded.key;
  emails.owner = seeded.ownerEmail;
  emails.admin = seeded.memberEmail;
}, 180_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

async function newContext() {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  contexts.push(ctx);
  return ctx;
}

async function campaign(name: string) {
  return expectStatus(
    await api(server, "POST", "/v1/campaigns", { key, body: { name, questions: [{ text: "What brought you to us?" }, { text: "What should we change first?" }], settings: { consentRequired: true, consentText: "This interview is recorded." } } }),
    201,
    "POST /v1/campaigns",
  ) as { id: string };
}

/** A whole text interview over the participant socket; returns the session id. */
async function interview(campaignId: string, email: string, answers: [string, string]) {
  const invite = expectStatus(await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { email, name: "Pat Participant" } } }), 201, "invite");
  const joined = expectStatus(await api(server, "POST", "/v1/join", { body: { token: invite.token } }), 201, "join");
  const p = await Socket.open(`${server.wsBase}/v1/sessions/${joined.sessionId}/connect?token=${encodeURIComponent(joined.participantToken)}`, "participant");
  p.send({ type: "hello" });
  await p.next((f) => f.type === "state", "state");
  p.send({ type: "consent", granted: true });
  p.send({ type: "start" });
  for (let i = 0; i < 2; i++) {
    const from = p.received.length;
    await p.next((f) => f.type === "question" && f.index === i, `question ${i}`, { timeoutMs: 10_000 });
    p.send({ type: "answer", id: `a${i}`, text: answers[i] });
    await p.next((f) => f.type === "ack" && f.id === `a${i}`, `ack ${i}`, { from });
  }
  await p.next((f) => f.type === "ended", "the end", { timeoutMs: 10_000 });
  p.ws.close();
  await eventually(async () => (await api(server, "GET", `/v1/sessions/${joined.sessionId}`, { key })).json?.status === "completed", "the session listed as completed", 10_000);
  return joined.sessionId as string;
}

describe("the PDF export, read by pdftotext", () => {
  it("carries the title, the session's metadata and the transcript with speakers", async () => {
    const c = await campaign("Checkout feedback study");
    const id = await interview(c.id, "pdf.reader@e2e.example", ["A friend recommended the pricing page.", "Make the invoices easier to download."]);
    const res = await fetch(`${server.base}/v1/sessions/${id}/export?format=pdf`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/pdf");
    const dir = mkdtempSync(join(tmpdir(), "pdf-"));
    const file = join(dir, `${id}.pdf`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
    const info = execFileSync("pdfinfo", [file], { encoding: "utf8" });
    expect(info).toMatch(/Pages:\s+[1-9]/);
    expect(text).toContain("Checkout feedback study");
    expect(text).toContain(`Session ${id}`);
    expect(text).toMatch(/Status\s+completed/i);
    for (const heading of ["Session", "Insights", "Transcript"]) expect(text).toContain(heading);
    for (const line of ["What brought you to us?", "A friend recommended the pricing page.", "What should we change first?", "Make the invoices easier to download."]) expect(text).toContain(line);
    // The transcript keeps the interview's order.
    expect(text.indexOf("A friend recommended")).toBeLessThan(text.indexOf("What should we change first?"));
  }, 60_000);

  it("draws answers in Japanese, Malayalam and Arabic with the fonts the Worker serves from its assets", async () => {
    const c = await campaign("多言語の調査");
    // Malayalam: fontkit threw on its face's NULL mark anchors, which failed the whole export.
    const answers: [string, string] = ["友人に料金ページを勧められました。 ബില്ല് കണ്ടെത്താൻ പ്രയാസം", "اجعلوا تنزيل الفواتير أسهل"];
    const id = await interview(c.id, "pdf.world@e2e.example", answers);
    const res = await fetch(`${server.base}/v1/sessions/${id}/export?format=pdf`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), "pdf-")), `${id}.pdf`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
    const fonts = execFileSync("pdffonts", [file], { encoding: "utf8" });
    expect(text).toContain("多言語の調査");
    expect(text.replace(/\s+/g, "")).toContain("友人に料金ページを勧められました。");
    // Noto Arabic draws several letters as one dotless shape plus dots, so a PDF's text layer (one
    // character per glyph) reads some of them back as their look-alikes: the page itself is right
    // (test/unit/pdf-export.test.ts checks every word has ink and Arabic lines sit right-aligned).
    expect(text).toContain("اجعلوا");
    expect(text).not.toContain("???");
    expect(fonts).toMatch(/NotoSans(SC|JP)-Regular/);
    expect(fonts).toMatch(/NotoSansArabic-Regular/);
    expect(fonts).toMatch(/NotoSansMalayalam-Regular/);
  }, 60_000);
});

describe("Settings → Privacy", () => {
  it("shows the retention in force and what is deleted next; an owner erases a participant and gets the receipt", async () => {
    const c = await campaign("Onboarding interviews");
    const erased = [
      await interview(c.id, "erase.me@e2e.example", ["I signed up for the reports.", "Nothing, it was fine."]),
      await interview(c.id, "erase.me@e2e.example", ["Second visit, still here.", "Faster exports please."]),
    ];
    const kept = await interview(c.id, "stay@e2e.example", ["I came for the API.", "More webhooks."]);
    // The campaign keeps transcripts 10 days: the screen shows them as the next deletion.
    expectStatus(await api(server, "PATCH", `/v1/campaigns/${c.id}/retention`, { key, body: { transcripts: 10 } }), 200, "PATCH retention");

    const ctx = await newContext();
    const page = await signIn(ctx, server.base, emails.owner, PASSWORD);
    const errors = collectErrors(page);
    await page.locator("a[href='/settings']").first().click();
    await page.locator("a[href='/settings/privacy']").click();
    await page.waitForURL((u) => u.pathname === "/settings/privacy");
    const table = page.locator("[data-testid=retention-table]");
    await table.waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator("[data-testid=in-force-audio]").textContent()).toBe("30 days");
    expect(await page.locator("[data-testid=in-force-metadata]").textContent()).toBe("1 year");
    expect(await table.locator("th").allTextContents()).toContain("Starter (yours)");
    expect(await page.locator("[data-testid=next-transcripts]").textContent()).toMatch(/3 sessions within 30 days/);
    expect(await page.locator("[data-testid=retention-next]").textContent()).toMatch(/transcripts and notes of 3 sessions/);
    expect(await page.locator("[data-testid=campaign-overrides]").textContent()).toContain("Onboarding interviews: transcripts and notes 10 days");
    await screenshot(page, "privacy-retention", { fullPage: true });

    await page.locator("input[name=email]").fill("erase.me@e2e.example");
    await page.locator("[data-testid=deletion] button[type=submit]").click();
    await expect.poll(() => page.locator("[data-testid=deletion-found]").textContent(), { timeout: 10_000 }).toMatch(/2 sessions for erase\.me@e2e\.example/);
    await page.getByRole("button", { name: "Delete permanently…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.locator("input").fill("DELETE");
    await screenshot(page, "privacy-confirm");
    await dialog.getByRole("button", { name: "Delete permanently" }).click();
    const receipt = page.locator("[data-testid=deletion-receipt]");
    await receipt.waitFor({ timeout: 15_000 });
    expect(await page.locator("[data-testid=receipt-sessions]").textContent()).toBe("2");
    expect(await receipt.textContent()).toContain("all of the participant's data");
    await screenshot(page, "privacy-receipt", { fullPage: true });
    for (const id of erased) expect((await api(server, "GET", `/v1/sessions/${id}`, { key })).status).toBe(404);
    expect((await api(server, "GET", `/v1/sessions/${kept}`, { key })).status).toBe(200);
    // The retention summary follows: one session left to be due.
    await expect.poll(() => page.locator("[data-testid=next-transcripts]").textContent(), { timeout: 10_000 }).toMatch(/1 session within 30 days/);
    // The session page shows when each kind of its data goes: transcripts after the campaign's 10 days.
    await page.goto(`${server.base}/sessions/${kept}`);
    const panel = page.locator("[data-testid=session-retention]");
    await panel.waitFor({ timeout: 10_000 });
    const ended = (await api(server, "GET", `/v1/sessions/${kept}`, { key })).json.completedAt as string;
    const due = new Date(Date.parse(ended) + 10 * 86_400_000).toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric" });
    expect(await panel.locator("[data-type=transcripts]").textContent()).toContain(`deleted on`);
    expect(await panel.locator("[data-type=transcripts]").textContent()).toContain(due.split(",")[0]!);
    await screenshot(page, "privacy-session-retention");
    expect(errors).toEqual([]);
  }, 120_000);

  it("an admin sees the retention but not the deletion flow", async () => {
    const ctx = await newContext();
    const page = await signIn(ctx, server.base, emails.admin, PASSWORD);
    await page.goto(`${server.base}/settings/privacy`);
    await page.locator("[data-testid=retention-table]").waitFor({ timeout: 10_000 });
    await page.locator("[data-testid=deletion-owner-only]").waitFor();
    expect(await page.locator("[data-testid=deletion] input[name=email]").count()).toBe(0);
    await screenshot(page, "privacy-admin");

    // On a campaign's settings an admin shortens its audio retention; longer than the org's is refused.
    const c = await campaign("Retention by campaign");
    await page.goto(`${server.base}/campaigns/${c.id}/settings`);
    const panel = page.locator("[data-testid=campaign-retention]");
    await panel.waitFor({ timeout: 10_000 });
    await panel.locator("input[name=retention-audio]").fill("45");
    await panel.getByRole("button", { name: "Save retention" }).click();
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain("at most 30 days");
    expect((await api(server, "GET", `/v1/campaigns/${c.id}/retention`, { key })).json.retention).toEqual({});
    await panel.locator("input[name=retention-audio]").fill("5");
    await panel.getByRole("button", { name: "Save retention" }).click();
    await eventually(async () => (await api(server, "GET", `/v1/campaigns/${c.id}/retention`, { key })).json.retention.audio === 5, "the campaign's audio retention saved", 10_000);
    await screenshot(page, "privacy-campaign-retention", { fullPage: true });
  }, 60_000);
});
