// Voice interviews in a real browser: Chromium with a fake microphone that "speaks" a WAV made by
// espeak-ng, against the real local server (wrangler dev). A participant answers aloud from join to
// completion (with a dropped connection mid-answer), the owner downloads the recording and plays it
// in the dashboard (speed, skip to answer, transcript highlighting), an analyst gets no player, and
// a participant whose microphone is refused completes the interview by typing; a silent microphone
// gets "we didn't hear anything" before its answer is sent, and a long answer is warned and cut off.
// Screenshots go to SCREENSHOT_DIR (default: the OS temp dir's screens-voice/).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, instrumentSockets, launchBrowser, signIn } from "./helpers/browser";
import { api, eventually, expectStatus, startServer, type TestServer, orgWithMember } from "./helpers/server";
import { DEMO_VOICE_SETTINGS, seedDemo } from "../../scripts/demo-seed.mjs";

const PASSWORD = "correct horse battery staple";
const SAID = "I loved how quick the export was. It saved my team hours every week.";
const SCREENS = process.env.SCREENSHOT_DIR ?? join(tmpdir(), "screens-voice");
const ESPEAK = process.env.ESPEAK_PATH ?? "/usr/bin/espeak-ng";

let server: TestServer;
let micBrowser: Browser;
let deniedBrowser: Browser;
let silentBrowser: Browser;
let key: string;
let wavDir: string;
let speechWav: Buffer;
const emails = { owner: "", analyst: "" };
const contexts: BrowserContext[] = [];
const figures: Record<string, string> = {};
/** The completed voice session of the first test, for the dashboard test. */
let voiceSession: { id: string; capturedMs: number[] } | null = null;

/** A 16 kHz mono 16-bit WAV of digital silence: a muted microphone, or one nobody speaks into. */
function silentWav(seconds: number): Buffer {
  const data = seconds * 32_000;
  const b = Buffer.alloc(44 + data);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(36 + data, 4);
  b.write("WAVEfmt ", 8, "ascii");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(16_000, 24);
  b.writeUInt32LE(32_000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "ascii");
  b.writeUInt32LE(data, 40);
  return b;
}

async function shot(page: Page, name: string, fullPage = false) {
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage });
}

beforeAll(async () => {
  if (!existsSync(ESPEAK)) throw new Error(`espeak-ng is needed to make the fake microphone's speech (${ESPEAK}); .ci/run installs it`);
  wavDir = mkdtempSync(join(tmpdir(), "interviewrelay-voice-"));
  const wav = join(wavDir, "speech.wav");
  // 16-bit PCM WAV (espeak-ng writes 22.05 kHz mono); Chromium loops it as the microphone's input.
  execFileSync(ESPEAK, ["-w", wav, "-s", "160", SAID]);
  speechWav = readFileSync(wav);
  execFileSync("mkdir", ["-p", SCREENS]);
  const silent = join(wavDir, "silence.wav");
  writeFileSync(silent, silentWav(5));
  [server, micBrowser, deniedBrowser, silentBrowser] = await Promise.all([
    startServer({ vars: { HEARTBEAT_TIMEOUT_SECONDS: "120", PAUSE_EXPIRY_SECONDS: "600", LEAVE_GRACE_SECONDS: "60", RATE_LIMIT_LOGIN_PER_MINUTE: "200", RATE_LIMIT_JOIN_PER_MINUTE: "200" } }),
    // Microphone allowed without a prompt, fed from the WAV.
    launchBrowser(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}`]),
    // A microphone exists but the permission prompt is refused.
    launchBrowser(["--use-fake-device-for-media-stream", "--deny-permission-prompts"]),
    // A microphone that hears nothing at all.
    launchBrowser(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${silent}`]),
  ]);
  const seeded = await orgWithMember(server, { name: "Voice Research", plan: "professional", domain: "voice.example", password: PASSWORD, member: { role: "analyst", name: "Ana Analyst" } });
  key = seeded.key;
  emails.owner = seeded.ownerEmail;
  emails.analyst = seeded.memberEmail;
}, 180_000);

let logMark = 0;
afterEach(async (ctx) => {
  const logs = server?.logs() ?? "";
  if (ctx.task.result?.state === "fail") console.error(`---- wrangler dev output during "${ctx.task.name}" (reloads so far: ${server?.reloads()}) ----\n${logs.slice(Math.max(logMark, logs.length - 20_000))}`);
  logMark = logs.length;
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  if (Object.keys(figures).length) console.log(`\n---- voice measurements ----\n${Object.entries(figures).map(([k, v]) => `${k}: ${v}`).join("\n")}\nscreenshots: ${SCREENS}\n`);
  await micBrowser?.close().catch(() => undefined);
  await deniedBrowser?.close().catch(() => undefined);
  await silentBrowser?.close().catch(() => undefined);
  await server?.stop();
  if (wavDir) rmSync(wavDir, { recursive: true, force: true });
});

/**
 * Console errors of the participant page, except the one the contract expects offline: a question's
 * spoken version answers 404 TTS_UNAVAILABLE (no speech model), which the browser logs as a failed load.
 */
function participantErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${String(e)}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    if (/404/.test(text) && /\/prompts\/\d+\/audio/.test(m.location().url)) return;
    if (/WebSocket connection to .* failed|ERR_INTERNET_DISCONNECTED/.test(text)) return;
    errors.push(`${text} (${m.location().url})`);
  });
  return errors;
}

