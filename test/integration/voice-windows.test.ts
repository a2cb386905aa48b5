// One spoken answer, two windows: a window still recording an answer keeps it (another window's
// answer_start is refused with ANSWER_RECORDING_ELSEWHERE and changes nothing) unless the
// participant moves it deliberately (takeOver); a reconnect of the same page, a closed or silent
// owner, and sockets without a client id take it over as before.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { concat, parseWav } from "../../src/audio/pcm";
import { afterPcm, speechPcm } from "../fixtures/audio";
import { createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { openSocket, type TestSocket } from "../helpers/socket";

const FRAME = 32 * 1024;
/** The owner's idle limit in these tests (vitest.config.ts sets AUDIO_OWNER_IDLE_SECONDS). */
const IDLE_MS = Number(env.AUDIO_OWNER_IDLE_SECONDS) * 1000;

async function voiceSession() {
  const { apiKey } = await createOrg();
  const campaign = await createCampaign(apiKey.key, { questions: [{ text: "What did you think of the export?" }, { text: "Anything else?" }], settings: { consentRequired: false, mode: "voice" } });
  const invite = await createInvite(apiKey.key, campaign.id);
  const joined = (await join(invite.token)).json as { sessionId: string; participantToken: string };
  const s = { key: apiKey.key, ...joined };
  const first = await window(s, "tab-A");
  first.send({ type: "start" });
  const question = await first.next((f) => f.type === "question" && f.index === 0, "first question");
  return { ...s, a: first, question };
}

/** A participant socket that said hello, as a page load `client` (none: an API client or an older page). */
async function window(s: { sessionId: string; participantToken: string }, client?: string) {
  const ws = await openSocket(`/v1/sessions/${s.sessionId}/connect?token=${s.participantToken}`);
  ws.send(client ? { type: "hello", client } : { type: "hello" });
  await ws.next((f) => f.type === "state", "state after hello");
  return ws;
}

function stream(ws: TestSocket, pcm: Uint8Array) {
  for (let i = 0; i < pcm.length; i += FRAME) ws.ws.send(pcm.slice(i, i + FRAME));
}

async function open(ws: TestSocket, id: string, extra: Record<string, unknown> = {}) {
  const from = ws.frames.length;
  ws.send({ type: "answer_start", id, ...extra });
  return ws.next((f) => (f.type === "audio_ack" && f.id === id) || (f.type === "error" && f.answerId === id), `the reply to answer_start ${id}`, from);
}

async function finish(ws: TestSocket, id: string) {
  const from = ws.frames.length;
  ws.send({ type: "answer_end", id });
  return ws.next((f) => (f.type === "ack" && f.id === id) || (f.type === "error" && f.answerId === id), `the reply to answer_end ${id}`, from);
}

async function recording(s: { sessionId: string; key: string }) {
  const res = await exports.default.fetch(new Request(`https://interviews.example/v1/sessions/${s.sessionId}/audio?track=participant&format=wav`, { headers: { Authorization: `Bearer ${s.key}` } }));
  return parseWav(new Uint8Array(await res.arrayBuffer()))!.data;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("a spoken answer open in two windows", () => {
  it("stays with the window recording it: another window's answer_start, answer_end and typed answer are refused and change nothing", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm(), speechPcm()]);
    expect((await open(s.a, "v1")).bytes).toBe(0);
    stream(s.a, pcm.subarray(0, 40_000));

    const b = await window(s, "tab-B");
    const refused = await open(b, "v1");
    expect(refused).toMatchObject({ type: "error", code: "ANSWER_RECORDING_ELSEWHERE", answerId: "v1" });
    expect(Object.keys(refused).sort()).toEqual(["answerId", "code", "message", "type"]);
    // Ending it from there, or answering the question by typing, is refused the same way.
    expect(await finish(b, "v1")).toMatchObject({ code: "ANSWER_RECORDING_ELSEWHERE", answerId: "v1" });
    const typedFrom = b.frames.length;
    b.send({ type: "answer", id: "t1", text: "typed in the other window", questionSeq: s.question.seq });
    expect(await b.next((f) => f.type === "error" && f.answerId === "t1", "the typed answer refused", typedFrom)).toMatchObject({ code: "ANSWER_RECORDING_ELSEWHERE" });
    // A new answer there is still "finish v1 first" (a page adopts v1, and is then refused as above).
    expect(await open(b, "v2")).toMatchObject({ code: "ANSWER_IN_PROGRESS", message: "finish answer v1 first" });
    // Its frames are not taken.
    const bFrom = b.frames.length;
    b.ws.send(afterPcm().subarray(0, 4000));
    await b.next((f) => f.type === "error" && f.code === "AUDIO_NOT_ACCEPTED", "the other window's audio refused", bFrom);

    // The first window goes on as if nothing happened: every frame taken, chunks acknowledged.
    const aFrom = s.a.frames.length;
    stream(s.a, pcm.subarray(40_000));
    const acked = await s.a.next((f) => f.type === "audio_ack" && f.id === "v1" && f.bytes > 40_000, "audio_ack after the refusal", aFrom);
    expect(acked.bytes).toBeGreaterThan(40_000);
    expect(await finish(s.a, "v1")).toMatchObject({ type: "ack", id: "v1" });
    expect(s.a.frames.slice(aFrom).filter((f) => f.type === "error")).toEqual([]);
    // No audio_ack ever went to the refused window: it held nothing of the answer.
    expect(b.frames.some((f) => f.type === "audio_ack")).toBe(false);
    expect(same(await recording(s), pcm)).toBe(true);
  }, 30_000);

  it("moves to a new connection of the same page (same client id), which resumes from the stored offset", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    await open(s.a, "v1");
    stream(s.a, pcm.subarray(0, 30_000));
    // The page reconnected before the server noticed its old socket was gone: the old one is still open and recent.
    const again = await window(s, "tab-A");
    const resume = await open(again, "v1");
    expect(resume).toMatchObject({ type: "audio_ack", bytes: 30_000 });
    const from = s.a.frames.length;
    s.a.ws.send(pcm.subarray(30_000, 40_000));
    expect(await s.a.next((f) => f.type === "error", "the old socket's frame refused", from)).toMatchObject({ code: "AUDIO_NOT_ACCEPTED", answerId: "v1" });
    stream(again, pcm.subarray(30_000));
    expect(await finish(again, "v1")).toMatchObject({ type: "ack" });
    expect(same(await recording(s), pcm)).toBe(true);
  }, 30_000);

  it("can be taken by another window once its window closed", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    await open(s.a, "v1");
    stream(s.a, pcm.subarray(0, 30_000));
    const lastFrameAt = Date.now();
    const b = await window(s, "tab-B");
    s.a.close();
    // The server's close reply: it has processed the close.
    await s.a.closedWithin();
    const took = await open(b, "v1");
    // Well within the idle limit: it was the closed socket, not silence, that let it go.
    expect(Date.now() - lastFrameAt).toBeLessThan(IDLE_MS);
    expect(took).toMatchObject({ type: "audio_ack", bytes: 30_000 });
    stream(b, pcm.subarray(30_000));
    expect(await finish(b, "v1")).toMatchObject({ type: "ack" });
    expect(same(await recording(s), pcm)).toBe(true);
  }, 30_000);

  it("can be taken by another window once its window has sent nothing for the idle limit", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    await open(s.a, "v1");
    stream(s.a, pcm.subarray(0, 30_000));
    const b = await window(s, "tab-B");
    expect(await open(b, "v1")).toMatchObject({ code: "ANSWER_RECORDING_ELSEWHERE" });
    await sleep(IDLE_MS + 300);
    const took = await open(b, "v1");
    expect(took).toMatchObject({ type: "audio_ack", bytes: 30_000 });
    // The silent window's audio is refused from then on; the answer goes on in the new one.
    const from = s.a.frames.length;
    s.a.ws.send(pcm.subarray(30_000, 40_000));
    expect(await s.a.next((f) => f.type === "error", "the silent window's frame refused", from)).toMatchObject({ code: "AUDIO_NOT_ACCEPTED", answerId: "v1" });
    stream(b, pcm.subarray(30_000));
    expect(await finish(b, "v1")).toMatchObject({ type: "ack" });
    expect(same(await recording(s), pcm)).toBe(true);
  }, 30_000);

  it("moves to another window that asks for it (takeOver); the window it left cannot take it back by reopening", async () => {
    const s = await voiceSession();
    const mine = speechPcm().subarray(0, 30_000);
    const theirs = afterPcm();
    await open(s.a, "v1");
    stream(s.a, mine);
    const b = await window(s, "tab-B");
    // What the first window had sent is kept (written before the move), and the second continues after it.
    expect(await open(b, "v1", { takeOver: true })).toMatchObject({ type: "audio_ack", bytes: mine.byteLength });
    stream(b, theirs.subarray(0, 20_000));
    const from = s.a.frames.length;
    s.a.ws.send(speechPcm().subarray(30_000, 40_000));
    expect(await s.a.next((f) => f.type === "error", "the left window's frame refused", from)).toMatchObject({ code: "AUDIO_NOT_ACCEPTED", answerId: "v1" });
    // Its page reopens, as after any refused frame: refused, so it does not take the answer back.
    expect(await open(s.a, "v1")).toMatchObject({ code: "ANSWER_RECORDING_ELSEWHERE", answerId: "v1" });
    // The answer's progress is acknowledged to the window recording it, not to the one it left.
    const aAfter = s.a.frames.length;
    await b.next((f) => f.type === "audio_ack" && f.bytes === mine.byteLength + 20_000, "the buffered audio acknowledged to the new window", 0, 6000);
    expect(s.a.frames.slice(aAfter).filter((f) => f.type === "audio_ack")).toEqual([]);
    const bFrom = b.frames.length;
    stream(b, theirs.subarray(20_000));
    expect(await finish(b, "v1")).toMatchObject({ type: "ack" });
    expect(b.frames.slice(bFrom).filter((f) => f.type === "error")).toEqual([]);
    expect(same(await recording(s), concat([mine, theirs]))).toBe(true);
  }, 30_000);

  it("is taken over as before when either window has no client id (API clients, older pages)", async () => {
    const s = await voiceSession();
    const pcm = concat([speechPcm(), afterPcm()]);
    await open(s.a, "v1");
    stream(s.a, pcm.subarray(0, 30_000));
    const api = await window(s);
    expect(await open(api, "v1")).toMatchObject({ type: "audio_ack", bytes: 30_000 });
    stream(api, pcm.subarray(30_000, 50_000));
    // And from a client without an id to one with an id.
    const b = await window(s, "tab-B");
    expect(await open(b, "v1")).toMatchObject({ type: "audio_ack", bytes: 50_000 });
    stream(b, pcm.subarray(50_000));
    expect(await finish(b, "v1")).toMatchObject({ type: "ack" });
    expect(same(await recording(s), pcm)).toBe(true);
  }, 30_000);
});
