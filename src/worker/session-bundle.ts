// One session as it leaves the system: the export bundle (metadata, transcript, analytics, notes),
// its published JSON Schema, and its CSV and PDF renderings. Shared by the single-session export,
// the participant's data (GDPR access) and the bulk export job, and by GET /sessions/{id}/analytics.
import { PDFDocument, rgb, type PDFPage } from "pdf-lib";
import { z } from "zod";
import { summarizer } from "../ai/summary";
import { sessionAnalytics, type AnswerRow } from "../db/analytics";
import type { SessionRow } from "../db/schema";
import { CSV_BOM, csvLine, indexFields, sessionFromRow, type SessionJson } from "../db/sessions";
import type { Env } from "../env";
import type { Segment as SegmentT } from "../objects/protocol";
import type { SessionEvent } from "../objects/store";
import type { SessionView } from "../objects/view";
import type { FontLoader } from "./pdf-fonts";
import type { Weight } from "./pdf-text";
import { canRead, type Role } from "./policy";
import { Note, Segment, Session, SessionAnalytics } from "./schemas";
import { UNSPACED } from "../ai/words";
import { counted } from "../shared/plural";
import { isDeclined } from "../shared/declined";

export const EXPORT_SCHEMA_VERSION = 1;

type Env_ = Pick<Env, "DB" | "SESSION" | "AI_MODE" | "AI">;
type Transcript = { segments: SegmentT[]; events: SessionEvent[] };

/** The contract's per-session analytics with the short summary, from a loaded view and transcript. */
/** What session analytics need of the session: its live view, or (when its object holds nothing) the index row. */
type AnalyticsBasis = Pick<SessionView, "status" | "duration" | "totalQuestions" | "questionsAnswered" | "pauseCount" | "lastQuestionIndex">;

export function basisFromRow(row: SessionRow): AnalyticsBasis {
  // The index keeps no pause count; an object without data has no pause events to count either.
  return { status: row.status, duration: row.duration, totalQuestions: row.total_questions, questionsAnswered: row.questions_answered, pauseCount: 0, lastQuestionIndex: row.last_question_index };
}

/**
 * A session's analytics as `role` may read them (a role that may not read transcripts gets no
 * quotes: they are the participant's own words). The short summary is an AI call per session, so
 * lists leave it out (`summary: false`); the session's own analytics carry it.
 */
export async function analyticsForRole(env: Env_, row: SessionRow, view: AnalyticsBasis | null, transcript: Transcript, role: Role, opts: { summary?: boolean } = {}) {
  const a = await analyticsFor(env, row, view ?? basisFromRow(row), transcript, opts);
  return canRead(role, "transcript") ? a : { ...a, quotes: [], quotesHidden: true };
}

/** The analytics columns a sessions CSV gains with include=analytics (after its own columns). */
export const ANALYTICS_CSV_COLUMNS = ["sentimentPositive", "sentimentNeutral", "sentimentNegative", "engagementScore", "responseRate", "averageResponseLength", "pauseCount", "dropOffQuestion", "themes"] as const;

export function analyticsCsvCells(a: Awaited<ReturnType<typeof analyticsFor>>): unknown[] {
  const d = a.sentiment.distribution;
  return [d.positive, d.neutral, d.negative, a.engagementScore, a.responseRate, a.averageResponseLength, a.pauseCount, a.dropOffQuestion, a.themes.map((t) => t.theme).join("; ")];
}

export async function analyticsFor(env: Env_, row: SessionRow, view: AnalyticsBasis, transcript: Transcript, opts: { summary?: boolean } = {}) {
  const answers = await env.DB.prepare("SELECT * FROM answer_analysis WHERE session_id = ? ORDER BY question_index, follow_up, created_at").bind(row.id).all<AnswerRow>();
  const a = sessionAnalytics(
    {
      status: view.status,
      duration: view.duration,
      totalQuestions: view.totalQuestions,
      questionsAnswered: view.questionsAnswered,
      pauseCount: view.pauseCount,
      lastQuestionIndex: view.lastQuestionIndex,
      declined: isDeclined({ status: view.status, consentGranted: row.consent_granted === null ? null : row.consent_granted === 1, questionsAnswered: view.questionsAnswered }),
    },
    transcript.segments,
    transcript.events,
    answers.results,
  );
  if (opts.summary === false) return { sessionId: row.id, ...a };
  const segs = transcript.segments;
  const qa = segs.flatMap((s, i) => (s.speaker === "participant" ? [{ question: segs.slice(0, i).reverse().find((x) => x.speaker === "ai")?.text ?? "", answer: s.text }] : []));
  const summary = await summarizer(env)
    .summarize({ answers: qa, overall: a.sentiment.overall, themes: a.themes.map((t) => t.theme) })
    .catch(() => null);
  return { sessionId: row.id, ...a, summary };
}