async function newContext(browser: Browser, opts: { mobile?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext(opts.mobile ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { viewport: { width: 1366, height: 900 } });
  contexts.push(ctx);
  return ctx;
}

async function voiceCampaign(name: string, questions: string[], consentRequired = true) {
  return expectStatus(
    await api(server, "POST", "/v1/campaigns", {
      key,
      body: { name, questions: questions.map((text) => ({ text, probe: "none" })), settings: { ...DEMO_VOICE_SETTINGS, consentRequired, consentText: "This interview is recorded for research." } },
    }),
    201,
    "POST /v1/campaigns",
  ) as { id: string };
}

async function invite(campaignId: string, name: string) {
  return expectStatus(await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { name } } }), 201, "POST invites") as { token: string; url: string };
}

const question = (page: Page) => page.locator("h1.question").textContent({ timeout: 500 }).catch(() => null);
/** Seconds on the recording clock ("m:ss"), or -1. */
const recSeconds = async (page: Page) => {
  const t = await page.getByTestId("rec-time").textContent({ timeout: 500 }).catch(() => null);
  const m = t ? /^(\d+):(\d\d)$/.exec(t) : null;
  return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
};
const stage = (page: Page) => page.locator("[data-testid=voice-question]").getAttribute("data-stage", { timeout: 500 }).catch(() => null);

/** A fake Web Speech API recogniser: when `window.__speechHint` is set, it "hears" that text once. */
async function fakeRecognition(ctx: BrowserContext) {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __speechHint?: string; webkitSpeechRecognition?: unknown; SpeechRecognition?: unknown };
    if (w.SpeechRecognition || w.webkitSpeechRecognition) delete (w as Record<string, unknown>).webkitSpeechRecognition;
    class FakeRecognition {
      lang = "";
      continuous = false;
      interimResults = false;
      onresult: ((e: unknown) => void) | null = null;
      onerror: ((e: unknown) => void) | null = null;
      onend: (() => void) | null = null;
      private said = false;
      start() {
        const text = w.__speechHint;
        if (!text) return setTimeout(() => (this.onerror?.({ error: "network" }), this.onend?.()), 10);
        setTimeout(() => {
          if (this.said) return;
          this.said = true;
          // Heard once: a recogniser started again (after a pause) hears nothing new.
          delete w.__speechHint;
          const result = Object.assign([{ transcript: text }], { isFinal: true });
          this.onresult?.({ resultIndex: 0, results: Object.assign([result], { length: 1 }) });
        }, 300);
      }
      stop() {
        setTimeout(() => this.onend?.(), 20);
      }
      abort() {
        setTimeout(() => this.onend?.(), 0);
      }
    }
    (w as Record<string, unknown>).SpeechRecognition = FakeRecognition;
  });
}

/** WAV header fields of a 16-bit PCM file. */
function wavInfo(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(...bytes.subarray(o, o + 4));
  expect(tag(0)).toBe("RIFF");
  expect(tag(8)).toBe("WAVE");
  let o = 12;
  let fmt: { channels: number; sampleRate: number; bits: number } | null = null;
  let dataBytes = -1;
  while (o + 8 <= bytes.byteLength) {
    const id = tag(o);
    const size = v.getUint32(o + 4, true);
    if (id === "fmt ") fmt = { channels: v.getUint16(o + 10, true), sampleRate: v.getUint32(o + 12, true), bits: v.getUint16(o + 22, true) };
    if (id === "data") {
      dataBytes = size;
      break;
    }
    o += 8 + size;
  }
  return { ...fmt!, dataBytes, headerBytes: o + 8 };
}

/** Opens an invite with no consent step: Start, the microphone, Start again (the first question follows). */
async function startSpoken(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole("button", { name: "Start the interview" }).click({ timeout: 15_000 });
  await page.getByRole("button", { name: "Turn on the microphone" }).click();
  await page.getByRole("button", { name: "Start the interview" }).click({ timeout: 10_000 });
}

/** Recording starts after the spoken question; where the page offers to skip it, skip it. */
async function answerNowIfOffered(page: Page) {
  const answerNow = page.getByRole("button", { name: "Answer now" });
  if (await answerNow.isVisible().catch(() => false)) await answerNow.click({ timeout: 2_000 }).catch(() => undefined);
}

