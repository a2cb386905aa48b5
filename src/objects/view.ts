// Pure projections of a session's state: the contract's session JSON and the D1 mirror row.
import { completion, durationSeconds, nextDeadline, type Limits, type MachineState } from "./machine";
import type { Segment } from "./protocol";
import { isDeclined } from "../shared/declined";

export interface Device {
  userAgent?: string;
  browser?: string;
  os?: string;
  deviceType?: string;
}

/** What the object knows about its session besides the lifecycle. */
export interface SessionMeta {
  id: string;
  orgId: string;
  campaignId: string;
  inviteId: string;
  scriptVersion: number;
  consentText: string | null;
  language: string | null;
  device: Device | null;
  participantEmail: string | null;
  participantName: string | null;
  /** Campaign mode at join; absent on sessions created before voice existed (text). */
  mode?: "text" | "voice";
  recordAudio?: boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function lastQuestionIndex(s: MachineState): number | null {
  if (s.startedAt === null) return null;
  return Math.min(s.questionIndex, s.questions.length - 1);
}

/** The object-owned part of the contract's session JSON (flags and sentiment live in D1). */
export function sessionView(meta: SessionMeta, s: MachineState, now: number) {
  return {
    id: meta.id,
    campaignId: meta.campaignId,
    inviteId: meta.inviteId,
    scriptVersion: meta.scriptVersion,
    status: s.status,
    createdAt: iso(s.createdAt),
    startedAt: iso(s.startedAt),
    completedAt: s.status === "completed" ? iso(s.endedAt) : null,
    endedAt: iso(s.endedAt),
    duration: durationSeconds(s, now),
    questionsAnswered: s.questionsAnswered,
    totalQuestions: s.questions.length,
    completion: completion(s),
    language: meta.language,
    device: meta.device,
    consent: { required: s.consentRequired, granted: s.consent.granted, at: iso(s.consent.at) },
    endReason: s.endReason,
    lastQuestionIndex: lastQuestionIndex(s),
    pausedReason: s.status === "paused" ? s.pausedReason : null,
    pausedBy: s.status === "paused" ? s.pausedBy : null,
    pauseCount: s.pauseCount,
    participant: { email: meta.participantEmail, name: meta.participantName },
  };
}
export type SessionView = ReturnType<typeof sessionView>;

/** The D1 `sessions` columns this object owns; `version` orders concurrent writes. */
export function mirrorRow(meta: SessionMeta, s: MachineState, now: number, limits: Limits, version: number) {
  return {
    id: meta.id,
    org_id: meta.orgId,
    campaign_id: meta.campaignId,
    invite_id: meta.inviteId,
    script_version: meta.scriptVersion,
    status: s.status,
    created_at: s.createdAt,
    started_at: s.startedAt,
    completed_at: s.status === "completed" ? s.endedAt : null,
    duration: durationSeconds(s, now),
    questions_answered: s.questionsAnswered,
    total_questions: s.questions.length,
    completion: completion(s),
    language: meta.language,
    device: meta.device ? JSON.stringify(meta.device) : null,
    consent_required: s.consentRequired ? 1 : 0,
    consent_granted: s.consent.granted === null ? null : s.consent.granted ? 1 : 0,
    consent_at: s.consent.at,
    end_reason: s.endReason,
    last_question_index: lastQuestionIndex(s),
    paused_reason: s.status === "paused" ? s.pausedReason : null,
    paused_by: s.status === "paused" ? s.pausedBy : null,
    participant_email: meta.participantEmail,
    participant_name: meta.participantName,
    deadline_at: nextDeadline(s, limits),
    mirror_version: version,
    updated_at: now,
  };
}
export type MirrorRow = ReturnType<typeof mirrorRow>;

/** What the queue consumer needs once a session has ended: its campaign fold's inputs, and the answers its overall sentiment is read from. */
export interface EndedFacts {
  campaignId: string;
  duration: number;
  lastQuestionIndex: number | null;
  /** The participant declined consent or withdrew it before answering (src/shared/declined.ts). */
  declined: boolean;
  /** Who spoke at which question, in order (no text): the fold counts questions reached and answered. */
  turns: Pick<Segment, "speaker" | "questionIndex" | "followUp">[];
  /** The participant's answers with words in them, leaving out unclear audio (it is not read as if it were clear). */
  answers: string[];
  /** The interview's language (BCP 47) or null: which sentiment classifier can read the answers. */
  language: string | null;
}

export function endedFacts(meta: SessionMeta, s: MachineState, segments: Segment[], now: number): EndedFacts {
  return {
    campaignId: meta.campaignId,
    duration: durationSeconds(s, now),
    lastQuestionIndex: lastQuestionIndex(s),
    declined: isDeclined({ status: s.status, consentGranted: s.consent.granted, questionsAnswered: s.questionsAnswered }),
    turns: segments.map(({ speaker, questionIndex, followUp }) => ({ speaker, questionIndex, followUp })),
    answers: segments.filter((g) => g.speaker === "participant" && g.text.trim() && !g.speech?.lowConfidence).map((g) => g.text),
    language: meta.language,
  };
}
