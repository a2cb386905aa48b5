// Spoken answers on the participant page: for each question, play its spoken version (or the
// browser's voice when the server has none), then record until "Done", streaming the audio as it
// is captured and waiting for the server's ack. State changes are pushed to the page as snapshots.
// An answer in which nothing was heard is not sent on "Done" before the participant confirms it
// ("unheard"), and an answer nearing the length limit says so before the page finishes it.
import { t } from "./i18n";
import { micFailureText, MicError, Microphone, SpeechHint, speak, type MicFailure } from "./mic";
import { answerLimitSeconds, SpeechPresence } from "./spoken";
import { AnswerUplink, BYTES_PER_SECOND, type Link, type UplinkEvent } from "./uplink";

/**
 * "unheard": Done was pressed on a take with no speech in it; the page asks to record again or send it anyway.
 * "elsewhere": another window of this interview is recording the answer; the page offers to record it here instead.
 */
export type Stage = "idle" | "prompt" | "recording" | "held" | "finishing" | "unheard" | "elsewhere" | "saved" | "failed";

export interface VoiceState {
  mic: "off" | "asking" | "on" | "failed";
  micFailure?: MicFailure;
  micMessage?: string;
  /** 0..1 for the level meter. */
  level: number;
  stage: Stage;
  /** Seconds of audio in the current take of the answer (what the recording clock shows). */
  seconds: number;
  /** Seconds until the page finishes the answer by itself (the whole answer counts, every take). */
  secondsLeft: number;
  /** The answer was finished because it reached the length limit, not by the participant. */
  finishedAtLimit: boolean;
  /** How the question is being read: the service's voice, the browser's, or not at all. */
  prompt: "loading" | "audio" | "browser" | "none" | "blocked" | null;
  /** The question's audio is playing right now. */
  speaking: boolean;
  /** Saved to the server (seconds durable) while recording. */
  savedSeconds: number;
  notice?: string;
  /** The browser is transcribing as well (Web Speech API). */
  hinting: boolean;
  /** The last question seq this controller handled. */
  seq: number | null;
}

export interface QuestionRef {
  seq: number;
  index: number;
  text: string;
  audio?: string;
}

export interface VoiceOptions {
  /** The page's cut-off per answer in seconds (answerLimitSeconds: at most 595, shorter only in tests). */
  maxAnswerSeconds?: number;
}

/** Who finished an answer: the participant (Done), the length limit, or the page itself (the microphone went away, the session's audio is full). Only the participant's own Done asks about an unheard answer. */
type FinishedBy = "participant" | "limit" | "page";

export class VoiceController {
  state: VoiceState;
  private listeners = new Set<(s: VoiceState) => void>();
  private mic: Microphone | null = null;
  private uplink: AnswerUplink | null = null;
  private hint: SpeechHint;
  private question: QuestionRef | null = null;
  private promptAbort: AbortController | null = null;
  private audioEl: HTMLAudioElement | null = null;
  private promptUrl: string | null = null;
  private capturing = false;
  /** The service said it has no voice (TTS_UNAVAILABLE): the browser reads every question. */
  private ttsUnavailable = false;
  private finishing = false;
  private tick: ReturnType<typeof setInterval> | null = null;
  private readonly maxAnswerSeconds: number;
  /** Whether the current take held anything that could be speech. */
  private presence = new SpeechPresence();
  /** The answer was continued after a reload: its audio from before is not measured here. */
  private inherited = false;
  /** Where the current take starts in the answer's bytes ("Record again" continues the same answer). */
  private takeFrom = 0;
  /** "Record here instead" was pressed: the take starts where the server's reply says the answer ends. */
  private takingOver = false;

  constructor(
    private readonly sessionId: string,
    private readonly token: string,
    private readonly link: Link,
    private readonly lang: string = navigator.language || "en",
    browserTranscription = false,
    opts: VoiceOptions = {},
  ) {
    this.hint = new SpeechHint(this.lang, browserTranscription);
    this.maxAnswerSeconds = answerLimitSeconds(opts.maxAnswerSeconds);
    this.state = { mic: "off", level: 0, stage: "idle", seconds: 0, secondsLeft: this.maxAnswerSeconds, finishedAtLimit: false, prompt: null, speaking: false, savedSeconds: 0, hinting: false, seq: null };
  }

