// One Durable Object per interview session: the shell around the pure machine. It loads state,
// validates input, runs `transition`, persists in one transaction, then performs the effects.
import { DurableObject } from "cloudflare:workers";
import { followUpProvider } from "../ai/followup";
import { audioOwnerIdleMs, limitsFrom, type Env } from "../env";
import { importKek, newWrappedDataKey, unwrapDataKey } from "../shared/audio-crypto";
import { sha256Hex } from "../shared/crypto";
import { AudioIntake } from "./audio";
import { DECIDE_RETRY_MS, FollowUpDecider } from "./decide";
import { initialState, isTerminal, nextDeadline, transition, type Limits, type MachineEvent, type MachineState, type MachineError, type Question } from "./machine";
import { lifecycleEvent, type QueueMessage } from "./messages";
import { Fanout } from "./fanout";
import { D1Mirror, type MirrorWriter } from "./mirror";
import { controlEvent, type ControlAction } from "./control";
import { Outbox } from "./outbox";
import { parseClientFrame, PONG, PING, type NumberedFrame, type Segment, type WatchFrame } from "./protocol";
import { SessionStore, type SegmentSpeech, type SessionEvent } from "./store";
import { admitWatcher, audioError, closeWatchersOf, greetedParticipants, openWatchersOf, safeClose, safeSend, sendError, watcherMessage, watcherTags } from "./sockets";
import { endedFacts, sessionView, type EndedFacts, type SessionMeta, type SessionView } from "./view";
import * as voice from "./voice";
import { consentEvent, purge, type PurgeKind } from "./purge";
import { SESSION_DELETED_CODE } from "../shared/close-codes";

/**
 * Kept with the socket (it survives hibernation). `client`: the page load's id from its hello
 * (an extension), which tells a reconnect of the same window from another window (AudioIntake).
 */
export type Attachment = { kind: "participant" | "watcher"; hello: boolean; audio?: string; ip?: string | null; client?: string };

export interface InitInput {
  meta: SessionMeta;
  questions: Question[];
  consentRequired: boolean;
  tokenHash: string;
  /** When the join created the session (its index row already says so). Default: now. */
  createdAt?: number;
  /** The join wrote the session's first index row (mirror version 1) itself. */
  indexed?: boolean;
  /** Queue session.created (default true); false when no webhook subscribes to it. */
  announce?: boolean;
}

export type RpcError = MachineError | { code: "SESSION_NOT_FOUND" | "NOT_FOUND" | "TTS_UNAVAILABLE" | "INVALID_TOKEN"; message: string };
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: RpcError };

const MAX_TEXT_FRAME = 64 * 1024;
/** A spoken answer whose transcript has not come back by then is written without text. */
export const TRANSCRIBE_TIMEOUT_MS = 120_000;

const json = (status: number, code: string, message: string) => Response.json({ error: { code, message } }, { status });