export interface NoteRow {
  id: string;
  session_id: string;
  text: string;
  author_type: string;
  author_id: string;
  created_at: number;
}

export const noteJson = (n: NoteRow) => ({ id: n.id, sessionId: n.session_id, text: n.text, author: { type: n.author_type, id: n.author_id }, createdAt: new Date(n.created_at).toISOString() });

/** All of a session's notes, oldest first (for include=notes and exports). */
export async function notesOf(db: D1Database, sessionId: string) {
  const rows = await db.prepare("SELECT * FROM notes WHERE session_id = ? ORDER BY created_at, id").bind(sessionId).all<NoteRow>();
  return rows.results.map(noteJson);
}

// ---- the bundle and its schema ----


// The contract's session JSON (one schema for the API and the export) with what the object adds.
// The session's own JSON, less what the export carries beside it (transcript, notes, analytics)
// and the live-only pause fields: the published schema stays as it was.
const ExportSession = Session.omit({ transcript: true, pausedReason: true, pausedBy: true, notes: true, analytics: true });

/** The single-session export (format=json), published as JSON Schema at /v1/schemas/session-export.json. */
export const SessionExport = z
  .object({
    schemaVersion: z.literal(EXPORT_SCHEMA_VERSION),
    exportedAt: z.iso.datetime(),
    session: ExportSession,
    transcript: z.array(Segment.extend({ speech: z.unknown().optional() })),
    analytics: SessionAnalytics.nullable(),
    notes: z.array(Note),
  })
  .meta({ title: "InterviewRelay session export", description: "One interview session: metadata, transcript segments in order, analytics and notes." });
export type SessionExport = z.infer<typeof SessionExport>;

export const sessionExportJsonSchema = () =>
  ({
    $id: "https://interviewrelay.dev/v1/schemas/session-export.json",
    ...(z.toJSONSchema(SessionExport, { io: "output", target: "draft-2020-12" }) as Record<string, unknown>),
  }) as Record<string, unknown>;

export type BundlePart = "transcript" | "analytics" | "notes";

/** One session as exported. `role` filters fields the way the session JSON does. */
export async function sessionBundle(env: Env_, row: SessionRow, opts: { role: Role; include?: readonly BundlePart[] }): Promise<SessionExport> {
  const include = new Set(opts.include ?? ["transcript", "analytics", "notes"]);
  const stub = env.SESSION.get(env.SESSION.idFromName(row.id));
  const [view, transcript] = await Promise.all([stub.view(), stub.transcript()]);
  const t: Transcript = transcript.ok ? transcript.value : { segments: [], events: [] };
  const session: SessionJson = view.ok ? { ...view.value, ...indexFields(row) } : sessionFromRow(row);
  const meta: Record<string, unknown> = { ...session };
  delete meta.pausedReason;
  delete meta.pausedBy;
  delete meta.pauseCount;
  if (!canRead(opts.role, "participant")) delete meta.participant;
  const analytics = include.has("analytics") && view.ok ? await analyticsFor(env, row, view.value, t) : null;
  return {
    schemaVersion: EXPORT_SCHEMA_VERSION,
    exportedAt: new Date().toISOString(),
    session: meta as SessionExport["session"],
    transcript: include.has("transcript") ? t.segments : [],
    analytics: analytics as SessionExport["analytics"],
    notes: include.has("notes") ? await notesOf(env.DB, row.id) : [],
  };
}

// ---- CSV: one row per transcript segment ----

export const TRANSCRIPT_CSV_COLUMNS = ["sessionId", "seq", "speaker", "questionIndex", "followUp", "startMs", "endMs", "text"] as const;

