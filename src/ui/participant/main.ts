// The participant's interview page (/i/{token}): consent, the questions one at a time, pause,
// automatic reconnection that resumes exactly where it was, and a thank-you screen.
import { h, render } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import htm from "htm";
import { newClientId, ParticipantConnection, type ServerFrame } from "./connection";
import { AUDIO_ERROR_CODES } from "./uplink";
import { VoiceController, type VoiceState } from "./voice";
import { clock, HEARD_LEVEL, limitAnnouncement, limitNotice, type LimitNotice } from "./spoken";
import { hasVisibleText } from "../../shared/text";
import { answerIdFor, clearDraftOf, loadDraft, saveDraft } from "./drafts";
import { errorNoticeKey, joinOutcome, type JoinError } from "./outcome";
import { applyLocale, ensureLocale, interviewLocale, onLocaleChange, t, tn } from "./i18n";

const html = htm.bind(h);

interface Joined {
  sessionId: string;
  participantToken: string;
  status: string;
  resumed: boolean;
  consentRequired: boolean;
  consentText: string | null;
  totalQuestions: number;
  campaignName: string;
  mode?: "voice" | "text";
  browserTranscription?: boolean;
  /** The campaign's language: speech recognition and the browser's voice follow it. */
  language?: string | null;
}

interface View {
  phase: "loading" | "failed" | "consent" | "ready" | "interview" | "paused" | "ended";
  failure?: string;
  status?: string;
  question?: { index: number; text: string; followUp: boolean; seq: number; audio?: string };
  /** Seq of the last ack seen: the question on screen is answered when its seq is lower. */
  lastAckSeq: number;
  total: number;
  questionIndex: number;
  waiting: boolean;
  pausedBy?: "participant" | "admin";
  endedReason?: string;
  endedStatus?: string;
  /** Ended through a shared link reopened in this browser: a new interview may be started here. */
  endedShared?: boolean;
  notice?: string;
  /** An error notice reads as one (colour, role="alert"); "Saved" does not. */
  noticeError?: boolean;
  link: "connecting" | "open" | "reconnecting" | "closed";
}

/** The longest typed answer the session object takes (src/objects/protocol.ts). */
const MAX_ANSWER = 20_000;
/** The counter appears this close to the limit. */
const COUNT_FROM = 18_000;

type Action =
  | { type: "joined"; joined: Joined }
  | { type: "failed"; message: string }
  | { type: "over"; status?: string; reason?: string; shared?: boolean }
  | { type: "frame"; frame: ServerFrame }
  | { type: "link"; link: View["link"] }
  | { type: "sent" }
  | { type: "notice"; text?: string };

const FAILURES: Record<string, () => string> = {
  INVITE_NOT_FOUND: () => t("linkInvalid"),
  INVITE_EXPIRED: () => t("linkExpired"),
  INVITE_USED: () => t("linkUsed"),
  LINK_FULL: () => t("linkFull"),
  SESSION_NOT_FOUND: () => t("linkInvalid"),
  SESSION_ENDED: () => t("linkUsed"),
};

/** A refused join as the screen to show: a declined or abandoned interview says so, a completed one that the link was used. */
function refused(err: JoinError | null | undefined): Action {
  const o = joinOutcome(err);
  return o.kind === "ended" ? { type: "over", status: o.status, reason: o.reason, shared: o.shared } : { type: "failed", message: FAILURES[o.code]?.() ?? t("somethingWrong") };
}

/** The words for an error frame: never the server's own (English, technical) message. */
const errorNotice = (f: { code: string; answerId?: string }): string => t(errorNoticeKey(f));

