// The session's recording for the roles that may hear it (owner, admin): one <audio> element on
// the assembled WAV (the cookie authenticates it; Range requests let it seek), playback speed,
// "skip to answer" from the manifest, downloads, and which transcript line is playing now.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, get } from "../api";
import { fmtOffset, isLive } from "../format";
import { html } from "../html";
import type { Segment, Session } from "../types";
import { ErrorState, Loading } from "../ui";

export interface ManifestAnswer {
  answerId: string;
  questionIndex: number;
  offsetMs: number;
  durationMs: number;
  sessionMs?: number;
}

export interface AudioManifest {
  sessionId: string;
  track: string;
  durationMs: number;
  answers: ManifestAnswer[];
}

export const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];
const NO_ANSWERS: ManifestAnswer[] = [];

/**
 * Which transcript segment each recorded answer became: the k-th recording of a question is the
 * k-th spoken participant segment of that question (answer, then its follow-ups, in order).
 */
export function answerSegments(answers: ManifestAnswer[], segments: Segment[]): Map<string, Segment> {
  const participant = segments.filter((s) => s.speaker === "participant");
  const spoken = participant.some((s) => s.speech) ? participant.filter((s) => s.speech) : participant;
  const byQuestion = new Map<number, Segment[]>();
  for (const s of spoken) {
    const list = byQuestion.get(s.questionIndex) ?? [];
    list.push(s);
    byQuestion.set(s.questionIndex, list);
  }
  const out = new Map<string, Segment>();
  for (const a of answers) {
    const next = byQuestion.get(a.questionIndex)?.shift();
    if (next) out.set(a.answerId, next);
  }
  return out;
}

/** The answer playing at `ms` into the track, if any (gaps between answers belong to none). */
export function answerAt(answers: ManifestAnswer[], ms: number): ManifestAnswer | null {
  for (const a of answers) if (ms >= a.offsetMs && ms < a.offsetMs + a.durationMs) return a;
  return null;
}

export interface PlayerHandle {
  /** Plays the recording of the answer that became transcript segment `seq`. */
  playSegment(seq: number): void;
  /** Transcript segments that have a recording. */
  playable: Set<number>;
}

