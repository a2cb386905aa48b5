// Custom reports: pick campaigns, a date range, metrics and a grouping; run to see the table,
// download it as CSV, save it under a name and run saved reports again on today's data.
import { useEffect, useState } from "preact/hooks";
import { api, del, describeError, get, post } from "../api";
import { METRICS, type GroupBy, type Metric, type ReportDefinition, type ReportResult, type SavedReport } from "../analytics-types";
import { dayEnd, dayOf, dayStart, fmtDateTime, localTimeZone } from "../format";
import { html } from "../html";
import { can } from "../roles";
import { useRole } from "../session-context";
import type { Campaign, Page } from "../types";
import { Confirm, Empty, ErrorState, InlineError, Loading, PageHeader, toast, useAsync } from "../ui";
import { allCampaigns } from "./campaign-head";

const METRIC_LABEL: Record<Metric, string> = {
  sessions: "Sessions",
  completed: "Completed",
  abandoned: "Abandoned",
  declined: "Declined consent",
  completionRate: "Completion rate",
  meanDuration: "Mean duration (s)",
  answers: "Answers",
  positive: "Positive",
  neutral: "Neutral",
  negative: "Negative",
  meanEngagement: "Mean engagement (0-1)",
};
const GROUP_LABEL: Record<GroupBy, string> = { campaign: "Campaign", question: "Question", date: "Date started (UTC)", segment: "Participant segment" };

export interface Form {
  campaignIds: string[];
  from: string;
  to: string;
  metrics: Metric[];
  groupBy: GroupBy;
  segmentAttribute: string;
}

export const toDefinition = (f: Form): ReportDefinition => ({
  campaignIds: f.campaignIds,
  metrics: METRICS.filter((m) => f.metrics.includes(m)),
  groupBy: f.groupBy,
  // Local days, as on the Sessions screen (whole UTC days here found other sessions for the same dates).
  ...(f.from ? { from: dayStart(f.from) } : {}),
  ...(f.to ? { to: dayEnd(f.to) } : {}),
  ...(f.groupBy === "segment" && f.segmentAttribute.trim() ? { segmentAttribute: f.segmentAttribute.trim() } : {}),
});
export const fromDefinition = (d: ReportDefinition): Form => ({
  campaignIds: d.campaignIds,
  metrics: d.metrics,
  groupBy: d.groupBy,
  from: dayOf(d.from, "start"),
  to: dayOf(d.to, "end"),
  segmentAttribute: d.segmentAttribute ?? "",
});