export class InterviewSession extends DurableObject<Env> {
  readonly store: SessionStore;
  readonly outbox: Outbox;
  private readonly limits: Limits;
  private readonly decider: FollowUpDecider;
  meta: SessionMeta | null;
  state: MachineState | null;
  /** The armed alarm as last set or read (undefined: not known, read it from storage). */
  private alarmAt: number | null | undefined = undefined;
  private readonly fanout: Fanout;
  private intake: AudioIntake | null = null;
  private dek: CryptoKey | null = null;
  /** Audio writes run one after another, so chunks and acks keep the frames' order. */
  audioChain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SQLite storage is synchronous, so the object loads in its constructor and no request
    // can observe it half-initialised. An id that was never initialised creates nothing.
    this.store = new SessionStore(ctx.storage);
    this.meta = this.store.loadMeta();
    this.state = this.store.loadState();
    this.limits = limitsFrom(env);
    this.decider = new FollowUpDecider(followUpProvider(env));
    this.fanout = new Fanout(ctx, env);
    this.outbox = new Outbox(this.store, () => this.env.AI_QUEUE, this.limits, () => (this.meta && this.state ? { meta: this.meta, state: this.state } : null), new D1Mirror(env.DB), () => this.armAlarm());
    // Pings are answered without waking the object; the alarm reads the auto-response timestamps.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  get mirrorWriter(): MirrorWriter {
    return this.outbox.mirrorWriter;
  }
  set mirrorWriter(w: MirrorWriter) {
    this.outbox.mirrorWriter = w;
  }

  /** Spoken-answer storage; its tables exist only in sessions that were initialised. */
  audio(): AudioIntake {
    this.intake ??= new AudioIntake(this.store.rawSql, this.env.AUDIO_BUCKET, this.meta!.id, audioOwnerIdleMs(this.env));
    return this.intake;
  }

  /** The session's audio data key, created on first use and stored only wrapped by the KEK. */
  async dataKey(): Promise<CryptoKey> {
    if (this.dek) return this.dek;
    const kek = await importKek(this.env.AUDIO_KEK);
    let wrapped = this.store.loadAudioKey();
    if (!wrapped) {
      wrapped = await newWrappedDataKey(kek);
      this.store.saveAudioKey(wrapped);
    }
    this.dek = await unwrapDataKey(kek, wrapped);
    return this.dek;
  }

  // ---- RPC used by the Worker ----

  async init(input: InitInput): Promise<SessionView> {
    if (!this.state || !this.meta) {
      const now = input.createdAt ?? Date.now();
      this.store.create();
      // A brand-new object has no alarm: arming it needs no read first.
      this.alarmAt = null;
      this.meta = input.meta;
      this.state = initialState({ questions: input.questions, consentRequired: input.consentRequired, now });
      this.store.transaction(() => {
        const mark = input.indexed ? { version: 1, synced: 1, attempts: 0, retryAt: null, lastWriteAt: now } : { version: 1, synced: 0, attempts: 0, retryAt: null, urgent: true };
        this.store.saveInitial(input.meta, this.state!, mark);
        this.store.addToken(input.tokenHash, now);
        this.store.appendEvent(now, "created");
        if (input.announce !== false) this.store.addOutbox({ type: "session.event", event: "session.created", sessionId: input.meta.id, orgId: input.meta.orgId, campaignId: input.meta.campaignId, at: new Date(now).toISOString() } satisfies QueueMessage);
      });
      this.fanout.status(this.meta!, this.state!);
      await this.outbox.flush();
      await this.armAlarm();
    }
    return sessionView(this.meta, this.state, Date.now());
  }

  /**
   * A reopened invite gets a fresh participant token for the same session, and the consent text
   * this session records, whatever the campaign says now. With `proof` (a shared link), only a
   * browser holding one of this session's participant tokens for that invite does.
   */
  async addToken(tokenHash: string, proof?: { token: string; inviteId: string }): Promise<RpcResult<SessionView & { consentText: string | null; mode: "text" | "voice" }>> {
    if (!this.state || !this.meta) return notFound();
    // Resuming from a shared link: only with a token this session issued, for the invite opened.
    if (proof && (proof.inviteId !== this.meta.inviteId || !this.store.hasToken(await sha256Hex(proof.token)))) return notFound();
    if (!isTerminal(this.state.status)) this.store.addToken(tokenHash, Date.now());
    return { ok: true, value: { ...sessionView(this.meta, this.state, Date.now()), consentText: this.meta.consentText, mode: this.meta.mode ?? "text" } };
  }

  async view(): Promise<RpcResult<SessionView>> {
    if (!this.state || !this.meta) return notFound();
    return { ok: true, value: sessionView(this.meta, this.state, Date.now()) };
  }

  async transcript(): Promise<RpcResult<{ segments: Segment[]; events: SessionEvent[] }>> {
    return this.state ? { ok: true, value: { segments: this.store.segments(), events: this.store.events() } } : notFound();
  }

  /** What the queue consumer reads once the session ended: one call instead of the transcript and the view. */
  async endedFacts(): Promise<RpcResult<EndedFacts>> { return this.state && this.meta ? { ok: true, value: endedFacts(this.meta, this.state, this.store.segments(), Date.now()) } : notFound(); }

  async control(action: ControlAction): Promise<RpcResult<SessionView>> {
    if (!this.state || !this.meta) return notFound();
    const c = controlEvent(action, { campaignId: this.meta.campaignId, mode: this.meta.mode ?? "text" });
    if (!c.ok) return c;
    const from = this.meta.campaignId;
    const r = this.apply(c.event, () => {
      if (action.type !== "reassign") return;
      // The interview goes on in the new campaign's language (its questions are in it): the page,
      // the follow-ups and the analysis follow it.
      this.meta = { ...this.meta!, campaignId: action.campaignId, scriptVersion: action.scriptVersion, language: action.language };
      this.store.saveMeta(this.meta);
    });
    if (!r.ok) return r;
    if (action.type === "reassign") {
      // The live views follow: the old campaign's watchers drop it, the new campaign's list it (a
      // move that completed the session was published to the new campaign as that status change).
      const old = this.env.CAMPAIGN_LIVE.get(this.env.CAMPAIGN_LIVE.idFromName(from));
      await old.moveOut(this.meta.id).catch((err: unknown) => console.warn("the old campaign's live view kept a reassigned session", String(err)));
      if (!isTerminal(this.state!.status)) this.fanout.status(this.meta, this.state!);
    }
    return { ok: true, value: sessionView(this.meta, this.state, Date.now()) };
  }

  // Spoken answers and the AI voice (the logic lives in voice.ts).
  async audioJob(answerId: string) {
    return voice.audioJob(this, answerId);
  }
  async applyTranscription(answerId: string, result: voice.TranscriptionResult) {
    return voice.applyTranscription(this, answerId, result);
  }
  async answerContexts(answerIds: string[]) {
    return voice.answerContexts(this, answerIds);
  }
  async audioManifest(track: "participant" | "ai") {
    return voice.audioManifest(this, track);
  }
  async promptAudio(seq: number, token: string | null) {
    return voice.promptAudio(this, this.env, seq, token);
  }

  /** Called by the campaign's hub when someone starts watching the campaign. */
  async campaignWatched(epoch: number): Promise<void> {
    // The new watcher's snapshot holds the session as of its last status change: its progress follows.
    if (this.fanout.watched(epoch) && this.meta && this.state && !isTerminal(this.state.status)) this.fanout.status(this.meta, this.state, false);
  }

  /** Called by the cron sweep, since alarms can be lost: runs the timers, and re-reads the armed alarm, which may be gone too. */
  async poke(): Promise<void> { this.alarmAt = undefined; await this.timers(); }

  /** Removes the recordings and/or transcript but keeps the session (retention, consent withdrawal). */
  async purge(kinds: PurgeKind[], reason: string) {
    if (kinds.includes("audio")) this.dek = null;
    if (kinds.includes("transcript")) this.questionSeqCache = undefined;
    return purge(this, this.env, kinds, reason);
  }

  /** Permanently removes everything this object stores (its audio key with it) and closes its sockets. */
  async erase(): Promise<void> {
    // The participant's page is told why, and does not try to reconnect to a session that is gone.
    for (const ws of this.ctx.getWebSockets("participant")) sendError(ws, "SESSION_DELETED", "the research team deleted this session's data");
    for (const ws of this.ctx.getWebSockets()) safeClose(ws, SESSION_DELETED_CODE, "session data deleted");
    this.state = null;
    this.meta = null;
    this.intake = null;
    this.questionSeqCache = undefined;
    this.alarmAt = null;
    this.dek = null;
    // A mirror write in flight must land before the caller deletes the index row, or it would bring the row back.
    await this.outbox.idle();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store.reset();
  }

  // ---- WebSockets ----

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return json(426, "UPGRADE_REQUIRED", "expected a WebSocket upgrade");
    if (!this.state || !this.meta) return json(404, "SESSION_NOT_FOUND", "no such session");
    const url = new URL(request.url);
    if (url.pathname.endsWith("/connect")) {
      if (!(await this.tokenValid(url.searchParams.get("token")))) return json(401, "INVALID_TOKEN", "the participant token is not valid for this session");
      if (isTerminal(this.state.status)) return json(410, "SESSION_ENDED", `the session is ${this.state.status}`);
      return this.accept("participant", request.headers.get("CF-Connecting-IP")).response;
    }
    if (url.pathname.endsWith("/live")) {
      const { response, server } = this.accept("watcher", null, watcherTags(request));
      // The snapshot goes out on our end (the client end is the watcher's), once the credential holds.
      await admitWatcher(this.ctx, this.env.DB, request, server, () =>
        JSON.stringify({ type: "snapshot", session: sessionView(this.meta!, this.state!, Date.now()), segments: this.store.segments() } satisfies WatchFrame),
      );
      return response;
    }
    return json(404, "NOT_FOUND", "unknown session endpoint");
  }

  /** Closes the live sockets of a principal whose access ended (see src/worker/live-access.ts). */
  async dropWatchers(principalId: string): Promise<number> {
    return closeWatchersOf(this.ctx, principalId);
  }

  /** How many live sockets of the principal are open here (the registry's pruning asks). */
  async watching(principalId: string): Promise<number> {
    return openWatchersOf(this.ctx, principalId);
  }

  async tokenValid(token: string | null): Promise<boolean> {
    return Boolean(token) && this.store.hasToken(await sha256Hex(token!));
  }

  private accept(kind: Attachment["kind"], ip: string | null = null, tags: string[] = [kind]): { response: Response; server: WebSocket } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, tags);
    server.serializeAttachment({ kind, hello: kind === "watcher", ip } satisfies Attachment);
    return { response: new Response(null, { status: 101, webSocket: client }), server };
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment;
    if (att.kind === "watcher") return watcherMessage(ws, message);
    if (typeof message !== "string") {
      if (!att.hello || !att.audio) return sendError(ws, "AUDIO_NOT_ACCEPTED", "binary frames are only accepted between answer_start and answer_end of a voice answer");
      return voice.audioFrame(this, ws, att.audio, new Uint8Array(message));
    }
    if (message.length > MAX_TEXT_FRAME) return sendError(ws, "FRAME_TOO_LARGE", "text frames are at most 64 KiB");
    const parsed = parseClientFrame(message);
    // A refused answer names its id, so the page drops it instead of resending it forever.
    if (!parsed.ok) return parsed.answerId !== undefined ? audioError(ws, parsed.answerId, parsed.code, parsed.message) : sendError(ws, parsed.code, parsed.message);
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
        ws.serializeAttachment({ ...att, hello: true, ...(frame.client !== undefined ? { client: frame.client } : {}) } satisfies Attachment);
        if (!isTerminal(this.state.status)) this.apply({ type: "seen" });
        const s = this.state;
        ws.send(JSON.stringify({ type: "state", seq: this.store.lastSeq(), status: s.status, questionIndex: s.questionIndex, totalQuestions: s.questions.length }));
        if (isTerminal(s.status)) safeClose(ws, 1000, "session ended");
        return;
      }
      case "answer": {
        const acked = this.store.ackSeqFor(frame.id);
        if (acked !== null) return void ws.send(JSON.stringify({ type: "ack", id: frame.id, seq: acked }));
        // An answer to a question that is no longer on screen (another tab answered it) is not filed under the next one.
        if (this.staleQuestion(frame.questionSeq)) return staleAnswer(ws, frame.id, frame.questionSeq!);
        // A typed answer while a spoken one is open would take its question from under it.
        const open = this.meta?.mode === "voice" ? this.audio().openAnswer() : null;
        // Named by the typed answer's id, so its page drops it and stops waiting (another tab is speaking):
        // a window known to be recording it says so, so the page can say where.
        if (open && this.audio().recordingElsewhere(open, ws, att.client ?? null, Date.now()))
          return audioError(ws, frame.id, "ANSWER_RECORDING_ELSEWHERE", `spoken answer ${open} to this question is being recorded in another window; finish it there`);
        if (open) return audioError(ws, frame.id, "ANSWER_IN_PROGRESS", `finish spoken answer ${open} first (answer_end)`);
        event = { type: "answer", id: frame.id, text: frame.text };
        break;
      }
      case "answer_start":
        // Nothing is open yet, so a spoken answer to an earlier question can be refused here too
        // (after the idempotent ack: a stored answer is acknowledged again whatever the question now).
        if (this.staleQuestion(frame.questionSeq) && this.store.ackSeqFor(frame.id) === null) return staleAnswer(ws, frame.id, frame.questionSeq!);
        return voice.audioStart(this, this.env, ws, att, frame.id, frame.takeOver === true);
      case "answer_end":
        return voice.audioEnd(this, ws, att, frame.id, frame.text?.trim() || null);
      case "consent":
        event = await consentEvent(this, frame.granted, att.ip ?? null);
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
        // One tab of several closing is not the participant leaving: the others still hold the session.
        if (greetedParticipants(this.ctx).some((o) => o !== ws && o.readyState === WebSocket.OPEN)) return;
        event = { type: "leave" };
        break;
    }
    const r = this.apply(event);
    if (!r.ok) sendError(ws, r.error.code, r.error.message);
  }

  /** The seq of the question frame on screen now (the last question sent), cached; undefined: not read yet. */
  private questionSeqCache: number | null | undefined = undefined;

  currentQuestionSeq(): number | null {
    if (this.questionSeqCache === undefined) {
      const row = this.store.rawSql.exec<{ seq: number }>("SELECT seq FROM frames WHERE json_extract(body, '$.type') = 'question' ORDER BY seq DESC LIMIT 1").toArray()[0];
      this.questionSeqCache = row ? Number(row.seq) : null;
    }
    return this.questionSeqCache;
  }

  /**
   * An answer naming a question (`questionSeq`) that is not the open one: the interview moved on
   * (another tab answered, or the follow-up decision is pending). Outside in_progress/paused the
   * machine refuses answers on its own terms.
   */
  private staleQuestion(questionSeq: number | undefined): boolean {
    const s = this.state;
    if (questionSeq === undefined || !s || (s.status !== "in_progress" && s.status !== "paused")) return false;
    return !s.prompt || this.currentQuestionSeq() !== questionSeq;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // A closed tab may never get here; the heartbeat deadline decides abandonment.
    safeClose(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
    await voice.flushDueAudio(this, this.ctx.getWebSockets("participant"), ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    safeClose(ws, 1011, "socket error");
    await voice.flushDueAudio(this, this.ctx.getWebSockets("participant"), ws);
  }

  // ---- Timers ----

  override async alarm(): Promise<void> {
    // Inside its handler the alarm that fired reads as unset, so re-arming needs no read first.
    this.alarmAt = null;
    await this.timers();
  }

  private async timers(): Promise<void> {
    if (!this.state) return;
    await voice.flushDueAudio(this, this.ctx.getWebSockets("participant"));
    // Only audio, the outbox or the mirror waited: no machine deadline is due, so no transition.
    const now = Date.now();
    if (!this.state.deciding && Math.min(nextDeadline(this.state, this.limits) ?? Infinity, this.transcriptDeadline() ?? Infinity) > now) return void (await this.outbox.flush().then(() => this.armAlarm()));
    let seen = 0;
    for (const ws of this.ctx.getWebSockets("participant")) {
      seen = Math.max(seen, this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0);
    }
    if (!isTerminal(this.state.status)) this.apply({ type: "timer", lastSeenAt: seen });
    const pending = this.state.deciding?.transcript;
    if (pending && Date.now() >= this.transcriptDeadline()!) {
      this.apply({ type: "transcribed", answerId: pending.answerId, text: null }, () =>
        this.store.appendEvent(Date.now(), "transcription_timeout", { answerId: pending.answerId }),
      );
    }
    if (this.state.deciding && !this.state.deciding.transcript) void this.decider.run(this);
    await this.outbox.flush();
    await this.armAlarm();
  }

  private transcriptDeadline = (t = this.state?.deciding?.transcript): number | null => (t ? (this.state!.startedAt ?? 0) + t.endMs + TRANSCRIBE_TIMEOUT_MS : null);

  private deadlines = (now: number) => [nextDeadline(this.state!, this.limits), this.outbox.nextRetry(now), this.transcriptDeadline(), this.intake?.flushDeadline() ?? null].filter((t): t is number => t !== null);

  async armAlarm(): Promise<void> {
    if (!this.state) return;
    const now = Date.now();
    const candidates = this.deadlines(now);
    if (this.state.deciding && !this.state.deciding.transcript) candidates.push(now + DECIDE_RETRY_MS);
    if (candidates.length === 0) {
      const had = this.alarmAt;
      this.alarmAt = null;
      if (had !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = Math.max(now, Math.min(...candidates));
    // Only ever move the alarm earlier: a later deadline is found again when an early alarm
    // fires and re-arms, which spares a storage write on almost every answer. The cache is
    // updated before each await, so an overlapping call sees it and never moves the alarm later.
    if (this.alarmAt === undefined) {
      const stored = await this.ctx.storage.getAlarm();
      if (this.alarmAt === undefined) this.alarmAt = stored;
    }
    if (this.alarmAt === null || at < this.alarmAt) {
      this.alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  }

  // ---- The transition pipeline ----

  /** Runs one event through the machine, persists it atomically, then performs its effects. */
  apply(event: MachineEvent, alsoInTransaction?: () => void) {
    const before = this.state!;
    const meta = this.meta!;
    const now = Date.now();
    const r = transition(before, event, now, this.limits);
    if (!r.ok) return r;
    // A status or campaign change reaches the index at once; progress within a status may wait.
    const movesIndex = event.type === "reassign" || r.effects.some((e) => e.type === "status");
    const frames: NumberedFrame[] = [];
    // What watchers see, in the order the machine produced it ("status" marks a status change).
    const live: (Segment | "status")[] = [];
    let closeReason: string | null = null;
    const ending = r.effects.some((e) => e.type === "status" && isTerminal(e.to));
    let cut: { id: string; segment: Segment } | null = null;
    this.store.transaction(() => {
      for (const e of r.effects) {
        if (e.type === "send") {
          // In voice interviews a question carries the URL of its spoken version (synthesised on first request).
          const audio = e.frame.type === "question" && meta.mode === "voice" ? `/v1/sessions/${meta.id}/prompts/${this.store.lastSeq() + 1}/audio` : undefined;
          const f = this.store.appendFrame(audio ? { ...e.frame, audio } : e.frame);
          if (e.frame.type === "ack") this.store.recordAnswer(e.frame.id, f.seq);
          frames.push(f);
        } else if (e.type === "segment") {
          const { type: _t, answerId, awaitingTranscript, ...seg } = e;
          live.push(this.store.appendSegment(seg, answerId));
          if (seg.speaker === "participant" && answerId && !awaitingTranscript) this.store.addOutbox({ type: "answer.analyze", sessionId: meta.id, answerId } satisfies QueueMessage);
        } else if (e.type === "transcribe") {
          this.store.addOutbox({ type: "audio.process", sessionId: meta.id, answerId: e.answerId } satisfies QueueMessage);
        } else if (e.type === "event") this.store.appendEvent(now, e.name, e.data);
        else if (e.type === "status") {
          live.push("status");
          this.store.addOutbox(lifecycleEvent(meta, e.from, e.to, now));
          if (isTerminal(e.to)) this.store.addOutbox({ type: "session.ended", sessionId: meta.id, orgId: meta.orgId, status: e.to } satisfies QueueMessage);
        } else if (e.type === "close") closeReason = e.reason;
      }
      alsoInTransaction?.();
      // A spoken answer the end cut off keeps what was received, filed before the status change.
      if (ending && meta.mode === "voice") {
        cut = voice.cutOffAnswer(this, before, now);
        if (cut) live.splice(Math.max(0, live.indexOf("status")), 0, cut.segment);
      }
      const mark = this.store.loadMirror();
      this.store.saveStateAndMirror(r.state, { ...mark, version: mark.version + 1, urgent: mark.urgent || movesIndex });
    });
    this.state = r.state;
    // (Assigned inside the transaction's callback, which TypeScript's narrowing does not follow.)
    const cutOff = cut as { id: string } | null;
    if (cutOff) voice.writeCutOff(this, cutOff.id);
    for (const f of frames) if (f.type === "question") this.questionSeqCache = f.seq;

    // Storage writes above are confirmed before these frames leave the object (output gate),
    // so an ack always means the answer is durable.
    const participants = greetedParticipants(this.ctx);
    for (const f of frames) for (const ws of participants) safeSend(ws, JSON.stringify(f));
    for (const item of live) {
      if (item === "status") this.fanout.status(this.meta!, this.state!);
      // Re-read when speech details were recorded in the same transaction: they belong in the frame too.
      else this.fanout.publish(meta, r.state, { type: "segment", sessionId: meta.id, segment: (alsoInTransaction && this.store.segmentAt(item.seq)) || item });
    }
    // Progress within a status reaches watchers too, without rewriting the campaign's snapshot.
    if (!live.includes("status") && frames.some((f) => f.type === "state")) this.fanout.status(this.meta!, this.state!, false);
    if (r.effects.some((e) => e.type === "decide")) void this.decider.run(this);
    // Sockets that never said hello close too, or they would linger on a finished session.
    if (closeReason) for (const ws of this.ctx.getWebSockets("participant")) safeClose(ws, 1000, closeReason);
    for (const e of r.effects) if (e.type === "purge_audio") void this.purge(["audio"], e.reason).catch((err) => console.warn("audio purge failed", String(err)));
    // An answer's analysis may wait for the next ones (one send); lifecycle messages go at once.
    const lazy = !movesIndex && !r.effects.some((e) => e.type === "transcribe");
    void this.outbox.flush({ lazy }).then(() => this.armAlarm());
    return r;
  }

  /** Records a spoken answer's transcription details on its segment (inside a transaction). */
  recordSpeech(answerId: string, speech: SegmentSpeech, lateText?: string) {
    this.store.setSegmentSpeech(answerId, speech, lateText);
  }
}

function staleAnswer(ws: WebSocket, id: string, questionSeq: number) {
  audioError(ws, id, "STALE_ANSWER", `question ${questionSeq} is no longer the open question (the interview moved on); the answer was not stored`);
}

export function notFound(): { ok: false; error: { code: "SESSION_NOT_FOUND"; message: string } } {
  return { ok: false, error: { code: "SESSION_NOT_FOUND", message: "no such session" } };
}
