// The participant's interview page (/i/{token}): consent, the questions one at a time, pause,
// automatic reconnection that resumes exactly where it was, and a thank-you screen.
import { h, render } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import htm from "htm";
import { ParticipantConnection, type ServerFrame } from "./connection";

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
}

interface View {
  phase: "loading" | "failed" | "consent" | "ready" | "interview" | "paused" | "ended";
  failure?: string;
  status?: string;
  question?: { index: number; text: string; followUp: boolean; seq: number };
  total: number;
  questionIndex: number;
  waiting: boolean;
  pausedBy?: "participant" | "admin";
  endedReason?: string;
  endedStatus?: string;
  notice?: string;
  link: "connecting" | "open" | "reconnecting" | "closed";
}

type Action = { type: "joined"; joined: Joined } | { type: "failed"; message: string } | { type: "frame"; frame: ServerFrame } | { type: "link"; link: View["link"] } | { type: "sent" } | { type: "notice"; text?: string };

const FAILURES: Record<string, string> = {
  INVITE_NOT_FOUND: "This interview link is not valid. Please check the link you were sent.",
  INVITE_EXPIRED: "This interview link has expired. Please contact the research team for a new one.",
  INVITE_USED: "This interview has already been completed. Thank you for taking part!",
};

function reducer(v: View, a: Action): View {
  switch (a.type) {
    case "joined": {
      const j = a.joined;
      return { ...v, total: j.totalQuestions, status: j.status, phase: j.status === "created" ? (j.consentRequired ? "consent" : "ready") : v.phase };
    }
    case "failed":
      return { ...v, phase: "failed", failure: a.message };
    case "link":
      return { ...v, link: a.link };
    case "sent":
      return { ...v, waiting: true, notice: undefined };
    case "notice":
      return { ...v, notice: a.text };
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
          return { ...v, question: { index: f.index, text: f.text, followUp: f.followUp, seq: f.seq }, questionIndex: f.index, waiting: false, phase: v.phase === "paused" ? "paused" : "interview" };
        case "ack":
          return { ...v, notice: "Saved" };
        case "paused":
          return { ...v, phase: "paused", pausedBy: f.by };
        case "resumed":
          return { ...v, phase: "interview", pausedBy: undefined };
        case "ended":
          return { ...v, phase: "ended", endedReason: f.reason, endedStatus: f.status };
        case "error":
          return { ...v, waiting: false, notice: f.message };
        default:
          return v;
      }
    }
  }
}

