// The insights panel of a session: summary, overall sentiment and its distribution, engagement,
// themes, per-question tone and quotes. Viewers see everything but the participant's words.
import { get } from "../api";
import type { SessionAnalytics } from "../analytics-types";
import { SentimentBar } from "../charts";
import { counted } from "../../../shared/plural";
import { html } from "../html";
import { ErrorState, Loading, useAsync } from "../ui";

export function InsightsPanel({ sessionId, status }: { sessionId: string; status: string }) {
  // Reloaded when the status changes: a session's analysis starts when it ends.
  const a = useAsync((signal) => get<SessionAnalytics>(`/v1/sessions/${encodeURIComponent(sessionId)}/analytics`, signal), [sessionId, status]);
  const d = a.data;
  return html`<section class="panel" data-testid="insights" aria-labelledby="h-insights">
    <div class="panel-head"><h2 class="panel-title" id="h-insights">Insights</h2>${d && !d.analysed && (status === "completed" || status === "abandoned") ? html`<button class="btn btn-small" onClick=${a.reload}>Refresh</button>` : null}</div>
    ${a.error && !d ? html`<${ErrorState} error=${a.error} retry=${a.reload} />` : !d ? html`<${Loading} label="Loading insights…" />` : html`<${Body} a=${d} />`}
  </section>`;
}

function Body({ a }: { a: SessionAnalytics }) {
  const analysing = !a.analysed && (a.status === "completed" || a.status === "abandoned");
  return html`<div>
    ${a.partial && a.status === "abandoned" ? html`<p class="banner warn small" data-testid="partial">Partial interview: the participant left${a.dropOffQuestion !== null ? ` at question ${a.dropOffQuestion + 1}` : ""}.</p>` : null}
    ${analysing ? html`<p class="muted small" role="status">Some answers are still being analysed.</p>` : null}
    ${a.summary ? html`<p class="summary" data-testid="summary">${a.summary}</p>` : null}
    <p class="small"><strong>Overall tone: </strong>${a.sentiment.overall ? html`<span class=${`sentiment ${a.sentiment.overall}`} data-testid="overall">${a.sentiment.overall}</span>` : html`<span class="muted">${a.analysed ? "no answer with words to read" : "not analysed yet"}</span>`}</p>
    <${SentimentBar} d=${a.sentiment.distribution} />
    <dl class="insight-figs">
      <div><dt title="0-100: length 40%, relevance 40%, emotional intensity 20%">Engagement</dt><dd data-testid="engagement">${a.answers.some((x) => x.engagement !== null) ? a.engagementScore : "—"}</dd></div>
      <div><dt>Response rate</dt><dd>${Math.round(a.responseRate * 100)}%</dd></div>
      <div><dt>Avg. words</dt><dd>${a.averageResponseLength}</dd></div>
    </dl>
    ${a.themes.length ? html`<p class="small"><strong>Themes: </strong><span class="chips" data-testid="session-themes">${a.themes.map((t) => html`<span class="chip">${t.theme} <span class="muted">×${t.count}</span></span> `)}</span></p>` : null}
    ${a.answers.length
      ? html`<ol class="answer-tones small" aria-label="Tone of each answer">${a.answers.map(
          (x) => html`<li>Q${x.questionIndex + 1}${x.followUp ? " follow-up" : ""}: ${x.sentiment ? html`<span class=${`sentiment ${x.sentiment.label}`}>${x.sentiment.label}</span>` : html`<span class="muted">${x.lowConfidence ? "unclear audio" : "not analysed"}</span>`} <span class="muted">· ${counted(x.wordCount, "word")}</span></li>`,
        )}</ol>`
      : null}
    ${a.quotesHidden
      ? html`<p class="muted small" data-testid="quotes-hidden">Quotes are hidden for your role.</p>`
      : a.quotes.length
        ? html`<div><strong class="small">In their words</strong><ul class="quotes" data-testid="quotes">${a.quotes.map((q) => html`<li><q dir="auto">${q.text}</q> <span class="muted">(Q${q.questionIndex + 1})</span></li>`)}</ul></div>`
        : null}
  </div>`;
}