function reducer(v: View, a: Action): View {
  switch (a.type) {
    case "joined": {
      const j = a.joined;
      return { ...v, total: j.totalQuestions, status: j.status, phase: j.status === "created" ? (j.consentRequired ? "consent" : "ready") : v.phase };
    }
    case "failed":
      return { ...v, phase: "failed", failure: a.message };
    case "over":
      return { ...v, phase: "ended", waiting: false, endedStatus: a.status, endedReason: a.reason, endedShared: a.shared };
    case "link":
      return { ...v, link: a.link };
    case "sent":
      return { ...v, waiting: true, notice: undefined, noticeError: false };
    case "notice":
      return { ...v, notice: a.text, noticeError: false };
    case "frame": {
      const f = a.frame;
      switch (f.type) {
        case "state": {
          const next = { ...v, status: f.status, total: f.totalQuestions, questionIndex: f.questionIndex };
          if (f.status === "paused") return { ...next, phase: "paused" };
          if (f.status === "in_progress") return { ...next, phase: "interview" };
          if (f.status === "created") return { ...next, phase: v.phase === "ready" ? "ready" : v.phase === "loading" ? "consent" : v.phase };
          return next;
        }
        case "question":
          // A new question clears the last one's notice (a refusal named the question it was about).
          return { ...v, question: { index: f.index, text: f.text, followUp: f.followUp, seq: f.seq, audio: f.audio }, questionIndex: f.index, waiting: false, notice: v.question?.seq === f.seq ? v.notice : undefined, noticeError: v.question?.seq === f.seq ? v.noticeError : false, phase: v.phase === "paused" ? "paused" : "interview" };
        case "ack":
          return { ...v, notice: t("saved"), noticeError: false, lastAckSeq: Math.max(v.lastAckSeq, f.seq) };
        case "paused":
          return { ...v, phase: "paused", pausedBy: f.by };
        case "resumed":
          return { ...v, phase: "interview", pausedBy: undefined };
        case "ended":
          return { ...v, phase: "ended", endedReason: f.reason, endedStatus: f.status };
        case "error":
          // Spoken answers handle their own errors (resend, back off, record again).
          // (Unless a typed answer is waiting: a spoken answer open in another tab refuses it.)
          if (AUDIO_ERROR_CODES.has(f.code) && !v.waiting) return v;
          if (f.code === "SESSION_DELETED") return { ...v, phase: "ended", waiting: false, endedReason: "data_deleted", endedStatus: undefined };
          return { ...v, waiting: false, notice: errorNotice(f), noticeError: true };
        default:
          return v;
      }
    }
  }
}

