// The interview lifecycle as a pure function: transition(state, event, now, limits) returns
// the next state and the effects to perform, as data. It imports nothing from the runtime and
// takes the clock as an argument, so every state × event can be tested in plain Node.
import type { Segment } from "./protocol";

export const STATUSES = ["created", "in_progress", "paused", "completed", "abandoned"] as const;
export type Status = (typeof STATUSES)[number];
export type Probe = "none" | "light" | "deep";
export type PausedBy = "participant" | "admin";

export interface Question {
  text: string;
  probe: Probe;
}

export interface Prompt {
  index: number;
  text: string;
  followUp: boolean;
  askedAt: number;
}

export interface MachineState {
  status: Status;
  questions: Question[];
  consentRequired: boolean;
  /** With the consent text's version and the client address it came from, when the shell knows them. */
  consent: { granted: boolean | null; at: number | null; textVersion?: string | null; ip?: string | null };
  /** Index of the current main question; equals questions.length once all are done. */
  questionIndex: number;
  /** Follow-ups already asked for the current main question. */
  followUps: number;
  /** The question on screen, waiting for an answer; null while the next step is being decided. */
  prompt: Prompt | null;
  /**
   * An answer is stored and the next step is pending: for a spoken answer, first its transcript
   * (`transcript` set), then the AI's choice between a follow-up and the next question.
   */
  deciding: { questionIndex: number; answer: string; transcript?: PendingTranscript | null } | null;
  questionsAnswered: number;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  /** Active (in_progress) milliseconds before `activeSince`. */
  activeMs: number;
  activeSince: number | null;
  pausedAt: number | null;
  pausedBy: PausedBy | null;
  pausedReason: string | null;
  pauseCount: number;
  lastSeenAt: number;
  leftAt: number | null;
  endReason: string | null;
}

export interface PendingTranscript {
  answerId: string;
  followUp: boolean;
  startMs: number;
  endMs: number;
}

export interface Limits {
  heartbeatMs: number;
  pauseExpiryMs: number;
  leaveGraceMs: number;
}

export type MachineEvent =
  | { type: "seen" }
  | { type: "consent"; granted: boolean; textVersion?: string | null; ip?: string | null }
  | { type: "start" }
  | { type: "answer"; id: string; text: string; spoken?: boolean }
  | { type: "transcribed"; answerId: string; text: string | null }
  | { type: "decided"; followUp: string | null }
  | { type: "pause"; by: PausedBy; reason: string | null }
  | { type: "resume"; by: PausedBy }
  | { type: "end"; reason: string | null }
  | { type: "leave" }
  | { type: "timer"; lastSeenAt: number }
  | { type: "reassign"; questions: Question[] };

/** Server → participant frames before the shell numbers them. */
export type OutFrame =
  | { type: "state"; status: Status; questionIndex: number; totalQuestions: number }
  | { type: "question"; index: number; text: string; followUp: boolean }
  | { type: "ack"; id: string }
  | { type: "paused"; by: PausedBy; reason: string | null }
  | { type: "resumed" }
  | { type: "ended"; status: "completed" | "abandoned"; reason: string };

export type EventData = Record<string, string | number | boolean | null>;

export type Effect =
  | { type: "send"; frame: OutFrame }
  | ({
      type: "segment";
      answerId?: string;
      /** A spoken answer filed before its transcript came: the transcript fills it in, and is analysed then. */
      awaitingTranscript?: true;
    } & Omit<Segment, "seq" | "speech">)
  | { type: "decide"; questionIndex: number; question: string; answer: string; followUpsAsked: number; probe: Probe }
  | { type: "transcribe"; answerId: string; questionIndex: number }
  | { type: "event"; name: string; data?: EventData }
  | { type: "status"; from: Status; to: Status }
  | { type: "close"; reason: string }
  /** Consent was withdrawn: the session's recordings must go (the shell deletes them after the commit). */
  | { type: "purge_audio"; reason: string };

