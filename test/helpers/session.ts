// Helpers for session-object tests: a fresh session per test, a participant socket on it, and
// access to the object's storage (to move its clock, inspect it, or swap its collaborators).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { InterviewSession } from "../../src/objects/InterviewSession";
import type { MachineState } from "../../src/objects/machine";
import type { MirrorWriter } from "../../src/objects/mirror";
import type { SessionStore } from "../../src/objects/store";
import type { SessionMeta } from "../../src/objects/view";
import { createCampaign, createInvite, createOrg, join } from "./api";
import { openSocket, type TestSocket } from "./socket";

/** Three questions without probing, so every answer moves straight to the next question. */
export const PLAIN_QUESTIONS = [{ text: "What do you use us for?" }, { text: "What do you like most?" }, { text: "What would you change?" }];

/** The object's private members that tests reach into, named once here. */
export interface SessionInternals {
  store: SessionStore;
  state: MachineState | null;
  meta: SessionMeta | null;
  mirrorWriter: MirrorWriter;
  env: typeof env;
}

export const internals = (instance: InterviewSession) => instance as unknown as SessionInternals;
export const sessionStub = (id: string) => env.SESSION.get(env.SESSION.idFromName(id));

export interface NewSession {
  key: string;
  orgId: string;
  campaignId: string;
  inviteToken: string;
  sessionId: string;
  participantToken: string;
  stub: DurableObjectStub<InterviewSession>;
}

/** An org, a campaign (no consent step unless asked), an invite and a joined, not yet started session. */
export async function newSession(opts: { consentRequired?: boolean; questions?: unknown[]; key?: string; orgId?: string } = {}): Promise<NewSession> {
  let key = opts.key;
  let orgId = opts.orgId;
  if (!key) {
    const org = await createOrg();
    key = org.apiKey.key;
    orgId = org.org.id;
  }
  const campaign = await createCampaign(key, {
    questions: opts.questions ?? PLAIN_QUESTIONS,
    settings: { consentRequired: opts.consentRequired ?? false },
  });
  const invite = await createInvite(key, campaign.id);
  const joined = await join(invite.token);
  if (joined.status !== 201) throw new Error(`join: ${joined.status} ${joined.text}`);
  const { sessionId, participantToken } = joined.json as { sessionId: string; participantToken: string };
  return { key, orgId: orgId!, campaignId: campaign.id, inviteToken: invite.token, sessionId, participantToken, stub: sessionStub(sessionId) };
}

export const connectPath = (s: Pick<NewSession, "sessionId" | "participantToken">, token = s.participantToken) =>
  `/v1/sessions/${s.sessionId}/connect?token=${encodeURIComponent(token)}`;

/** A participant socket that has said hello; resolves once the state frame after hello arrived. */
export async function participant(s: Pick<NewSession, "sessionId" | "participantToken">, lastSeq?: number, token?: string) {
  const ws = await openSocket(connectPath(s, token));
  ws.send(lastSeq === undefined ? { type: "hello" } : { type: "hello", lastSeq });
  const state = await ws.next((f) => f.type === "state", "state frame after hello");
  return { ws, state };
}

/** A session in progress with question 0 on screen. */
export async function startedSession(opts: { questions?: unknown[] } = {}) {
  const s = await newSession(opts);
  const { ws } = await participant(s);
  ws.send({ type: "start" });
  const q0 = await ws.next((f) => f.type === "question" && f.index === 0, "question 0");
  await ws.next((f) => f.type === "state" && f.seq > q0.seq, "state after question 0");
  return { ...s, ws, q0 };
}

/** Answers the question on screen and waits for the ack and what follows it. */
export async function answer(ws: TestSocket, id: string, text: string, expectNext: "question" | "ended" = "question") {
  const from = ws.frames.length;
  ws.send({ type: "answer", id, text });
  const ack = await ws.next((f) => f.type === "ack" && f.id === id, `ack ${id}`, from);
  const next = await ws.next((f) => f.type === expectNext && f.seq > ack.seq, `${expectNext} after ${id}`, from);
  // A new main question is followed by a state frame; wait for it so that callers see every frame.
  if (next.type === "question" && !next.followUp) await ws.next((f) => f.type === "state" && f.seq > next.seq, `state after ${id}`, from);
  return { ack, next };
}

/** Polls `probe` until it returns a truthy value; fails with `what` after the timeout. */
export async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 5000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type SessionIndexRow = Record<string, unknown> & { id: string; status: string; end_reason: string | null; mirror_version: number; sentiment: string | null };

export async function indexRow(sessionId: string): Promise<SessionIndexRow | null> {
  return env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(sessionId).first<SessionIndexRow>();
}

/** The object's persisted state, read from its storage (not its memory). */
export function storedState(stub: DurableObjectStub<InterviewSession>) {
  return runInDurableObject(stub, (instance) => internals(instance).store.loadState()!);
}

/** Everything the object stores that a replay or a retry could disturb. */
export function storedSnapshot(stub: DurableObjectStub<InterviewSession>) {
  return runInDurableObject(stub, (instance) => {
    const store = internals(instance).store;
    return { state: store.loadState(), lastSeq: store.lastSeq(), frames: store.framesAfter(0), segments: store.segments(), events: store.events().length };
  });
}

/** Moves the session's clock: rewrites state fields in storage and in memory, as if time had passed. */
export function patchState(stub: DurableObjectStub<InterviewSession>, patch: (s: MachineState) => Partial<MachineState>) {
  return runInDurableObject(stub, (instance) => {
    const self = internals(instance);
    const next = { ...self.state!, ...patch(self.state!) };
    self.store.saveState(next);
    self.state = next;
    return next;
  });
}

export function alarmAt(stub: DurableObjectStub<InterviewSession>) {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}
