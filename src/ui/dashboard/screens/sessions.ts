// A campaign's sessions with the contract's filters. Every filter lives in the URL query, so a
// filtered view can be bookmarked and shared; the list follows live changes without a reload.
import { Component } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { describeError, get, qs } from "../api";
import { dayEnd, dayStart, fmtDateTime, fmtDuration, fmtShort, participantLabel, SENTIMENTS, STATUS_LABEL, STATUSES } from "../format";
import { isDeclined } from "../../../shared/declined";
import { html } from "../html";
import { LiveSocket, type LinkState } from "../live";
import { can } from "../roles";
import { setQuery, type Loc } from "../router";
import { useRole } from "../session-context";
import type { LiveFrame, Page, Session, Status } from "../types";
import { Empty, ErrorState, LinkBadge, Loading, Progress, StatusBadge, toast } from "../ui";
import { CampaignHead, CampaignMissing, useCampaign } from "./campaign-head";
import { BulkExportDialog, downloadSessionsCsv, exportFilter } from "./exports";

/** Rows loaded automatically; beyond this the user asks for more. */
const AUTO_LOAD = 1000;
const PAGE = 100;

export interface Filters {
  status: Status[];
  from: string; // yyyy-mm-dd (local day)
  to: string;
  minDuration: string; // seconds
  maxDuration: string;
  minCompletion: string; // 0-100
  maxCompletion: string;
  language: string;
  sentiment: string[];
  flagged: "" | "true" | "false";
}

const list = (v: string | null) => (v ? v.split(",").map((x) => x.trim()).filter(Boolean) : []);

export function filtersFrom(q: URLSearchParams): Filters {
  return {
    status: list(q.get("status")).filter((s): s is Status => (STATUSES as string[]).includes(s)),
    from: q.get("from") ?? "",
    to: q.get("to") ?? "",
    minDuration: q.get("minDuration") ?? "",
    maxDuration: q.get("maxDuration") ?? "",
    minCompletion: q.get("minCompletion") ?? "",
    maxCompletion: q.get("maxCompletion") ?? "",
    language: q.get("language") ?? "",
    sentiment: list(q.get("sentiment")).filter((s) => (SENTIMENTS as string[]).includes(s)),
    flagged: q.get("flagged") === "true" ? "true" : q.get("flagged") === "false" ? "false" : "",
  };
}

/** The API's query for these filters (dates become the local day's bounds in UTC). */
export function apiQuery(f: Filters) {
  return {
    status: f.status.join(",") || undefined,
    from: dayStart(f.from),
    to: dayEnd(f.to),
    minDuration: f.minDuration || undefined,
    maxDuration: f.maxDuration || undefined,
    minCompletion: f.minCompletion || undefined,
    maxCompletion: f.maxCompletion || undefined,
    language: f.language || undefined,
    sentiment: f.sentiment.join(",") || undefined,
    flagged: f.flagged || undefined,
  };
}

/** The same test on the client, for sessions that appear live. */
function matches(s: Session, f: Filters): boolean {
  if (f.status.length && !f.status.includes(s.status)) return false;
  const started = s.startedAt ? Date.parse(s.startedAt) : null;
  if ((f.from || f.to) && started === null) return false;
  if (f.from && started! < Date.parse(dayStart(f.from)!)) return false;
  if (f.to && started! > Date.parse(dayEnd(f.to)!)) return false;
  if (f.minDuration && s.duration < Number(f.minDuration)) return false;
  if (f.maxDuration && s.duration > Number(f.maxDuration)) return false;
  if (f.minCompletion && s.completion < Number(f.minCompletion)) return false;
  if (f.maxCompletion && s.completion > Number(f.maxCompletion)) return false;
  if (f.language && !(s.language === f.language || s.language?.startsWith(`${f.language}-`))) return false;
  if (f.sentiment.length && !(s.sentiment && f.sentiment.includes(s.sentiment))) return false;
  if (f.flagged && String(Boolean(s.flagged)) !== f.flagged) return false;
  return true;
}

const activeCount = (f: Filters) =>
  [f.status.length, f.from, f.to, f.minDuration, f.maxDuration, f.minCompletion, f.maxCompletion, f.language, f.sentiment.length, f.flagged].filter(Boolean).length;

// Keeps the last list per URL so coming back from a session shows it at once (then refreshes).
const listCache = new Map<string, { rows: Session[]; next: string | null }>();
const CACHE_LISTS = 6;
function cacheList(key: string, value: { rows: Session[]; next: string | null }) {
  listCache.delete(key);
  listCache.set(key, value);
  for (const k of listCache.keys()) if (listCache.size > CACHE_LISTS) listCache.delete(k);
}

