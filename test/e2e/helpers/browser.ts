// Browser side of the end-to-end suite: Debian's Chromium driven by playwright-core, sign-in as a
// member, direct D1 seeding for large lists, and screenshots kept outside the repository.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { nodeBinary, ROOT, type TestServer } from "./server";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Screenshots go here, never into the repository. */
export const SCREEN_DIR = process.env.SCREENSHOT_DIR ?? join(tmpdir(), "screens");

/** `extraArgs`: e.g. the fake microphone flags of the voice tests. */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREEN_DIR, { recursive: true });
  const path = join(SCREEN_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: opts.fullPage ?? false });
  return path;
}

/** Console errors and uncaught exceptions of a page (CSP violations land here too). */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${String(e)}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    // Expected: the dashboard asks /v1/auth/me before sign-in, and a dropped socket logs its failure.
    if (/401 \(Unauthorized\)|WebSocket connection to .* failed|ERR_INTERNET_DISCONNECTED/.test(text)) return;
    errors.push(text);
  });
  return errors;
}

/** Signs a member in through the dashboard's sign-in screen; resolves on the campaigns screen. */
export async function signIn(context: BrowserContext, base: string, email: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/signin`);
  await page.locator("input[name=email]").fill(email);
  await page.locator("input[name=password]").fill(password);
  await page.locator("button[type=submit]").click();
  await page.waitForURL((u) => u.pathname === "/campaigns", { timeout: 15_000 });
  await page.locator("[data-testid=role]").waitFor({ timeout: 15_000 });
  return page;
}

/**
 * Records every WebSocket a page opens in `window.__sockets`, so a test can drop one the way a
 * network would. Test-only instrumentation, added before the page's own scripts run.
 */
export async function instrumentSockets(context: BrowserContext) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const w = window as unknown as { __sockets: WebSocket[] };
    w.__sockets = [];
    class Recorded extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        w.__sockets.push(this);
      }
    }
    window.WebSocket = Recorded;
  });
}

/** Records when the first <h1> appears (ms after navigation start) in `window.__firstH1`. */
export async function recordFirstHeading(context: BrowserContext) {
  await context.addInitScript(() => {
    const w = window as unknown as { __firstH1?: number; __firstH1Text?: string };
    const check = () => {
      const h = document.querySelector("main h1, h1");
      if (h && w.__firstH1 === undefined) {
        w.__firstH1 = performance.now();
        w.__firstH1Text = h.textContent ?? "";
        return true;
      }
      return false;
    };
    new MutationObserver((_m, obs) => check() && obs.disconnect()).observe(document, { childList: true, subtree: true });
  });
}

/** Runs SQL against the running server's local D1 (same persistence directory) with wrangler. */
export async function d1Execute(server: TestServer, sql: string, timeoutMs = 90_000): Promise<string> {
  if (!server.persistTo) throw new Error("startServer() must return persistTo (the --persist-to directory) for D1 seeding");
  const dir = await mkdtemp(join(tmpdir(), "interviewrelay-sql-"));
  const file = join(dir, "seed.sql");
  await writeFile(file, sql);
  const node = nodeBinary();
  const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  try {
    return await new Promise<string>((resolveRun, reject) => {
      const child = spawn(node, [wrangler, "d1", "execute", "DB", "--local", "--persist-to", server.persistTo, "--file", file, "--yes"], {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${dirname(node)}:${process.env.PATH ?? ""}`,
          WRANGLER_SEND_METRICS: "false",
          WRANGLER_SEND_ERROR_REPORTS: "false",
          WRANGLER_HIDE_BANNER: "true",
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          WRANGLER_LOG_PATH: join(dir, "logs"),
          NO_COLOR: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`wrangler d1 execute did not finish within ${timeoutMs} ms:\n${out.slice(-4000)}`));
      }, timeoutMs);
      child.on("error", (err) => (clearTimeout(timer), reject(err)));
      child.on("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolveRun(out);
        else reject(new Error(`wrangler d1 execute failed (exit ${code}):\n${out.slice(-4000)}`));
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

const sqlString = (v: string | null) => (v === null ? "NULL" : `'${v.replace(/'/g, "''")}'`);
const sqlValue = (v: string | number | null) => (typeof v === "number" ? String(v) : sqlString(v));

export interface SeedSession {
  id: string;
  status: "created" | "in_progress" | "paused" | "completed" | "abandoned";
  createdAt: number;
  startedAt: number | null;
  duration: number;
  completion: number;
  questionsAnswered: number;
  totalQuestions: number;
  language: string | null;
  flagged: boolean;
  sentiment: "positive" | "neutral" | "negative" | null;
  participantName: string;
  participantEmail: string;
}

/** INSERT statements for session index rows (what the session objects mirror into D1). */
export function sessionRowsSql(orgId: string, campaignId: string, rows: SeedSession[]): string {
  const cols =
    "id, org_id, campaign_id, invite_id, script_version, status, created_at, started_at, completed_at, duration, questions_answered, total_questions, completion, language, device, consent_required, consent_granted, consent_at, flagged, flag_reason, sentiment, end_reason, last_question_index, paused_reason, paused_by, participant_email, participant_name, deadline_at, mirror_version, updated_at";
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += 200) {
    const values = rows.slice(i, i + 200).map((r) => {
      const terminal = r.status === "completed" || r.status === "abandoned";
      const v: (string | number | null)[] = [
        r.id,
        orgId,
        campaignId,
        `inv_${r.id.slice(4)}`,
        1,
        r.status,
        r.createdAt,
        r.startedAt,
        r.status === "completed" ? (r.startedAt ?? r.createdAt) + r.duration * 1000 : null,
        r.duration,
        r.questionsAnswered,
        r.totalQuestions,
        r.completion,
        r.language,
        JSON.stringify({ browser: "Chrome", os: "Linux", deviceType: "desktop" }),
        1,
        r.status === "created" ? null : 1,
        r.startedAt,
        r.flagged ? 1 : 0,
        r.flagged ? "seeded flag" : null,
        r.sentiment,
        terminal ? (r.status === "completed" ? "finished" : "heartbeat_timeout") : null,
        r.startedAt === null ? null : Math.min(r.questionsAnswered, r.totalQuestions - 1),
        r.status === "paused" ? "seeded pause" : null,
        r.status === "paused" ? "participant" : null,
        r.participantEmail,
        r.participantName,
        null,
        1,
        r.createdAt,
      ];
      return `(${v.map(sqlValue).join(", ")})`;
    });
    out.push(`INSERT INTO sessions (${cols}) VALUES\n${values.join(",\n")};`);
  }
  return out.join("\n");
}
