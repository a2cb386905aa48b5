// Hand-written SVG charts for analytics: each one is an image with a title and a description
// for screen readers, plus its numbers in a visually hidden table; the bars carry their counts
// as text so nothing depends on reading a length.
import { html } from "./html";
import type { CampaignAnalytics } from "./analytics-types";

const C = { brand: "#3346d3", soft: "#c9d0f5", pos: "#2e9a5e", neu: "#a3a9ba", neg: "#d0453a", ink: "#1b2130", muted: "#5d6477", grid: "#e6e8f0" };
const pct = (n: number, d: number) => (d ? Math.round((n / d) * 100) : 0);
export const fmtSeconds = (s: number) => (s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round((s / 60) * 10) / 10} min` : `${Math.round((s / 3600) * 10) / 10} h`);
const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function Figure({ id, title, desc, children, table }: { id: string; title: string; desc: string; children: unknown; table: unknown }) {
  return html`<figure class="chart" data-testid=${id}>
    ${children}
    <figcaption class="sr">${desc}</figcaption>
    <table class="sr"><caption>${title}</caption>${table}</table>
  </figure>`;
}

/**
 * Reached and answered per question, as bars against the sessions that reached the first one.
 * The label reads "answered of reached · %", so the percentage is answered of reached (it was
 * answered of the first question's reached, and "11 of 11 · 92%" contradicted itself).
 */
export function Funnel({ funnel, questions }: { funnel: CampaignAnalytics["funnel"]; questions: string[] }) {
  const top = Math.max(1, ...funnel.map((f) => f.reached));
  const row = 40;
  const W = 420;
  const left = 32;
  const right = 104;
  const barW = W - left - right;
  const H = funnel.length * row + 8;
  const desc = funnel.map((f) => `Question ${f.questionIndex + 1}: ${f.reached} reached, ${f.answered} answered, ${f.dropped} dropped out`).join("; ");
  return html`<${Figure} id="funnel" title="Completion funnel" desc=${desc} table=${html`<thead><tr><th>Question</th><th>Reached</th><th>Answered</th><th>Dropped out</th></tr></thead><tbody>${funnel.map((f) => html`<tr><td>${f.questionIndex + 1}</td><td>${f.reached}</td><td>${f.answered}</td><td>${f.dropped}</td></tr>`)}</tbody>`}>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="funnel-title funnel-desc" class="chart-svg">
      <title id="funnel-title">Completion funnel</title>
      <desc id="funnel-desc">${desc}</desc>
      ${funnel.map((f, i) => {
        const y = i * row + 6;
        const wr = (f.reached / top) * barW;
        const wa = (f.answered / top) * barW;
        return html`<g class="funnel-row" data-question=${f.questionIndex} data-reached=${f.reached} data-answered=${f.answered} data-dropped=${f.dropped}>
          <title>${`Q${f.questionIndex + 1}. ${questions[f.questionIndex] ?? ""} — reached ${f.reached}, answered ${f.answered} (${pct(f.answered, f.reached)}% of those who reached it), dropped ${f.dropped}`}</title>
          <text x="0" y=${y + 19} fill=${C.muted} font-size="13" font-weight="600">Q${f.questionIndex + 1}</text>
          <rect x=${left} y=${y} width=${barW} height="28" rx="5" fill="#f3f4f9" />
          <rect x=${left} y=${y} width=${Math.max(wr, f.reached ? 3 : 0)} height="28" rx="5" fill=${C.soft} />
          <rect x=${left} y=${y} width=${Math.max(wa, f.answered ? 3 : 0)} height="28" rx="5" fill=${C.brand} />
          <text x=${left + barW + 8} y=${y + 19} font-size="13" fill=${C.ink}><tspan font-weight="700" class="funnel-answered">${f.answered}</tspan><tspan fill=${C.muted}> of </tspan><tspan class="funnel-reached">${f.reached}</tspan><tspan fill=${C.muted} class="funnel-pct">${` · ${pct(f.answered, f.reached)}%`}</tspan></text>
          ${f.dropped ? html`<text x=${left + Math.max(wr, 3) - 5} y=${y + 19} font-size="11" text-anchor="end" fill=${wr - wa > 22 ? "#27306e" : "#fff"}>${`−${f.dropped}`}</text>` : null}
        </g>`;
      })}
    </svg>
    <p class="legend"><span class="key" style=${`background:${C.brand}`}></span>answered <span class="key" style=${`background:${C.soft}`}></span>reached but not answered <span class="muted">· −n: dropped out there</span></p>
  <//>`;
}