export function transcriptCsv(b: Pick<SessionExport, "session" | "transcript">, header = true): string {
  let out = header ? CSV_BOM + csvLine([...TRANSCRIPT_CSV_COLUMNS]) : "";
  for (const s of b.transcript) out += csvLine([b.session.id, s.seq, s.speaker, s.questionIndex, s.followUp, s.startMs, s.endMs, s.text]);
  return out;
}

// ---- PDF: a document to hand to a colleague ----

export const mmss = (ms: number) => {
  const total = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
};

const PAGE = { w: 595.28, h: 841.89, margin: 56 };

let segmenters: { word: Intl.Segmenter; grapheme: Intl.Segmenter } | undefined; // made on a PDF's first line, not at every cold start

// Where a line may break. After white space that is not a no-break space; between two words of
// a script written without spaces (Chinese, Japanese, Thai...); never before closing or other
// punctuation ("world," "、" "。") nor after opening punctuation ("(" "「").
const SPACE = "[ \\t\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u205f\\u3000]+"; // white space a line may break at (no no-break spaces)
const BREAKING_SPACE = new RegExp(`^${SPACE}$`);
const LEADING_SPACE = new RegExp(`^${SPACE}`);
const TRAILING_SPACE = new RegExp(`${SPACE}$`);
const NO_BREAK_BEFORE = /^[\p{Pe}\p{Pf}\p{Po}\p{Pd}ー々ゝゞヽヾ]/u;
const NO_BREAK_AFTER = /[\p{Ps}\p{Pi}]$/u;

/** A word of an unspaced script, or punctuation: between two of them (one a word) a line may break. */
const unspacedSide = (seg: string) => UNSPACED.test(seg) || /^\p{P}+$/u.test(seg);

/** A paragraph cut where a line may break: each chunk must stay whole on its line. */
function chunksOf(text: string, words: Intl.Segmenter): string[] {
  const chunks: string[] = [];
  let chunk = "";
  let prev = "";
  for (const { segment } of words.segment(text)) {
    const mayBreak =
      chunk !== "" &&
      !NO_BREAK_BEFORE.test(segment) &&
      !NO_BREAK_AFTER.test(prev) &&
      (BREAKING_SPACE.test(prev) || (unspacedSide(segment) && unspacedSide(prev) && (UNSPACED.test(segment) || UNSPACED.test(prev))));
    if (mayBreak) chunks.push(chunk), (chunk = "");
    chunk += segment;
    prev = segment;
  }
  if (chunk) chunks.push(chunk);
  return chunks;
}

/**
 * Greedy wrap of one paragraph at `width`, at the break opportunities of `chunksOf` (ICU word
 * segments, so dictionary word boundaries in Chinese, Japanese and Thai). A chunk wider than a
 * line is broken between graphemes, so a cluster (a Thai vowel, a Devanagari conjunct, a
 * surrogate pair) never splits. Segments are measured once and widths summed: linear time,
 * however long the paragraph (measuring ever-shorter prefixes of a 2,000-character Japanese
 * answer took tens of seconds).
 */
export function wrap(text: string, width: number, measure: (s: string) => number): string[] {
  segmenters ??= { word: new Intl.Segmenter(undefined, { granularity: "word" }), grapheme: new Intl.Segmenter(undefined, { granularity: "grapheme" }) };
  const { word, grapheme } = segmenters;
  const lines: string[] = [];
  let line = "";
  let lineWidth = 0;
  const widths = new Map<string, number>();
  const widthOf = (s: string) => {
    let w = widths.get(s);
    if (w === undefined) widths.set(s, (w = measure(s)));
    return w;
  };
  const push = () => {
    lines.push(line.trimEnd());
    line = "";
    lineWidth = 0;
  };
  for (let chunk of chunksOf(text, word)) {
    if (!line) chunk = chunk.replace(LEADING_SPACE, ""); // no line starts with white space
    if (!chunk) continue;
    const trailing = TRAILING_SPACE.exec(chunk)?.[0] ?? "";
    const body = chunk.slice(0, chunk.length - trailing.length);
    const w = widthOf(body);
    // Trailing spaces never push a chunk onto the next line: a line may end in them.
    if (lineWidth + w <= width || !body) {
      line += chunk;
      lineWidth += w + (trailing ? widthOf(trailing) : 0);
      continue;
    }
    if (line) push();
    if (w <= width) {
      line = chunk;
      lineWidth = w + (trailing ? widthOf(trailing) : 0);
      continue;
    }
    for (const { segment: g } of grapheme.segment(body)) {
      const gw = widthOf(g);
      // Closing punctuation hangs past the margin rather than start a line.
      if (line && lineWidth + gw > width && !NO_BREAK_BEFORE.test(g)) push();
      line += g;
      lineWidth += gw;
    }
    if (trailing) (line += trailing), (lineWidth += widthOf(trailing));
  }
  if (line || !lines.length) lines.push(line.trimEnd());
  return lines;
}

