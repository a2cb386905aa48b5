// Spoken answers and the AI voice, as seen from the session object's RPC: the queue consumer
// fetches a job by reference and hands back the transcript; routes get the audio manifest.
import { z } from "zod";
import { speechProviders, spokenLanguage } from "../ai/speech";
import { concat, wavHeader } from "../audio/pcm";
import type { Env } from "../env";
import { openObject } from "../shared/audio-crypto";
import { elsewhere } from "./audio";
import { parseJson } from "../shared/json";
import { notFound, type Attachment, type InterviewSession, type RpcResult } from "./InterviewSession";
import { audioError, safeSend } from "./sockets";
import type { QueueMessage } from "./messages";
import type { MachineState } from "./machine";
import type { Segment } from "./protocol";
import type { SegmentSpeech } from "./store";

export const TranscriptionResult = z.object({
  status: z.enum(["transcribed", "untranscribed"]),
  text: z.string(),
  reason: z.string().nullable(),
  language: z.string().nullable(),
  confidence: z.number().nullable(),
  lowConfidence: z.boolean(),
  gain: z.number(),
  peak: z.number(),
  pauses: z.array(z.tuple([z.number(), z.number()])),
  durationMs: z.number(),
});
export type TranscriptionResult = z.infer<typeof TranscriptionResult>;
const QuestionFrame = z.object({ type: z.literal("question"), text: z.string(), index: z.number() });

const missing = (what: string) => ({ ok: false as const, error: { code: "NOT_FOUND" as const, message: `${what} not found` } });

/**
 * The spoken answer being recorded when the session ends (the team ended it, the participant left
 * or stopped, the heartbeat or the pause ran out) keeps what was received: in the ending's own
 * transaction it is closed, filed under its question without text and queued for transcription,
 * like any spoken answer (the transcript fills the text in). Returns its segment, or null when no
 * answer was open or none of it had arrived. Call `writeCutOff` once the transaction committed.
 */
export function cutOffAnswer(s: InterviewSession, before: MachineState, now: number): { id: string; segment: Segment } | null {
  const intake = s.audio();
  const id = intake.openAnswer();
  if (!id) return null;
  const a = intake.get(id)!;
  if (a.bytes + intake.pending(id) === 0) return null;
  intake.cutOff(id, now);
  const since = (t: number) => Math.max(0, t - (before.startedAt ?? t));
  const p = before.prompt?.index === a.questionIndex ? before.prompt : null;
  const segment = s.store.appendSegment(
    { speaker: "participant", text: "", questionIndex: a.questionIndex, followUp: p?.followUp ?? false, startMs: since(p?.askedAt ?? a.startedAt), endMs: since(now) },
    id,
  );
  s.store.appendEvent(now, "answer_cut_off", { answerId: id, questionIndex: a.questionIndex });
  s.store.addOutbox({ type: "audio.process", sessionId: s.meta!.id, answerId: id } satisfies QueueMessage);
  return { id, segment };
}

/** Writes what a cut-off answer still had buffered; the transcription job waits for it (`audioJob`). */
export function writeCutOff(s: InterviewSession, id: string) {
  const intake = s.audio();
  s.audioChain = s.audioChain
    .then(async () => {
      if (intake.pending(id) > 0) await intake.flush(id, await s.dataKey());
    })
    .catch((err: unknown) => console.warn("a cut-off answer's last audio was not written", { error: String(err) }))
    .finally(() => intake.release(id));
}

/**
 * What the transcription job needs: the answer's chunks and the wrapped key that opens them. Null
 * key and no chunks when nothing of it is stored: the answer had no audio, or the recordings were
 * purged. The key is only read here, never made: a job arriving after a purge must not give the
 * session a fresh audio key (which would outlive the shredding it was meant to prove).
 */
export async function audioJob(s: InterviewSession, answerId: string): Promise<RpcResult<{ keys: string[]; wrappedKey: string | null; hint: string | null; language: string | null }>> {
  if (!s.state || !s.meta) return notFound();
  // Writes under way (a cut-off answer's last bytes) belong to the job.
  await s.audioChain;
  const a = s.audio().get(answerId);
  if (!a || a.state !== "ended") return missing("spoken answer");
  const wrappedKey = s.store.loadAudioKey() ?? null;
  const keys = wrappedKey ? s.audio().chunks(answerId).map((c) => c.key) : [];
  return { ok: true, value: { keys, wrappedKey, hint: a.hint, language: s.meta.language } };
}