function App({ token }: { token: string }) {
  const [view, dispatch] = useReducer(reducer, { phase: "loading", total: 0, questionIndex: 0, waiting: false, link: "connecting", lastAckSeq: 0 });
  const [joined, setJoined] = useState<Joined | null>(null);
  const conn = useRef<ParticipantConnection | null>(null);
  const voiceRef = useRef<VoiceController | null>(null);
  const [voiceState, setVoiceState] = useState<VoiceState | null>(null);
  /** Voice interviews: answers spoken ("voice") or typed ("text"); null until the microphone step. */
  const [answerBy, setAnswerBy] = useState<"voice" | "text" | null>(null);
  /** The participant agreed (or pressed Start) and the microphone step comes next. */
  const [micStepFor, setMicStepFor] = useState<"consent" | "start" | null>(null);
  // A catalog that arrived after the page went on in English: render again in its language.
  const [, setLocaleTick] = useState(0);
  useEffect(() => onLocaleChange(() => setLocaleTick((n) => n + 1)), []);

  useEffect(() => {
    let cancelled = false;
    const join = async (): Promise<Joined | null> => {
      const res = await joinRequest(token);
      const body = (await res.json().catch(() => null)) as { error?: JoinError } | null;
      if (res.status !== 201) {
        // A finished interview's refusal speaks its language; otherwise there is no interview (yet).
        const language = body?.error?.details?.language;
        await (language ? applyLocale(interviewLocale(language, navigator.languages)) : ensureLocale(navigator.languages));
        dispatch(refused(body?.error));
        return null;
      }
      const joined = body as unknown as Joined;
      keepSession(token, { sessionId: joined.sessionId, participantToken: joined.participantToken });
      return joined;
    };
    (async () => {
      const j = await join().catch(async () => {
        await ensureLocale(navigator.languages);
        dispatch({ type: "failed", message: t("unreachable") });
        return null;
      });
      if (!j || cancelled) return;
      // The page speaks the interview's language (its questions are written in it), else the browser's.
      await applyLocale(interviewLocale(j.language, navigator.languages));
      if (cancelled) return;
      setJoined(j);
      dispatch({ type: "joined", joined: j });
      if (j.mode === "voice") {
        const v = new VoiceController(j.sessionId, j.participantToken, {
          isOpen: () => conn.current?.isOpen() ?? false,
          sendJson: (f) => void conn.current?.sendNow(f),
          sendBinary: (b) => void conn.current?.sendBinary(b),
          buffered: () => conn.current?.buffered() ?? 0,
        }, j.language || navigator.language || "en", j.browserTranscription === true, {
          // Browser tests shorten the ten-minute limit (answerLimitSeconds clamps it); nothing else sets this.
          maxAnswerSeconds: (window as { __irAnswerLimitSeconds?: number }).__irAnswerLimitSeconds,
        });
        voiceRef.current = v;
        v.subscribe(setVoiceState);
      }
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const c = new ParticipantConnection({
        url: `${proto}//${location.host}/v1/sessions/${j.sessionId}/connect?token=${encodeURIComponent(j.participantToken)}`,
        // A fresh page replays every frame from the start and rebuilds the screen from them.
        lastSeq: 0,
        // This page load, told apart from other windows of the interview (in memory: a duplicated tab gets its own).
        client: newClientId(),
        onRaw: (frame) => voiceRef.current?.onFrame(frame),
        onOpen: () => voiceRef.current?.linkUp(),
        onStatus: (link, attempt) => {
          dispatch({ type: "link", link });
          if (link === "reconnecting" || link === "closed") voiceRef.current?.linkDown();
          // After repeated failures (and about every minute after that), ask the service whether
          // the session still exists; resumeOnly, so that no new session is ever made behind the page.
          if (link === "reconnecting" && attempt >= 4 && attempt % 6 === 4) void stillThere(j);
        },
        onFrame: (frame) => {
          // An acknowledged answer's draft is not needed any more.
          if (frame.type === "ack") clearDraftOf(j.sessionId, frame.id);
          dispatch({ type: "frame", frame });
        },
      });
      conn.current = c;
      c.connect();
    })();
    /** The re-join check: 201 keeps reconnecting; an ended or unknown session stops it and says so. */
    const stillThere = async (j: Joined) => {
      const kept = keptSession(token) ?? { sessionId: j.sessionId, participantToken: j.participantToken };
      let res: Response;
      try {
        res = await fetch("/v1/join", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token, device: deviceInfo(), resume: kept, resumeOnly: true }) });
      } catch {
        return; // still offline: the socket keeps trying
      }
      if (cancelled) return;
      const body = (await res.json().catch(() => null)) as ({ error?: JoinError } & Partial<Joined>) | null;
      if (res.status === 201) {
        if (body?.sessionId === kept.sessionId && typeof body.participantToken === "string") keepSession(token, { sessionId: kept.sessionId, participantToken: body.participantToken });
        return;
      }
      const code = body?.error?.code;
      // Rate limits and server trouble are passing: keep reconnecting.
      if (res.status !== 404 && res.status !== 409 && res.status !== 410) return;
      if (res.status === 404 && code !== "SESSION_NOT_FOUND" && code !== "INVITE_NOT_FOUND") return;
      conn.current?.stop();
      // An unknown session is forgotten; an ended one is kept, so reopening the link says it ended.
      if (res.status === 404) keepSession(token, null);
      dispatch(refused(body?.error));
    };
    const onHide = () => conn.current?.leave();
    // The browser knows the network went away before the socket does: reconnect when it is back.
    const onOffline = () => conn.current?.offline();
    const onOnline = () => conn.current?.online();
    window.addEventListener("pagehide", onHide);
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    return () => {
      cancelled = true;
      window.removeEventListener("pagehide", onHide);
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
      conn.current?.stop();
      voiceRef.current?.close();
    };
  }, [token]);

  const voice = voiceRef.current;
  const isVoice = joined?.mode === "voice" && voice !== null;
  const speaking = isVoice && answerBy === "voice";

  // The microphone stopped mid-interview (unplugged, taken by another app): what was recorded is
  // saved (the controller finishes that answer), and the page goes back to the microphone step,
  // which says so and offers to try again or to type. Before, the next question waited for a
  // recording that could not start.
  useEffect(() => {
    if (speaking && voiceState?.mic === "failed") setAnswerBy(null);
  }, [speaking, voiceState?.mic]);

  // The question on screen drives the recorder: read it aloud, then record.
  const q = view.question;
  useEffect(() => {
    if (!voice || !speaking || view.phase !== "interview" || !q) return;
    voice.ask({ seq: q.seq, index: q.index, text: q.text, audio: q.audio }, view.lastAckSeq > q.seq);
  }, [voice, speaking, view.phase, q?.seq]);
  useEffect(() => {
    if (!voice) return;
    if (view.phase === "paused") voice.hold();
    if (view.phase === "ended" || view.phase === "failed") voice.close();
  }, [voice, view.phase]);

  const c = conn.current;
  const begin = (what: "consent" | "start") => {
    if (what === "consent") c?.send({ type: "consent", granted: true });
    c?.send({ type: "start" });
  };
  // Stopping part-way withdraws consent (the contract's consent {granted:false}): the session ends
  // as consent_withdrawn, after the participant confirms it.
  const stop = () => {
    if (!window.confirm(t("stopConfirm"))) return;
    voice?.stopMic();
    c?.send({ type: "consent", granted: false });
  };
  const chooseAnswers = (by: "voice" | "text") => {
    setAnswerBy(by);
    if (by === "text") voice?.stopMic();
    if (micStepFor) begin(micStepFor);
    setMicStepFor(null);
  };
  // The microphone step: after consent (or Start) in a voice interview, and again after a reload.
  const micStep =
    isVoice && answerBy === null && ((view.phase === "consent" && micStepFor === "consent") || (view.phase === "ready" && micStepFor === "start") || view.phase === "interview");

  return html`<main class="card" aria-live="polite">
    <header class="top">
      <span class="brand">InterviewRelay</span>
      ${joined ? html`<span class="campaign">${joined.campaignName}</span>` : null}
      <${LinkBadge} link=${view.link} phase=${view.phase} />
    </header>
    ${view.phase === "loading" ? html`<p class="muted">${t("opening")}</p>` : null}
    ${view.phase === "failed" ? html`<h1>${t("cantOpen")}</h1><p>${view.failure}</p>` : null}
    ${micStep && voice && voiceState
      ? html`<${MicStep} state=${voiceState} resumed=${view.phase === "interview"} onEnable=${() => voice.enableMic()} onChoose=${chooseAnswers} />`
      : null}
    ${view.phase === "consent" && joined && !micStep ? html`<${Consent} text=${joined.consentText ?? ""} voice=${isVoice} onAnswer=${(granted: boolean) => {
      if (granted && isVoice && answerBy === null) return setMicStepFor("consent");
      c?.send({ type: "consent", granted });
      if (granted) c?.send({ type: "start" });
    }} />` : null}
    ${view.phase === "ready" && !micStep ? html`<${Ready} total=${view.total} voice=${isVoice} onStart=${() => (isVoice && answerBy === null ? setMicStepFor("start") : c?.send({ type: "start" }))} />` : null}
    ${view.phase === "interview" && view.question && !micStep && speaking && voiceState
      ? html`<${VoiceQuestion} view=${view} voice=${voice!} state=${voiceState} link=${view.link}
          onType=${() => chooseAnswers("text")}
          onPause=${() => {
            voice!.hold();
            c?.send({ type: "pause", reason: "participant break" });
          }} />`
      : null}
    ${view.phase === "interview" && view.question && !micStep && !speaking ? html`<${Question} view=${view} sessionId=${joined?.sessionId ?? ""} onAnswer=${(text: string) => {
      const seq = view.question!.seq;
      const id = answerIdFor(seq);
      // The question's seq goes with the answer: if the interview moved on (another tab), it is refused, not misfiled.
      c?.answer(id, text, seq);
      dispatch({ type: "sent" });
    }} onPause=${() => c?.send({ type: "pause", reason: "participant break" })} onStop=${stop}
      onListen=${isVoice ? () => voice!.listen({ seq: view.question!.seq, index: view.question!.index, text: view.question!.text, audio: view.question!.audio }) : undefined}
      onUseMic=${isVoice ? async () => {
        if (await voice!.enableMic()) setAnswerBy("voice");
      } : undefined}
      voiceNote=${isVoice ? voiceState?.micMessage ?? null : null} />` : null}
    ${view.phase === "interview" && !view.question && !micStep ? html`<p class="muted">${t("preparingFirst")}</p>` : null}
    ${view.phase === "paused" ? html`<${Paused} by=${view.pausedBy} onResume=${() => c?.send({ type: "resume" })} onStop=${stop} />` : null}
    ${view.phase === "ended"
      ? html`<${Ended} status=${view.endedStatus} reason=${view.endedReason} />
          ${view.endedShared
            ? html`<div class="actions"><button class="primary" onClick=${() => (keepSession(token, null), location.reload())}>${t("startInterview")}</button></div>`
            : null}`
      : null}
  </main>`;
}