/** Sessions per duration bucket, empty buckets drawn too. */
export function Histogram({ histogram }: { histogram: CampaignAnalytics["duration"]["histogram"] }) {
  const W = 440;
  const H = 200;
  const base = H - 30;
  const top = Math.max(1, ...histogram.map((b) => b.count));
  const slot = (W - 20) / Math.max(1, histogram.length);
  const desc = histogram.map((b) => `${fmtSeconds(b.from)} to ${fmtSeconds(b.to)}: ${b.count} sessions`).join("; ");
  return html`<${Figure} id="histogram" title="Session durations" desc=${desc} table=${html`<thead><tr><th>From</th><th>To</th><th>Sessions</th></tr></thead><tbody>${histogram.map((b) => html`<tr><td>${fmtSeconds(b.from)}</td><td>${fmtSeconds(b.to)}</td><td>${b.count}</td></tr>`)}</tbody>`}>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="hist-title hist-desc" class="chart-svg">
      <title id="hist-title">Session durations</title>
      <desc id="hist-desc">${desc}</desc>
      <line x1="10" x2=${W - 10} y1=${base} y2=${base} stroke=${C.grid} />
      ${histogram.map((b, i) => {
        const h = (b.count / top) * (base - 30);
        const x = 10 + i * slot + slot * 0.12;
        const w = slot * 0.76;
        return html`<g class="hist-bar" data-from=${b.from} data-to=${b.to} data-count=${b.count}>
          <title>${`${fmtSeconds(b.from)}–${fmtSeconds(b.to)}: ${b.count} session${b.count === 1 ? "" : "s"}`}</title>
          <rect x=${x} y=${base - h} width=${w} height=${Math.max(h, b.count ? 2 : 0)} rx="4" fill=${C.brand} />
          <text x=${x + w / 2} y=${base - h - 5} text-anchor="middle" font-size="12" font-weight="600" fill=${b.count ? C.ink : C.muted}>${b.count}</text>
          <text x=${x + w / 2} y=${base + 17} text-anchor="middle" font-size="11" fill=${C.muted}>${i === 0 || histogram.length <= 8 || i % 2 === 0 ? `<${fmtSeconds(b.to)}` : ""}</text>
        </g>`;
      })}
    </svg>
  <//>`;
}

