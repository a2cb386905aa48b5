// The session object's durability: state lives in storage (eviction), frames replay after a
// reconnect, answers are idempotent, the D1 mirror converges, and connections are refused when
// they must be.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FollowUpDecider } from "../../src/objects/decide";
import { limitsFrom } from "../../src/env";
import { D1Mirror, type MirrorWriter } from "../../src/objects/mirror";
import { mirrorRow, type MirrorRow } from "../../src/objects/view";
import { call, join } from "../helpers/api";
import { openSocket, upgrade } from "../helpers/socket";
import {
  answer,
  connectPath,
  indexRow,
  internals,
  newSession,
  participant,
  patchState,
  startedSession,
  storedSnapshot,
  storedState,
  until,
  type NewSession,
} from "../helpers/session";

const numbered = (frames: any[]) => frames.filter((f) => typeof f.seq === "number");
const maxSeq = (frames: any[]) => Math.max(0, ...numbered(frames).map((f) => f.seq as number));

/** Connects and says hello{lastSeq}; resolves with the replayed frames and the state frame that follows them. */
async function reconnect(s: NewSession, lastSeq?: number) {
  const expected = await runInDurableObject(s.stub, (instance) => internals(instance).store.framesAfter(lastSeq ?? 0).map((b) => JSON.parse(b)));
  const ws = await openSocket(connectPath(s));
  ws.send(lastSeq === undefined ? { type: "hello" } : { type: "hello", lastSeq });
  await until(() => ws.frames.length >= expected.length + 1, `${expected.length} replayed frames and a state frame`);
  return { ws, expected, replayed: ws.frames.slice(0, expected.length), state: ws.frames[expected.length] };
}

async function transcript(s: NewSession) {
  const r = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
  expect(r.status).toBe(200);
  return r.json.segments as { seq: number; speaker: string; text: string; questionIndex: number }[];
}

