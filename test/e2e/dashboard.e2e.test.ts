// The dashboard's editing, export, webhook and access-change flows in a real browser (Chromium via
// playwright-core) against the real local server: clearing a campaign's language and consent text
// sticks; an owner downloads a session as PDF, CSV and JSON, the list as CSV and a bulk export,
// while an analyst sees none of it; the bell counts the ready export as unread and its panel links
// the download; an owner adds a webhook (its secret shown once), tests and
// deletes it, and edits the org; a member whose role changes while a live page is open is sent to
// sign in (not "Reconnecting…" forever) and finds the note they were typing. Screenshots go to
// SCREEN_DIR.
import { readFile } from "node:fs/promises";
import type { Browser, BrowserContext, Download, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, launchBrowser, screenshot, SCREEN_DIR, signIn } from "./helpers/browser";
import { api, eventually, expectStatus, startServer, type TestServer, orgWithMember, answerOverSocket } from "./helpers/server";

const PASSWORD = "correct horse battery staple";
let server: TestServer;
let browser: Browser;
let key: string;
const emails = { owner: "", analyst: "" };
let analystId = "";
const contexts: BrowserContext[] = [];
let campaignId = "";
let sessionId = "";

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ vars: { RATE_LIMIT_LOGIN_PER_MINUTE: "200", RATE_LIMIT_JOIN_PER_MINUTE: "200", WEBHOOK_DNS_CHECK: "off", HEARTBEAT_TIMEOUT_SECONDS: "600" } }),
    launchBrowser(),
  ]);
  const seeded = await orgWithMember(server, { name: "Dashboard Research", plan: "professional", domain: "dashboard.example", password: PASSWORD, member: { role: "analyst", name: "Andy Analyst" } });
  key = seeded.key;
  emails.owner = seeded.ownerEmail;
  emails.analyst = seeded.memberEmail;
  analystId = seeded.memberId;
  const c = expectStatus(
    await api(server, "POST", "/v1/campaigns", {
      key,
      body: { name: "Export study", questions: [{ text: "What do you like about the product?" }, { text: "What should we change first?" }], settings: { consentRequired: false } },
    }),
    201,
    "POST /v1/campaigns",
  );
  campaignId = c.id;
  sessionId = await interview(["The export is fast and reliable.", "Make the invoices easier to download."]);
}, 240_000);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  console.log(`\nscreenshots: ${SCREEN_DIR}\n`);
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

async function interview(answers: string[]): Promise<string> {
  const invite = expectStatus(await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { name: "Pat Participant", email: "pat@dashboard.example" } } }), 201, "invite");
  const { sessionId, socket: p } = await answerOverSocket(server, invite.token, answers);
  await p.next((f) => f.type === "ended", "ended", { timeoutMs: 15_000 });
  p.close();
  return sessionId;
}

async function open(email: string): Promise<{ page: Page; errors: string[]; ctx: BrowserContext }> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  contexts.push(ctx);
  const page = await signIn(ctx, server.base, email, PASSWORD);
  return { page, errors: collectErrors(page), ctx };
}

async function downloaded(page: Page, click: () => Promise<unknown>): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), click()]);
  const path = await download.path();
  return { download, bytes: await readFile(path!) };
}

