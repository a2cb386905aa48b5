// The participant socket protocol (CONTRACT.md): client frames parsed with zod, server frames typed.
import { z } from "zod";
import { issueMessage, issuePath } from "../shared/issues";
import { typedText } from "../shared/text";
import type { OutFrame, Status } from "./machine";

const answerId = z.string().min(1).max(128);

export const ClientFrame = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hello"), lastSeq: z.number().int().min(0).optional() }),
  z.strictObject({ type: z.literal("consent"), granted: z.boolean() }),
  z.strictObject({ type: z.literal("start") }),
  z.strictObject({ type: z.literal("answer"), id: answerId, text: typedText(20_000) }),
  z.strictObject({ type: z.literal("answer_start"), id: answerId }),
  z.strictObject({ type: z.literal("answer_end"), id: answerId, text: z.string().max(20_000).optional() }),
  z.strictObject({ type: z.literal("pause"), reason: z.string().max(500).optional() }),
  z.strictObject({ type: z.literal("resume") }),
  z.strictObject({ type: z.literal("ping") }),
  z.strictObject({ type: z.literal("leave") }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; code: string; message: string };

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
  return { ok: false, code: "INVALID_FRAME", message: `${issue ? issueMessage(issue) : "invalid frame"}${where}` };
}

/** A numbered server frame as sent and replayed. */
export type NumberedFrame = OutFrame & { seq: number; audio?: string };

/** `answerId` (an extension) names the spoken answer an audio error is about. */
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
