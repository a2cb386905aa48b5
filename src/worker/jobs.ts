// Queue jobs: per-answer analysis and spoken-answer processing. Each job reads what it needs by
// reference (session id, answer id, R2 keys) and writes results idempotently.
import { answerAnalyzer, engagement } from "../ai/analysis";
import { keywords } from "../ai/clusters";
import { embedder } from "../ai/embeddings";
import { words } from "../ai/words";
import { sentimentProvider } from "../ai/sentiment";
import { LOW_CONFIDENCE, speechProviders } from "../ai/speech";
import { aligned, applyGain, concat, levels, normalisationGain, samplesOf, silences } from "../audio/pcm";
import { foldAnswers, foldOnce, markProcessed, quoteOf, type AnswerFold } from "../db/analytics";
import type { Env } from "../env";
import type { InterviewSession } from "../objects/InterviewSession";
import type { PatternAnswer } from "../objects/patterns";
import { importKek, openObject, unwrapDataKey } from "../shared/audio-crypto";
import { jsonRows } from "../shared/d1";
import { staggered } from "../shared/turns";

const stub = (env: Env, sessionId: string) => env.SESSION.get(env.SESSION.idFromName(sessionId));

/** answer_analysis's columns, in the order of an analysis row. */
const ANALYSIS_COLUMNS = ["session_id", "answer_id", "org_id", "campaign_id", "question_index", "follow_up", "word_count", "sentiment_label", "sentiment_score", "themes", "relevance", "engagement", "confidence", "low_confidence", "duration_ms", "created_at"] as const;
type AnalysisRow = (string | number | null)[];

/** Analysis rows written (or refreshed: a late transcript re-runs the analysis) in one statement. */
const upsertAnalyses = (db: D1Database, rows: AnalysisRow[]) =>
  db.prepare(`INSERT OR REPLACE INTO answer_analysis (${ANALYSIS_COLUMNS.join(", ")}) ${jsonRows(ANALYSIS_COLUMNS.length)}`).bind(JSON.stringify(rows));

interface PreparedAnalysis {
  /** The analysis row (re-runnable: a late transcript refreshes it). */
  row: AnalysisRow;
  /** The campaign aggregates' changes, which must happen once per answer. */
  fold: AnswerFold;
  foldKey: string;
  /** A main answer with clear text joins its question's response patterns (null otherwise). */
  pattern: Omit<PatternAnswer, "vector" | "model" | "threshold"> & { campaignId: string; text: string } | null;
}

type AnswerContext = NonNullable<Extract<Awaited<ReturnType<InterviewSession["answerContexts"]>>, { ok: true }>["value"][number]>;

/**
 * Reads answers from their sessions, one call per session (a batch often holds a few answers of
 * each), and analyses them; null for an answer whose session or answer is gone (deleted
 * meanwhile, or never existed: nothing to analyse).
 */
async function prepareAnalyses(env: Env, items: { sessionId: string; answerId: string }[]): Promise<(PreparedAnalysis | null)[]> {
  const bySession = new Map<string, string[]>();
  for (const i of items) bySession.set(i.sessionId, [...(bySession.get(i.sessionId) ?? []), i.answerId]);
  const contexts = new Map<string, AnswerContext | null>();
  await Promise.all(
    [...bySession].map(async ([sessionId, answerIds]) => {
      const r = await stub(env, sessionId).answerContexts(answerIds);
      answerIds.forEach((id, i) => contexts.set(`${sessionId}\n${id}`, r.ok ? (r.value[i] ?? null) : null));
    }),
  );
  // One answer's analysis per turn: locally the providers compute on the thread every session shares.
  return staggered(items, async (i) => {
    const a = contexts.get(`${i.sessionId}\n${i.answerId}`);
    return a ? analyse(env, i.sessionId, i.answerId, a) : null;
  });
}

async function analyse(env: Env, sessionId: string, answerId: string, a: AnswerContext): Promise<PreparedAnalysis> {
  const wordCount = words(a.text).length;
  // Low-confidence or untranscribed audio is marked, not analysed as if it were clear.
  const analysable = !a.lowConfidence && a.text.trim().length > 0;
  const sentiment = analysable ? await sentimentProvider(env, a.language).classify(a.text) : null;
  const insight = analysable ? await answerAnalyzer(env).analyze(a.question, a.text) : { themes: [], relevance: null };
  const row: AnalysisRow = [
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
  ];
  const fold: AnswerFold = { campaignId: a.campaignId, questionIndex: a.questionIndex, followUp: a.followUp, label: sentiment?.label ?? null, themes: insight.themes, text: a.text };
  const pattern =
    analysable && !a.followUp
      ? {
          campaignId: a.campaignId,
          text: a.text,
          sessionId,
          answerId,
          questionIndex: a.questionIndex,
          // The answer's themes name clusters better than any single word of it.
          terms: [...insight.themes, ...keywords(a.text)],
          quote: quoteOf(a.text),
        }
      : null;
  return { row, fold, foldKey: `fold.answer:${sessionId}:${answerId}`, pattern };
}