function LinkBadge({ link, phase }: { link: View["link"]; phase: View["phase"] }) {
  if (phase === "failed" || phase === "ended" || link === "open") return null;
  const label = link === "reconnecting" ? t("reconnecting") : link === "connecting" ? t("connecting") : t("offline");
  return html`<span class="badge warn" role="status">${label}</span>`;
}

function Consent({ text, voice, onAnswer }: { text: string; voice?: boolean; onAnswer: (granted: boolean) => void }) {
  return html`<section>
    <h1>${t("beforeBegin")}</h1>
    <p class="consent">${text}</p>
    ${voice ? html`<p class="muted small">${t("spokenConsentNote")}</p>` : null}
    <div class="actions">
      <button class="primary" onClick=${() => onAnswer(true)} autofocus>${t("agree")}</button>
      <button class="ghost" onClick=${() => onAnswer(false)}>${t("noThanks")}</button>
    </div>
  </section>`;
}

function Ready({ total, voice, onStart }: { total: number; voice?: boolean; onStart: () => void }) {
  // A ref, not autofocus: Chromium honours autofocus once per document (the consent button may have used it).
  const primary = useFocus<HTMLButtonElement>("ready");
  return html`<section>
    <h1>${t("welcome")}</h1>
    <p>${tn("questionsCount", total)} ${voice ? t("answerAloudOwnWords") : t("answerOwnWords")}</p>
    <div class="actions"><button class="primary" ref=${primary} onClick=${onStart}>${t("startInterview")}</button></div>
  </section>`;
}