describe("dashboard: campaign editor, exports, webhooks and access changes", () => {
  it("clearing a campaign's language and consent text sticks after a reload", async () => {
    const c = expectStatus(
      await api(server, "POST", "/v1/campaigns", {
        key,
        body: { name: "Language study", questions: [{ text: "How was your week?" }], settings: { consentRequired: true, consentText: "Custom consent wording", language: "de" } },
      }),
      201,
      "POST /v1/campaigns",
    );
    const { page, errors } = await open(emails.owner);
    await page.goto(`${server.base}/campaigns/${c.id}/settings`);
    const language = page.locator("input[name=language]");
    const consent = page.locator("textarea[name=consentText]");
    await expect.poll(() => language.inputValue(), { timeout: 15_000 }).toBe("de");
    expect(await consent.inputValue()).toBe("Custom consent wording");
    await language.fill("");
    await consent.fill("");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.").waitFor({ timeout: 15_000 });

    const after = expectStatus(await api(server, "GET", `/v1/campaigns/${c.id}`, { key }), 200, "GET campaign");
    expect(after.settings.language ?? null).toBeNull();
    expect(after.settings.consentText ?? null).toBeNull();
    await page.reload();
    await page.locator("input[name=language]").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Save changes" }).waitFor();
    expect(await page.locator("input[name=language]").inputValue()).toBe("");
    expect(await page.locator("textarea[name=consentText]").inputValue()).toBe("");

    // An emptied name says why the form cannot be saved.
    await page.locator("input[name=name]").fill("  ");
    await expect.poll(() => page.getByTestId("form-hint").textContent()).toContain("name");
    expect(await page.getByRole("button", { name: "Save changes" }).isDisabled()).toBe(true);
    await screenshot(page, "dash-01-editor-cleared", { fullPage: true });

    // A campaign that does not exist says so, and no socket retries it.
    await page.goto(`${server.base}/campaigns/cmp_doesnotexist00/sessions`);
    await page.getByTestId("campaign-not-found").waitFor({ timeout: 15_000 });
    expect(await page.locator("h1").textContent()).toContain("Campaign not found");
    expect(await page.getByText("Reconnecting…").count()).toBe(0);
    await screenshot(page, "dash-02-campaign-not-found");
    expect(errors.filter((e) => !/404/.test(e))).toEqual([]);
  });

  it("an owner downloads a session as PDF, CSV and JSON, the list as CSV and a bulk export; an analyst has no export controls", async () => {
    const { page, errors } = await open(emails.owner);
    await page.goto(`${server.base}/sessions/${sessionId}`);
    await page.getByTestId("session-export").waitFor({ timeout: 15_000 });
    await screenshot(page, "dash-03-session-export", { fullPage: true });

    const pdf = await downloaded(page, () => page.getByTestId("export-pdf").click());
    expect(pdf.download.suggestedFilename()).toBe(`${sessionId}.pdf`);
    expect(pdf.bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const csv = await downloaded(page, () => page.getByTestId("export-csv").click());
    expect(csv.download.suggestedFilename()).toBe(`${sessionId}-transcript.csv`);
    expect(csv.bytes.toString("utf8")).toContain("Make the invoices easier to download.");
    const json = await downloaded(page, () => page.getByTestId("export-json").click());
    expect(json.download.suggestedFilename()).toBe(`${sessionId}.json`);
    const doc = JSON.parse(json.bytes.toString("utf8"));
    expect(JSON.stringify(doc)).toContain("The export is fast and reliable.");

    // The session list: the current filters as CSV, and a bulk export whose link appears when ready.
    await page.goto(`${server.base}/campaigns/${campaignId}/sessions?status=completed`);
    await page.locator(`tr[data-session="${sessionId}"]`).waitFor({ timeout: 15_000 });
    const list = await downloaded(page, () => page.getByTestId("download-csv").click());
    // One byte order mark, at the start (each page the dashboard joined carried one in its header line).
    expect(list.bytes.toString("utf8").indexOf("\uFEFF")).toBe(0);
    expect(list.bytes.toString("utf8").lastIndexOf("\uFEFF")).toBe(0);
    const lines = list.bytes.toString("utf8").trim().split(/\r?\n/);
    expect(lines.length).toBe(2); // header + the one completed session
    expect(lines[1]).toContain(sessionId);
    await page.getByTestId("bulk-export").click();
    await page.getByTestId("bulk-export-form").waitFor();
    // A typed campaign has no recordings to export.
    expect(await page.locator("input[name=bulk-format][value=audio]").isDisabled()).toBe(true);
    expect(await page.locator("input[name=bulk-format][value=json]").isChecked()).toBe(true);
    await screenshot(page, "dash-04-bulk-export-form");
    await page.getByRole("button", { name: "Start export" }).click();
    const link = page.getByTestId("bulk-export-download");
    await link.waitFor({ timeout: 60_000 });
    await screenshot(page, "dash-05-bulk-export-ready");
    const href = (await link.getAttribute("href"))!;
    const zip = await fetch(href.startsWith("http") ? href : `${server.base}${href}`);
    expect(zip.status).toBe(200);
    expect(Buffer.from(await zip.arrayBuffer()).subarray(0, 2).toString("latin1")).toBe("PK");
    await page.keyboard.press("Escape");

    // The owner's privacy screen: a participant's data as JSON (right of access).
    await page.goto(`${server.base}/settings/privacy`);
    await page.locator("input[name=access-email]").fill("pat@dashboard.example");
    const access = await downloaded(page, () => page.getByTestId("access-json").click());
    const accessDoc = JSON.parse(access.bytes.toString("utf8"));
    expect(accessDoc.sessions.length).toBe(1);
    await screenshot(page, "dash-06-privacy-access", { fullPage: true });
    expect(errors).toEqual([]);

    // The analyst reads the same session but has no export control anywhere.
    const analyst = await open(emails.analyst);
    await analyst.page.goto(`${server.base}/sessions/${sessionId}`);
    await analyst.page.getByTestId("transcript").waitFor({ timeout: 15_000 });
    await analyst.page.getByTestId("notes").waitFor();
    expect(await analyst.page.locator("[data-testid=session-export], [data-testid^=export-]").count()).toBe(0);
    await analyst.page.goto(`${server.base}/campaigns/${campaignId}/sessions`);
    await analyst.page.locator(`tr[data-session="${sessionId}"]`).waitFor({ timeout: 15_000 });
    expect(await analyst.page.locator("[data-testid=download-csv], [data-testid=bulk-export]").count()).toBe(0);
    expect(analyst.errors).toEqual([]);
  });

  it("the bell counts a ready bulk export as unread, its panel links the download, and opening it clears the count", async () => {
    const { page, errors } = await open(emails.owner);
    const bell = page.getByTestId("notif-bell");
    const panel = page.getByTestId("notif-panel");
    await bell.waitFor({ timeout: 15_000 });
    // Whatever the owner already has (an earlier test's export) is marked seen by opening the panel once;
    // focus moves into it, and Escape closes it and gives focus back to the bell.
    await bell.click();
    await panel.locator(".notif-list, .notif-empty:not([role=status])").first().waitFor({ timeout: 15_000 });
    expect(await bell.getAttribute("aria-expanded")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("notif-panel");
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    expect(await bell.getAttribute("aria-expanded")).toBe("false");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("notif-bell");
    expect(await bell.getAttribute("data-unread")).toBe("0");
    expect(await page.getByTestId("notif-count").count()).toBe(0);

    await page.goto(`${server.base}/campaigns/${campaignId}/sessions?status=completed`);
    await page.locator(`tr[data-session="${sessionId}"]`).waitFor({ timeout: 15_000 });
    await page.getByTestId("bulk-export").click();
    await page.getByRole("button", { name: "Start export" }).click();
    await page.getByTestId("bulk-export-download").waitFor({ timeout: 60_000 });
    await page.keyboard.press("Escape");
    // The bell polls every 30 s while the tab is visible and at once when the window gains focus.
    await eventually(
      async () => (await page.getByTestId("notif-count").textContent().catch(() => null)) === "1" || (await page.evaluate(() => window.dispatchEvent(new Event("focus"))), false),
      "the bell's badge to count 1 unread",
      40_000,
      4_000,
    );
    expect(await bell.getAttribute("aria-label")).toBe("Notifications, 1 unread");
    await screenshot(page, "dash-06a-notifications-badge");

    await bell.click();
    const item = panel.locator("li.notif-item").first();
    await item.waitFor({ timeout: 15_000 });
    expect(await item.getAttribute("data-kind")).toBe("export.ready");
    expect(await item.getAttribute("class")).toContain("new");
    expect((await item.textContent())!.toLowerCase()).toContain("export");
    expect(await item.textContent()).toContain("Link expires");
    const href = (await item.getByTestId("notif-download").getAttribute("href"))!;
    const zip = await fetch(href.startsWith("http") ? href : `${server.base}${href}`);
    expect(zip.status).toBe(200);
    expect(Buffer.from(await zip.arrayBuffer()).subarray(0, 2).toString("latin1")).toBe("PK");
    await eventually(async () => (await page.getByTestId("notif-count").count()) === 0, "the badge to clear once the panel is open", 5_000);
    expect(await bell.getAttribute("aria-label")).toBe("Notifications");
    await screenshot(page, "dash-06b-notifications-open");

    // A click outside closes the panel; the count stays cleared after a reload (kept per member).
    await page.mouse.click(1100, 700);
    await panel.waitFor({ state: "detached" });
    const listed = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/notifications" && r.ok(), { timeout: 15_000 });
    await page.reload();
    await listed;
    await bell.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("notif-count").count()).toBe(0);
    expect(errors).toEqual([]);
  }, 150_000);

  it("an owner adds a webhook and sees its secret once, sends a test, deletes it, and edits the org", async () => {
    const { page, errors } = await open(emails.owner);
    await page.goto(`${server.base}/settings/webhooks`);
    await page.getByTestId("webhook-form").waitFor({ timeout: 15_000 });
    await page.locator("input[name=webhook-url]").fill("https://example.com/hook");
    await page.locator("input[name=event][value='session.started']").check();
    await page.getByRole("button", { name: "Add webhook" }).click();
    const secretBox = page.getByTestId("webhook-secret");
    await secretBox.waitFor({ timeout: 15_000 });
    const secret = await secretBox.locator("input").inputValue();
    expect(secret).toMatch(/^whsec_/);
    await screenshot(page, "dash-07-webhook-secret", { fullPage: true });
    const hooks = expectStatus(await api(server, "GET", "/v1/webhooks", { key }), 200, "GET /v1/webhooks");
    expect(hooks.data.map((w: any) => [w.url, [...w.events].sort()])).toEqual([["https://example.com/hook", ["analysis.ready", "session.completed", "session.started"]]]);
    expect(JSON.stringify(hooks)).not.toContain(secret);

    // After a reload the secret is gone for good; the webhook is listed.
    await page.reload();
    const row = page.locator(`tr[data-webhook="${hooks.data[0].id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("webhook-secret").count()).toBe(0);
    expect(await page.content()).not.toContain(secret);

    // A test event shows up in the delivery log.
    await row.getByRole("button", { name: "Send test" }).click();
    const log = page.getByTestId("deliveries");
    await log.waitFor({ timeout: 15_000 });
    await eventually(async () => (await log.getByText("webhook.test").count()) > 0 || (await log.getByRole("button", { name: "Refresh" }).click(), false), "the test delivery in the log", 15_000, 1000);
    await screenshot(page, "dash-08-webhook-deliveries", { fullPage: true });

    // A private or non-https URL is refused with the server's reason.
    await page.locator("input[name=webhook-url]").fill("https://127.0.0.1/hook");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.locator(".form-error").waitFor({ timeout: 15_000 });

    await row.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete webhook" }).click();
    await eventually(async () => (await row.count()) === 0, "the deleted webhook to leave the list", 10_000);
    expect(expectStatus(await api(server, "GET", "/v1/webhooks", { key }), 200, "GET /v1/webhooks").data).toEqual([]);

    // Organisation: the plan is shown; custom retention is an Enterprise feature.
    await page.goto(`${server.base}/settings/org`);
    await page.getByTestId("org-plan").waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("org-plan").textContent()).toBe("Professional");
    expect(await page.getByTestId("retention-form").count()).toBe(0);
    await page.locator("input[name=org-name]").fill("Dashboard Research Lab");
    await page.getByRole("button", { name: "Save name" }).click();
    await eventually(async () => (await api(server, "GET", "/v1/org", { key })).json?.name === "Dashboard Research Lab", "the org's new name", 10_000);
    await screenshot(page, "dash-09-org", { fullPage: true });
    expect(await page.content()).toContain("Custom retention is available on the Enterprise plan");

    // On Enterprise the owner sets custom days, and can go back to the plan's values.
    expectStatus(await api(server, "PATCH", "/v1/org", { key, body: { plan: "enterprise" } }), 200, "PATCH /v1/org plan");
    await page.reload();
    await page.getByTestId("retention-form").waitFor({ timeout: 15_000 });
    await page.locator("input[name=retention-audio]").fill("45");
    await page.getByRole("button", { name: "Save retention" }).click();
    await eventually(async () => (await api(server, "GET", "/v1/org", { key })).json?.retention?.audio === 45, "audio kept 45 days", 10_000);
    await screenshot(page, "dash-10-org-enterprise", { fullPage: true });
    await page.getByRole("button", { name: "Use the plan's values" }).click();
    await eventually(async () => (await api(server, "GET", "/v1/org", { key })).json?.retentionCustom === null, "custom retention cleared", 10_000);
    expect(errors.filter((e) => !/400 \(Bad Request\)/.test(e))).toEqual([]);
  });

  it("a member whose role changes while watching a live session is sent to sign in, and keeps the note being typed", async () => {
    const invite = expectStatus(await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { name: "Lee Live" } } }), 201, "invite");
    const j = expectStatus(await api(server, "POST", "/v1/join", { body: { token: invite.token } }), 201, "join");
    const { page } = await open(emails.analyst);
    await page.goto(`${server.base}/sessions/${j.sessionId}`);
    await page.locator(".badge.live-ok").waitFor({ timeout: 15_000 });
    await page.locator("#note-text").fill("Follow up on the pricing remark");

    expectStatus(await api(server, "PATCH", `/v1/members/${analystId}`, { key, body: { role: "admin" } }), 200, "PATCH member role");
    // The live socket is closed with 4403; the page checks the sign-in and shows the sign-in screen.
    await page.locator("input[name=password]").waitFor({ timeout: 15_000 });
    expect(await page.getByText("Reconnecting…").count()).toBe(0);
    await screenshot(page, "dash-11-access-ended");

    await page.locator("input[name=email]").fill(emails.analyst);
    await page.locator("input[name=password]").fill(PASSWORD);
    await page.locator("button[type=submit]").click();
    await page.getByTestId("session-page").waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).pathname).toBe(`/sessions/${j.sessionId}`);
    expect(await page.locator("#note-text").inputValue()).toBe("Follow up on the pricing remark");
    expect(await page.getByTestId("role").textContent()).toBe("Admin");
  });
});
