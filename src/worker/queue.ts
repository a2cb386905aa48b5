// The queue consumer: messages are validated, handled one by one and acknowledged explicitly.
// A message that can never be handled goes straight to the dead-letter queue; a failure that
// may pass is retried with backoff, and after max_retries the platform dead-letters it.
import { sentimentProvider, overall } from "../ai/sentiment";
import type { Env } from "../env";
import { foldOnce, foldSession, sessionFold } from "../db/analytics";
import { QueueMessage } from "../objects/messages";
import { analyzeAnswer, analyzeAnswersTogether, processSpokenAnswer } from "./jobs";
import { buildExport } from "./export-job";
import { inChunks, placeholders } from "../shared/d1";
import { staggered } from "../shared/turns";
import { cachingResolver, type HostResolver } from "./dns";
import { deliverWebhook, emitOrgEvent, emitSessionEvent, RetryLater, subscribedEvents, targetResolver } from "./webhooks";
import { sha256Hex } from "../shared/crypto";

type Job = { msg: Message<unknown>; m: QueueMessage; key: string | null };
/** What the messages of one batch share. */
type BatchContext = { env: Env; resolver: HostResolver | null };

const backoffSeconds = (attempts: number) => Math.min(300, 2 ** attempts * 5);

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const parsedMessages: Job[] = [];
  for (const msg of batch.messages) {
    const parsed = QueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      await env.AI_DLQ.send({ reason: "invalid message", queue: batch.queue, body: msg.body });
      msg.ack();
      continue;
    }
    parsedMessages.push({ msg, m: parsed.data, key: idempotencyKey(parsed.data) });
  }
  const valid = await withoutUnwantedEvents(env, parsedMessages);
  // Deliveries to one host in this batch look its name up once (within its TTL).
  const dns = targetResolver(env);
  const shared: BatchContext = { env, resolver: dns && cachingResolver(dns) };
  // Redelivered messages whose effects are already done are acknowledged without redoing them
  // (one query for the whole batch).
  const done = await processedKeys(env.DB, valid.flatMap((v) => (v.key ? [v.key] : []))).catch((err: unknown) => {
    console.warn("processed keys not readable; retrying the batch's once-only messages", { error: String(err) });
    return null;
  });
  const todo = done ? valid : valid.filter((v) => !v.key);
  if (!done) for (const v of valid) if (v.key) v.msg.retry({ delaySeconds: backoffSeconds(v.msg.attempts) });
  // Answers to analyse go to D1 together: one transaction instead of three round trips each. If
  // that cannot be written whole, each is handled on its own below.
  const analyses = todo.flatMap(({ m, key }) => (m.type === "answer.analyze" && key && !done?.has(key) ? [{ sessionId: m.sessionId, answerId: m.answerId, key }] : []));
  const together = analyses.length > 1 ? analyzeAnswersTogether(env, analyses).catch(() => false) : Promise.resolve(false);
  const inTogether = new Set(analyses.length > 1 ? analyses.map((a) => a.key) : []);
  // The other messages run side by side meanwhile: they wait mostly on the session objects, R2
  // and D1, and one by one a transcript would queue behind every analysis and webhook ahead of
  // it. Copies of one job in the same batch run after each other, so the second finds the first's mark.
  const running = new Map<string, Promise<void>>();
  await Promise.all(
    todo.map(({ msg, m, key }) => {
      if (key && done?.has(key)) return void msg.ack();
      const before = key ? running.get(key) : undefined;
      const run = (async () => {
        if (key && inTogether.has(key) && (await together)) return msg.ack();
        await before;
        await handleOne(msg, m, key, shared, before !== undefined);
      })();
      if (key) running.set(key, run);
      return run;
    }),
  );
}

/**
 * Lifecycle events whose org has no webhook subscribed to them are done as they arrive: nothing
 * would be delivered, so they need no idempotency mark either (a redelivered copy finds nothing
 * to do just the same). The orgs of the whole batch are read in one query; if it fails, the
 * events go the usual way. Returns the other messages; those events are acknowledged.
 */
async function withoutUnwantedEvents(env: Env, jobs: Job[]): Promise<Job[]> {
  const orgs = jobs.flatMap(({ m }) => (m.type === "session.event" ? [m.orgId] : []));
  if (orgs.length === 0) return jobs;
  const subscribed = await subscribedEvents(env.DB, orgs).catch(() => null);
  if (!subscribed) return jobs;
  return jobs.filter(({ msg, m }) => {
    const unwanted = m.type === "session.event" && !subscribed.get(m.orgId)?.has(m.event);
    if (unwanted) msg.ack();
    return !unwanted;
  });
}

