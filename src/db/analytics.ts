// Analytics: one session's insight computed from its answers, and a campaign's kept as
// aggregates folded in once per finished session and once per analysed answer.
import { z } from "zod";
import { jsonRows } from "../shared/d1";
import { parseJson } from "../shared/json";
import { overall as overallLabel } from "../ai/sentiment";
import { words as wordsOf } from "../ai/words";
import type { Segment } from "../objects/protocol";
import type { SessionEvent } from "../objects/store";
import { isDeclined, rangeTimeSql } from "../shared/declined";

/** Durations are folded per whole second (the index keeps whole seconds), so the median is exact. */
export const DURATION_BUCKET_SECONDS = 1;
const durationBucket = (seconds: number) => Math.floor(seconds / DURATION_BUCKET_SECONDS) * DURATION_BUCKET_SECONDS;
/** Histogram widths the campaign view picks from: the narrowest giving at most 12 bars. */
const HISTOGRAM_WIDTHS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 86_400];
const Themes = z.array(z.string());
const Examples = z.array(z.string());

export interface AnswerRow {
  answer_id: string;
  question_index: number;
  follow_up: number;
  word_count: number;
  sentiment_label: "positive" | "neutral" | "negative" | null;
  sentiment_score: number | null;
  themes: string;
  relevance: number | null;
  engagement: number | null;
  low_confidence: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** A quote: the answer's first sentence, trimmed to a readable length. */
export function quoteOf(text: string): string {
  const first = text.trim().split(/(?<=[.!?])\s+/)[0] ?? "";
  return first.length > 200 ? `${first.slice(0, 197)}…` : first;
}

/** The session's paused stretches in ms since its start, as segment times are (one still open runs on). */
function pausedSpans(events: SessionEvent[]): [number, number][] {
  const started = events.find((e) => e.name === "started")?.at;
  if (started === undefined) return [];
  const spans: [number, number][] = [];
  let from: number | null = null;
  for (const e of events) {
    // A second "paused" while paused is the team taking over the participant's pause.
    if (e.name === "paused" && from === null) from = e.at - started;
    else if (e.name === "resumed" && from !== null) {
      spans.push([from, e.at - started]);
      from = null;
    }
  }
  if (from !== null) spans.push([from, Infinity]);
  return spans;
}

export interface SessionFacts {
  status: string;
  duration: number;
  totalQuestions: number;
  questionsAnswered: number;
  pauseCount: number;
  lastQuestionIndex: number | null;
  /** Declined consent or withdrew it before answering (src/shared/declined.ts): no drop-off. */
  declined?: boolean;
}

/** The contract's per-session analytics from the session's answers, transcript and events. */
export function sessionAnalytics(facts: SessionFacts, segments: Segment[], events: SessionEvent[], rows: AnswerRow[]) {
  const byAnswer = new Map(rows.map((r) => [r.answer_id, r]));
  const participant = segments.filter((s) => s.speaker === "participant");
  const labelled = rows.filter((r) => r.sentiment_label !== null);
  const distribution = { positive: 0, neutral: 0, negative: 0 };
  for (const r of labelled) distribution[r.sentiment_label!] += 1;
  const overall = overallLabel(labelled.map((r) => ({ label: r.sentiment_label!, score: r.sentiment_score ?? 0 })));

  const themeCounts = new Map<string, number>();
  for (const r of rows) for (const t of parseJson(Themes, r.themes)) themeCounts.set(t, (themeCounts.get(t) ?? 0) + 1);

  const answers = rows.map((r) => ({
    answerId: r.answer_id,
    questionIndex: r.question_index,
    followUp: r.follow_up === 1,
    sentiment: r.sentiment_label ? { label: r.sentiment_label, score: r.sentiment_score ?? 0 } : null,
    themes: parseJson(Themes, r.themes),
    wordCount: r.word_count,
    relevance: r.relevance,
    engagement: r.engagement,
    lowConfidence: r.low_confidence === 1,
  }));

  // Quotes: the most engaged clear answers, in their own words.
  const quotes = participant
    .map((s, i) => ({ s, r: byAnswer.get(rows.find((x) => x.question_index === s.questionIndex && participant.indexOf(s) === i)?.answer_id ?? "") }))
    .filter(({ s }) => wordsOf(s.text).length >= 4 && !s.speech?.lowConfidence)
    .map(({ s }) => {
      const row = rows.find((r) => r.question_index === s.questionIndex && r.follow_up === (s.followUp ? 1 : 0));
      return { text: quoteOf(s.text), questionIndex: s.questionIndex, engagement: row?.engagement ?? 0 };
    })
    .sort((a, b) => b.engagement - a.engagement)
    .slice(0, 3)
    .map(({ text, questionIndex }) => ({ text, questionIndex }));

  // Time on a question leaves out the pauses within it, as the session's duration does.
  const paused = pausedSpans(events);
  const timePerQuestion: { questionIndex: number; seconds: number }[] = [];
  for (let q = 0; q < facts.totalQuestions; q++) {
    const of = segments.filter((s) => s.questionIndex === q);
    if (!of.length) continue;
    const start = Math.min(...of.map((s) => s.startMs));
    const end = Math.max(...of.map((s) => s.endMs));
    const pausedMs = paused.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(end, b) - Math.max(start, a)), 0);
    timePerQuestion.push({ questionIndex: q, seconds: round((end - start - pausedMs) / 1000, 1) });
  }

  // Counted as the answers' wordCount is (ICU word breaking): splitting on spaces made a whole
  // Japanese, Chinese or Thai answer one word.
  // A spoken answer with no transcript (untranscribed, or still waiting for it) has words nobody
  // has read yet, not zero words: it stays out of the mean instead of dragging it down.
  const words = participant.filter((s) => !(s.speech && !s.text.trim())).map((s) => wordsOf(s.text).length);
  const terminal = facts.status === "completed" || facts.status === "abandoned";
  return {
    status: facts.status,
    partial: facts.status !== "completed",
    duration: facts.duration,
    sentiment: { overall, distribution },
    answers,
    themes: [...themeCounts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([theme, count]) => ({ theme, count })),
    quotes,
    engagementScore: Math.round(mean(rows.filter((r) => r.engagement !== null).map((r) => r.engagement!)) * 100),
    responseRate: facts.totalQuestions ? round(facts.questionsAnswered / facts.totalQuestions) : 0,
    averageResponseLength: round(mean(words), 1),
    timePerQuestion,
    pauseCount: facts.pauseCount,
    longPauses: events.filter((e) => e.name === "long_pause").length,
    declined: facts.declined === true,
    // A participant who declined never dropped out of the interview, as the campaign funnel counts it.
    dropOffQuestion: facts.status === "abandoned" && !facts.declined ? facts.lastQuestionIndex : null,
    analysed: terminal ? rows.length >= participant.length : false,
  };
}
export type SessionAnalytics = ReturnType<typeof sessionAnalytics>;