export async function applyTranscription(s: InterviewSession, answerId: string, result: TranscriptionResult): Promise<RpcResult<{ applied: boolean }>> {
  if (!s.state || !s.meta) return notFound();
  const a = s.audio().get(answerId);
  if (!a) return missing("spoken answer");
  // A redelivered message finds the result already recorded: the effects happened once.
  if (a.result) return { ok: true, value: { applied: false } };
  const now = Date.now();
  const speech: SegmentSpeech = {
    spoken: true,
    confidence: result.confidence,
    lowConfidence: result.lowConfidence,
    language: result.language,
    untranscribedReason: result.status === "untranscribed" ? result.reason : null,
  };
  const record = () => {
    s.audio().setResult(answerId, result);
    for (const [startMs, endMs] of result.pauses) s.store.appendEvent(now, "long_pause", { answerId, startMs, endMs });
  };
  if (s.state.deciding?.transcript?.answerId === answerId) {
    const r = s.apply({ type: "transcribed", answerId, text: result.status === "transcribed" ? result.text : null }, () => {
      record();
      s.recordSpeech(answerId, speech);
    });
    if (!r.ok) return r;
  } else {
    // The interview moved on after a timeout: the segment written without text gets it now.
    s.store.transaction(() => {
      record();
      s.recordSpeech(answerId, speech, result.text);
      s.store.addOutbox({ type: "answer.analyze", sessionId: s.meta!.id, answerId } satisfies QueueMessage);
    });
    void s.outbox.flush();
  }
  // A campaign that keeps no recordings drops the audio once it is transcribed.
  if (s.meta.recordAudio === false) await s.audio().purge(answerId);
  return { ok: true, value: { applied: true } };
}

async function answerContext(
  s: InterviewSession,
  answerId: string,
): Promise<RpcResult<{ orgId: string; campaignId: string; questionIndex: number; followUp: boolean; question: string; text: string; confidence: number | null; lowConfidence: boolean; durationMs: number | null; language: string | null }>> {
  if (!s.state || !s.meta) return notFound();
  const seg = s.store.segmentByAnswer(answerId);
  if (!seg) return missing("answer");
  const prompt = s.store.promptBefore(seg.seq);
  const spoken = seg.speech ? s.audio().get(answerId) : null;
  const result = spoken?.result ? parseJson(TranscriptionResult, spoken.result) : null;
  return {
    ok: true,
    value: {
      orgId: s.meta.orgId,
      campaignId: s.meta.campaignId,
      questionIndex: seg.questionIndex,
      followUp: seg.followUp,
      question: prompt?.text ?? s.state.questions[seg.questionIndex]?.text ?? "",
      text: seg.text,
      confidence: seg.speech?.confidence ?? null,
      lowConfidence: seg.speech?.lowConfidence ?? false,
      durationMs: result ? result.durationMs : seg.endMs - seg.startMs,
      // What speech-to-text heard, else the interview's language.
      language: result?.language ?? s.meta.language ?? null,
    },
  };
}

/** Several answers of this session at once, in order (null for one that is gone). */
export async function answerContexts(s: InterviewSession, answerIds: string[]) {
  if (!s.state || !s.meta) return notFound();
  const out = [];
  for (const id of answerIds) {
    const r = await answerContext(s, id);
    out.push(r.ok ? r.value : null);
  }
  return { ok: true as const, value: out };
}

export interface ManifestAnswer {
  id: string;
  questionIndex: number;
  startMs: number;
  gain: number;
  chunks: { key: string; bytes: number }[];
}