/** Fetches a CSV (POST) and hands it to the browser as a download. */
async function downloadCsv(path: string, body: unknown, filename: string) {
  const res = await fetch(path, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", Accept: "text/csv" }, body: JSON.stringify(body) });
  if (!res.ok) {
    const text = await res.text();
    throw new Error(/"message":"([^"]+)"/.exec(text)?.[1] ?? `The server answered ${res.status}.`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function Reports({ loc }: { loc: { query: URLSearchParams } }) {
  const role = useRole();
  const campaigns = useAsync((signal) => allCampaigns(signal), []);
  const saved = useAsync((signal) => get<Page<SavedReport>>("/v1/reports/saved?limit=100", signal), []);
  const first = loc.query.get("campaign");
  const [form, setForm] = useState<Form>({ campaignIds: first ? [first] : [], from: "", to: "", metrics: ["sessions", "completed", "completionRate", "meanDuration"], groupBy: "campaign", segmentAttribute: "segment" });
  const [result, setResult] = useState<{ title: string; r: ReportResult } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [deleting, setDeleting] = useState<SavedReport | null>(null);

  // With one campaign in the org, it is the obvious choice.
  useEffect(() => {
    if (campaigns.data?.length === 1 && form.campaignIds.length === 0) setForm((f) => ({ ...f, campaignIds: [campaigns.data![0]!.id] }));
  }, [campaigns.data]);

  const names = new Map((campaigns.data ?? []).map((c: Campaign) => [c.id, c.name]));
  const toggle = <K extends "campaignIds" | "metrics">(key: K, value: Form[K][number]) =>
    setForm((f) => ({ ...f, [key]: (f[key] as string[]).includes(value as string) ? (f[key] as string[]).filter((x) => x !== value) : [...(f[key] as string[]), value] }));
  const invalid = form.campaignIds.length === 0 ? "Pick at least one campaign." : form.metrics.length === 0 ? "Pick at least one metric." : null;

  const run = async (title: string, path: string, body?: unknown) => {
    setBusy(true);
    setError(null);
    try {
      setResult({ title, r: await api<ReportResult>(path, { method: "POST", body: body ?? {} }) });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const csv = async (path: string, body: unknown, filename: string) => {
    try {
      await downloadCsv(path, body, filename);
    } catch (err) {
      toast(describeError(err), "error");
    }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<SavedReport>("/v1/reports/saved", { name: name.trim(), definition: toDefinition(form) });
      saved.setData((p) => (p ? { ...p, data: [r, ...p.data] } : p));
      setName("");
      toast(`Saved “${r.name}”`);
    } catch (err) {
      toast(describeError(err), "error");
    }
  };

  const groupCell = (g: GroupBy, v: unknown) => (g === "campaign" ? (names.get(String(v)) ?? String(v)) : g === "question" ? `Q${Number(v) + 1}` : String(v ?? "—"));
  return html`<div class="page" data-testid="reports-page">
    <${PageHeader} title="Custom reports" sub="Campaigns × dates × metrics, grouped the way you need; save a report to run it again on today's data." />
    <div class="report-layout">
      <div>
        <section class="panel" aria-labelledby="h-build">
          <h2 class="panel-title" id="h-build">Build a report</h2>
          ${campaigns.error ? html`<${ErrorState} error=${campaigns.error} retry=${campaigns.reload} />` : !campaigns.data ? html`<${Loading} label="Loading campaigns…" />` : html`
          <form class="report-form" onSubmit=${(e: Event) => (e.preventDefault(), invalid ? setError(new Error(invalid)) : run("Report", "/v1/reports", toDefinition(form)))}>
            <fieldset><legend>Campaigns</legend><div class="check-grid" data-testid="report-campaigns">
              ${campaigns.data.length ? campaigns.data.map((c) => html`<label><input type="checkbox" name="campaign" value=${c.id} checked=${form.campaignIds.includes(c.id)} onChange=${() => toggle("campaignIds", c.id)} />${c.name}</label>`) : html`<span class="muted">No campaigns yet.</span>`}
            </div></fieldset>
            <div class="grid-2">
              <label class="field"><span>Started from</span><input type="date" name="from" value=${form.from} onInput=${(e: Event) => setForm({ ...form, from: (e.target as HTMLInputElement).value })} /></label>
              <label class="field"><span>Started until</span><input type="date" name="to" value=${form.to} onInput=${(e: Event) => setForm({ ...form, to: (e.target as HTMLInputElement).value })} /></label>
            </div>
            <p class="muted small" data-testid="report-timezone">Dates are whole days in your time zone (${localTimeZone()}); grouping by date uses UTC days. A participant who declined counts from the day they opened the link.</p>
            <p class="muted small" data-testid="report-metric-help">Declined: consent refused, or withdrawn before answering anything; they are among the abandoned. Completion rate is completed of those who agreed to take part (sessions − declined), and mean duration leaves declined sessions out.</p>
            <fieldset><legend>Metrics</legend><div class="check-grid">
              ${METRICS.map((m) => html`<label><input type="checkbox" name="metric" value=${m} checked=${form.metrics.includes(m)} onChange=${() => toggle("metrics", m)} />${METRIC_LABEL[m]}</label>`)}
            </div></fieldset>
            <div class="grid-2">
              <label class="field"><span>Group by</span><select name="groupBy" value=${form.groupBy} onChange=${(e: Event) => setForm({ ...form, groupBy: (e.target as HTMLSelectElement).value as GroupBy })}>
                ${(Object.keys(GROUP_LABEL) as GroupBy[]).map((g) => html`<option value=${g}>${GROUP_LABEL[g]}</option>`)}
              </select></label>
              ${form.groupBy === "segment" ? html`<label class="field"><span>Invite attribute</span><input name="segmentAttribute" value=${form.segmentAttribute} maxlength="64" onInput=${(e: Event) => setForm({ ...form, segmentAttribute: (e.target as HTMLInputElement).value })} /></label>` : html`<span></span>`}
            </div>
            ${invalid ? html`<p class="muted small">${invalid}</p>` : null}
            <div class="actions-bar">
              <button class="btn btn-primary" type="submit" disabled=${busy || !!invalid}>${busy ? "Running…" : "Run report"}</button>
              <button class="btn" type="button" disabled=${!!invalid} onClick=${() => csv("/v1/reports", { ...toDefinition(form), format: "csv" }, "report.csv")}>Download CSV</button>
            </div>
          </form>`}
        </section>
        <section class="panel flush" aria-labelledby="h-result" data-testid="report-result">
          <div class="panel-head pad"><h2 class="panel-title" id="h-result">${result ? result.title : "Results"}</h2>${result ? html`<span class="muted small">${result.r.data.length} row${result.r.data.length === 1 ? "" : "s"}</span>` : null}</div>
          ${error ? html`<div class="pad"><${InlineError} error=${error} /></div>` : null}
          ${!result
            ? html`<div class="pad muted">Run a report to see its table here.</div>`
            : result.r.data.length === 0
              ? html`<${Empty} title="No sessions match">Try a wider date range or more campaigns.<//>`
              : html`<div class="table-wrap"><table class="table" data-testid="report-table">
                  <caption class="sr">${result.title}</caption>
                  <thead><tr><th scope="col">${GROUP_LABEL[result.r.groupBy]}</th>${result.r.metrics.map((m) => html`<th scope="col" class="num">${METRIC_LABEL[m]}</th>`)}</tr></thead>
                  <tbody>${result.r.data.map((row) => html`<tr><th scope="row">${groupCell(result.r.groupBy, row[result.r.groupBy])}</th>${result.r.metrics.map((m) => html`<td class="num">${m === "completionRate" ? `${Math.round(Number(row[m]) * 1000) / 10}%` : row[m]}</td>`)}</tr>`)}</tbody>
                </table></div>`}
        </section>
      </div>
      <aside>
        ${can(role, "saveReports")
          ? html`<section class="panel" aria-labelledby="h-save">
              <h2 class="panel-title" id="h-save">Save this report</h2>
              <form onSubmit=${save}>
                <label class="field"><span>Name</span><input name="reportName" required maxlength="120" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} placeholder="e.g. Weekly completion" /></label>
                <button class="btn" type="submit" disabled=${!name.trim() || !!invalid}>Save report</button>
              </form>
            </section>`
          : null}
        <section class="panel" aria-labelledby="h-saved" data-testid="saved-reports">
          <h2 class="panel-title" id="h-saved">Saved reports</h2>
          ${saved.error ? html`<${ErrorState} error=${saved.error} retry=${saved.reload} />` : !saved.data ? html`<${Loading} />` : saved.data.data.length === 0 ? html`<p class="muted small">None yet.</p>` : html`<ul class="saved-list">${saved.data.data.map(
            (r) => html`<li data-report=${r.id}>
              <strong>${r.name}</strong>
              <span class="muted small">${GROUP_LABEL[r.definition.groupBy]} · ${r.definition.metrics.length} metric${r.definition.metrics.length === 1 ? "" : "s"} · ${r.lastRunAt ? `last run ${fmtDateTime(r.lastRunAt)}` : "never run"}</span>
              <div class="row-actions">
                <button class="btn btn-small" onClick=${async () => {
                  await run(r.name, `/v1/reports/saved/${r.id}/run?format=json`);
                  saved.reload();
                }}>Run</button>
                <button class="btn btn-small" onClick=${() => csv(`/v1/reports/saved/${r.id}/run?format=csv`, {}, `${r.name}.csv`)}>CSV</button>
                <button class="btn btn-small btn-ghost" onClick=${() => setForm(fromDefinition(r.definition))}>Edit in builder</button>
                ${can(role, "saveReports") ? html`<button class="btn btn-small btn-danger-ghost" aria-label=${`Delete ${r.name}`} onClick=${() => setDeleting(r)}>Delete</button>` : null}
              </div>
            </li>`,
          )}</ul>`}
        </section>
      </aside>
    </div>
    ${deleting
      ? html`<${Confirm} title=${`Delete “${deleting.name}”?`} action="Delete report" danger onClose=${() => setDeleting(null)}
          body=${html`<p>Only the saved definition goes; no data changes.</p>`}
          onConfirm=${async () => {
            await del(`/v1/reports/saved/${deleting.id}`);
            saved.setData((p) => (p ? { ...p, data: p.data.filter((x) => x.id !== deleting.id) } : p));
            toast("Report deleted");
          }} />`
      : null}
  </div>`;
}