// ---- campaign aggregates ----

type Label = "positive" | "neutral" | "negative";
const LABELS: readonly Label[] = ["positive", "neutral", "negative"];

/** Per question: reached, answered, dropped, positive, neutral, negative (added to what is there). */
type QuestionDelta = [campaignId: string, questionIndex: number, reached: number, answered: number, dropped: number, positive: number, neutral: number, negative: number];

/** One statement adding every question's counts; null when there is nothing to add. */
function addToQuestions(db: D1Database, rows: QuestionDelta[]): D1PreparedStatement | null {
  if (rows.length === 0) return null;
  return db
    .prepare(
      `INSERT INTO campaign_question_stats (campaign_id, question_index, reached, answered, dropped, positive, neutral, negative) ${jsonRows(8)}
       ON CONFLICT(campaign_id, question_index) DO UPDATE SET reached = reached + excluded.reached, answered = answered + excluded.answered,
         dropped = dropped + excluded.dropped, positive = positive + excluded.positive, neutral = neutral + excluded.neutral, negative = negative + excluded.negative`,
    )
    .bind(JSON.stringify(rows));
}

export interface AnswerFold {
  campaignId: string;
  questionIndex: number;
  /** A follow-up reply: its themes count, its sentiment does not (see foldAnswers). */
  followUp: boolean;
  label: Label | null;
  themes: string[];
  text: string;
}

