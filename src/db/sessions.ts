// The session index in D1: filters → SQL, rows → the contract's session JSON, CSV rendering.
import { z } from "zod";
import type { SessionView } from "../objects/view";
import { LANGUAGE_PRIMARY_SQL, type SessionRow } from "./schema";

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const Device = z.record(z.string(), z.string());

/** D1-owned fields that complete the object's view. */
export interface IndexFields {
  flagged: boolean;
  flagReason: string | null;
  sentiment: "positive" | "neutral" | "negative" | null;
}

export type SessionJson = Omit<SessionView, "pauseCount"> & IndexFields & { pauseCount?: number };

export function indexFields(row: Pick<SessionRow, "flagged" | "flag_reason" | "sentiment">): IndexFields {
  return { flagged: row.flagged === 1, flagReason: row.flag_reason, sentiment: row.sentiment };
}

export function sessionFromRow(r: SessionRow): SessionJson {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    inviteId: r.invite_id,
    scriptVersion: r.script_version,
    status: r.status,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    endedAt: r.status === "completed" || r.status === "abandoned" ? iso(r.updated_at) : null,
    duration: r.duration,
    questionsAnswered: r.questions_answered,
    totalQuestions: r.total_questions,
    completion: r.completion,
    language: r.language,
    device: r.device ? Device.parse(JSON.parse(r.device)) : null,
    consent: { required: r.consent_required === 1, granted: r.consent_granted === null ? null : r.consent_granted === 1, at: iso(r.consent_at) },
    endReason: r.end_reason,
    lastQuestionIndex: r.last_question_index,
    pausedReason: r.paused_reason,
    pausedBy: r.paused_by === "admin" || r.paused_by === "participant" ? r.paused_by : null,
    participant: { email: r.participant_email, name: r.participant_name },
    ...indexFields(r),
  };
}

export interface SessionFilter {
  status?: string[];
  from?: string;
  to?: string;
  minDuration?: number;
  maxDuration?: number;
  minCompletion?: number;
  maxCompletion?: number;
  language?: string;
  sentiment?: string[];
  flagged?: boolean;
}

/** A WHERE clause (after `campaign_id = ?`) and its bindings for the contract's filters. */
export function filterSql(f: SessionFilter): { where: string; binds: unknown[] } {
  const parts: string[] = [];
  const binds: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    parts.push(sql);
    binds.push(...values);
  };
  if (f.status?.length) add(`status IN (${f.status.map(() => "?").join(", ")})`, ...f.status);
  if (f.from) add("started_at >= ?", Date.parse(f.from));
  // A session is created before it starts, so `to` also bounds created_at: the newest-first scan
  // then starts at the window instead of at the newest session.
  if (f.to) add("started_at <= ? AND created_at <= ?", Date.parse(f.to), Date.parse(f.to));
  if (f.minDuration !== undefined) add("duration >= ?", f.minDuration);
  if (f.maxDuration !== undefined) add("duration <= ?", f.maxDuration);
  if (f.minCompletion !== undefined) add("completion >= ?", f.minCompletion);
  if (f.maxCompletion !== undefined) add("completion <= ?", f.maxCompletion);
  // The tag itself or one of its subtags (de matches de-AT; '.' follows '-', and primary subtags
  // are lowercase as the schema requires). The equality on the primary subtag is implied by the
  // rest; it is there so the planner walks the (campaign, primary subtag, date) index in date order
  // and stops at a page, instead of testing every session of the campaign for a rare language.
  if (f.language) add(`${LANGUAGE_PRIMARY_SQL} = ? AND (language = ? OR (language >= ? AND language < ?))`, f.language.split("-")[0], f.language, `${f.language}-`, `${f.language}.`);
  if (f.sentiment?.length) add(`sentiment IN (${f.sentiment.map(() => "?").join(", ")})`, ...f.sentiment);
  if (f.flagged !== undefined) add("flagged = ?", f.flagged ? 1 : 0);
  return { where: parts.map((p) => ` AND ${p}`).join(""), binds };
}

// ---- CSV (RFC 4180, with spreadsheet formula injection neutralised) ----

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let s = typeof value === "object" ? JSON.stringify(value) : String(value);
  // A cell a spreadsheet would evaluate as a formula is prefixed so it stays text.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (cells: unknown[]) => cells.map(csvCell).join(",") + "\r\n";

/**
 * Every CSV file served starts with the UTF-8 byte order mark: Excel, which most research teams
 * open them in, reads a CSV without it in the machine's legacy code page, and names, answers in
 * other languages and emoji came out garbled. CSV libraries skip it (Python: encoding "utf-8-sig").
 * A page of a paged list carries it in its header line, which a client joining pages drops anyway.
 */
export const CSV_BOM = "\uFEFF";

export const SESSION_CSV_COLUMNS = [
  "id",
  "campaignId",
  "inviteId",
  "status",
  "createdAt",
  "startedAt",
  "completedAt",
  "duration",
  "questionsAnswered",
  "totalQuestions",
  "completion",
  "language",
  "consentGranted",
  "flagged",
  "sentiment",
  "endReason",
  "lastQuestionIndex",
  "participantEmail",
] as const;

export function sessionCsvCells(s: Partial<SessionJson>): unknown[] {
  return [
    s.id,
    s.campaignId,
    s.inviteId,
    s.status,
    s.createdAt,
    s.startedAt,
    s.completedAt,
    s.duration,
    s.questionsAnswered,
    s.totalQuestions,
    s.completion,
    s.language,
    s.consent?.granted,
    s.flagged,
    s.sentiment,
    s.endReason,
    s.lastQuestionIndex,
    s.participant?.email,
  ];
}
