// The participant socket protocol (CONTRACT.md): client frames parsed with zod, server frames typed.
import { z } from "zod";
import { issueMessage, issuePath } from "../shared/issues";
import { typedText } from "../shared/text";
import type { OutFrame, Status } from "./machine";

const answerId = z.string().min(1).max(128);
/** The seq of the question frame an answer is for (optional: older pages do not send it). */
const questionSeq = z.number().int().min(0).optional();
/**
 * A page load's random id (an extension of hello): which window a socket belongs to, so that a
 * spoken answer is not taken from a window still recording it (see AudioIntake.start).
 */
export const clientId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a client id is 1-64 characters of A-Z, a-z, 0-9, _ and -");

export const ClientFrame = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hello"), lastSeq: z.number().int().min(0).optional(), client: clientId.optional() }),
  z.strictObject({ type: z.literal("consent"), granted: z.boolean() }),
  z.strictObject({ type: z.literal("start") }),
  z.strictObject({ type: z.literal("answer"), id: answerId, text: typedText(20_000), questionSeq }),
  // takeOver (an extension): record an answer open in another window here, deliberately.
  z.strictObject({ type: z.literal("answer_start"), id: answerId, questionSeq, takeOver: z.boolean().optional() }),
  z.strictObject({ type: z.literal("answer_end"), id: answerId, text: z.string().max(20_000).optional(), questionSeq }),
  z.strictObject({ type: z.literal("pause"), reason: z.string().max(500).optional() }),
  z.strictObject({ type: z.literal("resume") }),
  z.strictObject({ type: z.literal("ping") }),
  z.strictObject({ type: z.literal("leave") }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

/** A refused frame that names an answer (a well-formed `id`) says which one, so the page can drop it. */
export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; code: string; message: string; answerId?: string };

const ANSWER_TYPES = new Set(["answer", "answer_start", "answer_end"]);
function answerIdOf(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const d = data as { type?: unknown; id?: unknown };
  if (typeof d.type !== "string" || !ANSWER_TYPES.has(d.type)) return undefined;
  return answerId.safeParse(d.id).success ? (d.id as string) : undefined;
}

export function parseClientFrame(raw: string): ParsedFrame {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, code: "INVALID_JSON", message: "frames are JSON text" };
  }
  const parsed = ClientFrame.safeParse(data);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issuePath(issue)}` : "";
  const id = answerIdOf(data);
  return { ok: false, code: "INVALID_FRAME", message: `${issue ? issueMessage(issue) : "invalid frame"}${where}`, ...(id !== undefined ? { answerId: id } : {}) };
}

/** A numbered server frame as sent and replayed. */
export type NumberedFrame = OutFrame & { seq: number; audio?: string };

/**
 * `answerId` (an extension) names the answer an error is about: a spoken answer's audio errors,
 * STALE_ANSWER, ANSWER_RECORDING_ELSEWHERE, and INVALID_FRAME for an answer frame with a well-formed id.
 */
export type ErrorFrame = { type: "error"; code: string; message: string; answerId?: string };

export interface Segment {
  seq: number;
  speaker: "ai" | "participant";
  text: string;
  questionIndex: number;
  followUp: boolean;
  startMs: number;
  endMs: number;
  /** Present on spoken answers: transcription confidence, language, or why there is no text. */
  speech?: { spoken: true; confidence: number | null; lowConfidence: boolean; language: string | null; untranscribedReason: string | null };
}

/** Frames for live watchers (dashboard and API clients). */
export type WatchFrame =
  | { type: "snapshot"; session: unknown; segments: Segment[] }
  | { type: "segment"; sessionId: string; segment: Segment }
  | { type: "status"; sessionId: string; status: Status; questionIndex: number; totalQuestions: number; questionsAnswered: number; at: string };

export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" });