export function SessionList({ params, loc }: { params: { id: string }; loc: Loc }) {
  const role = useRole();
  const { campaign, notFound } = useCampaign(params.id);
  const campaignKnown = campaign !== null;
  const [exporting, setExporting] = useState(false);
  const [csvBusy, setCsvBusy] = useState<number | null>(null);
  const filters = filtersFrom(loc.query);
  const apiQs = qs({ ...apiQuery(filters), limit: PAGE });
  const cacheKey = `${params.id}${apiQs}`;
  const cached = listCache.get(cacheKey);
  const [rows, setRows] = useState<Session[]>(() => {
    if (cached) markRender(cached.rows.length);
    return cached?.rows ?? [];
  });
  const [gen, setGen] = useState(0);
  const [next, setNext] = useState<string | null>(cached?.next ?? null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<LinkState>("closed");
  const [more, setMore] = useState(0);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  // Load pages one after another, showing each as it arrives, up to AUTO_LOAD rows.
  useEffect(() => {
    const ctrl = new AbortController();
    let cancelled = false;
    const hadCache = listCache.has(cacheKey);
    setLoading(true);
    setError(null);
    const hit = listCache.get(cacheKey);
    if (hit) {
      setRows(hit.rows);
      setNext(hit.next);
    } else setRows([]);
    (async () => {
      let acc: Session[] = [];
      let cursor: string | null = null;
      try {
        do {
          const p: Page<Session> = await get(`/v1/campaigns/${encodeURIComponent(params.id)}/sessions${apiQs}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, ctrl.signal);
          if (cancelled) return;
          acc = acc.concat(p.data);
          cursor = p.nextCursor;
          // With a cached list on screen, swap in the fresh one only when complete (no flicker).
          if (!hadCache || !cursor || acc.length >= AUTO_LOAD) {
            markRender(acc.length);
            setRows(acc);
            setNext(cursor);
          }
        } while (cursor && acc.length < AUTO_LOAD);
        cacheList(cacheKey, { rows: acc, next: cursor });
        setLoading(false);
      } catch (err) {
        if (!cancelled) {
          setError(err);
          setLoading(false);
        }
      }
    })();
    return () => {
      cancelled = true;
      ctrl.abort();
    };
  }, [cacheKey, gen]);

  const loadMore = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const p: Page<Session> = await get(`/v1/campaigns/${encodeURIComponent(params.id)}/sessions${apiQs}&cursor=${encodeURIComponent(next)}`);
      markRender(rows.length + p.data.length);
      setRows((r) => {
        const all = [...r, ...p.data];
        cacheList(cacheKey, { rows: all, next: p.nextCursor });
        return all;
      });
      setNext(p.nextCursor);
      setMore((m) => m + 1);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };

  // Live: status changes update rows in place; new sessions appear at the top when they match.
  useEffect(() => {
    const upsert = (s: Session) =>
      setRows((r) => {
        const i = r.findIndex((x) => x.id === s.id);
        if (i >= 0) return r.map((x) => (x.id === s.id ? { ...x, ...s } : x));
        return matches(s, filtersRef.current) ? [s, ...r] : r;
      });
    // One request per session at a time; a change seen meanwhile asks for one more afterwards.
    const inflight = new Map<string, boolean>();
    const fetchOne = (id: string): void => {
      if (inflight.has(id)) return void inflight.set(id, true);
      inflight.set(id, false);
      get<Session>(`/v1/sessions/${id}`)
        .then(upsert, () => undefined)
        .finally(() => {
          const again = inflight.get(id);
          inflight.delete(id);
          if (again) fetchOne(id);
        });
    };
    // Only once the campaign is known to exist: a socket to an unknown campaign would retry a 404.
    if (!campaignKnown) return;
    if (can(role, "watchLive")) {
      const sock = new LiveSocket(
        `/v1/campaigns/${encodeURIComponent(params.id)}/live`,
        (f: LiveFrame) => {
          if (f.type === "snapshot") {
            for (const s of f.sessions ?? []) {
              setRows((r) => (r.some((x) => x.id === s.id) ? r.map((x) => (x.id === s.id ? { ...x, ...s, flagged: x.flagged, sentiment: x.sentiment } : x)) : r));
            }
          } else if (f.type === "status") {
            let missing = false;
            setRows((r) => {
              if (!r.some((x) => x.id === f.sessionId)) {
                missing = true;
                return r;
              }
              return r.map((x) => (x.id === f.sessionId ? { ...x, status: f.status, questionsAnswered: f.questionsAnswered, totalQuestions: f.totalQuestions } : x));
            });
            // New sessions, and the computed fields (completion, duration, end reason), come from the API.
            if (missing || inflight.has(f.sessionId) || f.status === "completed" || f.status === "abandoned" || f.status === "paused") fetchOne(f.sessionId);
          }
        },
        setLink,
      ).start();
      return () => sock.stop();
    }
    // Viewers cannot watch live: refresh the first page now and then instead.
    const timer = setInterval(() => {
      if (document.hidden) return;
      get<Page<Session>>(`/v1/campaigns/${encodeURIComponent(params.id)}/sessions${apiQs}`).then((p) => [...p.data].reverse().forEach(upsert), () => undefined);
    }, 15_000);
    return () => clearInterval(timer);
  }, [params.id, apiQs, role, campaignKnown]);

  // Render timing for the performance budget (1,000 rows < 500 ms): from the moment the rows are
  // handed to Preact until after the browser has painted them.
  useEffect(() => {
    const start = performance.getEntriesByName("sessions-render-start").pop();
    if (!start) return;
    performance.clearMarks("sessions-render-start");
    const count = rows.length;
    requestAnimationFrame(() =>
      setTimeout(() => {
        const w = window as unknown as { __irPerf?: { sessionsRenders: { rows: number; ms: number }[] } };
        (w.__irPerf ??= { sessionsRenders: [] }).sessionsRenders.push({ rows: count, ms: performance.now() - start.startTime });
      }, 0),
    );
  }, [rows, more]);

  const n = activeCount(filters);
  if (notFound) return html`<div class="page"><${CampaignHead} id=${params.id} campaign=${null} tab="sessions" /><${CampaignMissing} /></div>`;
  const canExport = can(role, "export");
  const downloadCsv = async () => {
    setCsvBusy(0);
    try {
      const count = await downloadSessionsCsv(params.id, apiQuery(filters), setCsvBusy);
      toast(`Downloaded ${count.toLocaleString()} session${count === 1 ? "" : "s"} as CSV.`);
    } catch (err) {
      toast(`Download failed: ${describeError(err)}`, "error");
    } finally {
      setCsvBusy(null);
    }
  };
  return html`<div class="page">
    <${CampaignHead} id=${params.id} campaign=${campaign} tab="sessions">
      ${can(role, "watchLive") ? html`<${LinkBadge} state=${link} />` : null}
      ${canExport
        ? html`<button class="btn" type="button" data-testid="download-csv" disabled=${csvBusy !== null || (!loading && !rows.length)} onClick=${downloadCsv}
              title=${n ? "The sessions matching the current filters, as CSV" : "Every session of this campaign, as CSV"}>${csvBusy !== null ? `Downloading… ${csvBusy || ""}` : "⤓ Download CSV"}</button>
            <button class="btn" type="button" data-testid="bulk-export" disabled=${!loading && !rows.length} onClick=${() => setExporting(true)}>Bulk export…</button>`
        : null}
    <//>
    ${exporting
      ? html`<${BulkExportDialog} campaignId=${params.id} filtered=${n > 0} recordings=${campaign ? campaign.settings.mode === "voice" : true} matching=${`${rows.length.toLocaleString()}${next ? "+" : ""}`}
          filter=${exportFilter({ ...filters, from: apiQuery(filters).from, to: apiQuery(filters).to })} onClose=${() => setExporting(false)} />`
      : null}
    <${FilterBar} filters=${filters} count=${n} />
    <div class="list-meta">
      <span data-testid="session-count">${loading && !rows.length ? "Loading…" : `${rows.length.toLocaleString()}${next ? "+" : ""} session${rows.length === 1 ? "" : "s"}${n ? " match these filters" : ""}`}</span>
      ${loading && rows.length ? html`<span class="muted small"><span class="spinner small" aria-hidden="true"></span> loading more…</span>` : null}
    </div>
    ${error ? html`<${ErrorState} error=${error} retry=${() => setGen((g) => g + 1)} />` : null}
    ${loading && !rows.length && !error ? html`<${Loading} label="Loading sessions…" />` : null}
    ${!loading && !error && !rows.length
      ? n
        ? html`<${Empty} title="No sessions match these filters"><a class="btn mt" href=${loc.path}>Clear all filters</a><//>`
        : html`<${Empty} title="No sessions yet">Sessions appear here as soon as a participant opens an invite link.${can(role, "editCampaigns") ? html` <a href=${`/campaigns/${params.id}/invites`}>Create an invite</a>.` : null}<//>`
      : null}
    ${rows.length ? html`<${SessionTable} rows=${rows} showParticipant=${can(role, "readTranscript")} />` : null}
    ${next && !loading ? html`<div class="more"><button class="btn" onClick=${loadMore}>Load ${PAGE} more</button></div>` : null}
  </div>`;
}

function markRender(rows: number) {
  performance.clearMarks("sessions-render-start");
  performance.mark("sessions-render-start", { detail: { rows } });
}

/** Row height in px, fixed in CSS (.sessions tbody tr): the list is windowed on it. */
const ROW_H = 46;
const OVERSCAN = 12;

/**
 * The table renders only the rows near the viewport (plus spacers), so 1,000 or 10,000 sessions
 * cost the same to draw; columns have fixed widths so they do not shift while scrolling.
 */
function SessionTable({ rows, showParticipant }: { rows: Session[]; showParticipant: boolean }) {
  const body = useRef<HTMLTableSectionElement>(null);
  const [range, setRange] = useState({ start: 0, end: Math.min(rows.length, 40) });
  useLayoutEffect(() => {
    let frame = 0;
    const update = () => {
      frame = 0;
      const el = body.current;
      if (!el) return;
      const top = el.getBoundingClientRect().top;
      const start = Math.max(0, Math.floor(-top / ROW_H) - OVERSCAN);
      const end = Math.min(rows.length, Math.max(start, Math.ceil((window.innerHeight - top) / ROW_H)) + OVERSCAN);
      setRange((r) => (r.start === start && r.end === end ? r : { start, end }));
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    update();
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    return () => {
      window.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", schedule);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [rows.length]);
  const start = Math.min(range.start, rows.length);
  const end = Math.min(Math.max(range.end, start), rows.length);
  return html`<div class="table-wrap">
    <table class="table sessions" data-testid="sessions" data-rows=${rows.length}>
      <colgroup><col class="c-who" /><col class="c-status" /><col class="c-started" /><col class="c-dur" /><col class="c-comp" /><col class="c-ans" /><col class="c-lang" /><col class="c-sent" /><col class="c-flag" /></colgroup>
      <thead><tr>
        <th>${showParticipant ? "Participant" : "Session"}</th><th>Status</th><th>Started</th><th class="num">Duration</th><th>Completion</th><th class="num">Answers</th><th>Language</th><th>Sentiment</th><th><span class="sr">Flagged</span></th>
      </tr></thead>
      <tbody ref=${body}>
        ${start > 0 ? html`<tr class="spacer" aria-hidden="true" style=${{ height: `${start * ROW_H}px` }}><td colspan="9"></td></tr>` : null}
        ${rows.slice(start, end).map((s) => html`<${Row} key=${s.id} s=${s} showParticipant=${showParticipant} />`)}
        ${end < rows.length ? html`<tr class="spacer" aria-hidden="true" style=${{ height: `${(rows.length - end) * ROW_H}px` }}><td colspan="9"></td></tr>` : null}
      </tbody>
    </table>
  </div>`;
}

/** One row; re-renders only when its session object changes. */
class Row extends Component<{ s: Session; showParticipant: boolean }> {
  override shouldComponentUpdate(n: { s: Session; showParticipant: boolean }) {
    return n.s !== this.props.s || n.showParticipant !== this.props.showParticipant;
  }
  override render() {
    const { s, showParticipant } = this.props;
    const who = showParticipant && s.participant ? participantLabel(s.participant, s.id) : s.id;
    return html`<tr data-session=${s.id} data-status=${s.status}>
      <td class="who-cell"><a class="strong" href=${`/sessions/${s.id}`}>${who}</a></td>
      <td><${StatusBadge} status=${s.status} /></td>
      <td title=${s.startedAt ? fmtDateTime(s.startedAt) : undefined}>${fmtShort(s.startedAt)}</td>
      <td class="num">${fmtDuration(s.duration)}</td>
      <td>${isDeclined({ status: s.status, consentGranted: s.consent?.granted ?? null, questionsAnswered: s.questionsAnswered }) ? html`<span class="muted" data-testid="declined" title="Consent declined, or withdrawn before answering: not a drop-out">Declined</span>` : html`<${Progress} value=${s.completion} />`}</td>
      <td class="num">${s.questionsAnswered}/${s.totalQuestions}</td>
      <td>${s.language ?? "—"}</td>
      <td>${s.sentiment ? html`<span class=${`sentiment ${s.sentiment}`}>${s.sentiment}</span>` : html`<span class="muted">—</span>`}</td>
      <td>${s.flagged ? html`<span class="flag" title=${s.flagReason ?? "Flagged"} aria-label="Flagged">⚑</span>` : null}</td>
    </tr>`;
  }
}

/**
 * A filter field that keeps what the user is typing as its own draft: rows arriving for an earlier
 * filter re-render the bar, and a plain controlled input would be reset to the URL's value mid-typing
 * (losing the keystrokes). The draft follows the URL whenever the URL's value changes, and is
 * committed on change (Enter or leaving the field).
 */
function Draft({ value, onCommit, ...attrs }: { value: string; onCommit: (v: string) => void } & Record<string, unknown>) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return html`<input ...${attrs} value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)} onChange=${(e: Event) => onCommit((e.target as HTMLInputElement).value)} />`;
}

function FilterBar({ filters: f, count }: { filters: Filters; count: number }) {
  const [open, setOpen] = useState(count > 0 && window.innerWidth > 700);
  const toggle = (key: "status" | "sentiment", value: string) => {
    const cur = f[key] as string[];
    const nextVals = cur.includes(value) ? cur.filter((x) => x !== value) : [...cur, value];
    setQuery({ [key]: nextVals.join(",") }, { replace: true });
  };
  const commit = (key: keyof Filters, transform: (v: string) => string = (v) => v) => (value: string) => setQuery({ [key]: transform(value.trim()) }, { replace: true });
  const minutesToSeconds = (v: string) => (v === "" || Number.isNaN(Number(v)) ? "" : String(Math.round(Number(v) * 60)));
  const secondsToMinutes = (v: string) => (v === "" ? "" : String(Math.round((Number(v) / 60) * 10) / 10));

  return html`<section class="filters" aria-label="Filters" data-testid="filters">
    <div class="filter-row">
      <div class="chips" role="group" aria-label="Status">
        ${STATUSES.map(
          (s) => html`<label key=${s} class=${f.status.includes(s) ? "chip-toggle on" : "chip-toggle"}>
            <input type="checkbox" name="status" value=${s} checked=${f.status.includes(s)} onChange=${() => toggle("status", s)} />${STATUS_LABEL[s]}
          </label>`,
        )}
      </div>
      <label class="inline-field"><span class="sr">Flagged</span>
        <select name="flagged" value=${f.flagged} onChange=${(e: Event) => setQuery({ flagged: (e.target as HTMLSelectElement).value }, { replace: true })}>
          <option value="">Flagged or not</option><option value="true">Flagged only</option><option value="false">Not flagged</option>
        </select>
      </label>
      <button class="btn btn-small" type="button" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? "Fewer filters" : "More filters"}${count ? ` (${count})` : ""}</button>
      ${count ? html`<a class="btn btn-small btn-ghost" href=${location.pathname} data-testid="clear-filters">Clear</a>` : null}
    </div>
    ${open
      ? html`<div class="filter-grid">
          <label class="field"><span>Started from</span><${Draft} type="date" name="from" value=${f.from} max=${f.to || undefined} onCommit=${commit("from")} /></label>
          <label class="field"><span>Started until</span><${Draft} type="date" name="to" value=${f.to} min=${f.from || undefined} onCommit=${commit("to")} /></label>
          <label class="field"><span>Min duration (min)</span><${Draft} type="number" name="minDuration" min="0" step="0.5" value=${secondsToMinutes(f.minDuration)} onCommit=${commit("minDuration", minutesToSeconds)} /></label>
          <label class="field"><span>Max duration (min)</span><${Draft} type="number" name="maxDuration" min="0" step="0.5" value=${secondsToMinutes(f.maxDuration)} onCommit=${commit("maxDuration", minutesToSeconds)} /></label>
          <label class="field"><span>Min completion (%)</span><${Draft} type="number" name="minCompletion" min="0" max="100" value=${f.minCompletion} onCommit=${commit("minCompletion")} /></label>
          <label class="field"><span>Max completion (%)</span><${Draft} type="number" name="maxCompletion" min="0" max="100" value=${f.maxCompletion} onCommit=${commit("maxCompletion")} /></label>
          <label class="field"><span>Language</span><${Draft} name="language" placeholder="e.g. en" maxlength="12" value=${f.language} onCommit=${commit("language")} /></label>
          <fieldset class="field"><legend>Sentiment</legend>
            <div class="chips">${SENTIMENTS.map(
              (s) => html`<label key=${s} class=${f.sentiment.includes(s) ? "chip-toggle on" : "chip-toggle"}><input type="checkbox" name="sentiment" value=${s} checked=${f.sentiment.includes(s)} onChange=${() => toggle("sentiment", s)} />${s}</label>`,
            )}</div>
          </fieldset>
        </div>`
      : null}
  </section>`;
}
