// Whole interviews against the real local server (`wrangler dev --local`), driven over real
// WebSockets the way a participant's browser, a live dashboard and the CLI demo drive them.
import { spawn } from "node:child_process";
import { join as pathJoin } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, eventually, expectStatus, nodeBinary, ROOT, Socket, startServer, type TestServer } from "./helpers/server";

const HEARTBEAT_SECONDS = 4;
/** How soon a watcher must see an answer after the participant sent it. */
const LIVE_BOUND_MS = 2_000;

let server: TestServer;
let key: string;

beforeAll(async () => {
  server = await startServer({
    vars: {
      HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_SECONDS),
      PAUSE_EXPIRY_SECONDS: "120",
      LEAVE_GRACE_SECONDS: "30",
    },
  });
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const org = expectStatus(
    await api(server, "POST", "/v1/orgs", {
      key: server.vars.OPERATOR_TOKEN,
      body: { name: "E2E Research", plan: "professional", owner: { email: `owner-${suffix}@e2e.example`, name: "E2E Owner", password: "correct horse battery staple" } },
    }),
    201,
    "POST /v1/orgs with the operator token",
  );
  key = org.apiKey.key;
  expect(key).toMatch(/^irk_/);
});

// A failing test shows what the server said around it, and whether wrangler reloaded under it
// (it rebuilds when files in src/ change, which drops every open socket).
let logMark = 0;
let reloadMark = 0;
afterEach((ctx) => {
  const logs = server?.logs() ?? "";
  const reloads = server?.reloads() ?? 0;
  if (ctx.task.result?.state === "fail") {
    const note = reloads > reloadMark ? `NOTE: wrangler reloaded the Worker ${reloads - reloadMark} time(s) during this test (src/ changed while it ran); open sockets were dropped.\n` : "";
    console.error(`---- wrangler dev output during "${ctx.task.name}" ----\n${note}${logs.slice(Math.max(logMark, logs.length - 20_000))}`);
  }
  logMark = logs.length;
  reloadMark = reloads;
});

afterAll(async () => {
  await server?.stop();
});

// ---- small steps of a user's journey ----

type Question = { text: string; probe?: "none" | "light" | "deep" };

async function createCampaign(name: string, questions: Question[]) {
  return expectStatus(
    await api(server, "POST", "/v1/campaigns", { key, body: { name, questions, settings: { consentRequired: true, consentText: "This interview is recorded." } } }),
    201,
    "POST /v1/campaigns",
  ) as { id: string; totalQuestions: number };
}

async function createInvite(campaignId: string) {
  return expectStatus(
    await api(server, "POST", `/v1/campaigns/${campaignId}/invites`, { key, body: { participant: { name: "Pat Participant", email: "pat@e2e.example" } } }),
    201,
    "POST /v1/campaigns/{id}/invites",
  ) as { id: string; token: string; url: string };
}

async function join(token: string) {
  return expectStatus(
    await api(server, "POST", "/v1/join", { body: { token, device: { browser: "e2e", os: "linux", deviceType: "desktop" } } }),
    201,
    "POST /v1/join",
  ) as { sessionId: string; participantToken: string; status: string; resumed: boolean; consentRequired: boolean; totalQuestions: number };
}

const connect = (sessionId: string, participantToken: string, label = "participant") =>
  Socket.open(`${server.wsBase}/v1/sessions/${sessionId}/connect?token=${encodeURIComponent(participantToken)}`, label);

const watchSession = (sessionId: string) =>
  Socket.open(`${server.wsBase}/v1/sessions/${sessionId}/live`, "session watcher", { headers: { Authorization: `Bearer ${key}` } });

const watchCampaign = (campaignId: string) =>
  Socket.open(`${server.wsBase}/v1/campaigns/${campaignId}/live`, "campaign watcher", { headers: { Authorization: `Bearer ${key}` } });

/** hello → state(created) → consent → start → the first question. */
async function begin(p: Socket) {
  p.send({ type: "hello" });
  const state = await p.next((f) => f.type === "state", "the state frame answering hello");
  expect(state.status).toBe("created");
  p.send({ type: "consent", granted: true });
  p.send({ type: "start" });
  return p.nextWithIndex((f) => f.type === "question" && f.index === 0 && !f.followUp, "the first question after start");
}