/** Positive / neutral / negative answers per question, as 100% stacked columns with their counts. */
export function SentimentTrend({ trend, questions }: { trend: CampaignAnalytics["sentimentTrend"]; questions: string[] }) {
  const W = 440;
  const H = 210;
  const base = H - 28;
  const slot = (W - 20) / Math.max(1, trend.length);
  const w = Math.min(52, slot * 0.5);
  const desc = trend.map((t) => `Question ${t.questionIndex + 1}: ${t.positive} positive, ${t.neutral} neutral, ${t.negative} negative`).join("; ");
  // The net line: (positive − negative) / answers, from -1 at the bottom to 1 at the top.
  const net = trend.map((t, i) => {
    const n = t.positive + t.neutral + t.negative;
    // Drawn beside the column, not over its numbers.
    return n ? { x: 10 + i * slot + slot / 2 + w / 2 + 9, y: 10 + ((1 - (t.positive - t.negative) / n) / 2) * (base - 10) } : null;
  });
  const points = net.filter((p): p is { x: number; y: number } => p !== null);
  return html`<${Figure} id="sentiment-trend" title="Sentiment across questions" desc=${desc} table=${html`<thead><tr><th>Question</th><th>Positive</th><th>Neutral</th><th>Negative</th></tr></thead><tbody>${trend.map((t) => html`<tr><td>${t.questionIndex + 1}</td><td>${t.positive}</td><td>${t.neutral}</td><td>${t.negative}</td></tr>`)}</tbody>`}>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="trend-title trend-desc" class="chart-svg">
      <title id="trend-title">Sentiment across questions</title>
      <desc id="trend-desc">${desc}</desc>
      ${trend.map((t, i) => {
        const n = t.positive + t.neutral + t.negative;
        const x = 10 + i * slot + (slot - w) / 2;
        const seg = (count: number) => (n ? (count / n) * (base - 10) : 0);
        const hp = seg(t.positive);
        const hn = seg(t.neutral);
        const hg = seg(t.negative);
        return html`<g class="trend-col" data-question=${t.questionIndex} data-positive=${t.positive} data-neutral=${t.neutral} data-negative=${t.negative}>
          <title>${`Q${t.questionIndex + 1}. ${short(questions[t.questionIndex] ?? "", 80)} — ${t.positive} positive, ${t.neutral} neutral, ${t.negative} negative`}</title>
          ${n === 0 ? html`<rect x=${x} y="10" width=${w} height=${base - 10} rx="5" fill="#f3f4f9" /><text x=${x + w / 2} y=${base / 2 + 5} text-anchor="middle" font-size="12" fill=${C.muted}>none</text>` : null}
          ${hp ? html`<rect x=${x} y="10" width=${w} height=${hp} fill=${C.pos} /><text x=${x + w / 2} y=${10 + hp / 2 + 5} text-anchor="middle" font-size="13" fill="#fff" font-weight="600">${hp >= 18 ? t.positive : ""}</text>` : null}
          ${hn ? html`<rect x=${x} y=${10 + hp} width=${w} height=${hn} fill=${C.neu} /><text x=${x + w / 2} y=${10 + hp + hn / 2 + 5} text-anchor="middle" font-size="13" fill="#fff" font-weight="600">${hn >= 18 ? t.neutral : ""}</text>` : null}
          ${hg ? html`<rect x=${x} y=${10 + hp + hn} width=${w} height=${hg} fill=${C.neg} /><text x=${x + w / 2} y=${10 + hp + hn + hg / 2 + 5} text-anchor="middle" font-size="13" fill="#fff" font-weight="600">${hg >= 18 ? t.negative : ""}</text>` : null}
          <text x=${x + w / 2} y=${base + 20} text-anchor="middle" font-size="13" fill=${C.muted} font-weight="600">Q${t.questionIndex + 1}</text>
        </g>`;
      })}
      ${points.length > 1 ? html`<polyline points=${points.map((p) => `${p.x},${p.y}`).join(" ")} fill="none" stroke=${C.ink} stroke-width="2" stroke-dasharray="5 4" />` : null}
      ${points.map((p) => html`<circle cx=${p.x} cy=${p.y} r="4" fill="#fff" stroke=${C.ink} stroke-width="2" />`)}
    </svg>
    <p class="legend"><span class="key" style=${`background:${C.pos}`}></span>positive <span class="key" style=${`background:${C.neu}`}></span>neutral <span class="key" style=${`background:${C.neg}`}></span>negative <span class="key line"></span>net tone</p>
  <//>`;
}

/** Horizontal bars of counts with a label each (themes, clusters). */
export function CountBars({ id, title, items, quotesHidden }: { id: string; title: string; items: { label: string; count: number; quotes: string[] }[]; quotesHidden: boolean }) {
  const top = Math.max(1, ...items.map((t) => t.count));
  return html`<ul class="count-bars" data-testid=${id} aria-label=${title}>
    ${items.map(
      (t) => html`<li class="count-bar" data-label=${t.label} data-count=${t.count}>
        <div class="count-head"><span class="count-label">${t.label}</span><span class="count-num">${t.count}</span></div>
        <div class="count-track" aria-hidden="true"><div class="count-fill" style=${`width:${Math.max(2, (t.count / top) * 100)}%`}></div></div>
        ${!quotesHidden && t.quotes.length ? html`<ul class="quotes">${t.quotes.map((q) => html`<li><q>${q}</q></li>`)}</ul>` : null}
      </li>`,
    )}
  </ul>`;
}

/** A single 100% bar of a sentiment distribution, for the session page. */
export function SentimentBar({ d }: { d: { positive: number; neutral: number; negative: number } }) {
  const n = d.positive + d.neutral + d.negative;
  const label = `${d.positive} positive, ${d.neutral} neutral, ${d.negative} negative`;
  return html`<div class="sent-bar" role="img" aria-label=${label} title=${label} data-testid="sentiment-bar">
    ${n === 0 ? html`<span class="sent-empty">no answers analysed yet</span>` : null}
    ${(["positive", "neutral", "negative"] as const).map((k) => (d[k] ? html`<span class=${`sent-seg ${k}`} style=${`flex:${d[k]}`}>${d[k]}</span>` : null))}
  </div>`;
}