/**
 * Statements folding analysed answers into their questions' sentiment and themes (run once per
 * answer): at most two, however many answers, each row's changes summed first. A theme keeps the
 * first three quotes it got, in the order of the answers.
 *
 * A question's sentiment is the tone of its main answers, one per session: follow-up replies
 * ("Nothing more to add, really.") counted too made a deep-probed question weigh about three
 * times as much and drift toward neutral. Their themes still count: they are what was said.
 */
export function foldAnswers(db: D1Database, answers: AnswerFold[]): D1PreparedStatement[] {
  const questions = new Map<string, QuestionDelta>();
  const themes = new Map<string, [campaignId: string, questionIndex: number, theme: string, count: number, examples: string[]]>();
  for (const a of answers) {
    if (a.label && !a.followUp) {
      const key = `${a.campaignId}\n${a.questionIndex}`;
      const row = questions.get(key) ?? [a.campaignId, a.questionIndex, 0, 0, 0, 0, 0, 0];
      row[(5 + LABELS.indexOf(a.label)) as 5 | 6 | 7] += 1;
      questions.set(key, row);
    }
    const quote = quoteOf(a.text);
    for (const theme of a.themes) {
      for (const qi of [a.questionIndex, -1]) {
        const key = JSON.stringify([a.campaignId, qi, theme]);
        const row = themes.get(key) ?? [a.campaignId, qi, theme, 0, []];
        row[3] += 1;
        if (row[4].length < 3) row[4].push(quote);
        themes.set(key, row);
      }
    }
  }
  const stmts = [addToQuestions(db, [...questions.values()])];
  if (themes.size > 0) {
    stmts.push(
      db
        .prepare(
          `INSERT INTO campaign_theme_stats (campaign_id, question_index, theme, count, examples)
           SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, json(value -> 4) FROM json_each(?) WHERE true
           ON CONFLICT(campaign_id, question_index, theme) DO UPDATE SET count = count + excluded.count,
             examples = CASE WHEN json_array_length(examples) >= 3 THEN examples ELSE (
               SELECT json_group_array(value ORDER BY o, k) FROM (
                 SELECT 0 AS o, key AS k, value FROM json_each(campaign_theme_stats.examples)
                 UNION ALL SELECT 1, key, value FROM json_each(excluded.examples)
                 ORDER BY o, k LIMIT 3)) END`,
        )
        .bind(JSON.stringify([...themes.values()])),
    );
  }
  return stmts.filter((s): s is D1PreparedStatement => s !== null);
}

/** Idempotency marks, one statement for all of them (a key already there fails it: UNIQUE). */
export const markProcessed = (db: D1Database, keys: string[], at: number) =>
  db.prepare("INSERT INTO processed_messages (key, processed_at) SELECT value, ? FROM json_each(?)").bind(at, JSON.stringify(keys));

/**
 * Runs fold statements together with the record that they ran: one transaction, so a
 * redelivered job either finds the key (and changes nothing) or folds exactly once.
 */
export async function foldOnce(db: D1Database, key: string, stmts: D1PreparedStatement[]): Promise<boolean> {
  try {
    await db.batch([markProcessed(db, [key], Date.now()), ...stmts]);
    return true;
  } catch (err) {
    if (String(err).includes("UNIQUE")) return false;
    throw err;
  }
}