export type MachineError = { code: "INVALID_TRANSITION" | "CONSENT_REQUIRED" | "NO_OPEN_QUESTION" | "FORBIDDEN"; message: string };
export type TransitionResult = { ok: true; state: MachineState; effects: Effect[] } | { ok: false; error: MachineError };

export const TERMINAL: ReadonlySet<Status> = new Set(["completed", "abandoned"]);
export const isTerminal = (s: Status): s is "completed" | "abandoned" => TERMINAL.has(s);

export function maxFollowUps(probe: Probe): number {
  return probe === "deep" ? 2 : probe === "light" ? 1 : 0;
}

export function initialState(input: { questions: Question[]; consentRequired: boolean; now: number }): MachineState {
  return {
    status: "created",
    questions: input.questions,
    consentRequired: input.consentRequired,
    consent: { granted: null, at: null },
    questionIndex: 0,
    followUps: 0,
    prompt: null,
    deciding: null,
    questionsAnswered: 0,
    createdAt: input.now,
    startedAt: null,
    endedAt: null,
    activeMs: 0,
    activeSince: null,
    pausedAt: null,
    pausedBy: null,
    pausedReason: null,
    pauseCount: 0,
    lastSeenAt: input.now,
    leftAt: null,
    endReason: null,
  };
}

/** Active seconds, pauses excluded, as of `now`. */
export function durationSeconds(s: MachineState, now: number): number {
  const running = s.activeSince !== null ? Math.max(0, now - s.activeSince) : 0;
  return Math.floor((s.activeMs + running) / 1000);
}

export function completion(s: MachineState): number {
  if (s.questions.length === 0) return 0;
  return Math.round((s.questionsAnswered / s.questions.length) * 100);
}

/** The earliest moment a timer must look at this session again, or null for none. */
export function nextDeadline(s: MachineState, limits: Limits): number | null {
  if (isTerminal(s.status)) return null;
  const candidates: number[] = [];
  if (s.status === "in_progress") candidates.push(s.lastSeenAt + limits.heartbeatMs);
  if (s.status === "paused" && s.pausedAt !== null) candidates.push(s.pausedAt + limits.pauseExpiryMs);
  // A leave ends only an interview under way: one never started stays open to its link, and a
  // pause keeps its own expiry (the page promised the participant they could come back).
  if (s.leftAt !== null && s.status === "in_progress") candidates.push(s.leftAt + limits.leaveGraceMs);
  return candidates.length ? Math.min(...candidates) : null;
}

const invalid = (s: MachineState, what: string): TransitionResult => ({
  ok: false,
  error: { code: "INVALID_TRANSITION", message: `cannot ${what} a session that is ${s.status}` },
});