  subscribe(fn: (s: VoiceState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<VoiceState>) {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn(this.state);
  }

  // ---- The microphone ----

  /** Asks for the microphone (call from a click). Resolves true when it is on. */
  async enableMic(): Promise<boolean> {
    if (this.mic) {
      await this.mic.resume();
      return true;
    }
    this.set({ mic: "asking", micFailure: undefined, micMessage: undefined });
    try {
      this.mic = await Microphone.open({
        onFrame: (pcm) => this.onPcm(pcm),
        onLevel: (level) => {
          if (Math.abs(level - this.state.level) > 0.01) this.set({ level });
        },
        onEnded: () => this.micLost(),
      });
      this.set({ mic: "on" });
      return true;
    } catch (err) {
      const kind = err instanceof MicError ? err.kind : "failed";
      this.set({ mic: "failed", micFailure: kind, micMessage: err instanceof MicError ? err.message : micFailureText("failed"), level: 0 });
      return false;
    }
  }

  private micLost() {
    this.mic?.close();
    this.mic = null;
    this.capturing = false;
    this.set({ mic: "failed", micFailure: "missing", micMessage: t("micStopped"), level: 0 });
    // Whatever was recorded still counts: finish the answer with it.
    if (this.uplink && this.state.stage === "recording" && this.uplink.capturedBytes > 0) void this.done("page");
  }

  get micOn() {
    return this.mic !== null;
  }

  private onPcm(pcm: Uint8Array) {
    if (!this.capturing || !this.uplink) return;
    this.uplink.push(pcm);
    this.presence.push(pcm);
    const seconds = this.uplink.capturedBytes / BYTES_PER_SECOND;
    if (seconds >= this.maxAnswerSeconds && !this.finishing) void this.done("limit");
  }

  // ---- The socket ----

  linkUp() {
    this.uplink?.linkUp();
  }

  linkDown() {
    this.uplink?.linkDown();
  }

  /** Every server frame (duplicates included); true when it was for the open answer. */
  onFrame(f: { type: string; id?: string; bytes?: number; seq?: number; code?: string; message?: string }): boolean {
    return this.uplink?.onFrame(f) ?? false;
  }

  // ---- One question ----

  /** A question is on screen. `answered` when an ack for it has already been seen (a reload). */
  ask(q: QuestionRef, answered: boolean) {
    if (this.question?.seq === q.seq) return;
    this.reset();
    this.question = q;
    if (answered) return this.set({ stage: "saved", seq: q.seq, prompt: null, notice: undefined, finishedAtLimit: false });
    this.set({ stage: "prompt", seq: q.seq, seconds: 0, secondsLeft: this.maxAnswerSeconds, finishedAtLimit: false, savedSeconds: 0, notice: undefined, prompt: "loading" });
    void this.playPrompt(true);
  }

  /** Plays the question (again); when `thenRecord`, recording starts as soon as it has been read. */
  async playPrompt(thenRecord: boolean) {
    const q = this.question;
    if (!q) return;
    this.stopPrompt();
    const abort = new AbortController();
    this.promptAbort = abort;
    const outcome = await this.readAloud(q, abort.signal);
    if (abort.signal.aborted || this.question !== q) return;
    this.promptAbort = null;
    this.set({ speaking: false });
    if (outcome === "blocked") return this.set({ prompt: "blocked" });
    if (thenRecord && this.state.stage === "prompt") this.startRecording();
  }

  private async readAloud(q: QuestionRef, signal: AbortSignal): Promise<"done" | "blocked"> {
    if (q.audio && this.promptUrl === null && !this.ttsUnavailable) {
      try {
        const res = await fetch(`${q.audio}?token=${encodeURIComponent(this.token)}`, { signal });
        if (res.ok) {
          const blob = await res.blob();
          if (signal.aborted) return "done";
          this.promptUrl = URL.createObjectURL(blob);
        } else {
          const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
          if (body?.error?.code === "TTS_UNAVAILABLE") this.ttsUnavailable = true;
          this.promptUrl = "";
        }
      } catch {
        if (signal.aborted) return "done";
        this.promptUrl = "";
      }
    }
    if (signal.aborted) return "done";
    if (this.promptUrl) {
      this.set({ prompt: "audio", speaking: true });
      const el = (this.audioEl ??= new Audio());
      el.src = this.promptUrl;
      try {
        await new Promise<void>((resolve, reject) => {
          const off = () => {
            el.onended = el.onerror = null;
          };
          el.onended = () => (off(), resolve());
          el.onerror = () => (off(), reject(new Error("playback failed")));
          signal.addEventListener("abort", () => (off(), el.pause(), resolve()));
          el.play().catch((err: unknown) => (off(), reject(err)));
        });
        return "done";
      } catch (err) {
        // Autoplay refused (no click on this page yet): the participant presses Play.
        if ((err as DOMException)?.name === "NotAllowedError") return "blocked";
        return "done";
      }
    }
    this.set({ prompt: "browser", speaking: true });
    const r = await speak(q.text, this.lang, signal);
    if (r === "failed" && !signal.aborted) this.set({ prompt: "none" });
    return "done";
  }

  private stopPrompt() {
    this.promptAbort?.abort();
    this.promptAbort = null;
    if (this.state.speaking) this.set({ speaking: false });
  }

  /** Skips the rest of the question's audio and records now. */
  answerNow() {
    this.stopPrompt();
    if (this.state.stage === "prompt") this.startRecording();
  }

  private storageKey() {
    return `ir-voice-${this.sessionId}`;
  }

  /** The open answer's id survives a reload, so the server's open answer is continued, not orphaned. */
  private answerId(seq: number): { id: string; restored: boolean } {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.storageKey()) ?? "null") as { seq: number; id: string } | null;
      if (saved && saved.seq === seq) return { id: saved.id, restored: true };
    } catch {
      // storage unavailable
    }
    const id = `voice-${seq}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      sessionStorage.setItem(this.storageKey(), JSON.stringify({ seq, id }));
    } catch {
      // storage unavailable
    }
    return { id, restored: false };
  }

  private forgetAnswerId() {
    try {
      sessionStorage.removeItem(this.storageKey());
    } catch {
      // storage unavailable
    }
  }

  startRecording(fresh = true) {
    const q = this.question;
    if (!q || !this.mic) return;
    if (!this.uplink) {
      const { id, restored } = this.answerId(q.seq);
      this.uplink = new AnswerUplink(id, { link: this.link, questionSeq: q.seq, onEvent: (e) => this.onUplink(e) });
      this.inherited = restored;
      this.takeFrom = 0;
      this.presence.reset();
      this.uplink.open();
    }
    void this.mic.resume();
    this.capturing = true;
    this.finishing = false;
    this.hint.start(fresh);
    this.set({ stage: "recording", notice: undefined, hinting: this.hint.enabled });
    this.startTick();
  }

  /** Seconds of the current take, and seconds left before the page finishes the answer. */
  private clockOf(u: AnswerUplink) {
    return { seconds: (u.capturedBytes - this.takeFrom) / BYTES_PER_SECOND, secondsLeft: Math.max(0, this.maxAnswerSeconds - u.capturedBytes / BYTES_PER_SECOND) };
  }

  private startTick() {
    if (this.tick) return;
    this.tick = setInterval(() => {
      const u = this.uplink;
      if (!u) return;
      const now = this.clockOf(u);
      const seconds = Math.floor(now.seconds);
      const secondsLeft = Math.ceil(now.secondsLeft);
      const savedSeconds = Math.floor(u.ackedBytes / BYTES_PER_SECOND);
      if (seconds !== Math.floor(this.state.seconds) || secondsLeft !== Math.ceil(this.state.secondsLeft) || savedSeconds !== this.state.savedSeconds) this.set({ seconds, secondsLeft, savedSeconds });
    }, 250);
  }

  private stopTick() {
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
  }

  /**
   * "Done": the last samples, the browser's transcript, answer_end; then wait for the ack. When the
   * participant pressed Done on a take in which nothing was heard (neither by the level of the
   * audio nor by the browser's recogniser), the answer is not ended: the page asks first
   * (recordAgain or sendAnyway). An answer the limit or a lost microphone finishes is sent as it is.
   */
  async done(by: FinishedBy = "participant") {
    const u = this.uplink;
    // Another window is recording the answer: there is nothing here to finish.
    if (!u || this.finishing || this.state.stage === "elsewhere") return;
    this.finishing = true;
    this.set({ stage: "finishing", notice: undefined, ...(by === "limit" ? { finishedAtLimit: true } : {}) });
    await this.mic?.flush();
    this.capturing = false;
    const text = await this.hint.stop();
    if (this.uplink !== u) return;
    this.set(this.clockOf(u));
    if (by === "participant" && !this.heardSomething(text)) {
      // The answer stays open on the server (nothing is ended, nothing is dropped) while the participant decides.
      this.finishing = false;
      return this.set({ stage: "unheard" });
    }
    u.end(text);
  }

  /** Whether the take held speech; an answer continued after a reload may hold speech from before it, which this page never measured. */
  private heardSomething(text: string): boolean {
    return this.presence.heard || text.trim() !== "" || this.inherited;
  }

  /**
   * "Record again" after an unheard take. The protocol has no way to take back audio the server
   * acknowledged, and the server holds one open answer at a time, so the new take continues the
   * same open answer (the same id, from the byte the server holds): the silent take stays at its
   * start, nothing is lost or stored twice, and the recording clock starts again from 0:00.
   */
  recordAgain() {
    const u = this.uplink;
    if (this.state.stage !== "unheard" || !u || !this.mic) return;
    this.takeFrom = u.capturedBytes;
    this.presence.reset();
    this.set({ seconds: 0 });
    this.startRecording(true);
  }

  /**
   * "Record here instead": another window was recording this answer (stage "elsewhere"). The answer
   * moves here (answer_start with takeOver) and this take continues after everything stored so far,
   * as a reopen does; the other window's audio is refused from then on and it does not take the
   * answer back by itself.
   */
  recordHere() {
    const u = this.uplink;
    if (this.state.stage !== "elsewhere" || !u || !this.mic) return;
    this.takingOver = true;
    this.takeFrom = u.capturedBytes;
    // This take is measured here; what the other window recorded was not.
    this.presence.reset();
    this.inherited = false;
    u.takeOver();
    this.set({ seconds: 0 });
    this.startRecording(true);
  }

  /** "Send anyway": the unheard take is the answer, as it would have been without asking. */
  sendAnyway() {
    const u = this.uplink;
    if (this.state.stage !== "unheard" || !u || this.finishing) return;
    this.finishing = true;
    this.set({ stage: "finishing", notice: undefined });
    u.end(null);
  }

  /** The interview was paused (by the participant or the team): stop capturing, keep the answer open. */
  hold() {
    this.stopPrompt();
    if (this.state.stage === "recording") {
      this.capturing = false;
      this.hint.cancel();
      this.set({ stage: "held" });
    } else if (this.state.stage === "prompt") this.set({ stage: "prompt", prompt: "blocked" });
  }

  /** Continue recording the same answer after a pause. */
  continueAnswer() {
    if (this.state.stage !== "held") return;
    this.uplink?.open();
    this.startRecording(false);
  }

  private onUplink(e: UplinkEvent) {
    const u = this.uplink;
    if (!u) return;
    if (e.type === "acked") {
      this.stopTick();
      this.forgetAnswerId();
      this.capturing = false;
      this.finishing = false;
      this.set({ stage: "saved", ...this.clockOf(u), savedSeconds: u.ackedBytes / BYTES_PER_SECOND, notice: undefined });
    } else if (e.type === "progress") {
      // The reply to "Record here instead": the answer's stored bytes come before this take.
      if (this.takingOver) {
        this.takingOver = false;
        this.takeFrom = e.acked;
      }
    } else if (e.type === "problem") {
      if (e.code === "EMPTY_ANSWER" || e.code === "NO_OPEN_ANSWER") {
        // Nothing arrived: record again (into the same answer when it is still open).
        this.finishing = false;
        if (e.code === "NO_OPEN_ANSWER") {
          this.uplink?.cancel();
          this.uplink = null;
          this.forgetAnswerId();
        } else u.reopenForMore();
        this.startRecording(false);
        this.set({ notice: t("noSound") });
      } else {
        // Size limit reached: what was stored is the answer.
        const tooLong = e.code === "ANSWER_TOO_LONG";
        this.set({ notice: t("longestAnswer"), ...(tooLong ? { finishedAtLimit: true } : {}) });
        void this.done(tooLong ? "limit" : "page");
      }
    } else if (e.type === "refused") {
      if (e.code === "INVALID_TRANSITION") {
        // Paused on the server: the page shows the pause; the answer continues on resume.
        this.capturing = false;
        this.finishing = false;
        this.hint.cancel();
        this.set({ stage: "held" });
      } else if (e.code === "ANSWER_RECORDING_ELSEWHERE") {
        // Another window is recording this answer: stop here and let the participant choose (finish
        // it there, or recordHere). Not "type my answer": a typed answer would be refused as well.
        this.capturing = false;
        this.finishing = false;
        this.takingOver = false;
        this.hint.cancel();
        this.set({ stage: "elsewhere", notice: undefined });
      } else if (e.code === "VOICE_NOT_AVAILABLE" || e.code === "AUDIO_UNAVAILABLE") {
        this.fail(t("spokenUnavailable"));
      } else if (e.code === "NO_OPEN_QUESTION" || e.code === "ANSWER_ENDED") {
        this.capturing = false;
        this.set({ stage: "saved" });
      } else if (e.code === "STALE_ANSWER") {
        // Another tab answered this question: nothing of this recording is kept; the next
        // question's frame (already on its way) starts the next answer.
        this.capturing = false;
        this.uplink?.cancel();
        this.uplink = null;
        this.forgetAnswerId();
        this.set({ stage: "idle" });
      } else this.fail(e.message);
    }
  }

  private fail(message: string) {
    this.capturing = false;
    this.finishing = false;
    this.stopTick();
    this.hint.cancel();
    this.uplink?.cancel();
    this.uplink = null;
    this.set({ stage: "failed", notice: message });
  }

  /** Leaves the current question behind (a new one arrived, or the interview is over). */
  private reset() {
    this.stopPrompt();
    this.stopTick();
    this.hint.cancel();
    this.capturing = false;
    this.finishing = false;
    this.takingOver = false;
    // An answer still unacknowledged when the next question arrives was acked on another path.
    this.uplink?.cancel();
    this.uplink = null;
    if (this.promptUrl) URL.revokeObjectURL(this.promptUrl);
    this.promptUrl = null;
    this.question = null;
  }

  /** Everything off (thank-you screen, or switching to typed answers). */
  close() {
    this.reset();
    this.mic?.close();
    this.mic = null;
    this.set({ mic: "off", stage: "idle", level: 0, seq: null });
  }

  /** Stops the microphone but keeps playing questions (typed answers in a voice interview). */
  stopMic() {
    this.stopPrompt();
    this.stopTick();
    this.hint.cancel();
    this.capturing = false;
    this.mic?.close();
    this.mic = null;
    this.set({ mic: "off", level: 0 });
  }

  /** Plays the current question for someone typing their answers. */
  listen(q: QuestionRef) {
    if (this.question?.seq !== q.seq) {
      this.reset();
      this.question = q;
      this.set({ seq: q.seq });
    }
    void this.playPrompt(false);
  }

  /** Seconds of memory the open answer holds that the server has not acknowledged. */
  get unsentSeconds() {
    return (this.uplink?.pendingBytes ?? 0) / BYTES_PER_SECOND;
  }
}
