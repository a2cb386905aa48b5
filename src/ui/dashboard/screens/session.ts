// One session: overview, transcript with search, timeline, notes, and the controls the role allows
// (flag, reassign, pause / resume / end, audio, data deletion). Live sessions update as they happen.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, del, get, post } from "../api";
import { deviceLabel, eventLabel, fmtDateTime, fmtDuration, fmtOffset, fmtTime, isLive, participantLabel } from "../format";
import { html } from "../html";
import { LiveSocket, type LinkState } from "../live";
import { can } from "../roles";
import { navigate } from "../router";
import { useMe } from "../session-context";
import type { Campaign, LiveFrame, Note, Segment, Session, TimelineEvent, Transcript } from "../types";
import { useAnswerInsights, type AnswerInsight } from "./answer-insights";
import { Confirm, Empty, ErrorState, Highlight, InlineError, LinkBadge, Loading, Modal, PageHeader, Progress, StatusBadge, toast, useAsync, usePaged } from "../ui";
import { allCampaigns, useCampaign } from "./campaign-head";
import { RetentionPanel } from "./retention-panel";
import { hasVisibleText } from "../../../shared/text";
import { AudioPanel, type PlayerHandle } from "./audio-player";
import { InsightsPanel } from "./insights";
import { SessionExport } from "./exports";