describe("eviction", () => {
  it("continues exactly where it was after the object is evicted and the participant reconnects", async () => {
    const s = await startedSession();
    await answer(s.ws, "a1", "I run weekly customer interviews with it.");
    const seenBefore = maxSeq(s.ws.frames);
    const before = await storedSnapshot(s.stub);

    await evictDurableObject(s.stub, { webSockets: "close" });
    await s.ws.closedWithin();

    const back = await reconnect(s, seenBefore);
    expect(back.replayed).toEqual([]);
    expect(back.state).toMatchObject({ type: "state", seq: seenBefore, status: "in_progress", questionIndex: 1, totalQuestions: 3 });
    expect(await storedSnapshot(s.stub)).toMatchObject({ lastSeq: before.lastSeq, segments: before.segments, frames: before.frames });

    const a2 = await answer(back.ws, "a2", "The live transcript view.");
    expect(a2.ack.seq).toBe(seenBefore + 1);
    expect(a2.next).toMatchObject({ index: 2 });
    await answer(back.ws, "a3", "Faster exports.", "ended");
    await back.ws.closedWithin();

    const segments = await transcript(s);
    expect(segments.map((x) => `${x.speaker}:${x.questionIndex}`)).toEqual(["ai:0", "participant:0", "ai:1", "participant:1", "ai:2", "participant:2"]);
    expect(segments.filter((x) => x.speaker === "participant").map((x) => x.text)).toEqual([
      "I run weekly customer interviews with it.",
      "The live transcript view.",
      "Faster exports.",
    ]);
    // The numbered frames the participant got over both sockets (without the state frame each
    // hello is answered with) are exactly the stored frames 1..n: none lost, none repeated.
    const received = [...s.ws.frames.slice(1), ...back.ws.frames.filter((_, i) => i !== back.expected.length)];
    const stored = (await storedSnapshot(s.stub)).frames.map((b) => JSON.parse(b));
    expect(received).toEqual(stored);
    expect(stored.map((f) => f.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect((await storedState(s.stub)).status).toBe("completed");
  });

  it("keeps a hibernated socket working: the woken object reloads its state from storage", async () => {
    const s = await startedSession();
    await answer(s.ws, "a1", "Research ops.");
    await evictDurableObject(s.stub);
    expect(s.ws.closed).toBeNull();
    const a2 = await answer(s.ws, "a2", "Speed.");
    expect(a2.next).toMatchObject({ type: "question", index: 2 });
    expect((await storedState(s.stub)).questionsAnswered).toBe(2);
    s.ws.close();
  });
});

describe("answers naming their question (questionSeq)", () => {
  it("after an eviction the open question is read back from the stored frames: its seq is taken, an earlier one refused", async () => {
    const s = await startedSession();
    const a1 = await answer(s.ws, "a1", "Research ops.");
    const q1 = a1.next;
    await evictDurableObject(s.stub);
    let from = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "stale", text: "An answer to the first question.", questionSeq: s.q0.seq });
    const err = await s.ws.next((f) => f.type === "error", "STALE_ANSWER", from);
    expect(err).toMatchObject({ code: "STALE_ANSWER", answerId: "stale" });
    expect(await runInDurableObject(s.stub, (i) => internals(i).store.ackSeqFor("stale"))).toBeNull();
    // The idempotent ack comes first, for a stored answer whose question has passed.
    await evictDurableObject(s.stub);
    from = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "a1", text: "Research ops.", questionSeq: s.q0.seq });
    expect(await s.ws.next((f) => f.type === "ack" && f.id === "a1", "the same ack", from)).toEqual(a1.ack);
    from = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "a2", text: "Speed.", questionSeq: q1.seq });
    await s.ws.next((f) => f.type === "ack" && f.id === "a2", "ack a2", from);
    expect((await storedState(s.stub)).questionsAnswered).toBe(2);
    s.ws.close();
  });

  it("while the next step is being decided no question is open: an answer naming the answered one is stale", async () => {
    const s = await startedSession({ questions: [{ text: "What almost stopped you?", probe: "light" }, { text: "Anything else?" }] });
    await patchState(s.stub, () => ({ prompt: null, deciding: { questionIndex: 0, answer: "The price." }, questionsAnswered: 1 }));
    await evictDurableObject(s.stub);
    const from = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "late", text: "Another answer to the first question.", questionSeq: s.q0.seq });
    const err = await s.ws.next((f) => f.type === "error", "STALE_ANSWER", from);
    expect(err).toMatchObject({ code: "STALE_ANSWER", answerId: "late" });
    s.ws.close();
  });
});

describe("follow-up decisions", () => {
  const PROBED = [{ text: "What almost stopped you?", probe: "light" }, { text: "Anything else?" }];

  it("re-drives a decision lost with the instance from storage, through the alarm", async () => {
    const s = await startedSession({ questions: PROBED });
    // The state right after an answer was stored and before the AI decided; then the instance goes.
    await patchState(s.stub, () => ({ prompt: null, deciding: { questionIndex: 0, answer: "The price." }, questionsAnswered: 1 }));
    await evictDurableObject(s.stub);

    const from = s.ws.frames.length;
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    const follow = await s.ws.next((f) => f.type === "question" && f.followUp, "the follow-up after the alarm", from);
    expect(follow).toMatchObject({ index: 0, followUp: true });
    expect(follow.text).toContain("price");
    expect((await storedState(s.stub)).deciding).toBeNull();
    s.ws.close();
  });

  it("moves on to the next question when the AI never answers", async () => {
    const s = await startedSession({ questions: PROBED });
    await runInDurableObject(s.stub, (instance) => {
      (instance as unknown as { decider: FollowUpDecider }).decider = new FollowUpDecider({ name: "silent", followUp: () => new Promise(() => {}) });
    });
    const from = s.ws.frames.length;
    s.ws.send({ type: "answer", id: "a1", text: "The price." });
    await s.ws.next((f) => f.type === "ack" && f.id === "a1", "ack a1", from);
    // The participant stays present (pings) for longer than the heartbeat while the AI is silent.
    const pings = setInterval(() => s.ws.send('{"type":"ping"}'), 1000);
    try {
      const next = await s.ws.next((f) => f.type === "question", "the next question after the decision timeout", from, 14_000);
      expect(next).toMatchObject({ index: 1, followUp: false });
    } finally {
      clearInterval(pings);
    }
    s.ws.close();
  }, 20_000);
});