export interface SessionFold {
  campaignId: string;
  orgId: string;
  status: "completed" | "abandoned";
  /**
   * Declined consent or withdrew it before answering (src/shared/declined.ts): counted in the
   * totals (abandoned, and declined), never in the durations or the funnel.
   */
  declined: boolean;
  duration: number;
  /** Main questions asked, and main questions answered. */
  reached: number[];
  answered: number[];
  dropOff: number | null;
}

/**
 * The statements folding one finished session into its campaign's totals, durations and funnel
 * (run once per session): three at most. A declined session adds to the totals only: it took no
 * part, so it has no interview time and reached no question.
 */
export function foldSession(db: D1Database, f: SessionFold): D1PreparedStatement[] {
  const bucket = durationBucket(f.duration);
  const timed = f.declined ? 0 : 1;
  const stmts = [
    db
      .prepare(
        `INSERT INTO campaign_stats (campaign_id, org_id, total, completed, abandoned, declined, duration_sum, duration_count) VALUES (?, ?, 1, ?, ?, ?, ?, ?)
         ON CONFLICT(campaign_id) DO UPDATE SET total = total + 1, completed = completed + excluded.completed, abandoned = abandoned + excluded.abandoned,
           declined = declined + excluded.declined, duration_sum = duration_sum + excluded.duration_sum, duration_count = duration_count + excluded.duration_count`,
      )
      .bind(f.campaignId, f.orgId, f.status === "completed" ? 1 : 0, f.status === "abandoned" ? 1 : 0, f.declined ? 1 : 0, timed ? f.duration : 0, timed),
  ];
  if (f.declined) return stmts;
  stmts.push(
    db
      .prepare("INSERT INTO campaign_duration_buckets (campaign_id, bucket, count) VALUES (?, ?, 1) ON CONFLICT(campaign_id, bucket) DO UPDATE SET count = count + 1")
      .bind(f.campaignId, bucket),
  );
  const questions = [...new Set([...f.reached, ...f.answered, ...(f.dropOff === null ? [] : [f.dropOff])])].map(
    (q): QuestionDelta => [f.campaignId, q, f.reached.includes(q) ? 1 : 0, f.answered.includes(q) ? 1 : 0, f.dropOff === q ? 1 : 0, 0, 0, 0],
  );
  const funnel = addToQuestions(db, questions);
  if (funnel) stmts.push(funnel);
  return stmts;
}

const upTo = (n: number) => Array.from({ length: n + 1 }, (_, i) => i);

/**
 * What a finished session contributes, from its transcript. Questions come in order, so a
 * session that got to question q reached every question before it, and answered every one
 * before the last it reached (this also holds for a session reassigned mid-way, whose
 * transcript may skip indexes); follow-ups count toward their main question only.
 */
export function sessionFold(base: Omit<SessionFold, "reached" | "answered" | "dropOff">, segments: Pick<Segment, "speaker" | "questionIndex" | "followUp">[], lastQuestionIndex: number | null): SessionFold {
  // Someone who withdrew consent as the first question came up did not drop out at it.
  if (base.declined) return { ...base, reached: [], answered: [], dropOff: null };
  const main = segments.filter((s) => !s.followUp);
  const asked = main.filter((s) => s.speaker === "ai").map((s) => s.questionIndex);
  const said = main.filter((s) => s.speaker === "participant").map((s) => s.questionIndex);
  const lastReached = Math.max(-1, ...asked, ...said);
  const lastAnswered = Math.max(-1, ...said, lastReached - 1);
  const reached = upTo(lastReached);
  const answered = upTo(lastAnswered);
  const dropOff = base.status === "abandoned" ? (lastAnswered < lastReached ? lastReached : lastQuestionIndex) : null;
  return { ...base, reached, answered, dropOff };
}