class Builder {
  effects: Effect[] = [];
  constructor(public s: MachineState, readonly now: number) {}
  set(patch: Partial<MachineState>) {
    this.s = { ...this.s, ...patch };
  }
  emit(e: Effect) {
    this.effects.push(e);
  }
  send(frame: OutFrame) {
    this.emit({ type: "send", frame });
  }
  sinceStart(t: number) {
    return Math.max(0, t - (this.s.startedAt ?? t));
  }
  moveTo(to: Status) {
    const from = this.s.status;
    this.set({ status: to });
    this.emit({ type: "status", from, to });
  }
  stateFrame() {
    this.send({ type: "state", status: this.s.status, questionIndex: this.s.questionIndex, totalQuestions: this.s.questions.length });
  }
  stopClock(at: number) {
    if (this.s.activeSince !== null) this.set({ activeMs: this.s.activeMs + Math.max(0, at - this.s.activeSince), activeSince: null });
  }
  ask(index: number, text: string, followUp: boolean) {
    this.set({ prompt: { index, text, followUp, askedAt: this.now }, deciding: null });
    const at = this.sinceStart(this.now);
    this.emit({ type: "segment", speaker: "ai", text, questionIndex: index, followUp, startMs: at, endMs: at });
    this.send({ type: "question", index, text, followUp });
  }
  /** Moves to the next main question, or completes the interview after the last one. */
  advance() {
    const next = this.s.questionIndex + 1;
    this.set({ questionIndex: Math.min(next, this.s.questions.length), followUps: 0, prompt: null, deciding: null });
    if (next >= this.s.questions.length) return this.finish("completed", "finished");
    const q = this.s.questions[next]!;
    this.ask(next, q.text, false);
    this.stateFrame();
  }
  finish(status: "completed" | "abandoned", reason: string, clockStopsAt = this.now) {
    // A spoken answer whose transcript is still on its way is filed now, without text: it was
    // acknowledged, and the transcript fills it in when it comes (the session is over by then).
    const t = this.s.deciding?.transcript;
    if (t) {
      this.emit({ type: "segment", speaker: "participant", text: "", questionIndex: this.s.deciding!.questionIndex, followUp: t.followUp, startMs: t.startMs, endMs: t.endMs, answerId: t.answerId, awaitingTranscript: true });
    }
    this.stopClock(clockStopsAt);
    this.set({ endedAt: this.now, endReason: reason, prompt: null, deciding: null, leftAt: null });
    this.moveTo(status);
    this.emit({ type: "event", name: status === "completed" ? "completed" : "abandoned", data: { reason } });
    this.send({ type: "ended", status, reason });
    this.emit({ type: "close", reason });
  }
  done(): TransitionResult {
    return { ok: true, state: this.s, effects: this.effects };
  }
}

/** Events that only a present participant can send: each one is a sign of life that cancels a leave. */
const fromParticipant = (e: MachineEvent): boolean =>
  e.type === "seen" || e.type === "consent" || e.type === "start" || e.type === "answer" || ((e.type === "pause" || e.type === "resume") && e.by === "participant");

export function transition(state: MachineState, event: MachineEvent, now: number, limits: Limits): TransitionResult {
  const r = step(state, event, now, limits);
  if (r.ok && fromParticipant(event) && !isTerminal(r.state.status)) {
    return { ...r, state: { ...r.state, leftAt: null, lastSeenAt: Math.max(r.state.lastSeenAt, now) } };
  }
  return r;
}