describe("reconnect replay", () => {
  it("replays exactly the frames after lastSeq, in order, then a state frame", async () => {
    const s = await startedSession();
    const a1 = await answer(s.ws, "a1", "Recruiting participants.");
    await answer(s.ws, "a2", "The summaries.");
    // The first frame answered this socket's hello; the rest are the numbered, replayable frames.
    const original = s.ws.frames.slice(1);
    s.ws.close();
    await s.ws.closedWithin();

    const n = a1.ack.seq;
    const back = await reconnect(s, n);
    expect(back.replayed).toEqual(original.filter((f) => f.seq > n));
    expect(back.replayed.map((f) => f.seq)).toEqual(Array.from({ length: maxSeq(original) - n }, (_, i) => n + 1 + i));
    expect(back.state).toEqual({ type: "state", seq: maxSeq(original), status: "in_progress", questionIndex: 2, totalQuestions: 3 });
    back.ws.close();

    // hello without lastSeq replays everything.
    const all = await reconnect(s);
    expect(all.replayed).toEqual(original);
    all.ws.close();
  });

  it("rejects every frame before hello, and frames that are not the protocol", async () => {
    const s = await newSession();
    const ws = await openSocket(connectPath(s));
    ws.send({ type: "start" });
    await ws.next((f) => f.type === "error" && f.code === "HELLO_REQUIRED", "HELLO_REQUIRED");
    ws.send("not json");
    await ws.next((f) => f.type === "error" && f.code === "INVALID_JSON", "INVALID_JSON");
    ws.send({ type: "answer", id: "x" });
    await ws.next((f) => f.type === "error" && f.code === "INVALID_FRAME", "INVALID_FRAME");
    expect((await storedState(s.stub)).status).toBe("created");
    ws.close();
  });
});

describe("idempotent answers", () => {
  it("acks a resent answer id with the same seq after a reconnect, and stores it once", async () => {
    const s = await startedSession();
    const seen = maxSeq(s.ws.frames);
    s.ws.send({ type: "answer", id: "ans-1", text: "Mostly onboarding research." });
    // The answer is stored; the socket drops before the client reads the ack.
    const ackSeq = await until(() => runInDurableObject(s.stub, (i) => internals(i).store.ackSeqFor("ans-1")), "the answer to be stored");
    s.ws.close();
    await s.ws.closedWithin();

    const back = await reconnect(s, seen);
    expect(back.replayed[0]).toEqual({ type: "ack", id: "ans-1", seq: ackSeq });
    const before = await storedSnapshot(s.stub);

    const from = back.ws.frames.length;
    back.ws.send({ type: "answer", id: "ans-1", text: "Mostly onboarding research." });
    expect(await back.ws.next((f) => f.type === "ack", "repeated ack", from)).toEqual({ type: "ack", id: "ans-1", seq: ackSeq });

    // Again on the same socket, even with other text: the id is the idempotency key.
    const from2 = back.ws.frames.length;
    back.ws.send({ type: "answer", id: "ans-1", text: "Something else entirely." });
    expect(await back.ws.next((f) => f.type === "ack", "repeated ack on the same socket", from2)).toEqual({ type: "ack", id: "ans-1", seq: ackSeq });

    expect(await storedSnapshot(s.stub)).toEqual(before);
    const participantSegments = (await transcript(s)).filter((x) => x.speaker === "participant");
    expect(participantSegments).toHaveLength(1);
    expect(participantSegments[0]).toMatchObject({ text: "Mostly onboarding research.", questionIndex: 0 });
    expect((await storedState(s.stub)).questionsAnswered).toBe(1);

    // The next new id answers the next question.
    const next = await answer(back.ws, "ans-2", "The tagging.");
    expect(next.ack.seq).toBe(before.lastSeq + 1);
    back.ws.close();
  });
});

class FlakyMirror implements MirrorWriter {
  versions: number[] = [];
  constructor(private readonly real: MirrorWriter, private failures: number) {}
  async write(row: MirrorRow): Promise<void> {
    this.versions.push(row.mirror_version);
    if (this.failures-- > 0) throw new Error("D1 is unavailable");
    await this.real.write(row);
  }
}