function Question({
  view,
  sessionId,
  onAnswer,
  onPause,
  onStop,
  onListen,
  onUseMic,
  voiceNote,
}: {
  view: View;
  sessionId: string;
  onAnswer: (t: string) => void;
  onPause: () => void;
  onStop: () => void;
  onListen?: () => void;
  onUseMic?: () => void;
  voiceNote?: string | null;
}) {
  const q = view.question!;
  // The half-typed answer survives a pause (this component unmounts), a resume and a reload.
  const [text, setText] = useState(() => loadDraft(sessionId, q.seq));
  const box = useRef<HTMLTextAreaElement>(null);
  const shown = useRef(q.seq);
  useEffect(() => {
    if (shown.current !== q.seq) setText(loadDraft(sessionId, q.seq));
    shown.current = q.seq;
    box.current?.focus();
  }, [q.seq]);
  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!hasVisibleText(text) || view.waiting) return;
    onAnswer(text.trim());
  };
  const pct = Math.round((Math.min(q.index, view.total) / Math.max(1, view.total)) * 100);
  const counting = text.length >= COUNT_FROM;
  return html`<section>
    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${view.total} aria-valuenow=${q.index + 1} aria-label=${t("progress")}>
      <div class="bar" style=${`width:${pct}%`}></div>
    </div>
    <p class="muted step">${t("questionOf", { n: q.index + 1, total: view.total })}${q.followUp ? ` · ${t("followUp")}` : ""}</p>
    <h1 class="question" id="q">${q.text}</h1>
    ${onListen
      ? html`<div class="voice-tools">
          <button class="ghost small-btn" type="button" onClick=${onListen}><${SpeakerIcon} /> ${t("hearQuestion")}</button>
          ${onUseMic ? html`<button class="ghost small-btn" type="button" onClick=${onUseMic}><${MicIcon} /> ${t("answerAloud")}</button>` : null}
        </div>
        ${voiceNote ? html`<p class="muted small" role="status">${voiceNote} ${t("answeringByTyping")}</p>` : null}`
      : null}
    <form onSubmit=${submit}>
      <label for="answer" class="sr">${t("yourAnswer")}</label>
      <textarea id="answer" dir="auto" ref=${box} rows="5" aria-describedby=${counting ? "q hint count" : "q hint"} value=${text} disabled=${view.waiting} maxlength=${MAX_ANSWER}
        onInput=${(e: Event) => {
          const value = (e.target as HTMLTextAreaElement).value;
          setText(value);
          saveDraft(sessionId, q.seq, value);
        }}
        onKeyDown=${(e: KeyboardEvent) => {
          // Enter that confirms an IME composition (Japanese, Chinese, Korean…) is not "send".
          // On a touch screen Return is the only way to a new line (no Shift): the button sends.
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229 && !TOUCH()) submit(e);
        }}></textarea>
      <div class="answer-foot">
        ${TOUCH() ? null : html`<p id="hint" class="muted small">${t("enterHint")}</p>`}
        ${counting ? html`<p id="count" class=${`small char-count${text.length >= MAX_ANSWER ? " at-limit" : ""}`} aria-live="polite">${count(text.length)} / ${count(MAX_ANSWER)}</p>` : null}
      </div>
      <div class="actions">
        <button class="primary" type="submit" disabled=${!hasVisibleText(text) || view.waiting}>${view.waiting ? t("sending") : t("sendAnswer")}</button>
        <button class="ghost" type="button" onClick=${onPause}>${t("pause")}</button>
        <button class="ghost stop" type="button" data-testid="stop" onClick=${onStop}>${t("stopInterview")}</button>
      </div>
      ${view.notice
        ? view.noticeError
          ? html`<p class="notice error" role="alert">${view.notice}</p>`
          : html`<p class="notice" role="status">${view.notice}</p>`
        : null}
    </form>
  </section>`;
}

/** Small inline icons (emoji are missing from many systems' fonts). */
const MicIcon = () =>
  html`<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"/></svg>`;
const SpeakerIcon = () =>
  html`<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M3 9v6h4l5 5V4L7 9H3Zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.47 4.47 0 0 0 2.5-4ZM14 3.23v2.06a7 7 0 0 1 0 13.42v2.06a9 9 0 0 0 0-17.54Z"/></svg>`;

/** The words of a length-limit notice. */
const limitText = (n: LimitNotice) => (n.kind === "minute" ? t("limitMinute") : t("limitCountdown", { time: clock(n.seconds) }));