/** Sends an answer and waits for its ack; returns the ack and when the answer was sent. */
async function answer(p: Socket, id: string, text: string) {
  const from = p.received.length;
  const sentAt = Date.now();
  p.send({ type: "answer", id, text });
  const ack = await p.next((f) => f.type === "ack" && f.id === id, `the ack of answer ${id}`, { from });
  return { ack, sentAt, from };
}

/** The next question or the end of the interview, after frame index `from`. */
const nextStep = (p: Socket, from: number) =>
  p.nextWithIndex((f) => f.type === "question" || f.type === "ended", "the next question or the end of the interview", { from, timeoutMs: 10_000 });

const segmentFrames = (w: Socket, sessionId: string) => w.frames.filter((f) => f.type === "segment" && f.sessionId === sessionId).map((f) => f.segment);
const statusFrames = (w: Socket, sessionId: string) => w.frames.filter((f) => f.type === "status" && f.sessionId === sessionId).map((f) => f.status as string);
const dedupe = (xs: string[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);

async function getSession(id: string) {
  return expectStatus(await api(server, "GET", `/v1/sessions/${id}`, { key }), 200, `GET /v1/sessions/${id}`);
}

async function transcript(id: string) {
  return expectStatus(await api(server, "GET", `/v1/sessions/${id}/transcript`, { key }), 200, `GET /v1/sessions/${id}/transcript`) as { segments: any[] };
}

/** The campaign's session list with a status filter, polled briefly (the index is written just after the object). */
async function listedWithStatus(campaignId: string, status: string, sessionId: string) {
  return eventually(
    async () => {
      const r = await api(server, "GET", `/v1/campaigns/${campaignId}/sessions?status=${status}`, { key });
      const body = expectStatus(r, 200, `GET /v1/campaigns/${campaignId}/sessions?status=${status}`);
      return body.data.find((s: any) => s.id === sessionId) ?? null;
    },
    `session ${sessionId} in the campaign's list filtered by status=${status}`,
    5_000,
  );
}

describe("InterviewRelay end to end (wrangler dev --local)", () => {
  it("the API's unknown paths answer a 404 envelope through local dev's asset layer, never the dashboard page", async () => {
    for (const path of ["/v1", "/v1/", "/v1/nope"]) {
      const r = await api(server, "GET", path, {});
      expect(r.status, path).toBe(404);
      expect(r.json?.error?.code, path).toBe("NOT_FOUND");
    }
  });

  it("a participant completes an interview with a follow-up while the team watches live", async () => {
    const questions: Question[] = [
      { text: "What do you use the product for?", probe: "light" },
      { text: "What would make you recommend it to a colleague?" },
      { text: "Anything else the team should hear?" },
    ];
    const campaign = await createCampaign("E2E happy path", questions);
    expect(campaign.totalQuestions).toBe(3);
    const campaignWatcher = await watchCampaign(campaign.id);
    const campaignSnapshot = await campaignWatcher.next((f) => f.type === "snapshot", "the campaign watcher's snapshot");
    expect(campaignWatcher.frames[0].type).toBe("snapshot");
    expect(campaignSnapshot.sessions).toEqual([]);

    const invite = await createInvite(campaign.id);
    const joined = await join(invite.token);
    expect(joined).toMatchObject({ status: "created", resumed: false, consentRequired: true, totalQuestions: 3 });
    expect(joined.sessionId).toMatch(/^ses_/);
    const sessionId = joined.sessionId;

    const watcher = await watchSession(sessionId);
    const snapshot = await watcher.next((f) => f.type === "snapshot", "the session watcher's snapshot");
    expect(watcher.frames[0].type).toBe("snapshot");
    expect(snapshot.session).toMatchObject({ id: sessionId, status: "created" });
    expect(snapshot.segments).toEqual([]);

    const p = await connect(sessionId, joined.participantToken);
    p.startPinging();
    const first = await begin(p);
    expect(first.frame.text).toBe(questions[0]!.text);

    // Answer whatever is asked; the short first answer earns the light probe's follow-up.
    const answers: { id: string; text: string; sentAt: number; ackSeq: number; questionIndex: number; followUp: boolean }[] = [];
    let step = first;
    for (let guard = 0; guard < 10 && step.frame.type === "question"; guard++) {
      const q = step.frame;
      const text = q.followUp
        ? "Mostly for planning our weekly client work across three small teams, and for tracking what shipped."
        : q.index === 0
          ? "Planning, mostly."
          : `Answer to question ${q.index + 1}: it is fast, the team is responsive and support answers within a day.`;
      const id = `a-${q.index}-${q.followUp ? "fu" : "main"}`;
      const { ack, sentAt, from } = await answer(p, id, text);
      answers.push({ id, text, sentAt, ackSeq: ack.seq, questionIndex: q.index, followUp: q.followUp });
      step = await nextStep(p, from);
    }
    expect(step.frame).toMatchObject({ type: "ended", status: "completed", reason: "finished" });
    await p.waitClosed();

    // Every answer acked exactly once, a follow-up was asked for the light-probe question only.
    expect(answers.map((a) => [a.questionIndex, a.followUp])).toEqual([
      [0, false],
      [0, true],
      [1, false],
      [2, false],
    ]);
    for (const a of answers) expect(p.frames.filter((f) => f.type === "ack" && f.id === a.id)).toHaveLength(1);
    expect(p.frames.filter((f) => f.type === "error")).toEqual([]);
    const seqs = p.frames.filter((f) => typeof f.seq === "number").map((f) => f.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // The stored transcript: questions and answers alternate, in order.
    const { segments } = await transcript(sessionId);
    expect(segments.map((s) => [s.speaker, s.questionIndex])).toEqual([
      ["ai", 0],
      ["participant", 0],
      ["ai", 0],
      ["participant", 0],
      ["ai", 1],
      ["participant", 1],
      ["ai", 2],
      ["participant", 2],
    ]);
    expect(segments.filter((s) => s.speaker === "participant").map((s) => s.text)).toEqual(answers.map((a) => a.text));
    expect(segments[0].text).toBe(questions[0]!.text);
    expect(segments[4].text).toBe(questions[1]!.text);
    expect(segments[6].text).toBe(questions[2]!.text);
    const segSeqs = segments.map((s) => s.seq);
    expect(segSeqs).toEqual([...segSeqs].sort((a, b) => a - b));
    expect(new Set(segSeqs).size).toBe(segSeqs.length);

    // Both watchers saw every segment, in order, as it happened, and the status changes.
    await watcher.next((f) => f.type === "status" && f.status === "completed", "the session watcher's completed status", { timeoutMs: LIVE_BOUND_MS });
    await campaignWatcher.next((f) => f.type === "status" && f.sessionId === sessionId && f.status === "completed", "the campaign watcher's completed status", {
      timeoutMs: LIVE_BOUND_MS,
    });
    for (const [name, w] of [
      ["session watcher", watcher],
      ["campaign watcher", campaignWatcher],
    ] as const) {
      expect(segmentFrames(w, sessionId), `${name}: segment frames`).toEqual(segments);
      for (const a of answers) {
        const seen = w.received.find((r) => r.frame.type === "segment" && r.frame.segment.speaker === "participant" && r.frame.segment.text === a.text);
        expect(seen, `${name} saw answer ${a.id}`).toBeTruthy();
        expect(seen!.at - a.sentAt, `${name}: ms from sending ${a.id} to seeing it`).toBeLessThanOrEqual(LIVE_BOUND_MS);
      }
    }
    expect(dedupe(statusFrames(watcher, sessionId))).toEqual(["in_progress", "completed"]);
    expect(dedupe(statusFrames(campaignWatcher, sessionId))).toEqual(["created", "in_progress", "completed"]);
    watcher.close();
    campaignWatcher.close();

    // The API agrees.
    const session = await getSession(sessionId);
    expect(session).toMatchObject({
      id: sessionId,
      campaignId: campaign.id,
      inviteId: invite.id,
      status: "completed",
      questionsAnswered: 3,
      totalQuestions: 3,
      completion: 100,
      endReason: "finished",
      consent: { required: true, granted: true },
    });
    expect(session.startedAt).toEqual(expect.any(String));
    expect(session.completedAt).toEqual(expect.any(String));
    expect(session.duration).toEqual(expect.any(Number));

    const listed = await listedWithStatus(campaign.id, "completed", sessionId);
    expect(listed).toMatchObject({ status: "completed", questionsAnswered: 3 });
    const active = expectStatus(await api(server, "GET", `/v1/campaigns/${campaign.id}/sessions?status=in_progress,paused`, { key }), 200, "list active sessions");
    expect(active.data.map((s: any) => s.id)).not.toContain(sessionId);

    // A finished interview cannot be reopened on the socket.
    await expect(connect(sessionId, joined.participantToken, "late participant")).rejects.toMatchObject({ status: 410 });
  });

  it("an answer whose ack was lost to a dropped connection is stored once and the interview continues", async () => {
    const questions: Question[] = [{ text: "First question?" }, { text: "Second question?" }, { text: "Third question?" }];
    const campaign = await createCampaign("E2E reconnect", questions);
    const joined = await join((await createInvite(campaign.id)).token);
    const sessionId = joined.sessionId;

    const p1 = await connect(sessionId, joined.participantToken, "participant (first connection)");
    p1.startPinging();
    await begin(p1);
    const { from } = await answer(p1, "r-0", "The first answer, typed before the connection dropped.");
    const q1 = await p1.nextWithIndex((f) => f.type === "question" && f.index === 1, "question 2", { from });
    expect(q1.frame.text).toBe(questions[1]!.text);
    const lastSeq = Math.max(...p1.frames.filter((f) => typeof f.seq === "number").map((f) => f.seq as number));

    // The answer leaves the machine, then the connection dies before the ack can be read.
    const lostAnswer = "The second answer, whose ack never arrived.";
    await p1.sendFlushed({ type: "answer", id: "r-1", text: lostAnswer });
    p1.terminate();

    // The server stored it (the frame reached the server before the connection dropped).
    await eventually(
      async () => (await transcript(sessionId)).segments.some((s) => s.speaker === "participant" && s.text === lostAnswer),
      "the answer sent just before the drop to be stored",
      5_000,
    );

    // The participant's page reconnects, replays what it missed, and resends the unacked answer.
    const p2 = await connect(sessionId, joined.participantToken, "participant (reconnected)");
    p2.startPinging();
    p2.send({ type: "hello", lastSeq });
    // The replay (ack, question 3 and its state frame) comes first, then the state frame answering hello.
    const replayedState = await p2.nextWithIndex((f) => f.type === "state", "the replayed state frame");
    const hello = await p2.nextWithIndex((f) => f.type === "state", "the state frame answering hello", { from: replayedState.index + 1 });
    const replayed = p2.frames.slice(0, hello.index);
    expect(replayed.every((f) => f.seq > lastSeq), `replay starts after lastSeq ${lastSeq}: ${JSON.stringify(replayed)}`).toBe(true);
    const replayedAck = replayed.find((f) => f.type === "ack" && f.id === "r-1");
    expect(replayedAck, `the replay carries the lost ack: ${JSON.stringify(replayed)}`).toBeTruthy();
    expect(replayed.some((f) => f.type === "question" && f.index === 2)).toBe(true);
    expect(hello.frame).toMatchObject({ status: "in_progress", questionIndex: 2, totalQuestions: 3 });

    const resent = await answer(p2, "r-1", lostAnswer);
    expect(resent.ack.seq).toBe(replayedAck.seq);

    const { from: after2 } = await answer(p2, "r-2", "The third answer, after reconnecting.");
    const end = await nextStep(p2, after2);
    expect(end.frame).toMatchObject({ type: "ended", status: "completed" });
    await p2.waitClosed();
    expect(p2.frames.filter((f) => f.type === "error")).toEqual([]);

    const { segments } = await transcript(sessionId);
    expect(segments.filter((s) => s.text === lostAnswer)).toHaveLength(1);
    expect(segments.map((s) => [s.speaker, s.questionIndex])).toEqual([
      ["ai", 0],
      ["participant", 0],
      ["ai", 1],
      ["participant", 1],
      ["ai", 2],
      ["participant", 2],
    ]);
    expect(await getSession(sessionId)).toMatchObject({ status: "completed", questionsAnswered: 3 });
  });

  it("the team pauses and resumes an interview; the participant cannot lift the team's pause", async () => {
    const campaign = await createCampaign("E2E pause", [{ text: "How was your week?" }, { text: "What is next for you?" }]);
    const joined = await join((await createInvite(campaign.id)).token);
    const sessionId = joined.sessionId;
    const watcher = await watchSession(sessionId);
    const p = await connect(sessionId, joined.participantToken);
    p.startPinging();
    await begin(p);

    // Nothing to resume while it runs.
    const early = await api(server, "POST", `/v1/sessions/${sessionId}/resume`, { key, body: {} });
    expect(early.status, early.text).toBe(409);
    expect(early.json.error.code).toBe("INVALID_TRANSITION");

    let from = p.received.length;
    const paused = expectStatus(await api(server, "POST", `/v1/sessions/${sessionId}/pause`, { key, body: { reason: "Checking the recording" } }), 200, "POST pause");
    expect(paused).toMatchObject({ status: "paused", pausedReason: "Checking the recording" });
    expect(await p.next((f) => f.type === "paused", "the paused frame", { from })).toMatchObject({ by: "admin", reason: "Checking the recording" });
    await p.next((f) => f.type === "state" && f.status === "paused", "the paused state frame", { from });

    // The participant may neither lift the team's pause nor answer while paused.
    from = p.received.length;
    p.send({ type: "resume" });
    const refused = await p.next((f) => f.type === "error", "an error frame for the participant's resume", { from });
    expect(refused.code).toBe("FORBIDDEN");
    from = p.received.length;
    p.send({ type: "answer", id: "while-paused", text: "Trying to answer while paused." });
    expect(await p.next((f) => f.type === "error", "an error frame for an answer while paused", { from })).toMatchObject({ code: "INVALID_TRANSITION" });
    expect(p.frames.some((f) => f.type === "ack" && f.id === "while-paused")).toBe(false);
    expect(await getSession(sessionId)).toMatchObject({ status: "paused", pausedReason: "Checking the recording" });

    from = p.received.length;
    expect(expectStatus(await api(server, "POST", `/v1/sessions/${sessionId}/resume`, { key, body: {} }), 200, "POST resume")).toMatchObject({ status: "in_progress" });
    await p.next((f) => f.type === "resumed", "the resumed frame", { from });
    await p.next((f) => f.type === "state" && f.status === "in_progress", "the in_progress state frame", { from });

    // The interview carries on where it was.
    const a0 = await answer(p, "p-0", "A calm week with a product launch on Thursday and a long weekend after it.");
    const q1 = await nextStep(p, a0.from);
    expect(q1.frame).toMatchObject({ type: "question", index: 1 });
    const a1 = await answer(p, "p-1", "A holiday, then planning the next quarter with the whole team in one room.");
    expect((await nextStep(p, a1.from)).frame).toMatchObject({ type: "ended", status: "completed" });
    await p.waitClosed();

    await watcher.next((f) => f.type === "status" && f.status === "completed", "the watcher's completed status", { timeoutMs: LIVE_BOUND_MS });
    expect(dedupe(statusFrames(watcher, sessionId))).toEqual(["in_progress", "paused", "in_progress", "completed"]);
    watcher.close();
    const session = await getSession(sessionId);
    expect(session).toMatchObject({ status: "completed", questionsAnswered: 2, pauseCount: 1 });
    expect(session.transcript).toBeUndefined();
    expect((await transcript(sessionId)).segments.filter((s) => s.text === "Trying to answer while paused.")).toEqual([]);

    const late = await api(server, "POST", `/v1/sessions/${sessionId}/pause`, { key, body: { reason: "too late" } });
    expect(late.status, late.text).toBe(409);
    expect(late.json.error.code).toBe("INVALID_TRANSITION");
  });

  it(`a silent participant is abandoned after HEARTBEAT_TIMEOUT_SECONDS (${HEARTBEAT_SECONDS}s); one that pings stays in progress`, async () => {
    const campaign = await createCampaign("E2E heartbeat", [{ text: "Are you still there?" }]);
    const silentJoin = await join((await createInvite(campaign.id)).token);
    const livelyJoin = await join((await createInvite(campaign.id)).token);
    const watcher = await watchSession(silentJoin.sessionId);

    const silent = await connect(silentJoin.sessionId, silentJoin.participantToken, "silent participant");
    const lively = await connect(livelyJoin.sessionId, livelyJoin.participantToken, "pinging participant");
    lively.startPinging(1_000);
    const [silentStart, livelyStart] = await Promise.all([begin(silent), begin(lively)]);

    const bound = HEARTBEAT_SECONDS * 1000 + 8_000;
    let ended;
    try {
      ended = await silent.nextWithIndex((f) => f.type === "ended", "the ended frame", { from: silentStart.index, timeoutMs: bound });
    } catch (err) {
      throw new Error(
        `a participant silent since ${new Date(silentStart.at).toISOString()} was not abandoned within ${bound} ms ` +
          `(HEARTBEAT_TIMEOUT_SECONDS=${HEARTBEAT_SECONDS}); status now ${(await getSession(silentJoin.sessionId)).status}. ${String(err)}`,
      );
    }
    const silentFor = ended.at - silentStart.at;
    expect(ended.frame).toMatchObject({ status: "abandoned", reason: "heartbeat_timeout" });
    expect(silentFor, "not abandoned before the heartbeat timeout").toBeGreaterThanOrEqual(HEARTBEAT_SECONDS * 1000 - 500);
    await silent.waitClosed();
    await watcher.next((f) => f.type === "status" && f.status === "abandoned", "the watcher's abandoned status", { timeoutMs: LIVE_BOUND_MS });
    expect(dedupe(statusFrames(watcher, silentJoin.sessionId))).toEqual(["in_progress", "abandoned"]);
    watcher.close();
    expect(await getSession(silentJoin.sessionId)).toMatchObject({ status: "abandoned", endReason: "heartbeat_timeout", completedAt: null });
    await listedWithStatus(campaign.id, "abandoned", silentJoin.sessionId);

    // The pinging participant has been connected at least as long, plus margin, and is still interviewing.
    const margin = livelyStart.at + HEARTBEAT_SECONDS * 1000 + 2_500 - Date.now();
    if (margin > 0) await new Promise((r) => setTimeout(r, margin));
    expect(lively.frames.filter((f) => f.type === "ended"), "the pinging participant was not ended").toEqual([]);
    expect(lively.closed).toBeNull();
    expect(lively.frames.filter((f) => f.type === "pong").length).toBeGreaterThanOrEqual(HEARTBEAT_SECONDS);
    expect(await getSession(livelyJoin.sessionId)).toMatchObject({ status: "in_progress" });

    // …and can still finish.
    const a = await answer(lively, "h-0", "Yes, still here and happy to keep going with the interview.");
    expect((await nextStep(lively, a.from)).frame).toMatchObject({ type: "ended", status: "completed" });
    await lively.waitClosed();
  });

  it("the README's demo path: scripts/interview.mjs completes an interview from the terminal", async () => {
    const campaign = await createCampaign("E2E CLI", [
      { text: "What do you do, and how does the product fit into your week?", probe: "light" },
      { text: "What frustrated you most recently?", probe: "deep" },
      { text: "Anything else?" },
    ]);
    const invite = await createInvite(campaign.id);
    const result = await new Promise<{ code: number | null; out: string }>((resolveRun, reject) => {
      const child = spawn(nodeBinary(), [pathJoin(ROOT, "scripts", "interview.mjs"), invite.token, server.base], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`scripts/interview.mjs did not finish within 45 s; output:\n${out}`));
      }, 45_000);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolveRun({ code, out });
      });
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain("Interview completed");
    expect(result.out).not.toContain("error frame");
    const sessionId = /session (ses_[A-Za-z0-9]+)/.exec(result.out)?.[1];
    expect(sessionId, result.out).toBeTruthy();
    expect(await getSession(sessionId!)).toMatchObject({ status: "completed", questionsAnswered: 3, totalQuestions: 3 });
  });
});