/**
 * The session as a document to read and hand on. `fonts` loads the Noto faces for text Helvetica
 * cannot draw (the Worker reads them from its static assets: `assetFonts`).
 */
export async function sessionPdf(b: SessionExport, campaignName: string, fonts: FontLoader): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(`${campaignName} — ${b.session.id}`);
  doc.setSubject("Interview session export");
  doc.setProducer("InterviewRelay");
  doc.setCreationDate(new Date(b.exportedAt));
  if (b.session.language) doc.setLanguage(b.session.language);
  // Loaded on first use: fontkit costs a cold start about 100 ms to evaluate.
  const { Typesetter } = await import("./pdf-text");
  // Everything drawn comes from the bundle and the campaign's name (the only bold text not ours).
  const ts = await Typesetter.create(doc, fonts, b.session.language, `${campaignName}\n${JSON.stringify(b)}`, campaignName);
  const contentWidth = PAGE.w - 2 * PAGE.margin;
  const grey = rgb(0.35, 0.35, 0.35);

  let page: PDFPage = doc.addPage([PAGE.w, PAGE.h]);
  let y = PAGE.h - PAGE.margin;
  const ensure = (height: number) => {
    if (y - height < PAGE.margin + 20) {
      page = doc.addPage([PAGE.w, PAGE.h]);
      y = PAGE.h - PAGE.margin;
    }
  };
  const text = (s: string, o: { size?: number; weight?: Weight; x?: number; width?: number; color?: ReturnType<typeof rgb>; gap?: number } = {}) => {
    const size = o.size ?? 10;
    const weight = o.weight ?? "regular";
    const x = o.x ?? PAGE.margin;
    const width = o.width ?? contentWidth - (x - PAGE.margin);
    const lh = size * 1.35;
    for (const para of ts.clean(s, weight).split("\n")) {
      const rtl = Typesetter.rtlParagraph(para);
      for (const line of wrap(para, width, (t) => ts.width(t, weight, size))) {
        ensure(lh);
        ts.drawLine(page, line, { x, y: y - size, size, weight, color: o.color ?? rgb(0, 0, 0), rtl, width });
        y -= lh;
      }
    }
    y -= o.gap ?? 0;
  };
  const heading = (s: string) => {
    ensure(40);
    y -= 10;
    text(s, { size: 13, weight: "bold", gap: 4 });
  };

  const s = b.session;
  text(campaignName || "Interview", { size: 18, weight: "bold", gap: 2 });
  text(`Session ${s.id}`, { size: 11, color: grey, gap: 8 });

  heading("Session");
  const dt = (v: string | null) => (v ? v.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC") : "—");
  const rows: [string, string][] = [
    ["Status", s.status.replace("_", " ")],
    ["Created", dt(s.createdAt)],
    ["Started", dt(s.startedAt)],
    ["Ended", dt(s.endedAt ?? s.completedAt)],
    ["Duration", `${mmss(s.duration * 1000)} (active)`],
    ["Completion", `${s.completion}% (${s.questionsAnswered} of ${s.totalQuestions} questions)`],
    ["Consent", s.consent.required ? (s.consent.granted === null ? "not yet asked" : s.consent.granted ? `granted ${dt(s.consent.at)}` : "declined") : "not required"],
    ...(s.participant?.email || s.participant?.name ? [["Participant", [s.participant.name, s.participant.email].filter(Boolean).join(" <") + (s.participant.name && s.participant.email ? ">" : "")] as [string, string]] : []),
    ...(s.endReason ? [["End reason", s.endReason] as [string, string]] : []),
  ];
  for (const [k, v] of rows) {
    const before = y;
    text(k, { weight: "bold", width: 110 });
    const after = y;
    y = before;
    text(v, { x: PAGE.margin + 120 });
    y = Math.min(y, after);
  }

  const a = b.analytics;
  heading("Insights");
  if (!a) text("No analytics are available for this session.", { color: grey });
  else {
    text(`Overall sentiment: ${a.sentiment.overall ?? "not analysed"} (positive ${a.sentiment.distribution.positive}, neutral ${a.sentiment.distribution.neutral}, negative ${a.sentiment.distribution.negative})`);
    text(`Engagement: ${a.engagementScore}/100 · response rate ${Math.round(a.responseRate * 100)}% · average answer ${counted(a.averageResponseLength, "word")} · ${counted(a.pauseCount, "pause")}`);
    text(`Themes: ${a.themes.length ? a.themes.map((t) => `${t.theme} (${t.count})`).join(", ") : "none detected"}`, { gap: 4 });
    const summary = a.summary as { text?: string } | string | null;
    const summaryText = typeof summary === "string" ? summary : typeof summary?.text === "string" ? summary.text : null;
    if (summaryText) text(`Summary: ${summaryText}`, { gap: 4 });
    if (a.quotes.length) {
      text("Quotes", { weight: "bold" });
      for (const q of a.quotes) text(`“${q.text}” (question ${q.questionIndex + 1})`, { x: PAGE.margin + 12 });
    }
  }

  if (b.notes.length) {
    heading("Notes");
    for (const n of b.notes) text(`${dt(n.createdAt)}: ${n.text}`, { gap: 2 });
  }

  heading("Transcript");
  if (!b.transcript.length) text("No transcript.", { color: grey });
  for (const seg of b.transcript) {
    ensure(30);
    const label = `${mmss(seg.startMs)}  ${seg.speaker === "ai" ? "Interviewer" : "Participant"}${seg.followUp ? " (follow-up)" : ""}`;
    text(label, { weight: "bold", size: 9, color: seg.speaker === "ai" ? rgb(0.1, 0.3, 0.6) : rgb(0.1, 0.45, 0.2) });
    // A spoken answer without a transcript is there in the recording: say so, not "no text".
    const reason = (seg.speech as { untranscribedReason?: unknown } | undefined)?.untranscribedReason;
    const untold = seg.speech ? `(spoken answer, not transcribed${typeof reason === "string" && reason ? `: ${reason}` : ""}; hear it in the recording)` : "(no text)";
    text(seg.text || untold, { x: PAGE.margin + 12, gap: 6, ...(seg.text ? {} : { color: grey }) });
  }

  const pages = doc.getPages();
  // The footer's title keeps clear of the page label (a long or right-to-left title ran into it):
  // it gets the width the widest label leaves, and a title longer than that is cut with "…".
  // A long campaign name is shortened, never the session id.
  const footWidth = contentWidth - ts.width(`Page ${pages.length} of ${pages.length}`, "regular", 8) - 16;
  const idPart = ` · ${s.id}`;
  let name = ts.clean(campaignName, "regular").replace(/\n/g, " ");
  const nameRoom = footWidth - ts.width(idPart, "regular", 8);
  if (ts.width(name, "regular", 8) > nameRoom) {
    name = `${wrap(name, Math.max(0, nameRoom - ts.width("…", "regular", 8)), (t) => ts.width(t, "regular", 8))[0] ?? ""}…`;
  }
  const title = `${name}${idPart}`;
  const titleRtl = Typesetter.rtlParagraph(title);
  pages.forEach((p, i) => {
    const label = `Page ${i + 1} of ${pages.length}`;
    const foot = { y: PAGE.margin / 2, size: 8, weight: "regular" as const, color: grey, rtl: false };
    ts.drawLine(p, label, { ...foot, x: PAGE.w - PAGE.margin - ts.width(label, "regular", 8), width: contentWidth });
    ts.drawLine(p, title, { ...foot, x: PAGE.margin, width: footWidth, rtl: titleRtl });
  });
  return doc.save();
}