/**
 * Response patterns: main answers' vectors join their questions' clusters, one embedding call for
 * all of them and one call per campaign (the campaign's object remembers every answer it folded,
 * so a retry changes nothing).
 */
async function foldPatterns(env: Env, prepared: (PreparedAnalysis | null)[]): Promise<void> {
  const answers = prepared.flatMap((p) => (p?.pattern ? [p.pattern] : []));
  if (answers.length === 0) return;
  const e = embedder(env);
  const vectors = await e.embed(answers.map((a) => a.text));
  const byCampaign = new Map<string, PatternAnswer[]>();
  answers.forEach(({ campaignId, text: _text, ...answer }, i) => {
    const vector = vectors[i];
    if (!vector?.some((x) => x !== 0)) return;
    byCampaign.set(campaignId, [...(byCampaign.get(campaignId) ?? []), { ...answer, model: e.model, threshold: e.threshold, vector }]);
  });
  await Promise.all([...byCampaign].map(([campaignId, list]) => env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(campaignId)).foldPatterns(list)));
}

/** Sentiment, themes, relevance and engagement of one answer, stored in answer_analysis. */
export async function analyzeAnswer(env: Env, sessionId: string, answerId: string): Promise<void> {
  const [p] = await prepareAnalyses(env, [{ sessionId, answerId }]);
  if (!p) return;
  // The analysis row and the campaign's aggregates change together, once per answer.
  const upsert = upsertAnalyses(env.DB, [p.row]);
  const folded = await foldOnce(env.DB, p.foldKey, [upsert, ...foldAnswers(env.DB, [p.fold])]);
  // Already folded: the analysis may still be refreshed (a late transcript), the aggregates stay.
  if (!folded) await upsert.run();
  await foldPatterns(env, [p]);
}

/**
 * Several answers analysed together and written in one D1 transaction of at most four statements
 * (marks, analysis rows, the aggregates' sums), each answer with its fold marker and its
 * message's idempotency key. Returns false when the batch could not be written as a whole (one of
 * them was folded already, or D1 failed): the caller then handles each on its own, which sorts out
 * which are done. Reading the answers runs in parallel, one session object each.
 */
export async function analyzeAnswersTogether(env: Env, items: { sessionId: string; answerId: string; key: string }[]): Promise<boolean> {
  const prepared = await prepareAnalyses(env, items);
  const analysed = prepared.filter((p): p is PreparedAnalysis => p !== null);
  const keys = items.flatMap((item, i) => [...(prepared[i] ? [prepared[i].foldKey] : []), item.key]);
  const stmts = [markProcessed(env.DB, keys, Date.now())];
  if (analysed.length > 0) stmts.push(upsertAnalyses(env.DB, analysed.map((p) => p.row)), ...foldAnswers(env.DB, analysed.map((p) => p.fold)));
  try {
    await env.DB.batch(stmts);
  } catch (err) {
    console.warn("batched answer analysis not written; handling one by one", { answers: items.length, error: String(err) });
    return false;
  }
  try {
    await foldPatterns(env, prepared);
  } catch (err) {
    // The one-by-one path redoes each answer: its fold is found done, its pattern is retried.
    console.warn("response patterns not folded; handling one by one", { answers: items.length, error: String(err) });
    return false;
  }
  return true;
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
  // No key: nothing of the answer is stored (no audio, or purged): transcribed as silence, untranscribed.
  const dek = wrappedKey ? await unwrapDataKey(await importKek(env.AUDIO_KEK), wrappedKey) : null;
  const parts: Uint8Array[] = [];
  if (dek) {
    for (const key of keys) {
      const obj = await env.AUDIO_BUCKET.get(key);
      if (!obj) throw new Error(`audio chunk ${key} is missing`);
      parts.push(await openObject(dek, key, new Uint8Array(await obj.arrayBuffer())));
    }
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