export function SessionDetail({ params }: { params: { id: string } }) {
  const me = useMe();
  const role = me.principal.role;
  const id = params.id;
  const [session, setSession] = useState<Session | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [segments, setSegments] = useState<Segment[]>([]);
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [transcriptState, setTranscriptState] = useState<"loading" | "ready" | "error">("loading");
  const [transcriptError, setTranscriptError] = useState<unknown>(null);
  const [link, setLink] = useState<LinkState>("closed");
  const [gen, setGen] = useState(0);
  const { campaign } = useCampaign(session?.campaignId);
  const [playingSeq, setPlayingSeq] = useState<number | null>(null);
  const [player, setPlayer] = useState<PlayerHandle | null>(null);

  const canTranscript = can(role, "readTranscript");
  const insights = useAnswerInsights(id, segments, canTranscript);
  const refreshSession = () =>
    get<Session>(`/v1/sessions/${encodeURIComponent(id)}`).then(
      (s) => (setSession(s), setLoadError(null), s),
      (e) => (setLoadError(e), null),
    );
  const refreshTranscript = () => {
    if (!canTranscript) return Promise.resolve();
    return get<Transcript>(`/v1/sessions/${encodeURIComponent(id)}/transcript`).then(
      (t) => {
        setSegments((cur) => mergeSegments(cur, t.segments));
        setEvents(t.events ?? []);
        setTranscriptState("ready");
      },
      (e) => {
        setTranscriptError(e);
        setTranscriptState("error");
      },
    );
  };

  useEffect(() => {
    void refreshSession();
    void refreshTranscript();
  }, [id, gen]);

  // Live updates while the session can still change.
  const live = session ? isLive(session.status) : false;
  useEffect(() => {
    if (!live) return;
    if (can(role, "watchLive")) {
      let eventsTimer: ReturnType<typeof setTimeout> | null = null;
      const sock = new LiveSocket(
        `/v1/sessions/${encodeURIComponent(id)}/live`,
        (f: LiveFrame) => {
          if (f.type === "snapshot") {
            if (f.session) setSession((s) => (s ? { ...s, ...f.session, flagged: s.flagged, flagReason: s.flagReason, sentiment: s.sentiment } : f.session!));
            if (f.segments) setSegments((cur) => mergeSegments(cur, f.segments!));
          } else if (f.type === "segment") {
            setSegments((cur) => mergeSegments(cur, [f.segment]));
          } else if (f.type === "status") {
            setSession((s) => (s ? { ...s, status: f.status, questionsAnswered: f.questionsAnswered, totalQuestions: f.totalQuestions } : s));
            // Timeline events and the computed fields (duration, completion) come from the API.
            if (eventsTimer) clearTimeout(eventsTimer);
            eventsTimer = setTimeout(() => {
              void refreshTranscript();
              void refreshSession();
            }, 300);
          }
        },
        (state: LinkState) => {
          setLink(state);
          // The session's data was deleted meanwhile: the page shows "Session not found".
          if (state === "gone") void refreshSession();
        },
      ).start();
      return () => {
        sock.stop();
        if (eventsTimer) clearTimeout(eventsTimer);
        setLink("closed");
      };
    }
    const timer = setInterval(() => !document.hidden && void refreshSession(), 10_000);
    return () => clearInterval(timer);
  }, [id, live, role]);

  if (!session && loadError) {
    const notFound = loadError instanceof ApiError && loadError.status === 404;
    return html`<div class="page">${notFound
      ? html`<${Empty} title="Session not found">It may have been deleted, or it belongs to another organisation. <div class="mt"><a class="btn" href="/campaigns">Back to campaigns</a></div><//>`
      : html`<${ErrorState} error=${loadError} retry=${() => setGen((g) => g + 1)} />`}</div>`;
  }
  if (!session) return html`<div class="page"><${Loading} label="Loading the session…" /></div>`;

  const who = canTranscript && session.participant ? participantLabel(session.participant, "Participant") : "Participant";
  const title = canTranscript && session.participant && (session.participant.name || session.participant.email) ? who : "Session";
  return html`<div class="page" data-testid="session-page" data-status=${session.status}>
    <${PageHeader}
      crumbs=${html`<a href="/campaigns">Campaigns</a><span aria-hidden="true">/</span><a href=${`/campaigns/${session.campaignId}/sessions`}>${campaign?.name ?? "Campaign"}</a>`}
      title=${html`${title} <${StatusBadge} status=${session.status} live />`}
      sub=${html`<span class="mono">${session.id}</span>${live ? html` · <${LinkBadge} state=${link} />` : null}`}
    >
      <${SessionActions} session=${session} campaign=${campaign} onChange=${(s: Session | null) => {
        if (s) setSession((cur) => ({ ...cur!, ...s }));
        void refreshTranscript();
      }} />
    <//>
    ${session.status === "paused"
      ? html`<div class="banner warn" role="status" data-testid="paused-banner">Paused${session.pausedBy ? ` by ${session.pausedBy === "admin" ? "the research team" : "the participant"}` : ""}${session.pausedReason ? `: ${session.pausedReason}` : ""}.</div>`
      : null}
    <div class="detail-grid">
      <div class="detail-main">
        ${canTranscript
          ? html`<${TranscriptPanel} segments=${segments} state=${transcriptState} error=${transcriptError} retry=${refreshTranscript} participant=${who} live=${live} playingSeq=${playingSeq} player=${player} insights=${insights} />`
          : html`<section class="panel" data-testid="transcript-restricted"><h2 class="panel-title">Transcript</h2><p class="muted">Your role (viewer) can see session details and insights, but not what participants said.</p></section>`}
        ${canTranscript ? html`<${Timeline} events=${events} segments=${segments} session=${session} />` : null}
      </div>
      <aside class="detail-side">
        <${Overview} session=${session} showParticipant=${canTranscript} />
        ${can(role, "export") ? html`<${SessionExport} sessionId=${session.id} />` : null}
        <${InsightsPanel} sessionId=${session.id} status=${session.status} />
        ${can(role, "readAudio") && campaign?.settings.mode === "voice" ? html`<${AudioPanel} session=${session} segments=${segments} onPlaying=${setPlayingSeq} onReady=${setPlayer} />` : null}
        ${can(role, "annotate") ? html`<${Notes} sessionId=${session.id} />` : null}
        <${RetentionPanel} sessionId=${session.id} status=${session.status} />
      </aside>
    </div>
  </div>`;
}

function mergeSegments(cur: Segment[], incoming: Segment[]): Segment[] {
  if (!incoming.length) return cur;
  const bySeq = new Map(cur.map((s) => [s.seq, s]));
  let changed = false;
  for (const s of incoming) {
    if (!bySeq.has(s.seq)) changed = true;
    bySeq.set(s.seq, s);
  }
  if (!changed && incoming.length <= cur.length) return cur;
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

// ---- actions ----

function SessionActions({ session, campaign, onChange }: { session: Session; campaign: Campaign | null; onChange: (s: Session | null) => void }) {
  const me = useMe();
  const role = me.principal.role;
  const [dialog, setDialog] = useState<null | "end" | "reassign" | "delete" | "flag">(null);
  const [busy, setBusy] = useState(false);
  const act = async (path: string, body: unknown, done: string) => {
    setBusy(true);
    try {
      onChange(await post<Session>(`/v1/sessions/${session.id}/${path}`, body));
      toast(done);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      setBusy(false);
    }
  };
  const live = isLive(session.status);
  const control = can(role, "controlSessions");
  return html`<div class="actions-bar" data-testid="session-actions">
    ${control && session.status === "in_progress" ? html`<button class="btn" disabled=${busy} onClick=${() => act("pause", {}, "Session paused")}>Pause</button>` : null}
    ${control && session.status === "paused" ? html`<button class="btn btn-primary" disabled=${busy} onClick=${() => act("resume", {}, "Session resumed")}>Resume</button>` : null}
    ${control && live ? html`<button class="btn" onClick=${() => setDialog("end")}>End</button>` : null}
    ${control && live ? html`<button class="btn" onClick=${() => setDialog("reassign")}>Reassign</button>` : null}
    ${can(role, "annotate")
      ? session.flagged
        ? html`<button class="btn" aria-pressed="true" disabled=${busy} onClick=${() => act("flag", { flagged: false }, "Flag removed")}>⚑ Unflag</button>`
        : html`<button class="btn" aria-pressed="false" onClick=${() => setDialog("flag")}>⚑ Flag</button>`
      : null}
    ${can(role, "deleteData") ? html`<button class="btn btn-danger-ghost" data-testid="delete-data" onClick=${() => setDialog("delete")}>Delete data</button>` : null}

    ${dialog === "end"
      ? html`<${Confirm} title="End this interview?" action="End interview" danger onClose=${() => setDialog(null)}
          body=${html`<p>The participant sees a thank-you screen and the session is marked completed with ${session.questionsAnswered} of ${session.totalQuestions} answers.</p>`}
          onConfirm=${async () => {
            onChange(await post<Session>(`/v1/sessions/${session.id}/end`, { reason: "Ended by the research team" }));
            toast("Interview ended");
          }} />`
      : null}
    ${dialog === "flag" ? html`<${FlagDialog} session=${session} onClose=${() => setDialog(null)} onDone=${onChange} />` : null}
    ${dialog === "reassign" ? html`<${ReassignDialog} session=${session} current=${campaign} onClose=${() => setDialog(null)} onDone=${onChange} />` : null}
    ${dialog === "delete"
      ? html`<${Confirm} title="Delete this session's data permanently?" action="Delete permanently" danger requireText="DELETE" onClose=${() => setDialog(null)}
          body=${html`<p>This removes the transcript, audio, analytics, notes and the session itself. It cannot be undone; the audit log keeps a record of the deletion without personal data.</p>`}
          onConfirm=${async () => {
            await del(`/v1/sessions/${session.id}/data`, { "X-Confirm-Delete": "true" });
            toast("Session data deleted");
            navigate(`/campaigns/${session.campaignId}/sessions`, { replace: true });
          }} />`
      : null}
  </div>`;
}

function FlagDialog({ session, onClose, onDone }: { session: Session; onClose: () => void; onDone: (s: Session) => void }) {
  const [reason, setReason] = useState("");
  return html`<${Confirm} title="Flag this session" action="Flag session" onClose=${onClose}
    body=${html`<p class="muted">Flagged sessions are easy to find with the “Flagged only” filter.</p>`}
    onConfirm=${async () => {
      onDone(await post<Session>(`/v1/sessions/${session.id}/flag`, reason.trim() ? { flagged: true, reason: reason.trim() } : { flagged: true }));
      toast("Session flagged");
    }}>
    <label class="field"><span>Reason <span class="muted">(optional)</span></span><input value=${reason} maxlength="500" onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} /></label>
  <//>`;
}

