// A campaign's Analytics tab: headline figures, then the funnel, durations, sentiment across
// questions, top themes with quotes and response patterns, from the campaign's aggregates, or
// over the sessions that started on the days picked (local days, as on Sessions and Reports; the
// days live in the URL query so the view can be shared).
import { get } from "../api";
import type { CampaignAnalytics } from "../analytics-types";
import { CountBars, fmtSeconds, Funnel, Histogram, SentimentTrend } from "../charts";
import { dayEnd, dayStart, localTimeZone } from "../format";
import { html } from "../html";
import { setQuery, type Loc } from "../router";
import type { Campaign } from "../types";
import { Empty, ErrorState, Loading, useAsync } from "../ui";
import { CampaignHead, CampaignMissing, useCampaign } from "./campaign-head";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A yyyy-mm-dd day from the URL, or "" for anything else. */
const dayParam = (loc: Loc | undefined, key: string) => {
  const v = loc?.query.get(key) ?? "";
  return DAY.test(v) && dayStart(v) !== undefined && !Number.isNaN(Date.parse(dayStart(v)!)) ? v : "";
};

/** The analytics request for a campaign over local days (either may be ""). */
export function analyticsPath(id: string, from: string, to: string): string {
  const q = new URLSearchParams();
  if (from) q.set("from", dayStart(from)!);
  if (to) q.set("to", dayEnd(to)!);
  const s = q.toString();
  return `/v1/campaigns/${encodeURIComponent(id)}/analytics${s ? `?${s}` : ""}`;
}

export function CampaignAnalyticsScreen({ params, loc }: { params: { id: string }; loc?: Loc }) {
  const { campaign, error: campaignError, notFound } = useCampaign(params.id);
  let from = dayParam(loc, "from");
  let to = dayParam(loc, "to");
  // Days picked both ways round are read as the range they span.
  if (from && to && from > to) [from, to] = [to, from];
  const a = useAsync((signal) => get<CampaignAnalytics>(analyticsPath(params.id, from, to), signal), [params.id, from, to]);
  const ranged = !!(from || to);
  const body =
    a.error && !a.data
      ? html`<${ErrorState} error=${a.error} retry=${a.reload} />`
      : !a.data || !campaign
        ? html`<${Loading} label="Adding up the campaign…" />`
        : html`<${Charts} a=${a.data} campaign=${campaign} ranged=${ranged} />`;
  return html`<div class="page" data-testid="campaign-analytics">
    <${CampaignHead} id=${params.id} campaign=${campaign} tab="analytics">
      ${notFound
        ? null
        : html`<a class="btn" href=${`/reports?campaign=${encodeURIComponent(params.id)}`}>Custom report</a>
            <button class="btn" onClick=${a.reload} disabled=${a.loading}>${a.loading ? "Refreshing…" : "Refresh"}</button>`}
    <//>
    ${notFound ? null : html`<${RangeBar} from=${from} to=${to} />`}
    ${notFound ? html`<${CampaignMissing} />` : campaignError ? html`<${ErrorState} error=${campaignError} />` : body}
  </div>`;
}

function RangeBar({ from, to }: { from: string; to: string }) {
  const pick = (key: "from" | "to") => (e: Event) => setQuery({ [key]: (e.target as HTMLInputElement).value }, { replace: true });
  const ranged = !!(from || to);
  return html`<section class="filters range-bar" aria-label="Date range" data-testid="analytics-range">
    <div class="range-row">
      <label class="field"><span>Started from</span><input type="date" name="from" value=${from} max=${to || undefined} onChange=${pick("from")} /></label>
      <label class="field"><span>Started until</span><input type="date" name="to" value=${to} min=${from || undefined} onChange=${pick("to")} /></label>
      ${ranged ? html`<button class="btn" type="button" onClick=${() => setQuery({ from: null, to: null }, { replace: true })}>Whole campaign</button>` : null}
    </div>
    <p class="muted small" data-testid="analytics-range-help">${ranged ? "Sessions that started on these days" : "The whole campaign; pick days to see only the sessions that started on them"} (whole days in your time zone, ${localTimeZone()}). Someone who declined counts from the day they opened the link.</p>
  </section>`;
}

function Stat({ label, value, sub, id }: { label: string; value: unknown; sub?: unknown; id: string }) {
  return html`<div class="stat" data-testid=${id}><span class="stat-label">${label}</span><span class="stat-value">${value}</span>${sub ? html`<span class="stat-sub">${sub}</span>` : null}</div>`;
}

const pct = (x: number | null) => (x === null ? "—" : `${Math.round(x * 100)}%`);