function Level({ level, label }: { level: number; label: string }) {
  const pct = Math.round(level * 100);
  return html`<div class="level" role="meter" aria-label=${label} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${pct}>
    <div class="level-fill" style=${`width:${pct}%`}></div>
  </div>`;
}

/** Focuses the element when `key` changes (the primary action of each step, for keyboard users). */
function useFocus<T extends HTMLElement>(key: unknown) {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [key]);
  return ref;
}

function MicStep({ state, resumed, onEnable, onChoose }: { state: VoiceState; resumed: boolean; onEnable: () => Promise<boolean>; onChoose: (by: "voice" | "text") => void }) {
  const primary = useFocus<HTMLButtonElement>(state.mic);
  // "Can't hear you" only after a few seconds of silence with the microphone on.
  const [quietSince, setQuietSince] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.mic !== "on") return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [state.mic]);
  useEffect(() => {
    if (state.level > HEARD_LEVEL) setQuietSince(null);
    else if (quietSince === null) setQuietSince(Date.now());
  }, [state.level]);
  const quiet = state.mic === "on" && quietSince !== null && now - quietSince > 4_000;
  const go = resumed ? t("continueInterview") : t("startInterview");
  return html`<section class="mic-step" data-testid="mic-step">
    <h1>${state.mic === "failed" ? t("micCantUse") : t("micCheck")}</h1>
    ${state.mic === "off" || state.mic === "asking"
      ? html`<p>${resumed ? `${t("welcomeBack")} ` : ""}${t("spokenIntro")}</p>
          <p class="muted small">${t("permissionNote")}</p>
          <div class="actions">
            <button class="primary" ref=${primary} disabled=${state.mic === "asking"} onClick=${() => void onEnable()}>${state.mic === "asking" ? t("waitingPermission") : t("turnOnMic")}</button>
            <button class="ghost" onClick=${() => onChoose("text")}>${t("ratherType")}</button>
          </div>`
      : null}
    ${state.mic === "on"
      ? html`<p>${t("sayAFewWords")}</p>
          <${Level} level=${state.level} label=${t("micLevel")} />
          <p class="muted small" role="status">${quiet ? t("cantHearYet") : t("micIsOn")}</p>
          <div class="actions">
            <button class="primary" ref=${primary} onClick=${() => onChoose("voice")}>${go}</button>
            <button class="ghost" onClick=${() => onChoose("text")}>${t("typeAnswersInstead")}</button>
          </div>`
      : null}
    ${state.mic === "failed"
      ? html`<div class="alert" role="alert">
            <p><strong>${state.micMessage}</strong></p>
            <p>${state.micFailure === "denied"
              ? t("allowMic")
              : state.micFailure === "missing"
                ? t("connectMic")
                : t("tryAgainOrBrowser")}</p>
          </div>
          <p>${t("stillTakePart")}</p>
          <div class="actions">
            <button class="primary" ref=${primary} onClick=${() => onChoose("text")}>${t("continueByTyping")}</button>
            <button class="ghost" onClick=${() => void onEnable()}>${t("tryMicAgain")}</button>
          </div>`
      : null}
  </section>`;
}

