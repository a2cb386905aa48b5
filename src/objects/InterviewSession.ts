// One Durable Object per interview session: the shell around the pure machine. It loads state,
// validates input, runs `transition`, persists in one transaction, then performs the effects.
import { DurableObject } from "cloudflare:workers";
import { followUpProvider, type FollowUpProvider } from "../ai/followup";
import { limitsFrom, type Env } from "../env";
import { sha256Hex } from "../shared/crypto";
import type { CampaignLive } from "./CampaignLive";
import {
  initialState,
  isTerminal,
  nextDeadline,
  transition,
  type Limits,
  type MachineEvent,
  type MachineState,
  type MachineError,
  type Question,
} from "./machine";
import { D1Mirror, type MirrorWriter } from "./mirror";
import { parseClientFrame, PONG, PING, type ErrorFrame, type NumberedFrame, type Segment, type WatchFrame } from "./protocol";
import type { QueueMessage } from "./messages";
import { SessionStore, type SessionEvent } from "./store";
import { mirrorRow, sessionView, type SessionMeta, type SessionView } from "./view";

type Attachment = { kind: "participant" | "watcher"; hello: boolean };

export interface InitInput {
  meta: SessionMeta;
  questions: Question[];
  consentRequired: boolean;
  tokenHash: string;
}

export type ControlAction =
  | { type: "pause"; reason: string | null }
  | { type: "resume" }
  | { type: "end"; reason: string | null }
  | { type: "reassign"; campaignId: string; scriptVersion: number; questions: Question[] };

export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: MachineError | { code: "SESSION_NOT_FOUND"; message: string } };

const MAX_TEXT_FRAME = 64 * 1024;
const DECIDE_TIMEOUT_MS = 10_000;
const DECIDE_RETRY_MS = 5_000;
const MIRROR_MAX_BACKOFF_MS = 60_000;

const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

export class InterviewSession extends DurableObject<Env> {
  private readonly store: SessionStore;
  private readonly limits: Limits;
  private readonly followUps: FollowUpProvider;
  private meta: SessionMeta | null;
  private state: MachineState | null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private deciding = false;
  private hub: { campaignId: string; stub: DurableObjectStub<CampaignLive> } | null = null;
  /** Replaceable in tests to simulate a failing D1. */
  mirrorWriter: MirrorWriter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SQLite storage is synchronous, so the object loads in its constructor and no request
    // can observe it half-initialised.
    this.store = new SessionStore(ctx.storage);
    this.meta = this.store.loadMeta();
    this.state = this.store.loadState();
    this.limits = limitsFrom(env);
    this.followUps = followUpProvider(env);
    this.mirrorWriter = new D1Mirror(env.DB);
    // Pings are answered without waking the object; the alarm reads the auto-response timestamps.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // ---- RPC used by the Worker ----

  async init(input: InitInput): Promise<SessionView> {
    if (!this.state || !this.meta) {
      const now = Date.now();
      this.meta = input.meta;
      this.state = initialState({ questions: input.questions, consentRequired: input.consentRequired, now });
      this.store.transaction(() => {
        this.store.saveMeta(input.meta);
        this.store.saveState(this.state!);
        this.store.addToken(input.tokenHash, now);
        this.store.appendEvent(now, "created");
        this.store.saveMirror({ version: 1, synced: 0, attempts: 0, retryAt: null });
      });
      this.publishStatus();
      await this.flush();
      await this.armAlarm();
    }
    return sessionView(this.meta, this.state, Date.now());
  }

  /** A reopened invite gets a fresh participant token for the same session. */
  async addToken(tokenHash: string): Promise<RpcResult<SessionView>> {
    if (!this.state || !this.meta) return notFound();
    if (!isTerminal(this.state.status)) this.store.addToken(tokenHash, Date.now());
    return { ok: true, value: sessionView(this.meta, this.state, Date.now()) };
  }

  async view(): Promise<RpcResult<SessionView>> {
    if (!this.state || !this.meta) return notFound();
    return { ok: true, value: sessionView(this.meta, this.state, Date.now()) };
  }

  async transcript(): Promise<RpcResult<{ segments: Segment[]; events: SessionEvent[] }>> {
    if (!this.state) return notFound();
    return { ok: true, value: { segments: this.store.segments(), events: this.store.events() } };
  }