export function AudioPanel({
  session,
  segments,
  onPlaying,
  onReady,
}: {
  session: Session;
  segments: Segment[];
  onPlaying: (seq: number | null) => void;
  onReady: (h: PlayerHandle | null) => void;
}) {
  const [manifest, setManifest] = useState<AudioManifest | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [gen, setGen] = useState(0);
  const [speed, setSpeed] = useState(1);
  const [current, setCurrent] = useState<string | null>(null);
  const [broken, setBroken] = useState(false);
  const audio = useRef<HTMLAudioElement>(null);
  const pendingSeek = useRef<number | null>(null);
  const lastManifest = useRef<AudioManifest | null>(null);
  const live = isLive(session.status);
  const base = `/v1/sessions/${encodeURIComponent(session.id)}`;
  const src = `${base}/audio?track=participant&format=wav`;

  // The manifest, again whenever a new participant line appears (a live session's recording grows).
  const spokenCount = segments.filter((s) => s.speaker === "participant").length;
  useEffect(() => {
    const ctl = new AbortController();
    const t = setTimeout(() => {
      get<AudioManifest>(`${base}/audio/manifest?track=participant`, ctl.signal).then(
        (m) => {
          const old = lastManifest.current;
          lastManifest.current = m;
          setError(null);
          setManifest(m);
          // A grown recording: reload the element unless it is playing (it keeps the length it loaded).
          if (old && m.durationMs !== old.durationMs && audio.current?.paused) {
            setBroken(false);
            audio.current.load();
          }
        },
        (e) => {
          if ((e as Error)?.name !== "AbortError") setError(e);
        },
      );
    }, manifest ? 400 : 0);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [session.id, spokenCount, session.status, gen]);

  // Stable while loading: a fresh [] each render would re-run the effects below in a loop.
  const answers = manifest?.answers ?? NO_ANSWERS;
  const bySegment = useMemo(() => answerSegments(answers, segments), [answers, segments]);

  const seek = (a: ManifestAnswer) => {
    const el = audio.current;
    if (!el) return;
    const to = a.offsetMs / 1000 + 0.001;
    // Before metadata has loaded, a seek is remembered and applied when it has.
    if (el.readyState < 1) {
      pendingSeek.current = to;
      el.load();
    } else el.currentTime = to;
    setCurrent(a.answerId);
    void el.play().catch(() => undefined);
  };

  useEffect(() => {
    const playable = new Set<number>();
    for (const s of bySegment.values()) playable.add(s.seq);
    onReady({
      playable,
      playSegment: (seq) => {
        for (const [answerId, s] of bySegment) if (s.seq === seq) return seek(answers.find((a) => a.answerId === answerId)!);
      },
    });
    return () => onReady(null);
  }, [bySegment]);

  useEffect(() => {
    onPlaying(current ? (bySegment.get(current)?.seq ?? null) : null);
  }, [current, bySegment]);

  useEffect(() => {
    if (audio.current) audio.current.playbackRate = speed;
  }, [speed]);

  const onTime = () => {
    const el = audio.current;
    if (!el) return;
    const a = answerAt(answers, el.currentTime * 1000);
    const id = a?.answerId ?? null;
    if (id !== current) setCurrent(id);
  };

  if (error && !manifest) {
    return html`<section class="panel" data-testid="audio-panel"><h2 class="panel-title">Recording</h2>${
      error instanceof ApiError && error.status === 404 ? html`<p class="muted">No recording for this session.</p>` : html`<${ErrorState} error=${error} retry=${() => setGen((g) => g + 1)} />`
    }</section>`;
  }
  if (!manifest) return html`<section class="panel" data-testid="audio-panel"><h2 class="panel-title">Recording</h2><${Loading} label="Loading the recording…" /></section>`;

  return html`<section class="panel player" data-testid="audio-panel">
    <div class="panel-head">
      <h2 class="panel-title">Recording</h2>
      ${answers.length ? html`<span class="muted small" data-testid="audio-duration">${fmtOffset(manifest.durationMs)} · ${answers.length} answer${answers.length === 1 ? "" : "s"}</span>` : null}
    </div>
    ${!answers.length
      ? html`<p class="muted">${live ? "No spoken answer has been recorded yet. Answers appear here as they are saved." : "This session has no recorded answers."}</p>`
      : html`
        ${broken ? html`<p class="form-error" role="alert">The recording could not be played. <button class="btn btn-small" onClick=${() => (setBroken(false), audio.current?.load())}>Retry</button></p>` : null}
        <audio ref=${audio} controls preload="metadata" src=${src} class="audio" data-testid="audio-player"
          onTimeUpdate=${onTime} onSeeked=${onTime}
          onLoadedMetadata=${() => {
            const el = audio.current!;
            el.playbackRate = speed;
            if (pendingSeek.current !== null) {
              el.currentTime = pendingSeek.current;
              pendingSeek.current = null;
            }
          }}
          onRateChange=${() => audio.current && audio.current.playbackRate !== speed && SPEEDS.includes(audio.current.playbackRate) && setSpeed(audio.current.playbackRate)}
          onError=${() => setBroken(true)}></audio>
        <div class="player-row">
          <label class="speed">
            <span>Speed</span>
            <select data-testid="speed" value=${String(speed)} onChange=${(e: Event) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
              ${SPEEDS.map((s) => html`<option value=${String(s)}>${s}×</option>`)}
            </select>
          </label>
          <span class="downloads">Download
            <a href=${`${base}/audio?track=participant&format=wav`} download=${`${session.id}.wav`} data-testid="download-wav">WAV</a>
            <a href=${`${base}/audio?track=participant&format=mp3`} download=${`${session.id}.mp3`} data-testid="download-mp3">MP3</a>
          </span>
        </div>
        <div class="skip-list" role="group" aria-label="Skip to an answer">
          ${answers.map((a) => {
            const seg = bySegment.get(a.answerId);
            const on = current === a.answerId;
            return html`<button key=${a.answerId} type="button" class=${`skip-btn${on ? " on" : ""}`} aria-pressed=${on} data-testid="skip-answer"
              title=${`Play the answer to question ${a.questionIndex + 1}`} onClick=${() => seek(a)}>
              <span class="skip-q">▶ Q${a.questionIndex + 1}${seg?.followUp ? " · follow-up" : ""}</span>
              <span class="skip-at" aria-label=${`from ${fmtOffset(a.offsetMs)} to ${fmtOffset(a.offsetMs + a.durationMs)}`}>${fmtOffset(a.offsetMs)}–${fmtOffset(a.offsetMs + a.durationMs)}</span>
            </button>`;
          })}
        </div>`}
  </section>`;
}