function VoiceQuestion({ view, voice, state, link, onPause, onType }: { view: View; voice: VoiceController; state: VoiceState; link: View["link"]; onPause: () => void; onType: () => void }) {
  const q = view.question!;
  const primary = useFocus<HTMLButtonElement>(`${q.seq}-${state.stage}-${state.prompt}`);
  const pct = Math.round((Math.min(q.index, view.total) / Math.max(1, view.total)) * 100);
  const offline = link !== "open";
  const stage = state.seq === q.seq ? state.stage : "prompt";
  // Near the length limit: shown as it counts down, told to screen readers only at 60, 15 and 5 s to go.
  const limit = stage === "recording" || stage === "held" ? limitNotice(state.secondsLeft) : null;
  const limitSpoken = stage === "recording" || stage === "held" ? limitAnnouncement(state.secondsLeft) : null;
  return html`<section class="voice" data-testid="voice-question" data-stage=${stage} data-prompt=${state.prompt ?? ""} data-seconds=${state.seq === q.seq ? state.seconds : 0}>
    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${view.total} aria-valuenow=${q.index + 1} aria-label=${t("progress")}>
      <div class="bar" style=${`width:${pct}%`}></div>
    </div>
    <p class="muted step">${t("questionOf", { n: q.index + 1, total: view.total })}${q.followUp ? ` · ${t("followUp")}` : ""}</p>
    <h1 class="question" id="q">${q.text}</h1>

    ${stage === "prompt"
      ? html`<div class="voice-panel">
          ${state.prompt === "blocked"
            ? html`<p class="voice-status">${t("pressPlay")}</p>
                <div class="actions">
                  <button class="primary" ref=${primary} onClick=${() => void voice.playPrompt(true)}>▶ ${t("playQuestion")}</button>
                  <button class="ghost" onClick=${() => voice.answerNow()}>${t("answerNow")}</button>
                </div>`
            : html`<p class="voice-status"><span class=${`speaker-icon${state.speaking ? " on" : ""}`}><${SpeakerIcon} /></span><span>${state.prompt === "loading" ? t("gettingQuestionReady") : t("readingAloud")} ${t("recordingStartsAfter")}</span></p>
                <div class="actions">
                  <button class="primary" ref=${primary} onClick=${() => voice.answerNow()}>${t("answerNow")}</button>
                  <button class="ghost" onClick=${onType}>${t("typeInstead")}</button>
                </div>`}
        </div>`
      : null}

    ${stage === "recording" || stage === "held"
      ? html`<div class=${`voice-panel rec${stage === "held" ? " held" : ""}`}>
          <div class="rec-row" aria-live="off">
            <span class="rec-dot" aria-hidden="true"></span>
            <span class="rec-label">${stage === "held" ? t("recordingPaused") : t("recording")}</span>
            <span class="rec-time" data-testid="rec-time">${clock(state.seconds)}</span>
          </div>
          ${limit
            ? html`<p class=${`limit-notice${limit.kind === "countdown" ? " urgent" : ""}`} data-testid="limit-notice" aria-hidden="true">${limitText(limit)}</p>`
            : null}
          <p class="sr" role="status" data-testid="limit-status">${limitSpoken ? limitText(limitSpoken) : ""}</p>
          <${Level} level=${stage === "held" ? 0 : state.level} label=${t("voiceLevel")} />
          <p class="muted small">${stage === "held"
            ? t("heldHint")
            : offline
              ? t("offlineHint")
              : t("recordHint")}</p>
          ${state.notice ? html`<p class="notice warn-text" role="status">${state.notice}</p>` : null}
          <div class="actions">
            ${stage === "held" ? html`<button class="primary" ref=${primary} onClick=${() => voice.continueAnswer()}>${t("continueAnswering")}</button>` : null}
            <button class=${stage === "held" ? "ghost" : "primary"} ref=${stage === "held" ? undefined : primary} onClick=${() => void voice.done()}>${t("done")}</button>
            ${stage === "recording" ? html`<button class="ghost" type="button" onClick=${onPause}>${t("pause")}</button>` : null}
          </div>
        </div>`
      : null}

    ${stage === "finishing"
      ? html`<div class="voice-panel"><p class="voice-status" role="status"><span class="spin" aria-hidden="true"></span> ${offline ? t("waitingToSave") : t("savingAnswer")}</p></div>`
      : null}
    ${stage === "unheard"
      ? html`<div class="voice-panel unheard" data-testid="unheard">
          <p class="voice-status warn-text" id="unheard-msg" role="status"><strong>${t("unheardAnswer")}</strong></p>
          <p class="muted small">${t("unheardHint")}</p>
          <${Level} level=${state.level} label=${t("micLevel")} />
          <div class="actions">
            <button class="primary" ref=${primary} aria-describedby="unheard-msg" onClick=${() => voice.recordAgain()}>${t("recordAgain")}</button>
            <button class="ghost" aria-describedby="unheard-msg" onClick=${() => voice.sendAnyway()}>${t("sendAnyway")}</button>
          </div>
        </div>`
      : null}
    ${stage === "elsewhere"
      ? html`<div class="voice-panel elsewhere" data-testid="elsewhere">
          <p class="voice-status warn-text" id="elsewhere-msg" role="status"><strong>${t("recordingElsewhere")}</strong></p>
          <div class="actions">
            <button class="primary" ref=${primary} aria-describedby="elsewhere-msg" onClick=${() => voice.recordHere()}>${t("recordHereInstead")}</button>
          </div>
        </div>`
      : null}
    ${stage === "saved"
      ? html`<div class="voice-panel"><p class="voice-status ok-text" role="status">✓ ${state.finishedAtLimit
          ? t("answerSavedAtLimit")
          : state.seconds
            ? t("answerSavedTimedNext", { time: clock(state.seconds) })
            : t("answerSavedNext")}</p></div>`
      : null}
    ${stage === "failed"
      ? html`<div class="voice-panel"><p class="alert" role="alert">${state.notice}</p>
          <div class="actions"><button class="primary" ref=${primary} onClick=${onType}>${t("typeMyAnswer")}</button></div></div>`
      : null}
    <p class="sr" role="status">${stage === "recording" ? t("recordingYourAnswer") : stage === "saved" ? t("answerSaved") : ""}</p>
  </section>`;
}