async function handleOne(msg: Message<unknown>, m: QueueMessage, key: string | null, batch: BatchContext, afterCopy: boolean): Promise<void> {
  const { env } = batch;
  try {
    // A copy of this job earlier in the batch may have done it meanwhile.
    if (key && afterCopy && (await env.DB.prepare("SELECT 1 FROM processed_messages WHERE key = ?").bind(key).first())) return msg.ack();
    await handle(m, batch, msg.attempts);
    if (key) await env.DB.prepare("INSERT OR IGNORE INTO processed_messages (key, processed_at) VALUES (?, ?)").bind(key, Date.now()).run();
    msg.ack();
  } catch (err) {
    console.warn("queue message failed; retrying", { type: m.type, attempts: msg.attempts, error: String(err) });
    msg.retry({ delaySeconds: err instanceof RetryLater ? err.delaySeconds : backoffSeconds(msg.attempts) });
  }
}

/** Which of these idempotency keys were processed already. */
async function processedKeys(db: D1Database, keys: string[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (const chunk of inChunks(keys)) {
    const rows = await db.prepare(`SELECT key FROM processed_messages WHERE key IN (${placeholders(chunk.length)})`).bind(...chunk).all<{ key: string }>();
    for (const r of rows.results) done.add(r.key);
  }
  return done;
}

/** Jobs whose effects must happen once; session.ended is recomputed from scratch and needs none. */
function idempotencyKey(m: QueueMessage): string | null {
  if (m.type === "session.ended") return null;
  if (m.type === "session.event") return `${m.event}:${m.sessionId}:${m.at}`;
  // A delivery settles its own row (pending → delivered | failed) and is never sent twice after that.
  if (m.type === "webhook.deliver") return null;
  // An export settles its own row (queued → running → ready | failed); a ready one is never rebuilt.
  if (m.type === "export.build") return null;
  return `${m.type}:${m.sessionId}:${m.answerId}`;
}

async function handle(m: QueueMessage, { env, resolver }: BatchContext, attempts: number): Promise<void> {
  switch (m.type) {
    case "answer.analyze":
      return analyzeAnswer(env, m.sessionId, m.answerId);
    case "audio.process":
      return processSpokenAnswer(env, m.sessionId, m.answerId);
    case "session.event":
      // Fanned out to the org's subscribed webhooks: one webhook.deliver message each.
      return emitSessionEvent(env, m);
    case "webhook.deliver":
      return deliverWebhook(env, m.deliveryId, attempts, resolver);
    case "export.build":
      return buildExport(env, m.exportId);
    case "session.ended": {
      // The session's overall sentiment, from its participant's answers; rerunning gives the same result.
      const r = await env.SESSION.get(env.SESSION.idFromName(m.sessionId)).endedFacts();
      if (!r.ok) return; // the session's data was deleted meanwhile: nothing to analyse
      const facts = r.value;
      const provider = sentimentProvider(env, facts.language);
      const results = await staggered(facts.answers, (text) => provider.classify(text));
      const updated = await env.DB.prepare("UPDATE sessions SET sentiment = ? WHERE id = ?").bind(overall(results), m.sessionId).run();
      // The outbox may send this before the object's index row reached D1 (the mirror retries on
      // its own schedule); retrying waits for the row instead of dropping the result.
      if (!updated.meta.changes) throw new Error("the session's index row is not in D1 yet");
      // The campaign's aggregates take each finished session exactly once.
      const fold = sessionFold({ campaignId: facts.campaignId, orgId: m.orgId, status: m.status, declined: facts.declined, duration: facts.duration }, facts.turns, facts.lastQuestionIndex);
      await foldOnce(env.DB, `fold.session:${m.sessionId}`, foldSession(env.DB, fold));
      // Webhooks hear that the session's analysis is ready (once per session: the event id is
      // derived from it, so a rerun adds no delivery).
      const eventId = `evt_${(await sha256Hex(`analysis.ready:${m.sessionId}`)).slice(0, 24)}`;
      await emitOrgEvent(env, m.orgId, "analysis.ready", { sessionId: m.sessionId, campaignId: facts.campaignId, status: m.status, sentiment: overall(results) }, { eventId });
      return;
    }
  }
}
