// Queue jobs: per-answer analysis and spoken-answer processing. Each job reads what it needs by
// reference (session id, answer id, R2 keys) and writes results idempotently.
import { answerAnalyzer, engagement } from "../ai/analysis";
import { words } from "../ai/followup";
import { sentimentProvider } from "../ai/sentiment";
import { LOW_CONFIDENCE, speechProviders } from "../ai/speech";
import { aligned, applyGain, concat, levels, normalisationGain, samplesOf, silences } from "../audio/pcm";
import { foldAnswer, foldOnce } from "../db/analytics";
import type { Env } from "../env";
import { importKek, openObject, unwrapDataKey } from "../shared/audio-crypto";

const stub = (env: Env, sessionId: string) => env.SESSION.get(env.SESSION.idFromName(sessionId));

interface PreparedAnalysis {
  /** The analysis row (re-runnable: a late transcript refreshes it). */
  upsert: D1PreparedStatement;
  /** The campaign aggregates' changes, which must happen once per answer. */
  folds: D1PreparedStatement[];
  foldKey: string;
}

/** Reads one answer from its session and analyses it; null when the session or answer is gone. */
async function prepareAnalysis(env: Env, sessionId: string, answerId: string): Promise<PreparedAnalysis | null> {
  const r = await stub(env, sessionId).answerContext(answerId);
  if (!r.ok) return null; // deleted meanwhile, or never existed: nothing to analyse
  const a = r.value;
  const wordCount = words(a.text).length;
  // Low-confidence or untranscribed audio is marked, not analysed as if it were clear.
  const analysable = !a.lowConfidence && a.text.trim().length > 0;
  const sentiment = analysable ? await sentimentProvider(env).classify(a.text) : null;
  const insight = analysable ? await answerAnalyzer(env).analyze(a.question, a.text) : { themes: [], relevance: null };
  const upsert = env.DB.prepare(
    `INSERT OR REPLACE INTO answer_analysis (session_id, answer_id, org_id, campaign_id, question_index, follow_up, word_count, sentiment_label, sentiment_score, themes, relevance, engagement, confidence, low_confidence, duration_ms, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).bind(
    sessionId,
    answerId,
    a.orgId,
    a.campaignId,
    a.questionIndex,
    a.followUp ? 1 : 0,
    wordCount,
    sentiment?.label ?? null,
    sentiment?.score ?? null,
    JSON.stringify(insight.themes),
    insight.relevance,
    insight.relevance === null ? null : engagement(wordCount, insight.relevance, sentiment),
    a.confidence,
    a.lowConfidence ? 1 : 0,
    a.durationMs,
    Date.now(),
  );
  const folds = foldAnswer(env.DB, { campaignId: a.campaignId, questionIndex: a.questionIndex, label: sentiment?.label ?? null, themes: insight.themes, text: a.text });
  return { upsert, folds, foldKey: `fold.answer:${sessionId}:${answerId}` };
}

/** Sentiment, themes, relevance and engagement of one answer, stored in answer_analysis. */
export async function analyzeAnswer(env: Env, sessionId: string, answerId: string): Promise<void> {
  const p = await prepareAnalysis(env, sessionId, answerId);
  if (!p) return;
  // The analysis row and the campaign's aggregates change together, once per answer.
  const folded = await foldOnce(env.DB, p.foldKey, [p.upsert, ...p.folds]);
  // Already folded: the analysis may still be refreshed (a late transcript), the aggregates stay.
  if (!folded) await p.upsert.run();
}

/**
 * Several answers analysed together and written in one D1 transaction, each with its fold marker
 * and its message's idempotency key. Returns false when the batch could not be written as a whole
 * (one of them was folded already, or D1 failed): the caller then handles each on its own, which
 * sorts out which are done. Reading the answers runs in parallel, one session object each.
 */
export async function analyzeAnswersTogether(env: Env, items: { sessionId: string; answerId: string; key: string }[]): Promise<boolean> {
  const prepared = await Promise.all(items.map((i) => prepareAnalysis(env, i.sessionId, i.answerId)));
  const now = Date.now();
  const mark = (key: string) => env.DB.prepare("INSERT INTO processed_messages (key, processed_at) VALUES (?, ?)").bind(key, now);
  const stmts = items.flatMap((item, i) => {
    const p = prepared[i];
    return p ? [mark(p.foldKey), p.upsert, ...p.folds, mark(item.key)] : [mark(item.key)];
  });
  try {
    await env.DB.batch(stmts);
    return true;
  } catch (err) {
    console.warn("batched answer analysis not written; handling one by one", { answers: items.length, error: String(err) });
    return false;
  }
}

/**
 * A spoken answer: decrypt its chunks from R2, measure level and pauses, transcribe, and hand
 * the result back to the session object, which appends the transcript segment and goes on.
 */
export async function processSpokenAnswer(env: Env, sessionId: string, answerId: string): Promise<void> {
  const s = stub(env, sessionId);
  const job = await s.audioJob(answerId);
  if (!job.ok) return;
  const { keys, wrappedKey, hint, language } = job.value;
  const dek = await unwrapDataKey(await importKek(env.AUDIO_KEK), wrappedKey);
  const parts: Uint8Array[] = [];
  for (const key of keys) {
    const obj = await env.AUDIO_BUCKET.get(key);
    if (!obj) throw new Error(`audio chunk ${key} is missing`);
    parts.push(await openObject(dek, key, new Uint8Array(await obj.arrayBuffer())));
  }
  const pcm = aligned(concat(parts));
  const samples = samplesOf(pcm);
  const lv = levels(samples);
  const gain = normalisationGain(lv);
  const pauses = silences(samples);
  const normalised = applyGain(samples, gain);
  const t = await speechProviders(env).stt.transcribe({ pcm: new Uint8Array(normalised.buffer), hint, language });
  await s.applyTranscription(answerId, {
    status: t.status,
    text: t.status === "transcribed" ? t.text : "",
    reason: t.status === "untranscribed" ? t.reason : null,
    language: t.status === "transcribed" ? t.language : null,
    confidence: t.status === "transcribed" ? t.confidence : null,
    lowConfidence: t.status !== "transcribed" || t.confidence < LOW_CONFIDENCE,
    gain,
    peak: lv.peak,
    pauses: pauses.map((p) => [p.startMs, p.endMs] as [number, number]),
    durationMs: Math.round((samples.length / 16_000) * 1000),
  });
}
