// Every malformed or illegal participant frame gets one {type:"error", code, message} frame and
// changes nothing: the state after hello, the transcript and the session are as they were.
import { describe, expect, it } from "vitest";
import { join } from "../helpers/api";
import { answer, begin, call, callRoute, connect, createCampaign, createInvite, createOrg, keepAlive, type Interview } from "../helpers/fixtures";
import { openSocket, upgrade } from "../helpers/socket";

/** What must not move: the state frame after a fresh hello, the transcript and the session. */
async function snapshot(i: Interview, key: string) {
  const from = i.ws.frames.length;
  i.ws.send({ type: "hello", lastSeq: 1_000_000 });
  const state = await i.ws.next((f) => f.type === "state", "state after hello", from);
  const transcript = (await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key })).json.segments;
  const s = (await call("GET", `/v1/sessions/${i.sessionId}`, { key })).json;
  return { state, transcript, session: { status: s.status, questionsAnswered: s.questionsAnswered, consent: s.consent, pausedReason: s.pausedReason, lastQuestionIndex: s.lastQuestionIndex } };
}

/** Sends one frame and returns the error frame it caused; no other frame may come back. */
async function expectError(i: Interview, frame: unknown, code?: string | RegExp) {
  const from = i.ws.frames.length;
  if (frame instanceof ArrayBuffer) i.ws.ws.send(frame);
  else i.ws.send(frame);
  const err = await i.ws.next((f) => f.type === "error", `an error frame for ${String(typeof frame === "string" ? frame : JSON.stringify(frame)).slice(0, 80)}`, from);
  // The contract's error frame; errors about a spoken answer also name it (answerId, an extension),
  // and so do a typed answer's STALE_ANSWER and INVALID_FRAME when its id is well-formed.
  const sent = namedFrame(frame);
  const answerType = typeof sent?.type === "string" ? sent.type : "";
  const wellFormedId = typeof sent?.id === "string" && sent.id.length >= 1 && sent.id.length <= 128;
  const namedId =
    sent && "id" in sent && /^answer_(start|end)$/.test(answerType) ? sent.id : answerType === "answer" && wellFormedId && (err.code === "INVALID_FRAME" || err.code === "STALE_ANSWER") ? sent!.id : undefined;
  expect(Object.keys(err).sort()).toEqual(namedId === undefined ? ["code", "message", "type"] : ["answerId", "code", "message", "type"]);
  if (namedId !== undefined) expect(err.answerId).toBe(namedId);
  expect(err.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(typeof err.message).toBe("string");
  expect(err.message.length).toBeGreaterThan(0);
  if (code) expect(err.code, JSON.stringify(frame).slice(0, 80)).toMatch(typeof code === "string" ? new RegExp(`^${code}$`) : code);
  // Let anything else the frame might have caused arrive before checking there was none.
  await new Promise((r) => setTimeout(r, 20));
  const others = i.ws.frames.slice(from).filter((f) => f.type !== "error" && f.type !== "pong");
  expect(others, `frames besides the error for ${JSON.stringify(frame).slice(0, 80)}`).toEqual([]);
  return err;
}

/** The frame as an object (parsed when it was sent as text), or null. */
function namedFrame(frame: unknown): Record<string, unknown> | null {
  let f = frame;
  if (typeof f === "string") {
    try {
      f = JSON.parse(f);
    } catch {
      return null;
    }
  }
  return typeof f === "object" && f !== null && !(f instanceof ArrayBuffer) && !Array.isArray(f) ? (f as Record<string, unknown>) : null;
}

const MALFORMED: [unknown, string][] = [
  ["not json", "INVALID_JSON"],
  ["{", "INVALID_JSON"],
  ["", "INVALID_JSON"],
  ["null", "INVALID_FRAME"],
  ["[]", "INVALID_FRAME"],
  ["42", "INVALID_FRAME"],
  ['"hello"', "INVALID_FRAME"],
  [{}, "INVALID_FRAME"],
  [{ type: "nope" }, "INVALID_FRAME"],
  [{ type: "HELLO" }, "INVALID_FRAME"],
  [{ type: 5 }, "INVALID_FRAME"],
  [{ type: null }, "INVALID_FRAME"],
  // missing fields
  [{ type: "answer" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m1" }, "INVALID_FRAME"],
  [{ type: "answer", text: "an answer" }, "INVALID_FRAME"],
  [{ type: "consent" }, "INVALID_FRAME"],
  [{ type: "answer_start" }, "INVALID_FRAME"],
  // extra fields
  [{ type: "start", force: true }, "INVALID_FRAME"],
  [{ type: "answer", id: "m2", text: "an answer", questionIndex: 2 }, "INVALID_FRAME"],
  [{ type: "hello", lastSeq: 0, token: "x" }, "INVALID_FRAME"],
  [{ type: "resume", by: "admin" }, "INVALID_FRAME"],
  [{ type: "ping", extra: 1 }, "INVALID_FRAME"],
  [{ type: "consent", granted: true, at: "2020-01-01T00:00:00Z" }, "INVALID_FRAME"],
  // wrong types and out-of-range values
  [{ type: "answer", id: 1, text: "an answer" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m3", text: 5 }, "INVALID_FRAME"],
  [{ type: "answer", id: "", text: "an answer" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m4", text: "" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m5", text: "   " }, "INVALID_FRAME"],
  [{ type: "answer", id: "m5z", text: "\u200b\u200d \u2060" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m5c", text: "\u0000\u0007" }, "INVALID_FRAME"],
  // a lone surrogate is not text (SQLite would store U+FFFD in its place)
  [{ type: "answer", id: "m5s", text: "an answer \ud800" }, "INVALID_FRAME"],
  [{ type: "answer", id: "x".repeat(129), text: "an answer" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m6", text: "y".repeat(20_001) }, "INVALID_FRAME"],
  [{ type: "answer", id: "m7", text: "an answer", questionSeq: -1 }, "INVALID_FRAME"],
  [{ type: "answer", id: "m8", text: "an answer", questionSeq: "3" }, "INVALID_FRAME"],
  [{ type: "answer", id: "m9", text: "an answer", questionSeq: 1.5 }, "INVALID_FRAME"],
  [{ type: "consent", granted: "yes" }, "INVALID_FRAME"],
  [{ type: "consent", granted: null }, "INVALID_FRAME"],
  [{ type: "hello", lastSeq: "1" }, "INVALID_FRAME"],
  [{ type: "hello", lastSeq: -1 }, "INVALID_FRAME"],
  [{ type: "hello", lastSeq: 1.5 }, "INVALID_FRAME"],
  [{ type: "pause", reason: 5 }, "INVALID_FRAME"],
  [{ type: "pause", reason: "r".repeat(501) }, "INVALID_FRAME"],
  // a page's client id (hello.client) is short and URL-safe; takeOver is a boolean
  [{ type: "hello", client: "" }, "INVALID_FRAME"],
  [{ type: "hello", client: "c".repeat(65) }, "INVALID_FRAME"],
  [{ type: "hello", client: "tab one" }, "INVALID_FRAME"],
  [{ type: "hello", client: "tab/1" }, "INVALID_FRAME"],
  [{ type: "hello", client: "täb" }, "INVALID_FRAME"],
  [{ type: "hello", client: 42 }, "INVALID_FRAME"],
  [{ type: "hello", client: null }, "INVALID_FRAME"],
  [{ type: "answer_start", id: "v9", takeOver: "true" }, "INVALID_FRAME"],
  [{ type: "answer_start", id: "v9", takeOver: 1 }, "INVALID_FRAME"],
  [{ type: "answer_start", id: "v9", takeOver: null }, "INVALID_FRAME"],
  [{ type: "answer_end", id: "v9", takeOver: true }, "INVALID_FRAME"],
  [{ type: "answer", id: "m10", text: "an answer", takeOver: true }, "INVALID_FRAME"],
];

async function setup(opts: { consentRequired?: boolean } = {}) {
  const { apiKey } = await createOrg();
  const campaign = await createCampaign(apiKey.key, {
    questions: [{ text: "First?" }, { text: "Second?" }, { text: "Third?" }],
    settings: { consentRequired: opts.consentRequired ?? true },
  });
  const invite = await createInvite(apiKey.key, campaign.id);
  return { key: apiKey.key, campaign, invite };
}

describe("participant socket: frames before hello", () => {
  it("are refused with HELLO_REQUIRED (or a parse error) and change nothing", async () => {
    const { key, invite } = await setup();
    const joined = await join(invite.token);
    const { sessionId, participantToken } = joined.json;
    const ws = await openSocket(`/v1/sessions/${sessionId}/connect?token=${participantToken}`);
    const i: Interview = { sessionId, participantToken, ws };
    for (const frame of [{ type: "consent", granted: true }, { type: "start" }, { type: "answer", id: "early", text: "too early" }, { type: "pause" }, { type: "resume" }, { type: "leave" }, { type: "consent", granted: false }]) {
      await expectError(i, frame, "HELLO_REQUIRED");
    }
    await expectError(i, "not json", "INVALID_JSON");
    await expectError(i, { type: "nope" }, "INVALID_FRAME");
    await expectError(i, new Uint8Array([1, 2, 3, 4]).buffer, "AUDIO_NOT_ACCEPTED");
    const after = await snapshot(i, key);
    expect(after.state).toMatchObject({ status: "created", questionIndex: 0, totalQuestions: 3 });
    expect(after.session).toMatchObject({ status: "created", questionsAnswered: 0, consent: { required: true, granted: null, at: null } });
    expect(after.transcript).toEqual([]);
    ws.close();
  });
});

describe("participant socket: illegal transitions", () => {
  it("before start: answer, pause, resume and start without consent are refused", async () => {
    const { key, invite } = await setup();
    const i = await connect(invite.token);
    keepAlive(i.ws);
    const before = await snapshot(i, key);
    await expectError(i, { type: "start" }, "CONSENT_REQUIRED");
    await expectError(i, { type: "answer", id: "a0", text: "before the start" }, "INVALID_TRANSITION");
    await expectError(i, { type: "resume" }, "INVALID_TRANSITION");
    await expectError(i, { type: "pause", reason: "not yet" }, "INVALID_TRANSITION");
    await expectError(i, { type: "answer_start", id: "v0" });
    await expectError(i, { type: "answer_end", id: "v0" });
    expect(await snapshot(i, key)).toEqual(before);
    i.ws.close();
  });

  it("in progress: start twice, resume when not paused, voice frames in a text interview are refused", async () => {
    const { key, invite } = await setup();
    const i = await connect(invite.token);
    keepAlive(i.ws);
    await begin(i);
    await answer(i, "a1", "The first answer, recorded once.");
    const before = await snapshot(i, key);
    expect(before.state).toMatchObject({ status: "in_progress", questionIndex: 1 });
    await expectError(i, { type: "start" }, "INVALID_TRANSITION");
    await expectError(i, { type: "resume" }, "INVALID_TRANSITION");
    await expectError(i, { type: "answer_start", id: "v1" });
    await expectError(i, { type: "answer_end", id: "v1", text: "spoken" });
    expect(await snapshot(i, key)).toEqual(before);
    // A repeated answer id is acked again without a second segment.
    const from = i.ws.frames.length;
    i.ws.send({ type: "answer", id: "a1", text: "The first answer, recorded once." });
    const ack = await i.ws.next((f) => f.type === "ack" && f.id === "a1", "repeated ack", from);
    expect(ack.seq).toBe(i.ws.frames.find((f) => f.type === "ack" && f.id === "a1").seq);
    expect(await snapshot(i, key)).toEqual(before);
    i.ws.close();
  });

  it("paused: answers, a second pause and a participant resume of an admin pause are refused", async () => {
    const { key, invite } = await setup();
    const i = await connect(invite.token);
    keepAlive(i.ws);
    await begin(i);
    const from = i.ws.frames.length;
    i.ws.send({ type: "pause", reason: "doorbell" });
    await i.ws.next((f) => f.type === "paused" && f.by === "participant", "paused", from);
    const before = await snapshot(i, key);
    expect(before.session).toMatchObject({ status: "paused", pausedReason: "doorbell" });
    await expectError(i, { type: "answer", id: "p1", text: "while paused" }, "INVALID_TRANSITION");
    await expectError(i, { type: "pause" }, "INVALID_TRANSITION");
    await expectError(i, { type: "start" }, "INVALID_TRANSITION");
    expect(await snapshot(i, key)).toEqual(before);

    const admin = await call("POST", `/v1/sessions/${i.sessionId}/pause`, { key, body: { reason: "review" } });
    expect(admin.status).toBe(200);
    const adminPaused = await snapshot(i, key);
    await expectError(i, { type: "resume" }, "FORBIDDEN");
    expect(await snapshot(i, key)).toEqual(adminPaused);
    i.ws.close();
  });
});

describe("participant socket: answers name their question (questionSeq)", () => {
  it("an answer to a question no longer open is refused with STALE_ANSWER naming it, and nothing is stored", async () => {
    const { key, invite } = await setup({ consentRequired: false });
    const i = await connect(invite.token);
    keepAlive(i.ws);
    let from = i.ws.frames.length;
    i.ws.send({ type: "start" });
    const q0 = await i.ws.next((f) => f.type === "question" && f.index === 0, "question 0", from);
    // Tab A answers question 0, naming it.
    from = i.ws.frames.length;
    i.ws.send({ type: "answer", id: "tabA-0", text: "Tab A answers the first question.", questionSeq: q0.seq });
    const ackA = await i.ws.next((f) => f.type === "ack" && f.id === "tabA-0", "ack tabA-0", from);
    const q1 = await i.ws.next((f) => f.type === "question" && f.index === 1, "question 1", from);
    const before = await snapshot(i, key);
    // A stale tab B still shows question 0: its answer must not be filed under question 1.
    const err = await expectError(i, { type: "answer", id: "tabB-0", text: "Tab B's answer to the first question.", questionSeq: q0.seq }, "STALE_ANSWER");
    expect(err.answerId).toBe("tabB-0");
    // A seq that never was a question (or is not yet one) is stale too.
    await expectError(i, { type: "answer", id: "tabB-x", text: "An answer to nothing.", questionSeq: q1.seq + 50 }, "STALE_ANSWER");
    expect(await snapshot(i, key)).toEqual(before);
    // Tab A's retry of its stored answer still gets the same ack, though the question moved on.
    from = i.ws.frames.length;
    i.ws.send({ type: "answer", id: "tabA-0", text: "Tab A answers the first question.", questionSeq: q0.seq });
    const again = await i.ws.next((f) => f.type === "ack" && f.id === "tabA-0", "repeated ack", from);
    expect(again.seq).toBe(ackA.seq);
    expect(await snapshot(i, key)).toEqual(before);
    // While paused the open question keeps its seq: a stale answer is still named stale.
    from = i.ws.frames.length;
    i.ws.send({ type: "pause" });
    await i.ws.next((f) => f.type === "state" && f.status === "paused", "state paused", from);
    await expectError(i, { type: "answer", id: "tabB-p", text: "Stale while paused.", questionSeq: q0.seq }, "STALE_ANSWER");
    from = i.ws.frames.length;
    i.ws.send({ type: "resume" });
    await i.ws.next((f) => f.type === "resumed", "resumed", from);
    // The open question's seq is accepted; an answer without questionSeq (an older page) still works.
    from = i.ws.frames.length;
    i.ws.send({ type: "answer", id: "tabA-1", text: "The second answer, for the second question.", questionSeq: q1.seq });
    await i.ws.next((f) => f.type === "ack" && f.id === "tabA-1", "ack tabA-1", from);
    await i.ws.next((f) => f.type === "question" && f.index === 2, "question 2", from);
    const q2 = await answer(i, "old-client", "An answer from a page that names no question.");
    expect(q2).toMatchObject({ type: "ended" });
    const transcript = (await call("GET", `/v1/sessions/${i.sessionId}/transcript`, { key })).json.segments as { speaker: string; text: string; questionIndex: number }[];
    expect(transcript.filter((t) => t.speaker === "participant").map((t) => [t.questionIndex, t.text])).toEqual([
      [0, "Tab A answers the first question."],
      [1, "The second answer, for the second question."],
      [2, "An answer from a page that names no question."],
    ]);
    i.ws.close();
  });
});

describe("participant socket: malformed frames", () => {
  it("each gets one error frame and nothing changes", async () => {
    const { key, invite } = await setup();
    const i = await connect(invite.token);
    keepAlive(i.ws);
    await begin(i);
    const before = await snapshot(i, key);
    for (const [frame, code] of MALFORMED) await expectError(i, typeof frame === "string" ? frame : JSON.stringify(frame), code);
    expect(await snapshot(i, key)).toEqual(before);
    expect(i.ws.closed).toBeNull();
    // The longest and oddest client id the rule allows is taken: hello answers with the state, no error.
    for (const client of ["c".repeat(64), "A-z_09", "x"]) {
      const from = i.ws.frames.length;
      i.ws.send({ type: "hello", lastSeq: 1_000_000, client });
      await i.ws.next((f) => f.type === "state", `state after hello with client ${client}`, from);
      expect(i.ws.frames.slice(from).filter((f) => f.type === "error")).toEqual([]);
    }
    // The socket still works: the open question takes an answer.
    const next = await answer(i, "ok1", "A proper answer after all that noise.");
    expect(next).toMatchObject({ type: "question", index: 1 });
    i.ws.close();
  });

  it("binary frames outside a voice answer and text frames over 64 KiB are refused", async () => {
    const { key, invite } = await setup();
    const i = await connect(invite.token);
    keepAlive(i.ws);
    await begin(i);
    const before = await snapshot(i, key);
    await expectError(i, new Uint8Array(3200).buffer, "AUDIO_NOT_ACCEPTED");
    await expectError(i, new Uint8Array(64 * 1024 + 1).buffer, /^(AUDIO_NOT_ACCEPTED|FRAME_TOO_LARGE)$/);
    await expectError(i, JSON.stringify({ type: "answer", id: "big", text: "z".repeat(64 * 1024) }), "FRAME_TOO_LARGE");
    await expectError(i, "x".repeat(64 * 1024 + 1), "FRAME_TOO_LARGE");
    expect(await snapshot(i, key)).toEqual(before);
    i.ws.close();
  });
});

describe("participant socket: connecting", () => {
  it("refuses wrong or missing tokens before the upgrade, and finished sessions with 410", async () => {
    const { key, invite } = await setup({ consentRequired: false });
    const joined = await join(invite.token);
    const { sessionId, participantToken } = joined.json;
    for (const [query, status] of [
      ["", 401],
      ["?token=", 401],
      ["?token=pt_wrong", 401],
      [`?token=${participantToken}x`, 401],
      // The right token twice, or beside a wrong one: which one counts would be a guess.
      [`?token=${participantToken}&token=${participantToken}`, 400],
      [`?token=pt_wrong&token=${participantToken}`, 400],
    ] as const) {
      const r = await callRoute("GET", `/sessions/${sessionId}/connect${query}`, undefined, { headers: { Upgrade: "websocket" } });
      expect(r.status, query).toBe(status);
      expect(r.json.error.code).toMatch(/^[A-Z_]+$/);
    }
    const other = await createInvite(key, (await call("GET", "/v1/campaigns", { key })).json.data[0].id);
    const otherJoined = await join(other.token);
    const crossed = await upgrade(`/v1/sessions/${sessionId}/connect?token=${otherJoined.json.participantToken}`);
    expect(crossed.status).toBe(401);
    const plain = await call("GET", `/v1/sessions/${sessionId}/connect?token=${participantToken}`);
    expect(plain.status).toBe(426);
    expect(plain.json.error.code).toBe("UPGRADE_REQUIRED");

    const i = await connect(invite.token);
    const from = i.ws.frames.length;
    i.ws.send({ type: "start" });
    await i.ws.next((f) => f.type === "question", "question 0", from);
    await call("POST", `/v1/sessions/${sessionId}/end`, { key });
    await i.ws.closedWithin();
    const late = await upgrade(`/v1/sessions/${sessionId}/connect?token=${participantToken}`);
    expect(late.status).toBe(410);
    expect(((await late.json()) as any).error.code).toMatch(/^[A-Z_]+$/);
  });
});