function Paused({ by, onResume, onStop }: { by?: "participant" | "admin"; onResume: () => void; onStop: () => void }) {
  // Focus moves to Resume (or to the heading when only the team can resume), by ref: autofocus
  // works once per document in Chromium, and the consent button has usually used it.
  const primary = useFocus<HTMLButtonElement>(by);
  const heading = useFocus<HTMLHeadingElement>(by);
  return html`<section>
    <h1 tabindex="-1" ref=${by === "admin" ? heading : undefined}>${t("pausedTitle")}</h1>
    ${by === "admin"
      ? html`<p>${t("pausedByTeam")}</p>`
      : html`<p>${t("takeYourTime")}</p><div class="actions"><button class="primary" ref=${primary} onClick=${onResume}>${t("resumeInterview")}</button><button class="ghost stop" type="button" data-testid="stop" onClick=${onStop}>${t("stopInterview")}</button></div>`}
  </section>`;
}

function Ended({ status, reason }: { status?: string; reason?: string }) {
  if (reason === "data_deleted") {
    return html`<section><h1>${t("withdrawnTitle")}</h1><p>${t("withdrawnText")}</p></section>`;
  }
  // Stopping part-way keeps what was said so far: the page must not claim nothing was recorded.
  if (reason === "consent_withdrawn") {
    return html`<section><h1>${t("stoppedTitle")}</h1><p>${t("stoppedText")}</p></section>`;
  }
  if (reason === "consent_declined") {
    return html`<section><h1>${t("declinedTitle")}</h1><p>${t("declinedText")}</p></section>`;
  }
  if (status === "abandoned") {
    return html`<section><h1>${t("abandonedTitle")}</h1><p>${t("abandonedText")}</p></section>`;
  }
  return html`<section><h1>${t("thanksTitle")}</h1><p>${t("thanksText")}</p></section>`;
}

/** A touch screen without a fine pointer (a phone keyboard has no Shift+Enter). */
const TOUCH = () => typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches && !matchMedia("(any-pointer: fine)").matches;

const count = (n: number) => new Intl.NumberFormat(document.documentElement.lang || undefined).format(n);

function deviceInfo() {
  const ua = navigator.userAgent;
  const os = /Android/i.test(ua) ? "Android" : /iPhone|iPad/i.test(ua) ? "iOS" : /Windows/i.test(ua) ? "Windows" : /Mac OS/i.test(ua) ? "macOS" : /Linux/i.test(ua) ? "Linux" : "other";
  const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox" : /Safari\//.test(ua) ? "Safari" : "other";
  const deviceType = /Mobi|iPhone|Android/i.test(ua) ? "mobile" : /iPad|Tablet/i.test(ua) ? "tablet" : "desktop";
  return { userAgent: ua.slice(0, 500), browser, os, deviceType };
}

// This browser's session of a link, so that a reload or a reopened tab resumes it. A shared link
// (one panel link for many people) resumes only for the browser holding it; see POST /v1/join.
type Resume = { sessionId: string; participantToken: string };
const resumeKey = (token: string) => `interviewrelay:resume:${token}`;
function keptSession(token: string): Resume | null {
  try {
    const r = JSON.parse(localStorage.getItem(resumeKey(token)) ?? "null") as Resume | null;
    return r && typeof r.sessionId === "string" && typeof r.participantToken === "string" ? r : null;
  } catch {
    return null; // storage blocked (private mode) or damaged: the link still works as a new open
  }
}
function keepSession(token: string, r: Resume | null) {
  try {
    if (r) localStorage.setItem(resumeKey(token), JSON.stringify(r));
    else localStorage.removeItem(resumeKey(token));
  } catch {
    // storage blocked: nothing to keep
  }
}

/** POST /v1/join; the first call starts as soon as the script runs, before the first render. */
let early: Promise<Response> | null = null;
function joinRequest(token: string | null): Promise<Response> {
  if (early) {
    const p = early;
    early = null;
    return p;
  }
  // A link cut off mid-escape (%E0%A4%A) is no token at all: it is answered as an unknown one.
  if (token === null) return Promise.resolve(new Response(JSON.stringify({ error: { code: "INVITE_NOT_FOUND", message: "malformed link" } }), { status: 404, headers: { "Content-Type": "application/json" } }));
  const resume = keptSession(token);
  return fetch("/v1/join", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token, device: deviceInfo(), ...(resume ? { resume } : {}) }) });
}

/** The link's token, or null when its percent-escapes are malformed. */
function linkToken(): string | null {
  try {
    return decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
  } catch {
    return null;
  }
}
const token = linkToken();
early = joinRequest(token);
early.catch(() => undefined); // handled where it is awaited
render(html`<${App} token=${token ?? ""} />`, document.getElementById("app")!);