function ReassignDialog({ session, current, onClose, onDone }: { session: Session; current: Campaign | null; onClose: () => void; onDone: (s: Session) => void }) {
  const campaigns = useAsync((signal) => allCampaigns(signal), []);
  const [target, setTarget] = useState("");
  const options = (campaigns.data ?? []).filter((c) => c.id !== session.campaignId);
  return html`<${Confirm} title="Move to another campaign" action="Reassign" onClose=${onClose}
    body=${html`<p class="muted">The session adopts the other campaign's current questions. Answers already given stay; the interview continues at the next unanswered question.</p>`}
    onConfirm=${async () => {
      if (!target) throw new Error("Choose a campaign first.");
      onDone(await post<Session>(`/v1/sessions/${session.id}/reassign`, { campaignId: target }));
      toast("Session reassigned");
    }}>
    ${campaigns.loading ? html`<${Loading} label="Loading campaigns…" />` : null}
    ${campaigns.error ? html`<${InlineError} error=${campaigns.error} />` : null}
    ${campaigns.data && !options.length ? html`<p>There is no other campaign to move it to.</p>` : null}
    ${options.length
      ? html`<label class="field"><span>From “${current?.name ?? session.campaignId}” to</span>
          <select value=${target} onChange=${(e: Event) => setTarget((e.target as HTMLSelectElement).value)}>
            <option value="">Choose a campaign…</option>
            ${options.map((c) => html`<option value=${c.id}>${c.name} (${c.totalQuestions} questions)</option>`)}
          </select></label>`
      : null}
  <//>`;
}

