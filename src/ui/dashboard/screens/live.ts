// Live: every active session of the org's campaigns, from each campaign's live socket. Selecting a
// session opens its own live socket and shows the transcript as it is spoken or typed.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { get, post } from "../api";
import { fmtAgo, fmtOffset, isLive, participantLabel } from "../format";
import { html } from "../html";
import { LiveSocket, type LinkState } from "../live";
import { can } from "../roles";
import { setQuery, type Loc } from "../router";
import { useRole } from "../session-context";
import type { Campaign, LiveFrame, Segment, Session } from "../types";
import { Confirm, Empty, ErrorState, LinkBadge, Loading, PageHeader, StatusBadge, toast, useAsync } from "../ui";
import { allCampaigns } from "./campaign-head";

/** More sockets than this and the user picks a campaign. */
const MAX_WATCHED = 20;

interface Card {
  session: Session;
  /** The question being asked now (0-based), from the latest interviewer line. */
  question?: number;
  followUp?: boolean;
  lastLine?: string;
  endedAt?: number;
}

export function LiveView({ loc }: { loc: Loc }) {
  const campaigns = useAsync((signal) => allCampaigns(signal), []);
  const only = loc.query.get("campaign") ?? "";
  const selected = loc.query.get("session") ?? "";
  const watched = useMemo(() => {
    const all = campaigns.data ?? [];
    return only ? all.filter((c) => c.id === only) : all.slice(0, MAX_WATCHED);
  }, [campaigns.data, only]);
  const byId = useMemo(() => new Map((campaigns.data ?? []).map((c) => [c.id, c])), [campaigns.data]);
  const [cards, setCards] = useState<Map<string, Card>>(new Map());
  const [links, setLinks] = useState<Record<string, LinkState>>({});
  const [snapshots, setSnapshots] = useState(0);

  useEffect(() => {
    if (!watched.length) return;
    setCards(new Map());
    const update = (id: string, fn: (c: Card | undefined) => Card | undefined) =>
      setCards((m) => {
        const next = new Map(m);
        const v = fn(m.get(id));
        if (v) next.set(id, v);
        else next.delete(id);
        return next;
      });
    // One request per session at a time; a change seen meanwhile asks for one more afterwards.
    const inflight = new Map<string, boolean>();
    const fetchOne = (id: string): void => {
      if (inflight.has(id)) return void inflight.set(id, true);
      inflight.set(id, false);
      get<Session>(`/v1/sessions/${id}`)
        .then(
          (s) => update(id, (c) => ({ ...c, session: s, endedAt: isLive(s.status) ? undefined : (c?.endedAt ?? Date.now()) })),
          () => undefined,
        )
        .finally(() => {
          const again = inflight.get(id);
          inflight.delete(id);
          if (again) fetchOne(id);
        });
    };
    const socks = watched.map((camp) =>
      new LiveSocket(
        `/v1/campaigns/${encodeURIComponent(camp.id)}/live`,
        (f: LiveFrame) => {
          if (f.type === "snapshot") {
            setSnapshots((n) => n + 1);
            setCards((m) => {
              const next = new Map(m);
              // Replace this campaign's active set; keep recently ended cards for context.
              for (const [id, c] of m) if (c.session.campaignId === camp.id && !c.endedAt) next.delete(id);
              for (const s of f.sessions ?? []) {
                next.set(s.id, { ...m.get(s.id), session: s, endedAt: undefined });
              }
              return next;
            });
          } else if (f.type === "status") {
            let missing = false;
            update(f.sessionId, (c) => {
              if (!c) {
                missing = true;
                return c;
              }
              return { ...c, session: { ...c.session, status: f.status, questionsAnswered: f.questionsAnswered, totalQuestions: f.totalQuestions }, endedAt: isLive(f.status) ? undefined : Date.now() };
            });
            if (missing || inflight.has(f.sessionId)) fetchOne(f.sessionId);
          } else if (f.type === "session_removed") {
            // Erased, or moved to another campaign: its card goes at once, ended cards included.
            update(f.sessionId, () => undefined);
          } else if (f.type === "segment") {
            update(f.sessionId, (c) =>
              c
                ? {
                    ...c,
                    lastLine: `${f.segment.speaker === "ai" ? "Interviewer" : "Participant"}: ${f.segment.text}`,
                    ...(f.segment.speaker === "ai" ? { question: f.segment.questionIndex, followUp: Boolean(f.segment.followUp) } : {}),
                  }
                : c,
            );
          }
        },
        (s) => setLinks((l) => ({ ...l, [camp.id]: s })),
      ).start(),
    );
    return () => socks.forEach((s) => s.stop());
  }, [watched]);

  const list = [...cards.values()].sort((a, b) => Number(Boolean(a.endedAt)) - Number(Boolean(b.endedAt)) || (b.session.startedAt ?? b.session.createdAt).localeCompare(a.session.startedAt ?? a.session.createdAt));
  const active = list.filter((c) => !c.endedAt);
  const ended = list.filter((c) => c.endedAt);
  const linkValues = Object.values(links);
  const overall: LinkState = !linkValues.length
    ? "connecting"
    : linkValues.some((l) => l === "denied")
      ? "denied"
      : linkValues.every((l) => l === "open")
        ? "open"
        : linkValues.some((l) => l === "reconnecting")
          ? "reconnecting"
          : "connecting";
  const tooMany = !only && (campaigns.data?.length ?? 0) > MAX_WATCHED;

  return html`<div class="page live-page">
    <${PageHeader} title=${html`Live <${LinkBadge} state=${overall} />`} sub="Interviews happening now. Select one to follow its transcript as it happens.">
      <label class="inline-field"><span class="sr">Campaign</span>
        <select value=${only} onChange=${(e: Event) => setQuery({ campaign: (e.target as HTMLSelectElement).value, session: null })} data-testid="live-campaign">
          <option value="">${tooMany ? `First ${MAX_WATCHED} campaigns` : "All campaigns"}</option>
          ${(campaigns.data ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select>
      </label>
    <//>
    ${campaigns.loading ? html`<${Loading} label="Loading campaigns…" />` : null}
    ${campaigns.error ? html`<${ErrorState} error=${campaigns.error} retry=${campaigns.reload} />` : null}
    ${campaigns.data && !campaigns.data.length ? html`<${Empty} title="No campaigns yet">Live sessions appear here once a campaign has participants.<//>` : null}
    ${watched.length
      ? html`<div class="live-grid">
          <section class="live-list" aria-label="Active sessions" data-testid="live-list">
            <h2 class="panel-title">Active now <span class="count">${active.length}</span></h2>
            ${!snapshots ? html`<${Loading} label="Connecting…" />` : null}
            ${snapshots && !active.length ? html`<p class="muted small empty-live">No interview is running right now. New sessions appear here the moment a participant opens an invite.</p>` : null}
            ${active.map((c) => html`<${LiveCard} key=${c.session.id} card=${c} campaign=${byId.get(c.session.campaignId)} selected=${c.session.id === selected} />`)}
            ${ended.length ? html`<h3 class="subhead">Recently ended</h3>${ended.map((c) => html`<${LiveCard} key=${c.session.id} card=${c} campaign=${byId.get(c.session.campaignId)} selected=${c.session.id === selected} />`)}` : null}
          </section>
          <section class="live-pane">
            ${selected ? html`<${WatchPane} key=${selected} id=${selected} />` : html`<div class="state empty"><p class="state-title">Select a session</p><p class="muted">Its transcript appears here and updates as the interview goes on.</p></div>`}
          </section>
        </div>`
      : null}
  </div>`;
}

function LiveCard({ card, campaign, selected }: { card: Card; campaign?: Campaign; selected: boolean }) {
  const s = card.session;
  return html`<button class=${`live-card${selected ? " selected" : ""}${card.endedAt ? " ended" : ""}`} data-session=${s.id} aria-pressed=${selected}
    onClick=${() => setQuery({ session: s.id })}>
    <span class="live-card-top"><span class="strong">${participantLabel(s.participant, s.id)}</span><${StatusBadge} status=${s.status} live /></span>
    <span class="muted small">${campaign?.name ?? s.campaignId} · ${questionLabel(card.question, s, card.followUp)} · ${s.startedAt ? `started ${fmtAgo(s.startedAt)}` : `opened ${fmtAgo(s.createdAt)}`}</span>
    ${card.lastLine ? html`<span class="last-line">${card.lastLine}</span>` : null}
  </button>`;
}

const cap = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

function questionLabel(index: number | null | undefined, s: Session, followUp?: boolean): string {
  if (s.status === "created") return "not started";
  if (!isLive(s.status)) return `${s.questionsAnswered} of ${s.totalQuestions} answered`;
  // Without an interviewer line seen here, the furthest of what the session says: its last question
  // (a snapshot's copy can lag behind) and the next one after its answers.
  const i = index ?? Math.max(s.lastQuestionIndex ?? 0, Math.min(s.questionsAnswered, s.totalQuestions - 1));
  return `question ${i + 1} of ${s.totalQuestions}${followUp ? " (follow-up)" : ""}`;
}

function WatchPane({ id }: { id: string }) {
  const role = useRole();
  const [session, setSession] = useState<Session | null>(null);
  const [segments, setSegments] = useState<Segment[]>([]);
  const [link, setLink] = useState<LinkState>("connecting");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [ending, setEnding] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    get<Session>(`/v1/sessions/${id}`).then((s) => setSession((cur) => cur ?? s), setError);
    const sock = new LiveSocket(
      `/v1/sessions/${encodeURIComponent(id)}/live`,
      (f: LiveFrame) => {
        if (f.type === "snapshot") {
          if (f.session) setSession((cur) => ({ ...(cur ?? {}), ...f.session! }));
          setSegments(f.segments ?? []);
        } else if (f.type === "segment") {
          setSegments((cur) => (cur.some((s) => s.seq === f.segment.seq) ? cur : [...cur, f.segment].sort((a, b) => a.seq - b.seq)));
        } else if (f.type === "status") {
          setSession((cur) => (cur ? { ...cur, status: f.status, questionsAnswered: f.questionsAnswered, totalQuestions: f.totalQuestions } : cur));
        }
      },
      setLink,
    ).start();
    return () => sock.stop();
  }, [id]);

  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [segments.length]);

  const act = async (path: string, body: unknown, done: string) => {
    setBusy(true);
    try {
      const s = await post<Session>(`/v1/sessions/${id}/${path}`, body);
      setSession((cur) => ({ ...(cur ?? s), ...s }));
      toast(done);
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      setBusy(false);
    }
  };

  if (error && !session) return html`<${ErrorState} error=${error} />`;
  if (!session) return html`<${Loading} label="Opening the session…" />`;
  const control = can(role, "controlSessions");
  const who = participantLabel(session.participant, "Participant");
  const lastAi = [...segments].reverse().find((x) => x.speaker === "ai");
  return html`<div class="watch" data-testid="watch-pane" data-status=${session.status}>
    <div class="watch-head">
      <div>
        <h2 class="watch-title">${who} <${StatusBadge} status=${session.status} live /> <${LinkBadge} state=${isLive(session.status) ? link : "closed"} /></h2>
        <p class="muted small">${isLive(session.status) ? `${cap(questionLabel(lastAi?.questionIndex, session, lastAi?.followUp))} · ${session.questionsAnswered} answered` : `${session.questionsAnswered} of ${session.totalQuestions} answered`} · <a href=${`/sessions/${id}`}>Open full session</a></p>
      </div>
      ${control
        ? html`<div class="actions-bar">
            ${session.status === "in_progress" ? html`<button class="btn" disabled=${busy} onClick=${() => act("pause", {}, "Session paused")}>Pause</button>` : null}
            ${session.status === "paused" ? html`<button class="btn btn-primary" disabled=${busy} onClick=${() => act("resume", {}, "Session resumed")}>Resume</button>` : null}
            ${isLive(session.status) ? html`<button class="btn" onClick=${() => setEnding(true)}>End</button>` : null}
          </div>`
        : null}
    </div>
    ${session.status === "paused" ? html`<div class="banner warn" role="status">Paused${session.pausedBy === "participant" ? " by the participant" : session.pausedBy === "admin" ? " by the research team" : ""}. The participant sees “Interview paused”.</div>` : null}
    <div class="transcript live" ref=${box} aria-live="polite" data-testid="live-transcript" onScroll=${(e: Event) => {
      const el = e.currentTarget as HTMLElement;
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    }}>
      ${!segments.length ? html`<p class="muted pad">Waiting for the first question…</p>` : null}
      ${segments.map(
        (s) => html`<div key=${s.seq} class=${`line ${s.speaker}`} data-seq=${s.seq}>
          <div class="line-meta"><span class="speaker">${s.speaker === "ai" ? "Interviewer" : who}</span><span class="ts">${fmtOffset(s.startMs)}</span><span class="qtag">Q${s.questionIndex + 1}${s.followUp ? " · follow-up" : ""}</span></div>
          <p class="line-text" dir="auto">${s.text}</p>
        </div>`,
      )}
    </div>
    ${ending
      ? html`<${Confirm} title="End this interview?" action="End interview" danger onClose=${() => setEnding(false)}
          body=${html`<p>The participant sees a thank-you screen and the session is marked completed.</p>`}
          onConfirm=${async () => {
            const s = await post<Session>(`/v1/sessions/${id}/end`, { reason: "Ended by the research team" });
            setSession((cur) => ({ ...(cur ?? s), ...s }));
            toast("Interview ended");
          }} />`
      : null}
  </div>`;
}