function App({ token }: { token: string }) {
  const [view, dispatch] = useReducer(reducer, { phase: "loading", total: 0, questionIndex: 0, waiting: false, link: "connecting" });
  const [joined, setJoined] = useState<Joined | null>(null);
  const conn = useRef<ParticipantConnection | null>(null);

  useEffect(() => {
    let cancelled = false;
    const join = async (): Promise<Joined | null> => {
      const res = await joinRequest(token);
      const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      if (res.status !== 201) {
        dispatch({ type: "failed", message: FAILURES[body?.error?.code ?? ""] ?? body?.error?.message ?? "Something went wrong. Please reload the page." });
        return null;
      }
      return body as unknown as Joined;
    };
    (async () => {
      const j = await join().catch(() => {
        dispatch({ type: "failed", message: "We could not reach the interview service. Check your connection and reload the page." });
        return null;
      });
      if (!j || cancelled) return;
      setJoined(j);
      dispatch({ type: "joined", joined: j });
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const c = new ParticipantConnection({
        url: `${proto}//${location.host}/v1/sessions/${j.sessionId}/connect?token=${encodeURIComponent(j.participantToken)}`,
        // A fresh page replays every frame from the start and rebuilds the screen from them.
        lastSeq: 0,
        onFrame: (frame) => dispatch({ type: "frame", frame }),
        onStatus: (link, attempt) => {
          dispatch({ type: "link", link });
          // After repeated failures, ask the service whether the session still exists.
          if (link === "reconnecting" && attempt === 4) void join();
        },
      });
      conn.current = c;
      c.connect();
    })();
    const onHide = () => conn.current?.leave();
    window.addEventListener("pagehide", onHide);
    return () => {
      cancelled = true;
      window.removeEventListener("pagehide", onHide);
      conn.current?.stop();
    };
  }, [token]);

  const c = conn.current;
  return html`<main class="card" aria-live="polite">
    <header class="top">
      <span class="brand">InterviewRelay</span>
      ${joined ? html`<span class="campaign">${joined.campaignName}</span>` : null}
      <${LinkBadge} link=${view.link} phase=${view.phase} />
    </header>
    ${view.phase === "loading" ? html`<p class="muted">Opening your interview…</p>` : null}
    ${view.phase === "failed" ? html`<h1>We can't open this interview</h1><p>${view.failure}</p>` : null}
    ${view.phase === "consent" && joined ? html`<${Consent} text=${joined.consentText ?? ""} onAnswer=${(granted: boolean) => {
      c?.send({ type: "consent", granted });
      if (granted) c?.send({ type: "start" });
    }} />` : null}
    ${view.phase === "ready" ? html`<${Ready} total=${view.total} onStart=${() => c?.send({ type: "start" })} />` : null}
    ${view.phase === "interview" && view.question ? html`<${Question} view=${view} onAnswer=${(text: string) => {
      const id = `ans-${view.question!.seq}-${Math.random().toString(36).slice(2, 8)}`;
      c?.answer(id, text);
      dispatch({ type: "sent" });
    }} onPause=${() => c?.send({ type: "pause", reason: "participant break" })} />` : null}
    ${view.phase === "interview" && !view.question ? html`<p class="muted">Preparing the first question…</p>` : null}
    ${view.phase === "paused" ? html`<${Paused} by=${view.pausedBy} onResume=${() => c?.send({ type: "resume" })} />` : null}
    ${view.phase === "ended" ? html`<${Ended} status=${view.endedStatus} reason=${view.endedReason} />` : null}
  </main>`;
}

function LinkBadge({ link, phase }: { link: View["link"]; phase: View["phase"] }) {
  if (phase === "failed" || phase === "ended" || link === "open") return null;
  const label = link === "reconnecting" ? "Reconnecting…" : link === "connecting" ? "Connecting…" : "Offline";
  return html`<span class="badge warn" role="status">${label}</span>`;
}

function Consent({ text, onAnswer }: { text: string; onAnswer: (granted: boolean) => void }) {
  return html`<section>
    <h1>Before we begin</h1>
    <p class="consent">${text}</p>
    <div class="actions">
      <button class="primary" onClick=${() => onAnswer(true)} autofocus>I agree, start the interview</button>
      <button class="ghost" onClick=${() => onAnswer(false)}>No, thanks</button>
    </div>
  </section>`;
}

function Ready({ total, onStart }: { total: number; onStart: () => void }) {
  return html`<section>
    <h1>Welcome</h1>
    <p>There are ${total} questions. Answer in your own words; there are no right or wrong answers.</p>
    <div class="actions"><button class="primary" onClick=${onStart} autofocus>Start the interview</button></div>
  </section>`;
}

function Question({ view, onAnswer, onPause }: { view: View; onAnswer: (t: string) => void; onPause: () => void }) {
  const [text, setText] = useState("");
  const box = useRef<HTMLTextAreaElement>(null);
  const q = view.question!;
  useEffect(() => {
    setText("");
    box.current?.focus();
  }, [q.seq]);
  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!text.trim() || view.waiting) return;
    onAnswer(text.trim());
  };
  const pct = Math.round((Math.min(q.index, view.total) / Math.max(1, view.total)) * 100);
  return html`<section>
    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${view.total} aria-valuenow=${q.index + 1} aria-label="Progress">
      <div class="bar" style=${`width:${pct}%`}></div>
    </div>
    <p class="muted step">Question ${q.index + 1} of ${view.total}${q.followUp ? " · follow-up" : ""}</p>
    <h1 class="question" id="q">${q.text}</h1>
    <form onSubmit=${submit}>
      <label for="answer" class="sr">Your answer</label>
      <textarea id="answer" ref=${box} rows="5" aria-describedby="q hint" value=${text} disabled=${view.waiting}
        onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown=${(e: KeyboardEvent) => {
          if (e.key === "Enter" && !e.shiftKey) submit(e);
        }}></textarea>
      <p id="hint" class="muted small">Press Enter to send, Shift+Enter for a new line.</p>
      <div class="actions">
        <button class="primary" type="submit" disabled=${!text.trim() || view.waiting}>${view.waiting ? "Sending…" : "Send answer"}</button>
        <button class="ghost" type="button" onClick=${onPause}>Pause</button>
      </div>
      ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : null}
    </form>
  </section>`;
}

function Paused({ by, onResume }: { by?: "participant" | "admin"; onResume: () => void }) {
  return html`<section>
    <h1>Interview paused</h1>
    ${by === "admin"
      ? html`<p>The research team has paused this interview. It will continue here as soon as they resume it; you can keep this page open.</p>`
      : html`<p>Take your time. Your answers so far are saved.</p><div class="actions"><button class="primary" onClick=${onResume} autofocus>Resume the interview</button></div>`}
  </section>`;
}

function Ended({ status, reason }: { status?: string; reason?: string }) {
  if (reason === "consent_declined" || reason === "consent_withdrawn") {
    return html`<section><h1>No problem</h1><p>You chose not to take part, so nothing was recorded. You can close this page.</p></section>`;
  }
  if (status === "abandoned") {
    return html`<section><h1>This interview has ended</h1><p>The session was closed after a period of inactivity. Please contact the research team if you would like to continue.</p></section>`;
  }
  return html`<section><h1>Thank you!</h1><p>Your answers have been saved. You can close this page.</p></section>`;
}

function deviceInfo() {
  const ua = navigator.userAgent;
  const os = /Android/i.test(ua) ? "Android" : /iPhone|iPad/i.test(ua) ? "iOS" : /Windows/i.test(ua) ? "Windows" : /Mac OS/i.test(ua) ? "macOS" : /Linux/i.test(ua) ? "Linux" : "other";
  const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox" : /Safari\//.test(ua) ? "Safari" : "other";
  const deviceType = /Mobi|iPhone|Android/i.test(ua) ? "mobile" : /iPad|Tablet/i.test(ua) ? "tablet" : "desktop";
  return { userAgent: ua.slice(0, 500), browser, os, deviceType };
}

/** POST /v1/join; the first call starts as soon as the script runs, before the first render. */
let early: Promise<Response> | null = null;
function joinRequest(token: string): Promise<Response> {
  if (early) {
    const p = early;
    early = null;
    return p;
  }
  return fetch("/v1/join", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token, device: deviceInfo() }) });
}

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
early = joinRequest(token);
early.catch(() => undefined); // handled where it is awaited
render(html`<${App} token=${token} />`, document.getElementById("app")!);