// ---- panels ----

function Overview({ session: s, showParticipant }: { session: Session; showParticipant: boolean }) {
  const consent = !s.consent.required ? "Not required" : s.consent.granted === null ? "Not answered yet" : s.consent.granted ? `Given ${fmtDateTime(s.consent.at)}` : "Declined";
  return html`<section class="panel" data-testid="overview">
    <h2 class="panel-title">Overview</h2>
    <dl class="facts">
      <div><dt>Status</dt><dd><${StatusBadge} status=${s.status} />${s.endReason ? html` <span class="muted small">${s.endReason.replace(/_/g, " ")}</span>` : null}</dd></div>
      <div><dt>Completion</dt><dd><${Progress} value=${s.completion} /> <span class="muted small">${s.questionsAnswered} of ${s.totalQuestions} answered</span></dd></div>
      <div><dt>Duration</dt><dd>${fmtDuration(s.duration)}${s.pauseCount ? html` <span class="muted small">· ${s.pauseCount} pause${s.pauseCount === 1 ? "" : "s"}</span>` : null}</dd></div>
      <div><dt>Started</dt><dd>${fmtDateTime(s.startedAt)}</dd></div>
      ${s.completedAt || s.endedAt ? html`<div><dt>Ended</dt><dd>${fmtDateTime(s.completedAt ?? s.endedAt ?? null)}</dd></div>` : null}
      ${showParticipant && s.participant
        ? html`<div><dt>Participant</dt><dd>${s.participant.name ?? "—"}${s.participant.email ? html`<span class="block muted small">${s.participant.email}</span>` : null}</dd></div>`
        : null}
      <div><dt>Device</dt><dd>${deviceLabel(s.device)}</dd></div>
      <div><dt>Consent</dt><dd>${consent}</dd></div>
      <div><dt>Language</dt><dd>${s.language ?? "—"}</dd></div>
      <div><dt>Sentiment</dt><dd>${s.sentiment ? html`<span class=${`sentiment ${s.sentiment}`}>${s.sentiment}</span>` : html`<span class="muted">Not analysed yet</span>`}</dd></div>
      ${s.flagged ? html`<div><dt>Flag</dt><dd><span class="flag">⚑</span> ${s.flagReason ?? "Flagged"}</dd></div>` : null}
    </dl>
  </section>`;
}