  async control(action: ControlAction): Promise<RpcResult<SessionView>> {
    if (!this.state || !this.meta) return notFound();
    let event: MachineEvent;
    if (action.type === "pause") event = { type: "pause", by: "admin", reason: action.reason };
    else if (action.type === "resume") event = { type: "resume", by: "admin" };
    else if (action.type === "end") event = { type: "end", reason: action.reason };
    else event = { type: "reassign", questions: action.questions };
    const r = this.apply(event, () => {
      if (action.type === "reassign") {
        this.meta = { ...this.meta!, campaignId: action.campaignId, scriptVersion: action.scriptVersion };
        this.store.saveMeta(this.meta);
      }
    });
    if (!r.ok) return r;
    return { ok: true, value: sessionView(this.meta, this.state, Date.now()) };
  }

  /** Called by the cron sweep: alarms can be lost, so overdue sessions are checked from outside too. */
  async poke(): Promise<void> {
    await this.alarm();
  }

  /** Permanently removes everything this object stores and closes its sockets. */
  async erase(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) safeClose(ws, 1000, "session data deleted");
    this.state = null;
    this.meta = null;
    // A mirror write in flight must land before the caller deletes the index row, or it would bring the row back.
    await this.flushing;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  // ---- WebSockets ----

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return json(426, "UPGRADE_REQUIRED", "expected a WebSocket upgrade");
    if (!this.state || !this.meta) return json(404, "SESSION_NOT_FOUND", "no such session");
    const url = new URL(request.url);
    if (url.pathname.endsWith("/connect")) {
      const token = url.searchParams.get("token") ?? "";
      if (!token || !this.store.hasToken(await sha256Hex(token))) return json(401, "INVALID_TOKEN", "the participant token is not valid for this session");
      if (isTerminal(this.state.status)) return json(410, "SESSION_ENDED", `the session is ${this.state.status}`);
      return this.accept("participant").response;
    }
    if (url.pathname.endsWith("/live")) {
      const { response, server } = this.accept("watcher");
      const snapshot: WatchFrame = { type: "snapshot", session: sessionView(this.meta, this.state, Date.now()), segments: this.store.segments() };
      // The snapshot goes out on our end: the client end belongs to the watcher and is not accepted here.
      server.send(JSON.stringify(snapshot));
      return response;
    }
    return json(404, "NOT_FOUND", "unknown session endpoint");
  }

  private accept(kind: Attachment["kind"]): { response: Response; server: WebSocket } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [kind]);
    server.serializeAttachment({ kind, hello: kind === "watcher" } satisfies Attachment);
    return { response: new Response(null, { status: 101, webSocket: client }), server };
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment;
    if (att.kind === "watcher") {
      if (typeof message === "string" && message.includes('"ping"')) ws.send(PONG);
      return;
    }
    if (typeof message !== "string") return sendError(ws, "AUDIO_NOT_ACCEPTED", "binary frames are only accepted between answer_start and answer_end of a voice answer");
    if (message.length > MAX_TEXT_FRAME) return sendError(ws, "FRAME_TOO_LARGE", "text frames are at most 64 KiB");
    const parsed = parseClientFrame(message);
    if (!parsed.ok) return sendError(ws, parsed.code, parsed.message);
    const frame = parsed.frame;
    if (frame.type === "ping") {
      ws.send(PONG);
      // Only the exact PING string is auto-answered (and timestamped for the alarm); a ping spelled
      // otherwise reaches here and must count as a sign of life too, stored at most once per
      // quarter heartbeat so that pings never cost a write each.
      if (this.state && !isTerminal(this.state.status) && Date.now() - this.state.lastSeenAt >= this.limits.heartbeatMs / 4) this.apply({ type: "seen" });
      return;
    }
    if (frame.type !== "hello" && !att.hello) return sendError(ws, "HELLO_REQUIRED", "send hello first on every connection");
    if (!this.state) return sendError(ws, "SESSION_NOT_FOUND", "the session no longer exists");

    let event: MachineEvent;
    switch (frame.type) {
      case "hello": {
        for (const body of this.store.framesAfter(frame.lastSeq ?? 0)) ws.send(body);
        ws.serializeAttachment({ ...att, hello: true } satisfies Attachment);
        if (!isTerminal(this.state.status)) this.apply({ type: "seen" });
        const s = this.state;
        ws.send(JSON.stringify({ type: "state", seq: this.store.lastSeq(), status: s.status, questionIndex: s.questionIndex, totalQuestions: s.questions.length }));
        if (isTerminal(s.status)) safeClose(ws, 1000, "session ended");
        return;
      }
      case "answer": {
        const acked = this.store.ackSeqFor(frame.id);
        if (acked !== null) return void ws.send(JSON.stringify({ type: "ack", id: frame.id, seq: acked }));
        event = { type: "answer", id: frame.id, text: frame.text };
        break;
      }
      case "answer_start":
      case "answer_end":
        return sendError(ws, "VOICE_NOT_AVAILABLE", "spoken answers are not accepted by this session; send a typed answer");
      case "consent":
        event = { type: "consent", granted: frame.granted };
        break;
      case "start":
        event = { type: "start" };
        break;
      case "pause":
        event = { type: "pause", by: "participant", reason: frame.reason ?? null };
        break;
      case "resume":
        event = { type: "resume", by: "participant" };
        break;
      case "leave":
        event = { type: "leave" };
        break;
    }
    const r = this.apply(event);
    if (!r.ok) sendError(ws, r.error.code, r.error.message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // A closed tab may never get here; the heartbeat deadline decides abandonment.
    safeClose(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    safeClose(ws, 1011, "socket error");
  }

  // ---- Timers ----

  override async alarm(): Promise<void> {
    if (!this.state) return;
    let seen = 0;
    for (const ws of this.ctx.getWebSockets("participant")) {
      seen = Math.max(seen, this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0);
    }
    if (!isTerminal(this.state.status)) this.apply({ type: "timer", lastSeenAt: seen });
    if (this.state.deciding) void this.decide();
    await this.flush();
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    if (!this.state) return;
    const now = Date.now();
    const candidates: number[] = [];
    const deadline = nextDeadline(this.state, this.limits);
    if (deadline !== null) candidates.push(deadline);
    const mark = this.store.loadMirror();
    if (mark.synced < mark.version) candidates.push(mark.retryAt ?? now + 1000);
    const outbox = this.store.nextOutboxRetry();
    if (outbox !== null) candidates.push(outbox || now + 1000);
    if (this.state.deciding) candidates.push(now + DECIDE_RETRY_MS);
    if (candidates.length === 0) return void (await this.ctx.storage.deleteAlarm());
    const at = Math.max(now, Math.min(...candidates));
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
  }

  // ---- The transition pipeline ----

  /** Runs one event through the machine, persists it atomically, then performs its effects. */
  private apply(event: MachineEvent, alsoInTransaction?: () => void) {
    const before = this.state!;
    const now = Date.now();
    const r = transition(before, event, now, this.limits);
    if (!r.ok) return r;
    const frames: NumberedFrame[] = [];
    // What watchers see, in the order the machine produced it ("status" marks a status change).
    const live: (Segment | "status")[] = [];
    let closeReason: string | null = null;
    this.store.transaction(() => {
      for (const e of r.effects) {
        if (e.type === "send") {
          const f = this.store.appendFrame(e.frame);
          if (e.frame.type === "ack") this.store.recordAnswer(e.frame.id, f.seq);
          frames.push(f);
        } else if (e.type === "segment") {
          const { type: _t, answerId, ...seg } = e;
          live.push(this.store.appendSegment(seg, answerId));
        } else if (e.type === "event") this.store.appendEvent(now, e.name, e.data);
        else if (e.type === "status") {
          live.push("status");
          if (isTerminal(e.to)) this.store.addOutbox({ type: "session.ended", sessionId: this.meta!.id, orgId: this.meta!.orgId, status: e.to } satisfies QueueMessage);
        }
        else if (e.type === "close") closeReason = e.reason;
      }
      this.store.saveState(r.state);
      alsoInTransaction?.();
      const mark = this.store.loadMirror();
      this.store.saveMirror({ ...mark, version: mark.version + 1 });
    });
    this.state = r.state;

    // Storage writes above are confirmed before these frames leave the object (output gate),
    // so an ack always means the answer is durable.
    const participants = this.ctx.getWebSockets("participant").filter((ws) => (ws.deserializeAttachment() as Attachment).hello);
    for (const f of frames) for (const ws of participants) safeSend(ws, JSON.stringify(f));
    for (const item of live) {
      if (item === "status") this.publishStatus();
      else this.publish({ type: "segment", sessionId: this.meta!.id, segment: item });
    }
    if (!live.includes("status") && frames.some((f) => f.type === "state")) this.publishStatus();
    if (r.state.deciding && !before.deciding) void this.decide();
    // Sockets that never said hello close too, or they would linger on a finished session.
    if (closeReason) for (const ws of this.ctx.getWebSockets("participant")) safeClose(ws, 1000, closeReason);
    void this.flush().then(() => this.armAlarm());
    return r;
  }

  /** Asks the follow-up provider, then feeds its decision back into the machine. */
  private async decide(): Promise<void> {
    const s = this.state;
    if (!s?.deciding || this.deciding) return;
    this.deciding = true;
    const pending = s.deciding;
    const followUpsAsked = s.followUps;
    const q = s.questions[pending.questionIndex]!;
    let followUp: string | null = null;
    const signal = AbortSignal.timeout(DECIDE_TIMEOUT_MS);
    // A provider that ignores the signal must not hold the interview (or this.deciding) either.
    const timedOut = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    try {
      followUp = await Promise.race([
        this.followUps.followUp({ question: q.text, answer: pending.answer, probe: q.probe, followUpsAsked, language: this.meta?.language ?? null }, signal),
        timedOut,
      ]);
    } catch (err) {
      // The interview must not stall on the AI: without a decision it moves to the next question.
      console.warn("follow-up provider failed", { sessionId: this.meta?.id, error: String(err) });
    } finally {
      this.deciding = false;
    }
    const now = this.state;
    if (!now?.deciding || now.deciding.questionIndex !== pending.questionIndex || now.followUps !== followUpsAsked) return;
    this.apply({ type: "decided", followUp });
  }

  // ---- Outbox: the D1 mirror and queue messages, retried until they land ----

  /**
   * One flush at a time, or the alarm's flush and a transition's would send the same outbox item
   * twice; a flush asked for meanwhile runs once more after it, and its caller waits for that.
   */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          await this.flushMirror();
          await this.flushOutbox();
        } while (this.flushAgain);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async flushOutbox(): Promise<void> {
    if (!this.state) return;
    for (const item of this.store.dueOutbox(Date.now())) {
      try {
        await this.env.AI_QUEUE.send(JSON.parse(item.payload));
        this.store.removeOutbox(item.id);
      } catch (err) {
        const attempts = item.attempts + 1;
        this.store.deferOutbox(item.id, attempts, Date.now() + Math.min(MIRROR_MAX_BACKOFF_MS, 500 * 2 ** attempts));
        console.warn("queue send failed; will retry", { sessionId: this.meta?.id, attempts, error: String(err) });
      }
    }
  }

  private async flushMirror(): Promise<void> {
    for (;;) {
      if (!this.state || !this.meta) return;
      const mark = this.store.loadMirror();
      if (mark.synced >= mark.version) return;
      if (mark.retryAt !== null && mark.retryAt > Date.now() && mark.attempts > 0) return;
      try {
        await this.mirrorWriter.write(mirrorRow(this.meta, this.state, Date.now(), this.limits, mark.version));
        if (!this.state) return;
        const latest = this.store.loadMirror();
        this.store.saveMirror({ ...latest, synced: Math.max(latest.synced, mark.version), attempts: 0, retryAt: null });
      } catch (err) {
        if (!this.state) return;
        const latest = this.store.loadMirror();
        const attempts = latest.attempts + 1;
        const retryAt = Date.now() + Math.min(MIRROR_MAX_BACKOFF_MS, 500 * 2 ** attempts);
        this.store.saveMirror({ ...latest, attempts, retryAt });
        console.warn("session mirror write failed; will retry", { sessionId: this.meta?.id, attempts, error: String(err) });
        return;
      }
    }
  }

  private publishStatus() {
    const s = this.state!;
    this.publish({
      type: "status",
      sessionId: this.meta!.id,
      status: s.status,
      questionIndex: s.questionIndex,
      totalQuestions: s.questions.length,
      questionsAnswered: s.questionsAnswered,
      at: new Date().toISOString(),
    });
  }

  private publish(frame: WatchFrame) {
    const body = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets("watcher")) safeSend(ws, body);
    const campaignId = this.meta!.campaignId;
    // Calls through one stub arrive in order (separate stubs promise nothing), so the hub is
    // reached through one stub per campaign; a failed call may break a stub, so it is dropped.
    if (this.hub?.campaignId !== campaignId) this.hub = { campaignId, stub: this.env.CAMPAIGN_LIVE.get(this.env.CAMPAIGN_LIVE.idFromName(campaignId)) };
    const hub = this.hub;
    const view = frame.type === "status" ? sessionView(this.meta!, this.state!, Date.now()) : null;
    hub.stub.publish(body, view).catch((err: unknown) => {
      if (this.hub === hub) this.hub = null;
      console.warn("campaign live publish failed", String(err));
    });
  }
}

function notFound(): { ok: false; error: { code: "SESSION_NOT_FOUND"; message: string } } {
  return { ok: false, error: { code: "SESSION_NOT_FOUND", message: "no such session" } };
}

function sendError(ws: WebSocket, code: string, message: string) {
  safeSend(ws, JSON.stringify({ type: "error", code, message } satisfies ErrorFrame));
}

function safeSend(ws: WebSocket, body: string) {
  try {
    ws.send(body);
  } catch {
    // The socket closed under us; the client replays from its lastSeq when it reconnects.
  }
}

function safeClose(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}