describe("the D1 mirror", () => {
  it("stays stale while D1 fails, then converges on the object's state through the alarm", async () => {
    const s = await newSession();
    const initial = (await indexRow(s.sessionId))!;
    // Written with the invite's claim, before the object existed: version 0.
    expect(initial).toMatchObject({ status: "created", mirror_version: 0 });

    const flaky = await runInDurableObject(s.stub, (instance) => {
      const self = internals(instance);
      return (self.mirrorWriter = new FlakyMirror(self.mirrorWriter, 3));
    });
    const { ws } = await participant(s);
    ws.send({ type: "start" });
    await ws.next((f) => f.type === "question" && f.index === 0, "question 0");
    await answer(ws, "a1", "Interview synthesis.");
    await until(() => flaky.versions.length >= 1, "a first mirror attempt");

    // Three writes fail, the fourth lands. The alarm armed at each backoff would retry by itself;
    // the test skips the wait (as if the backoff had passed) and runs the alarm.
    while (flaky.versions.length < 4) {
      const calls = flaky.versions.length;
      const row = await indexRow(s.sessionId);
      const mark = await runInDurableObject(s.stub, (i) => internals(i).store.loadMirror());
      if (flaky.versions.length < 4) {
        // No write has landed yet: the index keeps the last state it got, and the mark says so.
        expect(row).toMatchObject({ status: "created", questions_answered: 0, mirror_version: 0 });
        expect(mark.synced).toBe(1);
        expect(mark.version).toBeGreaterThan(1);
      }
      await runInDurableObject(s.stub, (i) => {
        const store = internals(i).store;
        store.saveMirror({ ...store.loadMirror(), retryAt: Date.now() - 1 });
      });
      await runDurableObjectAlarm(s.stub);
      await until(() => flaky.versions.length > calls, `mirror attempt ${calls + 1}`);
    }

    const { row, state, mark } = await until(async () => {
      const { state, mark } = await runInDurableObject(s.stub, (i) => ({ state: internals(i).store.loadState()!, mark: internals(i).store.loadMirror() }));
      const row = await indexRow(s.sessionId);
      return row && row.mirror_version === mark.version && mark.synced === mark.version ? { row, state, mark } : null;
    }, "the index row to converge on the object's mirror version");
    expect(mark).toMatchObject({ attempts: 0, retryAt: null });
    expect(row).toMatchObject({
      status: state.status,
      questions_answered: state.questionsAnswered,
      last_question_index: state.questionIndex,
      started_at: state.startedAt,
      mirror_version: mark.version,
    });
    expect(row.status).toBe("in_progress");
    expect(flaky.versions.length).toBe(4);
    ws.close();
  });

  it("lets a mirror write in flight land before the session's data is deleted, so the index row stays deleted", async () => {
    const s = await startedSession();
    const slow = await runInDurableObject(s.stub, (instance) => {
      const self = internals(instance);
      const real = self.mirrorWriter;
      const writer = {
        started: 0,
        async write(row: MirrorRow) {
          writer.started++;
          await new Promise((resolve) => setTimeout(resolve, 300));
          await real.write(row);
        },
      };
      self.mirrorWriter = writer;
      return writer;
    });
    s.ws.send({ type: "pause", reason: "brb" });
    await until(() => slow.started >= 1, "a mirror write in flight");
    const deleted = await call("DELETE", `/v1/sessions/${s.sessionId}/data`, { key: s.key, headers: { "X-Confirm-Delete": "true" } });
    expect(deleted.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await indexRow(s.sessionId)).toBeNull();
  });

  it("never lets an older mirror_version overwrite a newer one, and keeps the D1-owned columns", async () => {
    const s = await startedSession();
    await answer(s.ws, "a1", "Usability tests.");
    const synced = await until(async () => {
      const mark = await runInDurableObject(s.stub, (i) => internals(i).store.loadMirror());
      return mark.synced === mark.version ? mark : null;
    }, "the mirror to be synced");
    await env.DB.prepare("UPDATE sessions SET sentiment = 'positive', flagged = 1 WHERE id = ?").bind(s.sessionId).run();
    const current = (await indexRow(s.sessionId))!;
    expect(current.mirror_version).toBe(synced.version);

    const { meta, state } = await runInDurableObject(s.stub, (i) => ({ meta: internals(i).meta!, state: internals(i).state! }));
    const stale = { ...state, status: "created" as const, questionsAnswered: 0 };
    const mirror = new D1Mirror(env.DB);
    await mirror.write(mirrorRow(meta, stale, Date.now(), limitsFrom(env), synced.version - 1));
    await mirror.write(mirrorRow(meta, stale, Date.now(), limitsFrom(env), synced.version));
    expect(await indexRow(s.sessionId)).toEqual(current);

    await mirror.write(mirrorRow(meta, { ...state, questionsAnswered: 2 }, Date.now(), limitsFrom(env), synced.version + 1));
    expect(await indexRow(s.sessionId)).toMatchObject({ questions_answered: 2, mirror_version: synced.version + 1, sentiment: "positive", flagged: 1 });
    s.ws.close();
  });
});