describe("voice interviews in Chromium", () => {
  it("the demo org of npm run dev has a voice campaign whose invite opens a voice interview", async () => {
    const call = async (method: string, path: string, o: { token?: string; body?: unknown } = {}) => {
      const r = await api(server, method, path, { key: o.token, body: o.body });
      return { status: r.status, json: r.json };
    };
    const first = await seedDemo(call, server.vars.OPERATOR_TOKEN!, null);
    const joined = expectStatus(await api(server, "POST", "/v1/join", { body: { token: first.invites.voice.token } }), 201, "join the demo voice invite");
    expect(joined).toMatchObject({ mode: "voice", browserTranscription: true, language: "en", consentRequired: true });
    // A demo saved before voice existed gets its voice campaign on the next start; a current one is reused.
    const { voiceCampaignId: _old, ...older } = first.demo;
    const upgraded = await seedDemo(call, server.vars.OPERATOR_TOKEN!, older);
    expect(upgraded.demo.campaignId).toBe(first.demo.campaignId);
    expect(upgraded.demo.voiceCampaignId).toMatch(/^cmp_/);
    const again = await seedDemo(call, server.vars.OPERATOR_TOKEN!, upgraded.demo);
    expect(again.demo).toEqual(upgraded.demo);
    expect(again.invites.voice.token).not.toBe(upgraded.invites.voice.token);
  });


  it("a participant answers aloud from join to completion, through a dropped connection; the audio is stored whole", async () => {
    const questions = ["What do you like most about the product?", "What would you change first?"];
    const campaign = await voiceCampaign("Spoken feedback", questions);
    const inv = await invite(campaign.id, "Sam Speaker");
    const ctx = await newContext(micBrowser, { mobile: true });
    await instrumentSockets(ctx);
    await fakeRecognition(ctx);
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    const promptResponses: number[] = [];
    page.on("response", (r) => /\/prompts\/\d+\/audio/.test(r.url()) && promptResponses.push(r.status()));
    await page.goto(inv.url);

    await page.getByRole("heading", { name: "Before we begin" }).waitFor({ timeout: 15_000 });
    expect(await page.getByText("This is a spoken interview").count()).toBe(1);
    await shot(page, "v01-consent-voice");
    await page.getByRole("button", { name: "I agree, start the interview" }).click();

    // The microphone step: permission (granted by the fake UI), then a live level meter.
    await page.getByRole("heading", { name: "Check your microphone" }).waitFor();
    await shot(page, "v02-mic-step");
    await page.getByRole("button", { name: "Turn on the microphone" }).click();
    const meter = page.getByRole("meter", { name: "Microphone level" });
    await meter.waitFor({ timeout: 10_000 });
    await expect.poll(async () => Number(await meter.getAttribute("aria-valuenow")), { timeout: 10_000, message: "the level meter moves with the fake microphone's speech" }).toBeGreaterThan(20);
    await shot(page, "v03-mic-level");
    // The browser's recogniser (faked) will "hear" the first answer; the second gets no hint.
    await page.evaluate((t) => ((window as unknown as { __speechHint?: string }).__speechHint = t), SAID);
    await page.getByRole("button", { name: "Start the interview" }).click();

    // Question 1: read aloud (no speech model offline: TTS_UNAVAILABLE, so the browser's voice),
    // captions on screen, then recording starts by itself.
    await expect.poll(() => question(page), { timeout: 10_000 }).toBe(questions[0]);
    const firstStage = await stage(page);
    if (firstStage === "prompt") await shot(page, "v04-question-prompt");
    await expect.poll(() => stage(page), { timeout: 20_000, message: "recording starts after the question is read" }).toBe("recording");
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await shot(page, "v05-recording");
    // Paused mid-answer: recording stops, the answer stays open, and continues after the resume.
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("heading", { name: "Interview paused" }).waitFor({ timeout: 10_000 });
    await page.getByRole("button", { name: "Resume the interview" }).click();
    await expect.poll(() => stage(page), { timeout: 10_000 }).toBe("held");
    await shot(page, "v05b-answer-held");
    await page.getByRole("button", { name: "Continue answering" }).click();
    await expect.poll(() => stage(page), { timeout: 5_000 }).toBe("recording");
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    // Keyboard: "Done" has the focus while recording.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Done");
    await page.keyboard.press("Enter");
    await expect.poll(() => stage(page), { timeout: 10_000 }).toBe("saved");
    const captured1 = Number(await page.locator("[data-testid=voice-question]").getAttribute("data-seconds"));
    await shot(page, "v06-answer-saved");

    // Question 2, without a transcript hint; the connection drops mid-answer and comes back.
    await page.evaluate(() => delete (window as unknown as { __speechHint?: string }).__speechHint);
    await expect.poll(() => question(page), { timeout: 20_000, message: "the next question after the first answer's transcript" }).toBe(questions[1]);
    // "Answer now" skips the reading when it is still going (headless Chromium may have no voice at all).
    await answerNowIfOffered(page);
    await expect.poll(() => stage(page), { timeout: 20_000 }).toBe("recording");
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const socketsBefore = await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length);
    await ctx.setOffline(true);
    await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(4000, "network lost"));
    // The page gives the socket up itself when the browser goes offline (it does not wait for the
    // close event, which the offline emulation can hold back until Chromium's 60 s closing-handshake
    // timeout: waiting for it here made this test fail now and then past its own time limit).
    await page.getByText("Reconnecting…").waitFor({ timeout: 15_000 });
    await page.getByText("The connection dropped. Keep talking").waitFor({ timeout: 15_000 });
    await shot(page, "v07-recording-offline");
    await page.waitForTimeout(2_000);
    await ctx.setOffline(false);
    await expect.poll(() => page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length), { timeout: 15_000 }).toBeGreaterThan(socketsBefore);
    await page.waitForTimeout(1_500);
    await page.getByRole("button", { name: "Done", exact: true }).click();
    await expect.poll(() => stage(page), { timeout: 15_000 }).toBe("saved");
    const captured2 = Number(await page.locator("[data-testid=voice-question]").getAttribute("data-seconds"));
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });
    await shot(page, "v08-thank-you");

    // The record, through the API.
    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions");
    const sessionId = sessions.data[0].id as string;
    const session = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "session");
    expect(session.status).toBe("completed");
    expect(session.questionsAnswered).toBe(2);

    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/audio/manifest?track=participant`, { key }), 200, "manifest");
    expect(manifest.answers.map((a: { questionIndex: number }) => a.questionIndex)).toEqual([0, 1]);
    // Every captured sample arrived once: the stored durations are what the page recorded (to the ms).
    const stored = manifest.answers.map((a: { durationMs: number }) => a.durationMs);
    figures["answer 1: captured in the page / stored"] = `${(captured1 * 1000).toFixed(0)} ms / ${stored[0]} ms`;
    figures["answer 2 (socket dropped for ~3 s mid-answer): captured / stored"] = `${(captured2 * 1000).toFixed(0)} ms / ${stored[1]} ms`;
    expect(Math.abs(stored[0] - captured1 * 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(stored[1] - captured2 * 1000)).toBeLessThanOrEqual(1);
    expect(captured2).toBeGreaterThan(5); // it kept recording while offline

    // Transcript: the first answer from the browser's transcript (the hint); the second has none,
    // and offline there is no speech model, so it is marked untranscribed with the reason.
    const transcript = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/transcript`, { key }), 200, "transcript");
    const spoken = (transcript.segments as { speaker: string; text: string; questionIndex: number; speech?: { spoken: boolean; untranscribedReason: string | null } }[]).filter(
      (s) => s.speaker === "participant",
    );
    expect(spoken.map((s) => s.questionIndex)).toEqual([0, 1]);
    expect(spoken.every((s) => s.speech?.spoken === true)).toBe(true);
    expect(spoken[0]!.text).toBe(SAID);
    expect(spoken[0]!.speech!.untranscribedReason).toBeNull();
    expect(spoken[1]!.text).toBe("");
    expect(spoken[1]!.speech!.untranscribedReason).toMatch(/no browser transcript/);

    // The owner downloads the recording: a 16 kHz mono 16-bit WAV as long as the manifest says.
    const res = await fetch(`${server.base}/v1/sessions/${sessionId}/audio?track=participant&format=wav`, { headers: { Authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    const wav = new Uint8Array(await res.arrayBuffer());
    const info = wavInfo(wav);
    expect(info).toMatchObject({ channels: 1, sampleRate: 16_000, bits: 16 });
    expect(info.dataBytes).toBe(wav.byteLength - info.headerBytes);
    const seconds = info.dataBytes / 32_000;
    figures["downloaded WAV"] = `${seconds.toFixed(3)} s (manifest ${manifest.durationMs} ms)`;
    expect(Math.abs(seconds * 1000 - manifest.durationMs)).toBeLessThanOrEqual(2);
    expect(Math.abs(seconds - (captured1 + captured2))).toBeLessThan(0.01);
    // Range requests, as the player uses them.
    const part = await fetch(`${server.base}/v1/sessions/${sessionId}/audio?track=participant&format=wav`, { headers: { Authorization: `Bearer ${key}`, Range: "bytes=44-1043" } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(1000);
    const mp3 = await fetch(`${server.base}/v1/sessions/${sessionId}/audio?track=participant&format=mp3`, { headers: { Authorization: `Bearer ${key}` } });
    expect(mp3.status).toBe(200);
    expect(mp3.headers.get("content-type")).toBe("audio/mpeg");
    expect((await mp3.arrayBuffer()).byteLength).toBeGreaterThan(1000);

    voiceSession = { id: sessionId, capturedMs: [captured1 * 1000, captured2 * 1000] };
    // Offline the service has no voice: asked once (404 TTS_UNAVAILABLE), then the browser reads the questions.
    expect(promptResponses).toEqual([404]);
    expect(errors, "no errors on the participant page").toEqual([]);
  }, 180_000);

  it("the owner's session page plays the recording with speed control, skip to answer and the playing line highlighted; an analyst gets no player", async () => {
    expect(voiceSession, "the previous test recorded a session").not.toBeNull();
    const { id } = voiceSession!;
    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${id}/audio/manifest?track=participant`, { key }), 200, "manifest");

    const ownerCtx = await newContext(micBrowser);
    const owner = await signIn(ownerCtx, server.base, emails.owner, PASSWORD);
    const errors = collectErrors(owner);
    await owner.goto(`${server.base}/sessions/${id}`);
    const panel = owner.locator("[data-testid=audio-panel]");
    await panel.waitFor({ timeout: 15_000 });
    const audio = owner.locator("audio[data-testid=audio-player]");
    await audio.waitFor({ timeout: 10_000 });
    expect(await audio.getAttribute("src")).toBe(`/v1/sessions/${id}/audio?track=participant&format=wav`);
    // The element loads the WAV through the cookie (Range requests) and knows its length.
    const duration = await eventually(
      () => audio.evaluate((el: HTMLAudioElement) => (el.readyState >= 1 && Number.isFinite(el.duration) ? el.duration : null)),
      "the audio element's metadata",
      15_000,
    );
    expect(Math.abs(duration * 1000 - manifest.durationMs)).toBeLessThan(50);

    // Speed 0.5×–2×.
    const speeds = await owner.locator("[data-testid=speed] option").allTextContents();
    expect(speeds[0]).toBe("0.5×");
    expect(speeds.at(-1)).toBe("2×");
    await owner.locator("[data-testid=speed]").selectOption("1.5");
    expect(await audio.evaluate((el: HTMLAudioElement) => el.playbackRate)).toBe(1.5);

    // Skip to the second answer: the player jumps there and its transcript line is highlighted.
    const skips = owner.locator("[data-testid=skip-answer]");
    expect(await skips.count()).toBe(2);
    await skips.nth(1).click();
    await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime), { timeout: 5_000 }).toBeGreaterThanOrEqual(manifest.answers[1].offsetMs / 1000);
    const participantLines = owner.locator("[data-testid=transcript] .line.participant");
    await expect.poll(() => participantLines.nth(1).getAttribute("class"), { timeout: 5_000 }).toContain("playing");
    expect(await owner.locator("[data-testid=transcript] .line.playing").count()).toBe(1);
    expect(await skips.nth(1).getAttribute("aria-pressed")).toBe("true");
    // The untranscribed answer says why.
    expect(await participantLines.nth(1).textContent()).toContain("Not transcribed");
    // Each transcribed answer shows its own sentiment, as the session's analytics has it; the
    // untranscribed one is not analysed and shows none.
    const analysed = await eventually(async () => {
      const a = expectStatus(await api(server, "GET", `/v1/sessions/${id}/analytics`, { key }), 200, "analytics");
      return a.answers.find((x: { questionIndex: number; sentiment: unknown }) => x.questionIndex === 0 && x.sentiment) ?? null;
    }, "the first answer's analysis", 15_000);
    expect(["positive", "neutral", "negative"]).toContain(analysed.sentiment.label);
    await expect.poll(() => participantLines.nth(0).locator("[data-testid=answer-sentiment]").textContent(), { timeout: 15_000 }).toBe(analysed.sentiment.label);
    expect(await participantLines.nth(1).locator("[data-testid=answer-sentiment]").count()).toBe(0);
    await shot(owner, "v09-session-player-owner", true);
    await audio.evaluate((el: HTMLAudioElement) => el.pause());
    // Back to the first answer from its transcript line.
    await participantLines.nth(0).getByRole("button", { name: "Play this answer" }).click();
    await expect.poll(() => participantLines.nth(0).getAttribute("class"), { timeout: 5_000 }).toContain("playing");
    await audio.evaluate((el: HTMLAudioElement) => el.pause());

    // Downloads: WAV and MP3 links that work with the cookie.
    const wavHref = await owner.getByTestId("download-wav").getAttribute("href");
    const mp3Href = await owner.getByTestId("download-mp3").getAttribute("href");
    expect(wavHref).toBe(`/v1/sessions/${id}/audio?track=participant&format=wav`);
    expect(mp3Href).toBe(`/v1/sessions/${id}/audio?track=participant&format=mp3`);
    const fetched = await owner.evaluate(async (hrefs: string[]) => Promise.all(hrefs.map(async (h) => {
      const r = await fetch(h);
      return { status: r.status, type: r.headers.get("content-type"), bytes: (await r.arrayBuffer()).byteLength };
    })), [wavHref!, mp3Href!]);
    expect(fetched[0]).toMatchObject({ status: 200, type: "audio/wav" });
    expect(fetched[1]).toMatchObject({ status: 200, type: "audio/mpeg" });
    expect(errors).toEqual([]);

    // The analyst reads the transcript but gets no player, no audio URL, no download.
    const analystCtx = await newContext(micBrowser);
    const analyst = await signIn(analystCtx, server.base, emails.analyst, PASSWORD);
    const analystErrors = collectErrors(analyst);
    await analyst.goto(`${server.base}/sessions/${id}`);
    await analyst.locator("[data-testid=transcript] .line.participant").first().waitFor({ timeout: 15_000 });
    await analyst.locator(".crumbs", { hasText: "Spoken feedback" }).waitFor();
    expect(await analyst.locator("[data-testid=audio-panel], audio, [data-testid=skip-answer], [data-testid=speed]").count()).toBe(0);
    expect(await analyst.locator("[href*='/audio']").count()).toBe(0);
    expect(await analyst.getByRole("button", { name: "Play this answer" }).count()).toBe(0);
    await shot(analyst, "v10-session-analyst", true);
    expect(analystErrors).toEqual([]);
  }, 120_000);

  it("a question's spoken version plays before recording; a reload mid-answer continues the same answer", async () => {
    const q = "Tell us about the last time you used the product.";
    const campaign = await voiceCampaign("Spoken, with a voice", [q], false);
    const inv = await invite(campaign.id, "Rae Reload");
    const ctx = await newContext(micBrowser, { mobile: true });
    // Offline there is no speech model: stand in for one, serving the question's spoken version.
    let promptRequests = 0;
    await ctx.route(/\/v1\/sessions\/ses_\w+\/prompts\/\d+\/audio\?token=/, (route) => {
      promptRequests += 1;
      return route.fulfill({ status: 200, contentType: "audio/wav", body: speechWav });
    });
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    // No consent step: Start, then the microphone step.
    await startSpoken(page, inv.url);
    await expect.poll(() => question(page), { timeout: 10_000 }).toBe(q);
    // The WAV plays (a blob: URL, allowed by the page's media-src), then recording starts.
    await expect.poll(() => page.locator("[data-testid=voice-question]").getAttribute("data-prompt"), { timeout: 10_000 }).toBe("audio");
    expect(await stage(page)).toBe("prompt");
    await page.locator(".speaker-icon.on").waitFor({ timeout: 5_000 });
    await shot(page, "v13-question-playing");
    await expect.poll(() => stage(page), { timeout: 20_000, message: "recording starts when the spoken question ends" }).toBe("recording");
    expect(promptRequests).toBe(1);

    // Past the first 128 KiB chunk (4.1 s) so part of the answer is durable, then the page reloads.
    await expect.poll(() => recSeconds(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
    expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("ir-voice-")).length)).toBe(1);
    await page.reload();
    await page.getByText("Welcome back.").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Turn on the microphone" }).click();
    await page.getByRole("button", { name: "Continue the interview" }).click({ timeout: 10_000 });
    await expect.poll(() => stage(page), { timeout: 20_000 }).toBe("recording");
    // The open answer is continued: the clock starts from what the server already holds.
    await expect.poll(() => recSeconds(page), { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
    const resumedAt = await recSeconds(page);
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(resumedAt + 2);
    await page.getByRole("button", { name: "Done", exact: true }).click();
    await expect.poll(() => stage(page), { timeout: 15_000 }).toBe("saved");
    const total = Number(await page.locator("[data-testid=voice-question]").getAttribute("data-seconds"));
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });

    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions");
    const sessionId = sessions.data[0].id as string;
    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/audio/manifest?track=participant`, { key }), 200, "manifest");
    // One answer, not two: the durable part from before the reload, then what followed.
    expect(manifest.answers).toHaveLength(1);
    figures["reload mid-answer: stored / page's total"] = `${manifest.answers[0].durationMs} ms / ${(total * 1000).toFixed(0)} ms (continued from ${resumedAt} s)`;
    expect(Math.abs(manifest.answers[0].durationMs - total * 1000)).toBeLessThanOrEqual(1);
    expect(manifest.answers[0].durationMs).toBeGreaterThan(4_000);
    expect(expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "session").status).toBe("completed");
    expect(errors).toEqual([]);
  }, 120_000);

  it("a participant whose microphone stops mid-interview keeps what was said and goes on by typing", async () => {
    const questions = ["What did you try first?", "What would you tell a colleague?"];
    const campaign = await voiceCampaign("Spoken, unplugged", questions, false);
    const inv = await invite(campaign.id, "Uma Unplugged");
    const ctx = await newContext(micBrowser, { mobile: true });
    // Keep the page's microphone streams, to unplug the microphone later.
    await ctx.addInitScript(() => {
      const md = navigator.mediaDevices;
      const orig = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        const stream = await orig(c);
        const w = window as unknown as { __streams?: MediaStream[] };
        (w.__streams ??= []).push(stream);
        return stream;
      };
    });
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    await startSpoken(page, inv.url);
    await expect.poll(() => question(page), { timeout: 10_000 }).toBe(questions[0]);
    await expect.poll(() => stage(page), { timeout: 20_000 }).toBe("recording");
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    // The headset is unplugged: its tracks end.
    await page.evaluate(() => {
      for (const stream of (window as unknown as { __streams?: MediaStream[] }).__streams ?? []) {
        for (const t of stream.getTracks()) {
          t.stop();
          t.dispatchEvent(new Event("ended"));
        }
      }
    });
    // The page says so and offers to type (before, the next question waited for a recording forever).
    await page.getByRole("heading", { name: "We can't use your microphone" }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole("alert").textContent()).toContain("Your microphone stopped working");
    await shot(page, "v14-mic-unplugged");
    await page.getByRole("button", { name: "Continue by typing" }).click();
    await expect.poll(() => question(page), { timeout: 15_000 }).toBe(questions[1]);
    const box = page.locator("textarea#answer");
    await expect.poll(() => box.isEnabled(), { timeout: 10_000 }).toBe(true);
    await box.fill("Start with the export, it is the best part.");
    await page.getByRole("button", { name: "Send answer" }).click();
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 15_000 });

    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions");
    const sessionId = sessions.data[0].id as string;
    const transcript = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/transcript`, { key }), 200, "transcript");
    const said = (transcript.segments as { speaker: string; questionIndex: number; speech?: unknown }[]).filter((x) => x.speaker === "participant");
    // The spoken part of the first answer was kept; the second was typed.
    expect(said.map((x) => [x.questionIndex, x.speech !== undefined])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(errors).toEqual([]);
  }, 120_000);

  it("a participant whose microphone is refused completes the voice interview by typing", async () => {
    const questions = ["How did you hear about us?", "What would make you recommend us?"];
    const answers = ["A friend mentioned it at work.", "Faster exports and a cheaper team plan."];
    const campaign = await voiceCampaign("Spoken feedback, typed", questions);
    const inv = await invite(campaign.id, "Tia Typist");
    const ctx = await newContext(deniedBrowser, { mobile: true });
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    await page.goto(inv.url);
    await page.getByRole("button", { name: "I agree, start the interview" }).click({ timeout: 15_000 });
    await page.getByRole("button", { name: "Turn on the microphone" }).click();
    await page.getByRole("heading", { name: "We can't use your microphone" }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole("alert").textContent()).toContain("Microphone access was not allowed");
    await shot(page, "v11-mic-denied");
    await page.getByRole("button", { name: "Continue by typing" }).click();

    for (let i = 0; i < questions.length; i++) {
      await expect.poll(() => question(page), { timeout: 15_000 }).toBe(questions[i]);
      // The spoken version is still offered; the answer is typed.
      expect(await page.getByRole("button", { name: "Hear the question" }).count()).toBe(1);
      if (i === 0) await shot(page, "v12-typed-fallback-question");
      const box = page.locator("textarea#answer");
      await expect.poll(() => box.isEnabled(), { timeout: 10_000 }).toBe(true);
      await box.fill(answers[i]!);
      await page.getByRole("button", { name: "Send answer" }).click();
    }
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 15_000 });

    const sessions = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions");
    const sessionId = sessions.data[0].id as string;
    const transcript = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/transcript`, { key }), 200, "transcript");
    const typed = (transcript.segments as { speaker: string; text: string; speech?: unknown }[]).filter((s) => s.speaker === "participant");
    expect(typed.map((s) => s.text)).toEqual(answers);
    expect(typed.every((s) => s.speech === undefined)).toBe(true);
    expect(expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "session").status).toBe("completed");
    expect(errors).toEqual([]);
  }, 120_000);
  it("an answer in which nothing was heard is not sent before the participant says so: Record again continues it, Send anyway sends it", async () => {
    const q = "What did you think of the onboarding?";
    const campaign = await voiceCampaign("Spoken, muted", [q], false);
    const inv = await invite(campaign.id, "Max Muted");
    const ctx = await newContext(silentBrowser, { mobile: true });
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    await startSpoken(page, inv.url);
    await expect.poll(() => question(page), { timeout: 10_000 }).toBe(q);
    await answerNowIfOffered(page);
    await expect.poll(() => stage(page), { timeout: 20_000 }).toBe("recording");
    // Past the first durable chunk, so acknowledged audio is at stake.
    await expect.poll(() => recSeconds(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    await page.getByRole("button", { name: "Done", exact: true }).click();

    await expect.poll(() => stage(page), { timeout: 10_000 }).toBe("unheard");
    const panel = page.getByTestId("unheard");
    expect(await panel.getByRole("status").textContent()).toBe("We didn't hear anything in this answer. Record again, or send it anyway?");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Record again");
    expect(await page.getByRole("button", { name: "Send anyway" }).count()).toBe(1);
    await shot(page, "v15-unheard-phone");
    await page.setViewportSize({ width: 1366, height: 900 });
    await shot(page, "v15b-unheard-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    const firstTake = Number(await page.locator("[data-testid=voice-question]").getAttribute("data-seconds"));
    expect(firstTake).toBeGreaterThanOrEqual(5);
    // Nothing was ended: the answer is still open, nothing is in the transcript.
    const sessionId = (expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions").data[0].id) as string;
    const during = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/transcript`, { key }), 200, "transcript");
    expect((during.segments as { speaker: string }[]).filter((x) => x.speaker === "participant")).toEqual([]);

    // Record again: the clock starts over, in the same answer.
    await page.getByRole("button", { name: "Record again" }).click();
    await expect.poll(() => stage(page), { timeout: 5_000 }).toBe("recording");
    expect(await recSeconds(page)).toBeLessThanOrEqual(1);
    await expect.poll(() => recSeconds(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole("button", { name: "Done", exact: true }).click();
    await expect.poll(() => stage(page), { timeout: 10_000 }).toBe("unheard");
    const secondTake = Number(await page.locator("[data-testid=voice-question]").getAttribute("data-seconds"));

    // Send anyway: saved as it is, and the interview goes on.
    await page.getByRole("button", { name: "Send anyway" }).click();
    await expect.poll(() => stage(page), { timeout: 15_000 }).toBe("saved");
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });

    // One answer holding both takes, every byte once.
    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/audio/manifest?track=participant`, { key }), 200, "manifest");
    expect(manifest.answers).toHaveLength(1);
    figures["unheard answer, two takes: page / stored"] = `${((firstTake + secondTake) * 1000).toFixed(0)} ms / ${manifest.answers[0].durationMs} ms`;
    expect(Math.abs(manifest.answers[0].durationMs - (firstTake + secondTake) * 1000)).toBeLessThanOrEqual(1);
    const session = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}`, { key }), 200, "session");
    expect(session).toMatchObject({ status: "completed", questionsAnswered: 1 });
    expect(errors).toEqual([]);
  }, 120_000);

  it("an answer nearing the length limit is warned, counted down, and saved at the limit with a message that says so", async () => {
    const q = "Tell us everything about your week with the product.";
    const campaign = await voiceCampaign("Spoken, at length", [q], false);
    const inv = await invite(campaign.id, "Lou Long");
    const ctx = await newContext(micBrowser, { mobile: true });
    // The page's ten-minute limit, shortened to 24 s for the test (the page clamps it to at most 595 s).
    await ctx.addInitScript(() => ((window as unknown as { __irAnswerLimitSeconds: number }).__irAnswerLimitSeconds = 24));
    const page = await ctx.newPage();
    const errors = participantErrors(page);
    await startSpoken(page, inv.url);
    await expect.poll(() => question(page), { timeout: 10_000 }).toBe(q);
    await answerNowIfOffered(page);
    await expect.poll(() => stage(page), { timeout: 20_000 }).toBe("recording");

    const notice = page.getByTestId("limit-notice");
    const status = page.getByTestId("limit-status");
    // Under a minute to go from the start (24 s): the notice, and the same words for screen readers.
    await expect.poll(() => notice.textContent({ timeout: 500 }).catch(() => null), { timeout: 5_000 }).toBe("Less than a minute left for this answer.");
    expect(await status.getAttribute("role")).toBe("status");
    expect(await status.textContent()).toBe("Less than a minute left for this answer.");
    await shot(page, "v16-limit-minute-phone");
    // The last 15 s count down on screen; the live region changes at 15 s and at 5 s only.
    await expect.poll(() => notice.textContent({ timeout: 500 }).catch(() => null), { timeout: 15_000 }).toMatch(/^0:1[0-3] left$/);
    expect(await status.textContent()).toBe("0:15 left");
    expect(await notice.getAttribute("class")).toContain("urgent");
    await shot(page, "v17-limit-countdown-phone");
    const seen = new Set<string>();
    await expect
      .poll(async () => {
        const text = await notice.textContent({ timeout: 200 }).catch(() => null);
        if (text) seen.add(text);
        return (await stage(page)) === "saved" ? "saved" : text;
      }, { timeout: 20_000, interval: 200 })
      .toBe("saved");
    expect([...seen].some((x) => /^0:0[1-5] left$/.test(x)), `the countdown reached its last seconds (${[...seen].join(", ")})`).toBe(true);
    // Finished by the page at the limit, and it says why.
    expect(await page.locator(".voice-status.ok-text").textContent()).toBe("✓ Your answer reached the 10-minute limit, so it was finished and saved. The next question is on its way…");
    await shot(page, "v18-saved-at-limit-phone");
    await page.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });

    const sessionId = (expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions").data[0].id) as string;
    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/audio/manifest?track=participant`, { key }), 200, "manifest");
    expect(manifest.answers).toHaveLength(1);
    figures["answer finished at the (shortened) limit of 24 s: stored"] = `${manifest.answers[0].durationMs} ms`;
    expect(manifest.answers[0].durationMs).toBeGreaterThanOrEqual(24_000);
    expect(manifest.answers[0].durationMs).toBeLessThan(24_500);
    expect(errors).toEqual([]);
  }, 120_000);

  it("two windows on one interview do not record into the same answer: the second says so, and Record here instead moves it", async () => {
    const q = "What did you do with the last report you exported?";
    const campaign = await voiceCampaign("Two windows", [q], false);
    const inv = await invite(campaign.id, "Tess Tabs");
    const ctx = await newContext(micBrowser);
    const first = await ctx.newPage();
    const errors = participantErrors(first);
    await startSpoken(first, inv.url);
    await expect.poll(() => stage(first), { timeout: 20_000 }).toBe("recording");
    await expect.poll(() => recSeconds(first), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

    // The same link in a second tab of the same browser: it resumes the same session.
    const second = await ctx.newPage();
    errors.push(...participantErrors(second));
    await second.goto(inv.url);
    await second.getByText("Welcome back.").waitFor({ timeout: 15_000 });
    await second.getByRole("button", { name: "Turn on the microphone" }).click();
    await second.getByRole("button", { name: "Continue the interview" }).click({ timeout: 10_000 });
    await expect.poll(() => stage(second), { timeout: 20_000, message: "the second window is told the answer is being recorded elsewhere" }).toBe("elsewhere");
    const panel = second.getByTestId("elsewhere");
    expect(await panel.locator(".voice-status").textContent()).toBe("This answer is being recorded in another window. Finish it there, or record it here instead.");
    expect(await second.getByRole("button", { name: "Type my answer" }).count()).toBe(0);
    await shot(second, "v19-answer-recording-elsewhere");
    // The first window records on, undisturbed.
    const before = await recSeconds(first);
    await expect.poll(() => recSeconds(first), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 3);
    expect(await stage(first)).toBe("recording");
    expect(await stage(second)).toBe("elsewhere");

    // Record here instead: the answer moves to the second window; the first one stops and says so.
    await second.getByRole("button", { name: "Record here instead" }).click();
    await expect.poll(() => stage(second), { timeout: 10_000 }).toBe("recording");
    await expect.poll(() => stage(first), { timeout: 15_000, message: "the first window does not take the answer back" }).toBe("elsewhere");
    await shot(first, "v20-answer-moved-to-other-window");
    await expect.poll(() => recSeconds(second), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // It stays moved: the first window does not reopen it by itself.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await stage(first)).toBe("elsewhere");
    expect(await stage(second)).toBe("recording");
    await second.getByRole("button", { name: "Done", exact: true }).click();
    await second.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });
    await first.getByRole("heading", { name: "Thank you!" }).waitFor({ timeout: 20_000 });

    const sessionId = (expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions`, { key }), 200, "sessions").data[0].id) as string;
    const manifest = expectStatus(await api(server, "GET", `/v1/sessions/${sessionId}/audio/manifest?track=participant`, { key }), 200, "manifest");
    // One answer: the first window's part, then the second's after it moved.
    expect(manifest.answers).toHaveLength(1);
    figures["two windows: stored answer"] = `${manifest.answers[0].durationMs} ms`;
    expect(manifest.answers[0].durationMs).toBeGreaterThan(6_000);
    expect(errors).toEqual([]);
  }, 120_000);
});