function TranscriptPanel({
  segments,
  state,
  error,
  retry,
  participant,
  live,
  playingSeq = null,
  player = null,
  insights = new Map(),
}: {
  insights?: Map<number, AnswerInsight>;
  segments: Segment[];
  state: string;
  error: unknown;
  retry: () => void;
  participant: string;
  live: boolean;
  playingSeq?: number | null;
  player?: PlayerHandle | null;
}) {
  const [q, setQ] = useState("");
  const [cursor, setCursor] = useState(-1);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const needle = q.trim().toLowerCase();
  const hits = useMemo(() => (needle ? segments.filter((s) => s.text.toLowerCase().includes(needle)).map((s) => s.seq) : []), [segments, needle]);
  const count = useMemo(() => (needle ? segments.reduce((n, s) => n + s.text.toLowerCase().split(needle).length - 1, 0) : 0), [segments, needle]);

  // Follow new lines while the reader is at the bottom.
  useEffect(() => {
    const el = box.current;
    if (el && stick.current && live) el.scrollTop = el.scrollHeight;
  }, [segments.length]);

  // The line whose recording is playing stays in view (inside the transcript box only).
  useEffect(() => {
    const el = box.current;
    const line = playingSeq === null ? null : el?.querySelector<HTMLElement>(`[data-seq="${playingSeq}"]`);
    if (!el || !line) return;
    const top = line.offsetTop;
    if (top < el.scrollTop || top + line.offsetHeight > el.scrollTop + el.clientHeight) el.scrollTo({ top: Math.max(0, top - el.clientHeight / 4), behavior: "smooth" });
  }, [playingSeq]);

  const jump = (dir: 1 | -1) => {
    if (!hits.length) return;
    const next = (cursor + dir + hits.length) % hits.length;
    setCursor(next);
    box.current?.querySelector(`[data-seq="${hits[next]}"]`)?.scrollIntoView({ block: "center", behavior: "smooth" });
  };

  return html`<section class="panel flush" data-testid="transcript">
    <div class="panel-head pad">
      <h2 class="panel-title">Transcript</h2>
      <div class="search">
        <input type="search" placeholder="Search the transcript" aria-label="Search the transcript" value=${q}
          onInput=${(e: Event) => (setQ((e.target as HTMLInputElement).value), setCursor(-1))}
          onKeyDown=${(e: KeyboardEvent) => e.key === "Enter" && (e.preventDefault(), jump(e.shiftKey ? -1 : 1))} />
        ${needle
          ? html`<span class="muted small" data-testid="match-count" aria-live="polite">${count} match${count === 1 ? "" : "es"}</span>
              <button class="icon-btn" aria-label="Previous match" disabled=${!hits.length} onClick=${() => jump(-1)}>↑</button>
              <button class="icon-btn" aria-label="Next match" disabled=${!hits.length} onClick=${() => jump(1)}>↓</button>`
          : null}
      </div>
    </div>
    ${state === "loading" && !segments.length ? html`<${Loading} label="Loading the transcript…" />` : null}
    ${state === "error" && !segments.length ? html`<${ErrorState} error=${error} retry=${retry} />` : null}
    ${state !== "loading" && state !== "error" && !segments.length ? html`<${Empty} title="Nothing said yet">${live ? "Lines appear here as the interview happens." : "This session has no transcript."}<//>` : null}
    ${segments.length
      ? html`<div class="transcript" ref=${box} onScroll=${(e: Event) => {
          const el = e.currentTarget as HTMLElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}>
          ${segments.map(
            (s) => html`<div key=${s.seq} data-seq=${s.seq} class=${`line ${s.speaker}${hits[cursor] === s.seq ? " current" : ""}${playingSeq === s.seq ? " playing" : ""}`} aria-current=${playingSeq === s.seq ? "true" : undefined}>
              <div class="line-meta">
                <span class="speaker">${s.speaker === "ai" ? "Interviewer" : participant}</span>
                <span class="ts" title="Time into the interview">${fmtOffset(s.startMs)}</span>
                <span class="qtag">Q${s.questionIndex + 1}${s.followUp ? " · follow-up" : ""}</span>
                ${s.speech
                  ? html`<span class="chip spoken-chip" title="A spoken answer"><svg viewBox="0 0 24 24" width="12" height="12" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"/></svg>spoken</span>`
                  : null}
                ${s.speech?.lowConfidence && s.text ? html`<span class="chip warn-chip" title="The transcription is uncertain: listen to the recording">low confidence</span>` : null}
                ${insights.get(s.seq)?.sentiment
                  ? html`<span class=${`sentiment ${insights.get(s.seq)!.sentiment!.label}`} data-testid="answer-sentiment" title=${`Sentiment of this answer (score ${insights.get(s.seq)!.sentiment!.score.toFixed(2)})${insights.get(s.seq)!.themes.length ? ` · themes: ${insights.get(s.seq)!.themes.join(", ")}` : ""}`}>${insights.get(s.seq)!.sentiment!.label}</span>`
                  : null}
                ${player?.playable.has(s.seq) ? html`<button class="icon-btn play-line" aria-label="Play this answer" title="Play this answer" onClick=${() => player.playSegment(s.seq)}>▶</button>` : null}
              </div>
              ${s.text
                ? html`<p class="line-text" dir="auto"><${Highlight} text=${s.text} q=${q.trim()} /></p>`
                : s.speech
                  ? html`<p class="line-text untranscribed">${s.speech.untranscribedReason ? `Not transcribed: ${s.speech.untranscribedReason}.` : "Transcription pending…"}</p>`
                  : html`<p class="line-text" dir="auto"></p>`}
            </div>`,
          )}
        </div>`
      : null}
  </section>`;
}

function Timeline({ events, segments, session }: { events: TimelineEvent[]; segments: Segment[]; session: Session }) {
  const started = session.startedAt ? Date.parse(session.startedAt) : null;
  const items = useMemo(() => {
    const out: { at: number; label: string; detail?: string; kind: string }[] = events.map((e) => {
      const d = e.data ?? {};
      let detail: string | undefined;
      if (e.type === "answered" && typeof d.questionIndex === "number") detail = `Question ${d.questionIndex + 1}${d.followUp ? " (follow-up)" : ""}`;
      if (e.type === "paused") detail = [d.by === "admin" ? "by the research team" : d.by === "participant" ? "by the participant" : "", typeof d.reason === "string" ? d.reason : ""].filter(Boolean).join(" · ");
      if (e.type === "resumed" && d.by) detail = d.by === "admin" ? "by the research team" : "by the participant";
      if ((e.type === "completed" || e.type === "abandoned") && typeof d.reason === "string") detail = d.reason.replace(/_/g, " ");
      return { at: Date.parse(e.at), label: eventLabel(e.type), detail, kind: e.type };
    });
    if (started !== null) {
      for (const s of segments) if (s.speaker === "ai") out.push({ at: started + s.startMs, label: s.followUp ? "Follow-up asked" : `Question ${s.questionIndex + 1} asked`, detail: s.text, kind: "question" });
    }
    return out.sort((a, b) => a.at - b.at);
  }, [events, segments, started]);

  return html`<section class="panel" data-testid="timeline">
    <h2 class="panel-title">Timeline</h2>
    ${items.length
      ? html`<ol class="timeline">${items.map(
          (i, n) => html`<li key=${n} class=${`tl ${i.kind}`}>
            <span class="tl-dot" aria-hidden="true"></span>
            <span class="tl-time">${fmtTime(new Date(i.at).toISOString())}</span>
            <span class="tl-label">${i.label}</span>
            ${i.detail ? html`<span class="tl-detail">${i.detail}</span>` : null}
          </li>`,
        )}</ol>`
      : html`<p class="muted">No events yet.</p>`}
  </section>`;
}

function Notes({ sessionId }: { sessionId: string }) {
  const me = useMe();
  // Oldest first, 100 a page; a note added here joins the list once its end is loaded.
  const notes = usePaged<Note>(`/v1/sessions/${encodeURIComponent(sessionId)}/notes?limit=100`);
  // The note being typed survives a sign-in that ends meanwhile (the page comes back after signing
  // in again) and a reload: it is kept in this tab's sessionStorage until it is added.
  const draftKey = `ir:note-draft:${sessionId}`;
  const [text, setTextState] = useState(() => readDraft(draftKey));
  const setText = (v: string) => {
    setTextState(v);
    writeDraft(draftKey, v);
  };
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const add = async (e: Event) => {
    e.preventDefault();
    if (!hasVisibleText(text)) return;
    setBusy(true);
    setErr(null);
    try {
      const n = await post<Note>(`/v1/sessions/${sessionId}/notes`, { text: text.trim() });
      if (!notes.hasMore) notes.setRows((rows) => [...rows, n]);
      setText("");
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  const list = notes.rows;
  const loaded = !notes.loading || list.length > 0;
  return html`<section class="panel" data-testid="notes">
    <h2 class="panel-title">Notes</h2>
    ${!loaded ? html`<${Loading} label="Loading notes…" />` : null}
    ${notes.error ? html`<${ErrorState} error=${notes.error} retry=${notes.reload} />` : null}
    ${loaded && !notes.error && !list.length ? html`<p class="muted small">No notes yet. Notes are visible to analysts, admins and owners.</p>` : null}
    <ul class="notes">${list.map(
      (n) => html`<li key=${n.id} class="note"><p dir="auto">${n.text}</p><span class="muted small">${n.author.id === me.principal.id ? "You" : n.author.type === "api_key" ? "API key" : "A teammate"} · ${fmtDateTime(n.createdAt)}</span></li>`,
    )}</ul>
    ${notes.hasMore ? html`<div class="more"><button class="btn" disabled=${notes.loading} onClick=${notes.more}>${notes.loading ? "Loading…" : "Load more notes"}</button></div>` : null}
    <form onSubmit=${add} class="note-form">
      <label class="sr" for="note-text">Add a note</label>
      <textarea id="note-text" rows="2" maxlength="10000" placeholder="Add a note for your team" value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>
      <${InlineError} error=${err} />
      <button class="btn" type="submit" disabled=${busy || !hasVisibleText(text)}>${busy ? "Adding…" : "Add note"}</button>
    </form>
  </section>`;
}

function readDraft(key: string): string {
  try {
    return sessionStorage.getItem(key) ?? "";
  } catch {
    return "";
  }
}

function writeDraft(key: string, value: string) {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    // storage unavailable (private mode, quota): the draft lives only in the page
  }
}