function Charts({ a, campaign, ranged }: { a: CampaignAnalytics; campaign: Campaign; ranged: boolean }) {
  const questions = campaign.questions.map((q) => q.text);
  const s = a.sessions;
  if (s.total === 0 && a.sentimentTrend.every((t) => t.positive + t.neutral + t.negative === 0)) {
    return ranged
      ? html`<${Empty} title="No interviews on these days">No session of this campaign started in this date range. Pick other days, or the whole campaign.<//>`
      : html`<${Empty} title="No finished interviews yet">Charts appear here as soon as the first session of this campaign completes or is abandoned.<//>`;
  }
  const patterns = a.responsePatterns.filter((p) => p.clusters.length);
  const declined = s.declined ?? 0;
  return html`<div class="analytics">
    <div class="stats">
      <${Stat} id="stat-total" label="Finished sessions" value=${s.total} sub=${`${s.total - declined} took part`} />
      <${Stat} id="stat-completed" label="Completed" value=${s.completed} sub=${`${pct(s.completionRate)} of those who took part`} />
      <${Stat} id="stat-abandoned" label="Abandoned" value=${s.abandoned} sub=${`${s.droppedOut ?? s.abandoned} dropped out · ${declined} declined`} />
      <${Stat} id="stat-declined" label="Declined consent" value=${declined} sub=${`${pct(s.consentRate)} consent rate`} />
      <${Stat} id="stat-median" label="Median duration" value=${fmtSeconds(a.duration.median)} sub=${`mean ${fmtSeconds(a.duration.mean)}`} />
    </div>
    <p class="muted small chart-help" data-testid="stats-help">Completion rate is completed of those who agreed to take part (finished sessions less those who declined). Declined means consent refused, or withdrawn before answering anything: such sessions end abandoned, so they are among the abandoned, but the funnel and durations leave them out. Consent rate is those who took part of all finished sessions.</p>
    <div class="chart-grid">
      <section class="panel" aria-labelledby="h-funnel">
        <h2 class="panel-title" id="h-funnel">Completion funnel</h2>
        <p class="muted small chart-help">Finished sessions (completed or abandoned) of those who took part, declined ones left out: how many reached each question and how many answered it; the percentage is answered of reached, the bars are drawn against the first question (follow-ups count toward their question).</p>
        <${Funnel} funnel=${a.funnel} questions=${questions} />
      </section>
      <section class="panel" aria-labelledby="h-hist">
        <h2 class="panel-title" id="h-hist">How long interviews take</h2>
        <p class="muted small chart-help">Finished sessions of those who took part, by active duration (pauses excluded).</p>
        ${a.duration.histogram.length ? html`<${Histogram} histogram=${a.duration.histogram} />` : html`<p class="muted">No finished sessions yet.</p>`}
      </section>
      <section class="panel" aria-labelledby="h-trend">
        <h2 class="panel-title" id="h-trend">Sentiment across questions</h2>
        <p class="muted small chart-help">The tone of each question's analysed answers, one per participant (follow-up replies not counted), sessions still in progress included; the dashed line is the net tone.</p>
        <${SentimentTrend} trend=${a.sentimentTrend} questions=${questions} />
      </section>
      <section class="panel" aria-labelledby="h-themes">
        <h2 class="panel-title" id="h-themes">Top themes</h2>
        <p class="muted small chart-help">Themes of all analysed answers, follow-ups and sessions still in progress included.</p>
        ${a.quotesHidden ? html`<p class="muted small">Quotes are hidden for your role.</p>` : a.range ? html`<p class="muted small" data-testid="themes-range-note">Theme quotes are kept for the whole campaign only; clear the dates to see them.</p>` : null}
        ${a.topThemes.length ? html`<${CountBars} id="themes" title="Top themes" items=${a.topThemes.map((t) => ({ label: t.theme, count: t.count, quotes: t.quotes.slice(0, 1) }))} quotesHidden=${!!a.quotesHidden} />` : html`<p class="muted">No themes found yet.</p>`}
      </section>
    </div>
    <section class="panel" aria-labelledby="h-patterns" data-testid="patterns">
      <h2 class="panel-title" id="h-patterns">Response patterns</h2>
      <p class="muted small chart-help">Main answers to each question, sessions still in progress included, grouped by similarity of meaning, largest group first.</p>
      ${patterns.length
        ? html`<div class="pattern-grid">${patterns.map(
            (p) => html`<div class="pattern-q" data-question=${p.questionIndex}>
              <h3 class="pattern-title"><span class="qtag">Q${p.questionIndex + 1}</span> ${questions[p.questionIndex] ?? ""}</h3>
              <${CountBars} id=${`patterns-q${p.questionIndex}`} title=${`Response patterns of question ${p.questionIndex + 1}`} items=${p.clusters.map((c) => ({ label: c.label, count: c.count, quotes: c.examples }))} quotesHidden=${!!a.quotesHidden} />
            </div>`,
          )}</div>`
        : html`<p class="muted">Patterns appear once answers have been analysed.</p>`}
    </section>
  </div>`;
}