function step(state: MachineState, event: MachineEvent, now: number, limits: Limits): TransitionResult {
  const b = new Builder(state, now);
  const s = state;
  switch (event.type) {
    case "seen": {
      if (isTerminal(s.status)) return b.done();
      b.set({ lastSeenAt: Math.max(s.lastSeenAt, now), leftAt: null });
      return b.done();
    }
    case "consent": {
      if (isTerminal(s.status)) return invalid(s, "record consent for");
      // The record of consent: what text (its version) was agreed to, when, and from where.
      const record: { textVersion?: string | null; ip?: string | null } = {};
      if (event.textVersion !== undefined) record.textVersion = event.textVersion;
      if (event.ip !== undefined) record.ip = event.ip;
      const has = Object.keys(record).length > 0;
      const data: EventData = { ...(record.textVersion !== undefined ? { textVersion: record.textVersion } : {}), ...(record.ip !== undefined ? { ip: record.ip } : {}) };
      if (event.granted) {
        if (s.consent.granted === true) return b.done();
        b.set({ consent: { granted: true, at: now, ...record } });
        b.emit(has ? { type: "event", name: "consent_granted", data } : { type: "event", name: "consent_granted" });
        return b.done();
      }
      const reason = s.status === "created" ? "consent_declined" : "consent_withdrawn";
      b.set({ consent: { granted: false, at: now, ...record } });
      b.emit(has ? { type: "event", name: reason, data } : { type: "event", name: reason });
      b.finish("abandoned", reason);
      // Withdrawal takes back the recordings already made; nothing is recorded before the start.
      if (reason === "consent_withdrawn") b.emit({ type: "purge_audio", reason });
      return b.done();
    }
    case "start": {
      if (s.status !== "created") return invalid(s, "start");
      if (s.consentRequired && s.consent.granted !== true) {
        return { ok: false, error: { code: "CONSENT_REQUIRED", message: "consent is required before the interview starts" } };
      }
      if (s.questions.length === 0) return invalid(s, "start (it has no questions)");
      b.set({ startedAt: now, activeSince: now, lastSeenAt: now, leftAt: null });
      b.moveTo("in_progress");
      b.emit({ type: "event", name: "started" });
      b.ask(0, s.questions[0]!.text, false);
      b.stateFrame();
      return b.done();
    }
    case "answer": {
      if (s.status !== "in_progress") return invalid(s, "answer in");
      const p = s.prompt;
      if (!p) return { ok: false, error: { code: "NO_OPEN_QUESTION", message: "no question is waiting for an answer" } };
      if (event.spoken) {
        // The transcript comes back from the queue; the segment is written then, in order.
        b.send({ type: "ack", id: event.id });
        b.emit({ type: "event", name: "answered", data: { questionIndex: p.index, followUp: p.followUp, spoken: true } });
        b.emit({ type: "transcribe", answerId: event.id, questionIndex: p.index });
        b.set({
          questionsAnswered: p.followUp ? s.questionsAnswered : Math.min(s.questions.length, s.questionsAnswered + 1),
          prompt: null,
          deciding: { questionIndex: p.index, answer: "", transcript: { answerId: event.id, followUp: p.followUp, startMs: b.sinceStart(p.askedAt), endMs: b.sinceStart(now) } },
        });
        return b.done();
      }
      b.emit({
        type: "segment",
        speaker: "participant",
        text: event.text,
        questionIndex: p.index,
        followUp: p.followUp,
        startMs: b.sinceStart(p.askedAt),
        endMs: b.sinceStart(now),
        answerId: event.id,
      });
      b.send({ type: "ack", id: event.id });
      b.emit({ type: "event", name: "answered", data: { questionIndex: p.index, followUp: p.followUp } });
      b.set({
        lastSeenAt: Math.max(s.lastSeenAt, now),
        questionsAnswered: p.followUp ? s.questionsAnswered : Math.min(s.questions.length, s.questionsAnswered + 1),
        prompt: null,
      });
      const q = s.questions[p.index]!;
      if (s.followUps < maxFollowUps(q.probe)) {
        b.set({ deciding: { questionIndex: p.index, answer: event.text } });
        b.emit({ type: "decide", questionIndex: p.index, question: q.text, answer: event.text, followUpsAsked: s.followUps, probe: q.probe });
      } else {
        b.advance();
      }
      return b.done();
    }
    case "transcribed": {
      const t = s.deciding?.transcript;
      if (!t || t.answerId !== event.answerId || (s.status !== "in_progress" && s.status !== "paused")) return invalid(s, "record a transcript for");
      const index = s.deciding!.questionIndex;
      const text = event.text ?? "";
      b.emit({ type: "segment", speaker: "participant", text, questionIndex: index, followUp: t.followUp, startMs: t.startMs, endMs: t.endMs, answerId: t.answerId });
      const q = s.questions[index]!;
      // Without words there is nothing to follow up on: move on.
      if (event.text && s.followUps < maxFollowUps(q.probe)) {
        b.set({ deciding: { questionIndex: index, answer: event.text, transcript: null } });
        b.emit({ type: "decide", questionIndex: index, question: q.text, answer: event.text, followUpsAsked: s.followUps, probe: q.probe });
      } else {
        b.advance();
      }
      return b.done();
    }
    case "decided": {
      if (!s.deciding || s.deciding.transcript || (s.status !== "in_progress" && s.status !== "paused")) return invalid(s, "decide the next question for");
      if (event.followUp) {
        b.set({ followUps: s.followUps + 1 });
        b.ask(s.questionIndex, event.followUp, true);
      } else {
        b.advance();
      }
      return b.done();
    }
    case "pause": {
      // The team may take over a participant's pause, so that only the team can resume it.
      if (s.status === "paused" && event.by === "admin" && s.pausedBy === "participant") {
        b.set({ pausedBy: "admin", pausedReason: event.reason ?? s.pausedReason });
        b.emit({ type: "event", name: "paused", data: { by: "admin", reason: event.reason } });
        b.send({ type: "paused", by: "admin", reason: event.reason ?? s.pausedReason });
        return b.done();
      }
      if (s.status !== "in_progress") return invalid(s, "pause");
      b.stopClock(now);
      b.set({ pausedAt: now, pausedBy: event.by, pausedReason: event.reason, pauseCount: s.pauseCount + 1 });
      b.moveTo("paused");
      b.emit({ type: "event", name: "paused", data: { by: event.by, reason: event.reason } });
      b.send({ type: "paused", by: event.by, reason: event.reason });
      b.stateFrame();
      return b.done();
    }
    case "resume": {
      if (s.status !== "paused") return invalid(s, "resume");
      if (event.by === "participant" && s.pausedBy === "admin") {
        return { ok: false, error: { code: "FORBIDDEN", message: "the research team paused this interview; only they can resume it" } };
      }
      b.set({ activeSince: now, lastSeenAt: now, pausedAt: null, pausedBy: null, pausedReason: null });
      b.moveTo("in_progress");
      b.emit({ type: "event", name: "resumed", data: { by: event.by } });
      b.send({ type: "resumed" });
      b.stateFrame();
      return b.done();
    }
    case "end": {
      if (isTerminal(s.status)) return invalid(s, "end");
      b.finish("completed", event.reason ?? "ended_by_admin");
      return b.done();
    }
    case "leave": {
      if (isTerminal(s.status)) return invalid(s, "leave");
      b.set({ leftAt: now });
      b.emit({ type: "event", name: "left" });
      return b.done();
    }
    case "timer": {
      if (isTerminal(s.status)) return b.done();
      const seen = Math.max(s.lastSeenAt, Math.min(event.lastSeenAt, now));
      b.set({ lastSeenAt: seen });
      if (s.status === "in_progress" && now - seen >= limits.heartbeatMs) {
        // The silent minutes were not interview time: the clock stops at the last sign of life.
        b.finish("abandoned", "heartbeat_timeout", Math.max(seen, s.activeSince ?? seen));
      } else if (s.status === "paused" && s.pausedAt !== null && now - s.pausedAt >= limits.pauseExpiryMs) {
        b.finish("abandoned", "pause_expired");
      } else if (s.leftAt !== null && Math.min(event.lastSeenAt, now) > s.leftAt) {
        // A heartbeat after the leave: a tab is still open (another one, or this one restored).
        // Only the sockets' own heartbeats count, not the clock restarts the machine makes itself.
        b.set({ leftAt: null });
      } else if (s.status === "in_progress" && s.leftAt !== null && now - s.leftAt >= limits.leaveGraceMs) {
        b.finish("abandoned", "participant_left", Math.max(s.leftAt, s.activeSince ?? s.leftAt));
      }
      return b.done();
    }
    case "reassign": {
      if (isTerminal(s.status)) return invalid(s, "reassign");
      if (event.questions.length === 0) return invalid(s, "reassign to a script without questions");
      const total = event.questions.length;
      b.set({ questions: event.questions, questionsAnswered: Math.min(s.questionsAnswered, total), followUps: 0 });
      b.emit({ type: "event", name: "reassigned", data: { totalQuestions: total } });
      if (s.status === "created") {
        b.stateFrame();
        return b.done();
      }
      // The answered main question stays answered: continue with the next one of the new script.
      const answeredCurrent = s.deciding !== null || s.prompt?.followUp === true;
      const index = s.questionIndex + (answeredCurrent ? 1 : 0);
      b.set({ questionIndex: Math.min(index, total), prompt: null, deciding: null });
      if (index >= total) {
        b.finish("completed", "finished");
        return b.done();
      }
      b.ask(index, event.questions[index]!.text, false);
      b.stateFrame();
      return b.done();
    }
  }
}
