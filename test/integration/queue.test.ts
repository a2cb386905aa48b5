// The AI queue: the session object enqueues session.ended through its outbox (retried until the
// send lands), and the consumer validates, analyses, dead-letters poison and retries failures.
import { createExecutionContext, createMessageBatch, evictDurableObject, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { InterviewSession } from "../../src/objects/InterviewSession";
import type { QueueMessage } from "../../src/objects/messages";
import { COALESCE_BACKSTOP_MS, COALESCE_JITTER, QUEUE_COALESCE_MS, SETTLE_MS } from "../../src/objects/outbox";
import worker from "../../src/worker/index";
import { call } from "../helpers/api";
import { alarmAt, answer, indexRow, internals, patchState, sessionStub, startedSession, until, type NewSession } from "../helpers/session";

afterEach(() => vi.restoreAllMocks());

const POSITIVE = ["I love it, the tool is wonderful and works great.", "Excellent support, really helpful and friendly people.", "Amazing, I am very happy with it."];
const NEGATIVE = ["It is terrible and slow, I hate the exports.", "Awful support, a frustrating and painful experience.", "Bad, broken and disappointing."];

/** A queue that fails its first `failures` sends (a batch is one send) and records the rest. */
class RecordingQueue {
  sent: unknown[] = [];
  attempts = 0;
  constructor(private failures: number) {}
  async send(body: unknown) {
    await this.sendBatch([{ body }]);
  }
  async sendBatch(messages: { body: unknown }[]) {
    this.attempts++;
    if (this.failures-- > 0) throw new Error("queue unavailable");
    this.sent.push(...messages.map((m) => m.body));
  }
}

/** The factor that scales this object's coalescing windows (see COALESCE_JITTER). */
const windows = (i: InterviewSession) => i.outbox as unknown as { jitter: number };
/** Answers' analyses waiting in the session's outbox. */
const pending = (s: NewSession) => runInDurableObject(s.stub, (_i, state) => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox WHERE payload LIKE '%answer.analyze%'").one().n));
/** The version of the session's index row the object has reached (bumped by every transition). */
const mirrorVersion = (s: NewSession) => runInDurableObject(s.stub, (i) => internals(i).store.loadMirror().version);

/** Puts `queue` in place of the object's AI_QUEUE, so its messages stay with the test. */
function interceptQueue(s: NewSession, queue: RecordingQueue) {
  return runInDurableObject(s.stub, (instance) => {
    const self = internals(instance);
    const real = self.env;
    self.env = new Proxy(real, { get: (target, prop) => (prop === "AI_QUEUE" ? queue : Reflect.get(target, prop)) });
  });
}

/** Runs a session to completion with the given answers; its session.ended message is captured. */
async function finishedSession(answers: string[]) {
  const s = await startedSession();
  const queue = new RecordingQueue(0);
  await interceptQueue(s, queue);
  for (const [i, text] of answers.entries()) await answer(s.ws, `a${i}`, text, i === answers.length - 1 ? "ended" : "question");
  const message = (await until(() => queue.sent.find((m) => (m as QueueMessage).type === "session.ended"), "the session.ended message")) as QueueMessage;
  return { ...s, message, queue };
}

const outboxSize = (s: NewSession) =>
  runInDurableObject(s.stub, (_i, state) => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox WHERE payload LIKE '%session.ended%'").one().n));
/** What reached the queue, without the lifecycle events sent for webhooks. */
const endedMessages = (q: RecordingQueue) => q.sent.filter((m) => (m as QueueMessage).type === "session.ended");

/** Delivers a batch to the consumer; `retries` lists each retry() call (getQueueResult omits its delay). */
async function consume(messages: { id: string; body: unknown; attempts?: number }[]) {
  const batch = createMessageBatch("interviewrelay-ai", messages.map((m) => ({ id: m.id, body: m.body, attempts: m.attempts ?? 1, timestamp: new Date() })));
  const retries: { id: string; options: QueueRetryOptions | undefined }[] = [];
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      retries.push({ id: m.id, options });
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  // Called as the runtime calls it, through the exported handler's signature.
  const queue: ExportedHandlerQueueHandler<typeof env> = worker.queue;
  await queue(batch, env, ctx);
  return { ...(await getQueueResult(batch, ctx)), retries };
}

const sentimentOf = async (id: string) => (await indexRow(id))?.sentiment ?? null;

describe("the session's outbox", () => {
  it("enqueues session.ended when the session ends, and retries the send through the alarm until it lands", async () => {
    const s = await startedSession();
    // The lifecycle event for webhooks and session.ended go in one batch, which fails.
    const queue = new RecordingQueue(1);
    await interceptQueue(s, queue);

    const ended = await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key });
    expect(ended.status).toBe(200);
    await until(() => queue.attempts >= 1, "a first send attempt");
    expect(endedMessages(queue)).toEqual([]);
    expect(await outboxSize(s)).toBe(1);
    expect(await alarmAt(s.stub)).not.toBeNull();

    // Skip the backoff wait, as if it had passed, and let the alarm retry.
    await runInDurableObject(s.stub, (_i, state) => state.storage.sql.exec("UPDATE outbox SET retry_at = ?", Date.now() - 1));
    await runDurableObjectAlarm(s.stub);
    await until(() => endedMessages(queue).length === 1, "the retried send");
    expect(endedMessages(queue)).toEqual([{ type: "session.ended", sessionId: s.sessionId, orgId: s.orgId, status: "completed" }]);
    // The sent row leaves storage with the next commit, or within SETTLE_MS when none comes.
    await until(async () => (await outboxSize(s)) === 0, "the sent message to leave storage", SETTLE_MS + 2000);
    await until(async () => (await alarmAt(s.stub)) === null, "nothing left pending");
    expect(await runDurableObjectAlarm(s.stub)).toBe(false);
    expect(endedMessages(queue)).toHaveLength(1);
  });

  it("sends the queue messages of a flush whose mirror write fails, once, and retries only the mirror", async () => {
    const s = await startedSession();
    const queue = new RecordingQueue(0);
    await interceptQueue(s, queue);
    const writer = await runInDurableObject(s.stub, (instance) => {
      const self = internals(instance);
      const real = self.mirrorWriter;
      const w = { failing: true, write: (row: Parameters<typeof real.write>[0]) => (w.failing ? Promise.reject(new Error("D1 unavailable")) : real.write(row)) };
      self.mirrorWriter = w;
      return w;
    });
    const paused = () => queue.sent.filter((m) => (m as { event?: string }).event === "session.paused");
    s.ws.send({ type: "pause", reason: "brb" });
    await until(() => paused().length === 1, "the session.paused event");
    const mark = () => runInDurableObject(s.stub, (i) => internals(i).store.loadMirror());
    await until(async () => (await mark()).attempts === 1, "the failed mirror write recorded");
    expect(await runInDurableObject(s.stub, (_i, state) => Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n))).toBe(0);
    expect((await indexRow(s.sessionId))!.status).toBe("in_progress");

    // D1 is back: the retry writes the mirror and sends nothing again.
    writer.failing = false;
    await runInDurableObject(s.stub, (i) => {
      const store = internals(i).store;
      store.saveMirror({ ...store.loadMirror(), retryAt: Date.now() - 1 });
    });
    await runDurableObjectAlarm(s.stub);
    await until(async () => (await indexRow(s.sessionId))?.status === "paused", "the index row to show the pause");
    const synced = await mark();
    expect(synced).toMatchObject({ synced: synced.version, attempts: 0 });
    expect(paused()).toHaveLength(1);
  });

  it("sends session.ended once when the alarm's flush and the transition's flush overlap", async () => {
    const s = await startedSession();
    const queue = new RecordingQueue(0);
    // A slow queue keeps one send in flight while the other flush comes around.
    const sendBatch = queue.sendBatch.bind(queue);
    queue.sendBatch = async (messages: { body: unknown }[]) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sendBatch(messages);
    };
    await interceptQueue(s, queue);
    await patchState(s.stub, (st) => ({ lastSeenAt: st.lastSeenAt - 10_000 }));
    await runDurableObjectAlarm(s.stub);
    await s.ws.next((f) => f.type === "ended", "ended by the heartbeat");
    await until(async () => (await outboxSize(s)) === 0 && (await alarmAt(s.stub)) === null, "the outbox to drain", 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(endedMessages(queue)).toEqual([{ type: "session.ended", sessionId: s.sessionId, orgId: s.orgId, status: "abandoned" }]);
  });

  it("holds answers' analyses for one send within the coalescing window, ended by a timer without moving the alarm; the session's end sends them at once", async () => {
    const s = await startedSession();
    const queue = new RecordingQueue(0);
    await interceptQueue(s, queue);
    const analyses = () => queue.sent.filter((m) => (m as QueueMessage).type === "answer.analyze");
    const alarmBefore = await alarmAt(s.stub);
    // This object's windows are made as short as they get (each object has its own between 0.75×
    // and 1.25× the nominal window, so sessions that started together do not all send at once).
    await runInDurableObject(s.stub, (i) => void (windows(i).jitter = 1 - COALESCE_JITTER));
    // The start just sent the session.started event, so the window is open: the next answers wait.
    const firstAnswerAt = Date.now();
    await answer(s.ws, "a0", POSITIVE[0]!);
    await answer(s.ws, "a1", POSITIVE[1]!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(analyses()).toEqual([]);
    expect(await pending(s)).toBe(2);
    // Acknowledged answers are durable in the outbox; the window's end costs no alarm write.
    expect(await alarmAt(s.stub)).toBe(alarmBefore);

    const sendsBefore = queue.attempts;
    const versionBefore = await mirrorVersion(s);
    // Nothing runs the alarm here: the in-memory timer ends the window.
    await until(() => analyses().length === 2, "both analyses", QUEUE_COALESCE_MS + 2000);
    const waited = Date.now() - firstAnswerAt;
    expect(waited).toBeGreaterThanOrEqual(QUEUE_COALESCE_MS * (1 - COALESCE_JITTER) - 50);
    expect(waited).toBeLessThan(QUEUE_COALESCE_MS - 200);
    expect(queue.attempts - sendsBefore).toBe(1);
    // Only the outbox waited: the timer sent it and ran no transition (the state was not rewritten).
    expect(await mirrorVersion(s)).toBe(versionBefore);
    expect(analyses()).toEqual([
      { type: "answer.analyze", sessionId: s.sessionId, answerId: "a0" },
      { type: "answer.analyze", sessionId: s.sessionId, answerId: "a1" },
    ]);
    // The send is recorded without a commit of its own: storage keeps the rows until the next
    // transition's commit, which removes them (the object no longer counts them meanwhile).
    expect(await runInDurableObject(s.stub, (i) => i.store.pendingOutbox())).toBe(0);
    expect(await pending(s)).toBe(2);
    await answer(s.ws, "a2", POSITIVE[2]!, "ended");
    const stored = await runInDurableObject(s.stub, (_i, state) => state.storage.sql.exec("SELECT payload FROM outbox").toArray().map((r) => JSON.parse(String(r.payload)) as { answerId?: string }));
    expect(stored.filter((m) => m.answerId === "a0" || m.answerId === "a1")).toEqual([]);

    // The last answer ended the session: its analysis went at once, with session.ended.
    await until(() => endedMessages(queue).length === 1, "session.ended");
    expect(analyses().map((m) => (m as { answerId: string }).answerId)).toEqual(["a0", "a1", "a2"]);
  });

  it("sends held analyses with the alarm when the object was lost before its window's timer fired", async () => {
    const s = await startedSession();
    await answer(s.ws, "a0", POSITIVE[0]!);
    await answer(s.ws, "a1", POSITIVE[1]!);
    expect(await pending(s)).toBe(2);
    // Their window ends on a timer; the alarm's backstop is later, at most COALESCE_BACKSTOP_MS away.
    const backstop = await runInDurableObject(s.stub, (i) => i.outbox.nextRetry(Date.now()));
    expect(backstop! - Date.now()).toBeGreaterThan(QUEUE_COALESCE_MS);
    expect(backstop! - Date.now()).toBeLessThanOrEqual(COALESCE_BACKSTOP_MS);
    // A graceful eviction waits for the timer, as for a request in flight; a restart of the runtime
    // loses it. That is simulated: the timer is cancelled, then the object evicted. The held
    // messages are in storage, and an alarm is armed within the backstop.
    await runInDurableObject(s.stub, (i) => clearTimeout((i.outbox as unknown as { wake: { timer: ReturnType<typeof setTimeout> } }).wake.timer));
    await evictDurableObject(s.stub);
    await new Promise((resolve) => setTimeout(resolve, QUEUE_COALESCE_MS + 300));
    expect(await pending(s)).toBe(2);
    const at = await alarmAt(s.stub);
    expect(at).not.toBeNull();
    expect(at! - Date.now()).toBeLessThanOrEqual(COALESCE_BACKSTOP_MS);
    await runDurableObjectAlarm(s.stub);
    await until(async () => (await pending(s)) === 0, "the outbox to drain");
    // The real queue took them: the consumer analyses both answers.
    await until(async () => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE session_id = ?").bind(s.sessionId).first<{ n: number }>())!.n) === 2, "both answers analysed");
  });

  it("gives each object its own coalescing window, within COALESCE_JITTER of the nominal one", async () => {
    const jitters: number[] = [];
    for (let n = 0; n < 4; n++) {
      const s = await startedSession();
      jitters.push(await runInDurableObject(s.stub, (i) => windows(i).jitter));
      s.ws.close();
    }
    for (const j of jitters) expect(Math.abs(j - 1)).toBeLessThanOrEqual(COALESCE_JITTER);
    expect(new Set(jitters).size).toBe(jitters.length);
  });

  it("stores a send's outcome SETTLE_MS after that send, even when a settle timer from an earlier send is still running", async () => {
    const s = await startedSession();
    // The start's send armed a settle timer. This object's windows are made as short as they get,
    // so the answer's send comes before that timer fires.
    const startSentAt = await runInDurableObject(s.stub, (i) => {
      windows(i).jitter = 1 - COALESCE_JITTER;
      return i.store.laterSince();
    });
    expect(startSentAt).not.toBeNull();
    await answer(s.ws, "a0", POSITIVE[0]!); // its commit takes the start's send along
    expect(await pending(s)).toBe(1);
    await until(async () => (await runInDurableObject(s.stub, (i) => i.store.pendingOutbox())) === 0, "the analysis sent", QUEUE_COALESCE_MS + 2000, 20);
    const sentAt = Date.now();
    // The start's timer is still to fire (else this test would prove nothing), within half a
    // second of this send; it must not store this send yet.
    expect(startSentAt! + SETTLE_MS - sentAt).toBeGreaterThan(100);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await pending(s)).toBe(1);
    await until(async () => (await pending(s)) === 0, "the send stored", SETTLE_MS + 2000, 20);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(SETTLE_MS - 400);
  });

  it("sends again what an object lost before its send was stored, and the consumer counts each answer once", async () => {
    const s = await startedSession();
    await answer(s.ws, "a0", POSITIVE[0]!);
    await answer(s.ws, "a1", POSITIVE[1]!);
    const positives = async () => Number((await env.DB.prepare("SELECT COALESCE(SUM(positive), 0) AS n FROM campaign_question_stats WHERE campaign_id = ?").bind(s.campaignId).first<{ n: number }>())!.n);
    // The window's timer sends both analyses; the consumer counts them.
    await until(async () => (await positives()) === 2, "both answers counted", QUEUE_COALESCE_MS + 5000);
    // The send waits to be stored with the next commit. The object is lost first (its settle timer
    // cancelled, as a restart would lose it): storage still holds both messages.
    await runInDurableObject(s.stub, (i) => clearTimeout((i.outbox as unknown as { settleTimer: ReturnType<typeof setTimeout> }).settleTimer));
    await evictDurableObject(s.stub);
    expect(await pending(s)).toBe(2);
    // The woken object sends them again; the consumer finds them done and counts nothing twice.
    await runDurableObjectAlarm(s.stub);
    await until(async () => (await pending(s)) === 0, "the resent messages to be stored as sent", SETTLE_MS + 3000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await positives()).toBe(2);
    expect(Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE session_id = ?").bind(s.sessionId).first<{ n: number }>())!.n)).toBe(2);
  });

  it("queues session.created only when the join found a webhook subscribed to it", async () => {
    for (const announce of [true, false, undefined]) {
      const id = `ses_announce${String(announce)}${Date.now().toString(36)}`;
      const stub = sessionStub(id);
      const queue = new RecordingQueue(0);
      // Reaching an object that was never initialised creates nothing; its queue is swapped first.
      await interceptQueue({ stub } as NewSession, queue);
      await stub.init({
        meta: { id, orgId: "org_announce", campaignId: "cmp_announce", inviteId: "inv_announce", scriptVersion: 1, consentText: null, language: null, device: null, participantEmail: null, participantName: null, mode: "text", recordAudio: false },
        questions: [{ text: "Why?", probe: "none" }],
        consentRequired: false,
        tokenHash: "0".repeat(64),
        // No index row to write for this made-up org.
        indexed: true,
        announce,
      });
      const created = queue.sent.filter((m) => (m as QueueMessage).type === "session.event" && (m as { event: string }).event === "session.created");
      expect(created, `announce: ${announce}`).toHaveLength(announce === false ? 0 : 1);
      expect((await stub.view()).ok).toBe(true);
    }
  });

  it("is analysed end to end by the real queue consumer", async () => {
    const s = await startedSession();
    for (const [i, text] of POSITIVE.entries()) await answer(s.ws, `a${i}`, text, i === POSITIVE.length - 1 ? "ended" : "question");
    await until(async () => (await sentimentOf(s.sessionId)) === "positive", "the consumer to store a positive sentiment", 10_000);
  }, 20_000);
});

describe("the queue consumer", () => {
  it("stores the overall sentiment of a finished session from its participant's answers", async () => {
    const happy = await finishedSession(POSITIVE);
    const unhappy = await finishedSession(NEGATIVE);
    expect(await sentimentOf(happy.sessionId)).toBeNull();

    const result = await consume([
      { id: "m1", body: happy.message },
      { id: "m2", body: unhappy.message },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
    expect(await sentimentOf(happy.sessionId)).toBe("positive");
    expect(await sentimentOf(unhappy.sessionId)).toBe("negative");
  });

  it("gives the same result for a duplicate message, in one batch or later", async () => {
    const s = await finishedSession(POSITIVE);
    const first = await consume([
      { id: "d1", body: s.message },
      { id: "d2", body: s.message },
    ]);
    expect(first.explicitAcks.sort()).toEqual(["d1", "d2"]);
    const row = await indexRow(s.sessionId);
    const again = await consume([{ id: "d3", body: s.message }]);
    expect(again.explicitAcks).toEqual(["d3"]);
    expect(await indexRow(s.sessionId)).toEqual(row);
    expect(row!.sentiment).toBe("positive");
  });

  it("analyses a batch of answers in one go, and a redelivered batch changes the campaign's figures no further", async () => {
    const s = await finishedSession(POSITIVE);
    const analyses = s.queue.sent.filter((m) => (m as QueueMessage).type === "answer.analyze");
    expect(analyses).toHaveLength(POSITIVE.length);
    const figures = async () => ({
      rows: (await env.DB.prepare("SELECT answer_id, sentiment_label FROM answer_analysis WHERE session_id = ? ORDER BY answer_id").bind(s.sessionId).all()).results,
      positive: Number((await env.DB.prepare("SELECT COALESCE(SUM(positive), 0) AS n FROM campaign_question_stats WHERE campaign_id = ?").bind(s.campaignId).first<{ n: number }>())!.n),
    });

    const first = await consume(analyses.map((body, i) => ({ id: `b${i}`, body })));
    expect(first.explicitAcks.sort()).toEqual(["b0", "b1", "b2"]);
    const after = await figures();
    expect(after).toEqual({ rows: POSITIVE.map((_, i) => ({ answer_id: `a${i}`, sentiment_label: "positive" })), positive: 3 });

    // The same batch again, plus one more copy inside it: acknowledged, nothing counted twice.
    const again = await consume([...analyses, analyses[0]].map((body, i) => ({ id: `c${i}`, body })));
    expect(again.explicitAcks.sort()).toEqual(["c0", "c1", "c2", "c3"]);
    expect(again.retryMessages).toEqual([]);
    expect(await figures()).toEqual(after);
  });

  it("acks poison messages and sends them to the dead-letter queue", async () => {
    const dlq = vi.spyOn(env.AI_DLQ, "send").mockResolvedValue(undefined as never);
    const poison = ["not an object", { type: "session.ended" }, { type: "session.exploded", sessionId: "ses_x", orgId: "org_x", status: "completed" }];
    const result = await consume(poison.map((body, i) => ({ id: `p${i}`, body })));
    expect(result.explicitAcks.sort()).toEqual(["p0", "p1", "p2"]);
    expect(result.retryMessages).toEqual([]);
    expect(dlq).toHaveBeenCalledTimes(3);
    for (const [i, body] of poison.entries()) expect(dlq.mock.calls[i]![0]).toMatchObject({ reason: "invalid message", queue: "interviewrelay-ai", body });
  });

  it("retries a message whose handling fails, with backoff, and succeeds on redelivery", async () => {
    const s = await finishedSession(POSITIVE);
    const prepare = vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("D1 is unavailable");
    });
    const failed = await consume([{ id: "r1", body: s.message, attempts: 2 }]);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toEqual([{ msgId: "r1" }]);
    // Backoff grows with the attempts: 5 s × 2^attempts.
    expect(failed.retries).toEqual([{ id: "r1", options: { delaySeconds: 20 } }]);
    prepare.mockRestore();
    expect(await sentimentOf(s.sessionId)).toBeNull();

    const redelivered = await consume([{ id: "r1", body: s.message, attempts: 3 }]);
    expect(redelivered.explicitAcks).toEqual(["r1"]);
    expect(await sentimentOf(s.sessionId)).toBe("positive");
  });

  it("retries a message that overtook the session's index row, and stores the result once the row is there", async () => {
    const s = await finishedSession(POSITIVE);
    const saved = (await indexRow(s.sessionId))!;
    // As if the mirror had not reached D1 yet when the message was sent.
    await env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(s.sessionId).run();
    const early = await consume([{ id: "o1", body: s.message }]);
    expect(early.explicitAcks).toEqual([]);
    expect(early.retryMessages).toEqual([{ msgId: "o1" }]);

    const cols = Object.keys(saved);
    await env.DB.prepare(`INSERT INTO sessions (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
      .bind(...cols.map((c) => saved[c] ?? null))
      .run();
    const later = await consume([{ id: "o1", body: s.message, attempts: 2 }]);
    expect(later.explicitAcks).toEqual(["o1"]);
    expect(await sentimentOf(s.sessionId)).toBe("positive");
  });

  it("acks a message for a session whose data was deleted meanwhile, writing nothing", async () => {
    const result = await consume([{ id: "g1", body: { type: "session.ended", sessionId: "ses_gone0000000000000", orgId: "org_x", status: "abandoned" } }]);
    expect(result.explicitAcks).toEqual(["g1"]);
    expect(result.retryMessages).toEqual([]);
  });
});
