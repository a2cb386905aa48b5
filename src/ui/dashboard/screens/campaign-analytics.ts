// A campaign's Analytics tab: headline figures, then the funnel, durations, sentiment across
// questions, top themes with quotes and response patterns, all from the campaign's aggregates.
import { get } from "../api";
import type { CampaignAnalytics } from "../analytics-types";
import { CountBars, fmtSeconds, Funnel, Histogram, SentimentTrend } from "../charts";
import { html } from "../html";
import type { Campaign } from "../types";
import { Empty, ErrorState, Loading, useAsync } from "../ui";
import { CampaignHead, CampaignMissing, useCampaign } from "./campaign-head";

export function CampaignAnalyticsScreen({ params }: { params: { id: string } }) {
  const { campaign, error: campaignError, notFound } = useCampaign(params.id);
  const a = useAsync((signal) => get<CampaignAnalytics>(`/v1/campaigns/${encodeURIComponent(params.id)}/analytics`, signal), [params.id]);
  const body = a.error && !a.data ? html`<${ErrorState} error=${a.error} retry=${a.reload} />` : !a.data || !campaign ? html`<${Loading} label="Adding up the campaign…" />` : html`<${Charts} a=${a.data} campaign=${campaign} />`;
  return html`<div class="page" data-testid="campaign-analytics">
    <${CampaignHead} id=${params.id} campaign=${campaign} tab="analytics">
      ${notFound
        ? null
        : html`<a class="btn" href=${`/reports?campaign=${encodeURIComponent(params.id)}`}>Custom report</a>
            <button class="btn" onClick=${a.reload} disabled=${a.loading}>${a.loading ? "Refreshing…" : "Refresh"}</button>`}
    <//>
    ${notFound ? html`<${CampaignMissing} />` : campaignError ? html`<${ErrorState} error=${campaignError} />` : body}
  </div>`;
}

function Stat({ label, value, sub, id }: { label: string; value: unknown; sub?: unknown; id: string }) {
  return html`<div class="stat" data-testid=${id}><span class="stat-label">${label}</span><span class="stat-value">${value}</span>${sub ? html`<span class="stat-sub">${sub}</span>` : null}</div>`;
}

function Charts({ a, campaign }: { a: CampaignAnalytics; campaign: Campaign }) {
  const questions = campaign.questions.map((q) => q.text);
  const s = a.sessions;
  if (s.total === 0 && a.sentimentTrend.every((t) => t.positive + t.neutral + t.negative === 0)) {
    return html`<${Empty} title="No finished interviews yet">Charts appear here as soon as the first session of this campaign completes or is abandoned.<//>`;
  }
  const rate = s.total ? Math.round((s.completed / s.total) * 100) : 0;
  const patterns = a.responsePatterns.filter((p) => p.clusters.length);
  return html`<div class="analytics">
    <div class="stats">
      <${Stat} id="stat-total" label="Finished sessions" value=${s.total} />
      <${Stat} id="stat-completed" label="Completed" value=${s.completed} sub=${`${rate}% completion`} />
      <${Stat} id="stat-abandoned" label="Abandoned" value=${s.abandoned} />
      <${Stat} id="stat-median" label="Median duration" value=${fmtSeconds(a.duration.median)} sub=${`mean ${fmtSeconds(a.duration.mean)}`} />
    </div>
    <div class="chart-grid">
      <section class="panel" aria-labelledby="h-funnel">
        <h2 class="panel-title" id="h-funnel">Completion funnel</h2>
        <p class="muted small chart-help">Finished sessions (completed or abandoned): how many reached each question and how many answered it; the percentage is answered of reached, the bars are drawn against the first question (follow-ups count toward their question).</p>
        <${Funnel} funnel=${a.funnel} questions=${questions} />
      </section>
      <section class="panel" aria-labelledby="h-hist">
        <h2 class="panel-title" id="h-hist">How long interviews take</h2>
        <p class="muted small chart-help">Finished sessions by active duration (pauses excluded).</p>
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
        ${a.quotesHidden ? html`<p class="muted small">Quotes are hidden for your role.</p>` : null}
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