/** The median (exact, from per-second counts) and a histogram of readable width with empty bars kept. */
export function durationSummary(buckets: { bucket: number; count: number }[]) {
  const sorted = [...buckets].filter((b) => b.count > 0).sort((a, b) => a.bucket - b.bucket);
  const n = sorted.reduce((a, b) => a + b.count, 0);
  if (n === 0) return { median: 0, histogram: [] as { from: number; to: number; count: number }[] };
  // The k-th smallest duration (0-based) from the cumulative counts.
  const nth = (k: number) => {
    let seen = 0;
    for (const b of sorted) {
      seen += b.count;
      if (seen > k) return b.bucket;
    }
    return sorted[sorted.length - 1]!.bucket;
  };
  const median = n % 2 ? nth((n - 1) / 2) : (nth(n / 2 - 1) + nth(n / 2)) / 2;
  const max = sorted[sorted.length - 1]!.bucket;
  const width = HISTOGRAM_WIDTHS.find((w) => Math.floor(max / w) + 1 <= 12) ?? HISTOGRAM_WIDTHS[HISTOGRAM_WIDTHS.length - 1]!;
  const bars = Array.from({ length: Math.floor(max / width) + 1 }, (_, i) => ({ from: i * width, to: (i + 1) * width, count: 0 }));
  for (const b of sorted) bars[Math.floor(b.bucket / width)]!.count += b.count;
  return { median, histogram: bars };
}

export interface ResponsePattern {
  questionIndex: number;
  clusters: { label: string; count: number; examples: string[] }[];
}

/**
 * The contract's session counts and their breakdown: `abandoned` is every session whose status is
 * abandoned, declined ones included; `declined` (consent refused, or withdrawn before answering)
 * and `droppedOut` split it. The completion rate is over those who agreed to take part.
 */
export function sessionCounts(total: number, completed: number, abandoned: number, declined: number) {
  const consented = total - declined;
  return {
    total,
    completed,
    abandoned,
    declined,
    droppedOut: abandoned - declined,
    completionRate: consented > 0 ? round(completed / consented, 3) : null,
    consentRate: total > 0 ? round(consented / total, 3) : null,
  };
}

type QuestionCounts = { question_index: number; reached: number; answered: number; dropped: number; positive: number; neutral: number; negative: number };

function shape(
  totalQuestions: number,
  sessions: ReturnType<typeof sessionCounts>,
  duration: { sum: number; n: number; buckets: { bucket: number; count: number }[] },
  questions: QuestionCounts[],
  themes: { theme: string; count: number; examples: string[] }[],
  responsePatterns: ResponsePattern[],
) {
  const byQ = new Map(questions.map((q) => [q.question_index, q]));
  const durations = durationSummary(duration.buckets);
  return {
    sessions,
    funnel: Array.from({ length: totalQuestions }, (_, q) => ({ questionIndex: q, reached: byQ.get(q)?.reached ?? 0, answered: byQ.get(q)?.answered ?? 0, dropped: byQ.get(q)?.dropped ?? 0 })),
    duration: {
      mean: duration.n ? round(duration.sum / duration.n, 1) : 0,
      median: round(durations.median, 1),
      histogram: durations.histogram,
    },
    sentimentTrend: Array.from({ length: totalQuestions }, (_, q) => ({ questionIndex: q, positive: byQ.get(q)?.positive ?? 0, neutral: byQ.get(q)?.neutral ?? 0, negative: byQ.get(q)?.negative ?? 0 })),
    topThemes: themes.slice(0, 10).map((t) => ({ theme: t.theme, count: t.count, quotes: t.examples })),
    responsePatterns: Array.from({ length: totalQuestions }, (_, q) => ({ questionIndex: q, clusters: responsePatterns.find((p) => p.questionIndex === q)?.clusters ?? [] })),
  };
}