/** Everything a route needs to assemble a track: the wrapped key and the chunks in order. */
export async function audioManifest(s: InterviewSession, track: "participant" | "ai"): Promise<RpcResult<{ wrappedKey: string | null; answers: ManifestAnswer[] }>> {
  if (!s.state || !s.meta) return notFound();
  const started = s.state.startedAt ?? s.state.createdAt;
  const answers = s.audio().track(track).map((a) => ({
    id: a.id,
    questionIndex: a.questionIndex,
    startMs: Math.max(0, a.startedAt - started),
    gain: a.result ? parseJson(TranscriptionResult, a.result).gain : 1,
    chunks: a.chunks,
  }));
  return { ok: true, value: { wrappedKey: s.store.loadAudioKey(), answers } };
}

/**
 * The spoken version of a question frame, synthesised on first request and kept (encrypted) as
 * part of the AI track, so each prompt is synthesised once. Returned as WAV.
 */
export async function promptAudio(s: InterviewSession, env: Env, seq: number, token: string | null): Promise<RpcResult<Uint8Array>> {
  if (!s.state || !s.meta) return notFound();
  if (!(await s.tokenValid(token))) return { ok: false, error: { code: "INVALID_TOKEN", message: "the participant token is not valid for this session" } };
  const body = s.store.frameAt(seq);
  const parsed = body ? QuestionFrame.safeParse(JSON.parse(body)) : null;
  if (!parsed?.success) return missing("question");
  const frame = parsed.data;
  const id = `prompt-${seq}`;
  const dek = await s.dataKey();
  const existing = s.audio().get(id);
  let pcm: Uint8Array;
  if (existing) {
    const parts: Uint8Array[] = [];
    for (const c of s.audio().chunks(id)) {
      const obj = await env.AUDIO_BUCKET.get(c.key);
      if (!obj) return missing("prompt audio");
      parts.push(await openObject(dek, c.key, new Uint8Array(await obj.arrayBuffer())));
    }
    pcm = concat(parts);
  } else {
    const language = spokenLanguage(s.meta.language, s.state?.questions.map((q) => q.text) ?? [frame.text]);
    const spoken = await speechProviders(env).tts.synthesize(frame.text, language);
    if (!spoken) return { ok: false, error: { code: "TTS_UNAVAILABLE", message: "no speech synthesis here; the page reads the question with the browser's voice" } };
    pcm = spoken;
    await s.audio().storePrompt(id, frame.index, pcm, dek, Date.now());
  }
  return { ok: true, value: concat([wavHeader(pcm.byteLength), pcm]) };
}

// ---- Spoken answers on the participant socket: answer_start, PCM frames, answer_end ----

export function audioStart(s0: InterviewSession, env: Env, ws: WebSocket, att: Attachment, id: string, takeOver = false) {
  const s = s0.state!;
  if (s0.meta!.mode !== "voice") return audioError(ws, id, "VOICE_NOT_AVAILABLE", "this interview takes typed answers; send an answer frame");
  const acked = s0.store.ackSeqFor(id);
  if (acked !== null) return void ws.send(JSON.stringify({ type: "ack", id, seq: acked }));
  if (s.status !== "in_progress") return audioError(ws, id, "INVALID_TRANSITION", `cannot answer in a session that is ${s.status}`);
  if (!s.prompt) return audioError(ws, id, "NO_OPEN_QUESTION", "no question is waiting for an answer");
  if (!env.AUDIO_KEK) return audioError(ws, id, "AUDIO_UNAVAILABLE", "audio storage is not configured; send a typed answer");
  const client = att.client ?? null;
  // Another window recording this answer keeps it: refused before anything is written or moved.
  if (!takeOver && s0.audio().recordingElsewhere(id, ws, client, Date.now())) return refuseElsewhere(ws, id);
  // Behind the writes already under way: the offset it reports must include them.
  s0.audioChain = s0.audioChain
    .then(async () => {
      const prompt = s0.state?.prompt;
      if (!prompt) return audioError(ws, id, "NO_OPEN_QUESTION", "no question is waiting for an answer");
      // A reopened answer keeps what an earlier connection delivered in order: it is written, then counted.
      if (s0.audio().pending(id) > 0) await s0.audio().flush(id, await s0.dataKey());
      const r = s0.audio().start(ws, id, prompt.index, Date.now(), { client, takeOver });
      if (!r.ok) return audioError(ws, id, r.code, r.message);
      ws.serializeAttachment({ ...att, audio: id } satisfies Attachment);
      safeSend(ws, JSON.stringify({ type: "audio_ack", id, bytes: r.bytes }));
    })
    .catch((err: unknown) => audioError(ws, id, "AUDIO_STORE_FAILED", `audio was not stored (${String(err)}); send answer_start again`));
}