describe("participant connections", () => {
  it("refuses a wrong or missing token with 401 before the upgrade, and an unknown session with 404", async () => {
    const s = await newSession();
    const wrong = await upgrade(connectPath(s, "pt_not-the-token"));
    expect(wrong.status).toBe(401);
    expect(wrong.webSocket).toBeNull();
    expect((await wrong.json<any>()).error.code).toBe("INVALID_TOKEN");

    const missing = await upgrade(`/v1/sessions/${s.sessionId}/connect`);
    expect(missing.status).toBe(401);
    expect(missing.webSocket).toBeNull();

    const unknown = await upgrade(`/v1/sessions/ses_00000000000000000000/connect?token=${s.participantToken}`);
    expect(unknown.status).toBe(404);
    expect(unknown.webSocket).toBeNull();
  });

  it("refuses new connections to a finished session with 410, and the invite cannot reopen it", async () => {
    const s = await startedSession();
    const ended = await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key });
    expect(ended.status).toBe(200);
    await s.ws.next((f) => f.type === "ended", "ended frame");
    await s.ws.closedWithin();

    const res = await upgrade(connectPath(s));
    expect(res.status).toBe(410);
    expect(res.webSocket).toBeNull();
    expect((await res.json<any>()).error.code).toBe("SESSION_ENDED");
    // The token check comes first: a finished session does not reveal itself to a wrong token.
    expect((await upgrade(connectPath(s, "pt_wrong"))).status).toBe(401);

    const again = await join(s.inviteToken);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("INVITE_USED");
  });

  it("closes every participant socket when the session ends, also one that never said hello", async () => {
    const s = await startedSession();
    const silent = await openSocket(connectPath(s));
    const ended = await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key });
    expect(ended.status).toBe(200);
    expect(await s.ws.next((f) => f.type === "ended", "ended frame")).toMatchObject({ status: "completed", reason: "ended_by_admin" });
    await s.ws.closedWithin();
    await silent.closedWithin();
    // A socket without hello gets no numbered frames: it learns the outcome from hello, like any reconnect.
    expect(silent.frames).toEqual([]);
  });

  it("reopening the invite of an unfinished session resumes it with a new participant token that works", async () => {
    const s = await startedSession();
    await answer(s.ws, "a1", "Diary studies.");
    const seen = maxSeq(s.ws.frames);
    s.ws.close();

    const reopened = await join(s.inviteToken);
    expect(reopened.status).toBe(201);
    expect(reopened.json).toMatchObject({ sessionId: s.sessionId, resumed: true, status: "in_progress", totalQuestions: 3 });
    expect(reopened.json.participantToken).not.toBe(s.participantToken);

    const { ws, state } = await participant(s, seen, reopened.json.participantToken);
    expect(state).toMatchObject({ status: "in_progress", questionIndex: 1, seq: seen });
    const a2 = await answer(ws, "a2", "Clips.");
    expect(a2.ack.seq).toBe(seen + 1);
    ws.close();
  });
});