/** The contract's campaign analytics, read from the aggregates only (the patterns come from the campaign's object). */
export async function campaignAnalytics(db: D1Database, campaignId: string, totalQuestions: number, patterns: ResponsePattern[] | Promise<ResponsePattern[]>) {
  const [responsePatterns, stats, buckets, questions, themes] = await Promise.all([
    patterns,
    db.prepare("SELECT * FROM campaign_stats WHERE campaign_id = ?").bind(campaignId).first<{ total: number; completed: number; abandoned: number; declined: number; duration_sum: number; duration_count: number }>(),
    db.prepare("SELECT bucket, count FROM campaign_duration_buckets WHERE campaign_id = ? ORDER BY bucket").bind(campaignId).all<{ bucket: number; count: number }>(),
    db.prepare("SELECT * FROM campaign_question_stats WHERE campaign_id = ? ORDER BY question_index").bind(campaignId).all<QuestionCounts>(),
    db.prepare("SELECT question_index, theme, count, examples FROM campaign_theme_stats WHERE campaign_id = ? AND question_index = -1 ORDER BY count DESC, theme LIMIT 10").bind(campaignId).all<{ question_index: number; theme: string; count: number; examples: string }>(),
  ]);
  return shape(
    totalQuestions,
    sessionCounts(stats?.total ?? 0, stats?.completed ?? 0, stats?.abandoned ?? 0, stats?.declined ?? 0),
    { sum: stats?.duration_sum ?? 0, n: stats?.duration_count ?? 0, buckets: buckets.results },
    questions.results,
    themes.results.map((t) => ({ theme: t.theme, count: t.count, examples: parseJson(Examples, t.examples) })),
    responsePatterns,
  );
}

/** Instants in ms; either may be absent. */
export interface AnalyticsRange {
  from?: number;
  to?: number;
}

/** What the session index says of one finished session, as much as the funnel and the totals need. */
export interface IndexedSession {
  status: "completed" | "abandoned";
  duration: number;
  questions_answered: number;
  last_question_index: number | null;
  consent_granted: number | null;
}

/**
 * The campaign fold of a finished session from its index row, for figures over a date range (the
 * aggregates cannot be cut by date). It agrees with sessionFold from the transcript: questions come
 * in order, so the last question shown is the last reached and the main answers given are the first
 * ones. (A session reassigned mid-way to a shorter script may differ by a question.)
 */
export function indexFold(r: IndexedSession): Pick<SessionFold, "status" | "declined" | "duration" | "reached" | "answered" | "dropOff"> {
  const declined = isDeclined({ status: r.status, consentGranted: r.consent_granted === null ? null : r.consent_granted === 1, questionsAnswered: r.questions_answered });
  if (declined) return { status: r.status, declined, duration: r.duration, reached: [], answered: [], dropOff: null };
  const lastReached = Math.max(-1, r.last_question_index ?? -1);
  const lastAnswered = Math.min(lastReached, Math.max(-1, r.questions_answered - 1, lastReached - 1));
  const dropOff = r.status === "abandoned" ? (lastAnswered < lastReached ? lastReached : r.last_question_index) : null;
  return { status: r.status, declined, duration: r.duration, reached: upTo(lastReached), answered: upTo(lastAnswered), dropOff };
}

/** A date range as SQL over the sessions aliased `s` (" AND …", or "" for none) and its binds. */
export function rangeWhere(range: AnalyticsRange): { inRange: string; binds: number[] } {
  const when: string[] = [];
  const binds: number[] = [];
  if (range.from !== undefined) (when.push(`${rangeTimeSql("s")} >= ?`), binds.push(range.from));
  // Both bounds on the same expression as the index sessions_campaign_began_idx, which the walk uses
  // (an extra bound on created_at made the planner pick the listing's index and read every row).
  if (range.to !== undefined) (when.push(`${rangeTimeSql("s")} <= ?`), binds.push(range.to));
  return { inRange: when.length ? ` AND ${when.join(" AND ")}` : "", binds };
}