export function audioFrame(s0: InterviewSession, ws: WebSocket, id: string, bytes: Uint8Array) {
  const intake = s0.audio();
  const fresh = intake.pending(id) === 0;
  const r = intake.append(ws, id, bytes, Date.now());
  if (!r.ok) return audioError(ws, id, r.code, r.message);
  if (r.flush) s0.audioChain = s0.audioChain.then(() => flushAudio(s0, ws, id)).catch((err: unknown) => storeFailed(ws, id, err));
  // The first bytes of a new chunk: should the frames stop (a crash, a stalled network) the alarm writes them.
  else if (fresh) void s0.armAlarm();
}

async function flushAudio(s0: InterviewSession, ws: WebSocket, id: string) {
  const bytes = await s0.audio().flush(id, await s0.dataKey());
  // To the window recording the answer now: a flush queued by one window's frame may run after
  // another window took the answer over (its answer_start was ahead in the chain), and the first
  // must not count the second's audio as its own.
  safeSend(s0.audio().ownerOf(id) ?? ws, JSON.stringify({ type: "audio_ack", id, bytes }));
  return bytes;
}

function refuseElsewhere(ws: WebSocket, id: string) {
  const e = elsewhere(id);
  audioError(ws, id, e.code, e.message);
}

const storeFailed = (ws: WebSocket, id: string, err: unknown) => audioError(ws, id, "AUDIO_STORE_FAILED", `audio was not stored (${String(err)}); resend from the last audio_ack`);

/**
 * Writes buffered audio that waited FLUSH_AFTER_MS (from the alarm) or that came on a socket that
 * closed, and acknowledges it to whoever still listens: after a reload only what was never
 * received is missing, since the page's own unacknowledged copy is gone with it.
 */
export async function flushDueAudio(s0: InterviewSession, participants: WebSocket[], closed?: WebSocket): Promise<void> {
  if (!s0.meta || s0.meta.mode !== "voice") return;
  const ids = s0.audio().due(Date.now(), closed);
  if (!ids.length) return;
  const run = s0.audioChain.then(async () => {
    for (const id of ids) {
      const bytes = await s0.audio().flush(id, await s0.dataKey());
      // Only to the window recording it: one the answer moved away from must not count its progress.
      const owner = s0.audio().ownerOf(id);
      for (const ws of participants) if (ws !== closed && (owner === null || ws === owner) && (ws.deserializeAttachment() as Attachment).audio === id) safeSend(ws, JSON.stringify({ type: "audio_ack", id, bytes }));
    }
  });
  s0.audioChain = run.catch((err: unknown) => console.warn("buffered audio was not written; the sender resends it", { error: String(err) }));
  await s0.audioChain;
}

export function audioEnd(s0: InterviewSession, ws: WebSocket, att: Attachment, id: string, hint: string | null) {
  const acked = s0.store.ackSeqFor(id);
  if (acked !== null) return void ws.send(JSON.stringify({ type: "ack", id, seq: acked }));
  const a = s0.meta?.mode === "voice" ? s0.audio().get(id) : null;
  if (!a || a.state !== "recording") return audioError(ws, id, "NO_OPEN_ANSWER", "answer_end names no open spoken answer");
  // A window the answer moved away from does not end it under the window recording it now.
  if (s0.audio().recordingElsewhere(id, ws, att.client ?? null, Date.now())) return refuseElsewhere(ws, id);
  s0.audioChain = s0.audioChain
    .then(async () => {
      const bytes = await flushAudio(s0, ws, id);
      if (bytes === 0) return audioError(ws, id, "EMPTY_ANSWER", "no audio was received for this answer");
      // The answer, its end and the transcription job commit together; the ack follows.
      const r = s0.apply({ type: "answer", id, text: "", spoken: true }, () => s0.audio().end(id, hint, Date.now()));
      if (!r.ok) audioError(ws, id, r.error.code, r.error.message);
    })
    .catch((err: unknown) => storeFailed(ws, id, err));
}