/** A range's finished sessions, with what its figures read (binds: the campaign id, then rangeWhere's). */
export const finishedInRangeSql = (inRange: string) =>
  `SELECT s.status, s.duration, s.questions_answered, s.last_question_index, s.consent_granted FROM sessions s WHERE s.campaign_id = ? AND s.status IN ('completed', 'abandoned')${inRange}`;

/**
 * The same figures over the sessions that started within a range (a session never started — declined
 * at the consent step — counts from when its link was opened: rangeTimeSql), computed from
 * per-session rows: the session index for totals, durations and the funnel, the answer analyses for
 * sentiment and themes, and the campaign object's pattern memberships for the patterns. Theme
 * quotes are kept only as whole-campaign aggregates, so themes come without quotes here.
 */
export async function campaignAnalyticsInRange(
  db: D1Database,
  campaignId: string,
  totalQuestions: number,
  range: AnalyticsRange,
  patterns: (sessionIds: string[]) => Promise<ResponsePattern[]>,
) {
  const { inRange, binds } = rangeWhere(range);
  // Answers count in the campaign they were given in (as the aggregates fold them), by their session's time.
  const answersInRange = `FROM answer_analysis a JOIN sessions s ON s.id = a.session_id WHERE a.campaign_id = ?${inRange}`;
  const [finished, sentiment, themes, answeredIn] = await Promise.all([
    db
      .prepare(finishedInRangeSql(inRange))
      .bind(campaignId, ...binds)
      .all<IndexedSession>(),
    db
      .prepare(`SELECT a.question_index AS q, a.sentiment_label AS label, COUNT(*) AS n ${answersInRange} AND a.follow_up = 0 AND a.sentiment_label IS NOT NULL GROUP BY a.question_index, a.sentiment_label`)
      .bind(campaignId, ...binds)
      .all<{ q: number; label: Label; n: number }>(),
    db
      .prepare(`SELECT t.value AS theme, COUNT(*) AS n FROM answer_analysis a JOIN sessions s ON s.id = a.session_id, json_each(a.themes) t WHERE a.campaign_id = ?${inRange} GROUP BY t.value ORDER BY n DESC, t.value LIMIT 10`)
      .bind(campaignId, ...binds)
      .all<{ theme: string; n: number }>(),
    db
      .prepare(`SELECT DISTINCT a.session_id AS id ${answersInRange} AND a.follow_up = 0`)
      .bind(campaignId, ...binds)
      .all<{ id: string }>(),
  ]);
  const responsePatterns = await patterns(answeredIn.results.map((r) => r.id));
  const questions = new Map<number, QuestionCounts>();
  const question = (q: number) => {
    let row = questions.get(q);
    if (!row) questions.set(q, (row = { question_index: q, reached: 0, answered: 0, dropped: 0, positive: 0, neutral: 0, negative: 0 }));
    return row;
  };
  let completed = 0;
  let abandoned = 0;
  let declined = 0;
  const duration = { sum: 0, n: 0, buckets: [] as { bucket: number; count: number }[] };
  const perSecond = new Map<number, number>();
  for (const r of finished.results) {
    const f = indexFold(r);
    if (f.status === "completed") completed++;
    else abandoned++;
    if (f.declined) {
      declined++;
      continue;
    }
    duration.sum += f.duration;
    duration.n++;
    const bucket = durationBucket(f.duration);
    perSecond.set(bucket, (perSecond.get(bucket) ?? 0) + 1);
    for (const q of f.reached) question(q).reached++;
    for (const q of f.answered) question(q).answered++;
    if (f.dropOff !== null) question(f.dropOff).dropped++;
  }
  duration.buckets = [...perSecond.entries()].map(([bucket, count]) => ({ bucket, count }));
  for (const r of sentiment.results) question(r.q)[r.label] += r.n;
  return shape(
    totalQuestions,
    sessionCounts(finished.results.length, completed, abandoned, declined),
    duration,
    [...questions.values()],
    themes.results.map((t) => ({ theme: t.theme, count: t.n, examples: [] })),
    responsePatterns,
  );
}
