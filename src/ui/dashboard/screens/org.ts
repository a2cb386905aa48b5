// Settings → Organisation (owners): the org's name, its plan, and the retention in force. Custom
// retention (days per data type) is an Enterprise feature; the API refuses it on other plans, so
// other plans see the plan's values and where to change them.
import { useEffect, useState } from "preact/hooks";
import { get, patch, recheckAccess } from "../api";
import { fmtDate } from "../format";
import { html } from "../html";
import { ErrorState, InlineError, Loading, PageHeader, toast, useAsync } from "../ui";

const TYPES = ["transcripts", "audio", "analytics", "metadata"] as const;
type DataType = (typeof TYPES)[number];
type Days = Record<DataType, number>;
const TYPE_LABEL: Record<DataType, string> = { transcripts: "Transcripts and notes", audio: "Audio recordings", analytics: "Analytics", metadata: "Session record (metadata)" };
const PLAN_LABEL: Record<string, string> = { free: "Free", starter: "Starter", professional: "Professional", enterprise: "Enterprise" };
const MIN_DAYS = 1;
const MAX_DAYS = 3650;

interface Org {
  id: string;
  name: string;
  plan: "free" | "starter" | "professional" | "enterprise";
  retentionDays: number | null;
  retentionCustom: Partial<Days> | null;
  retention: Days;
  createdAt: string;
}

const days = (n: number) => (n === 1 ? "1 day" : n % 365 === 0 ? `${n / 365} year${n === 365 ? "" : "s"}` : `${n} days`);

export function OrgSettings() {
  const org = useAsync((signal) => get<Org>("/v1/org", signal), []);
  return html`<div class="page" data-testid="org-settings">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="Organisation" sub="Your organisation's name, plan and how long its interview data is kept." />
    ${org.loading && !org.data ? html`<${Loading} label="Loading your organisation…" />` : null}
    ${org.error && !org.data ? html`<${ErrorState} error=${org.error} retry=${org.reload} />` : null}
    ${org.data
      ? html`<${NamePanel} org=${org.data} onSaved=${(o: Org) => org.setData(() => o)} />
          <${RetentionEditor} org=${org.data} onSaved=${(o: Org) => org.setData(() => o)} />`
      : null}
  </div>`;
}

function NamePanel({ org, onSaved }: { org: Org; onSaved: (o: Org) => void }) {
  const [name, setName] = useState(org.name);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      onSaved(await patch<Org>("/v1/org", { name: name.trim() }));
      toast("Organisation name saved");
      void recheckAccess().catch(() => undefined); // the sidebar shows the new name
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="panel">
    <h2 class="panel-title">Organisation</h2>
    <form class="inline-form" onSubmit=${save} data-testid="org-name-form">
      <label class="field"><span>Name</span><input name="org-name" required maxlength="200" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
      <div class="field"><span>Plan</span><span class="strong" data-testid="org-plan">${PLAN_LABEL[org.plan] ?? org.plan}</span></div>
      <button class="btn btn-primary" type="submit" disabled=${busy || !name.trim() || name.trim() === org.name}>${busy ? "Saving…" : "Save name"}</button>
    </form>
    <${InlineError} error=${err} />
    <p class="muted small mt">Organisation id <span class="mono">${org.id}</span> · created ${fmtDate(org.createdAt)}. To change plans, contact your account manager.</p>
  </section>`;
}

function RetentionEditor({ org, onSaved }: { org: Org; onSaved: (o: Org) => void }) {
  const enterprise = org.plan === "enterprise";
  const initial = () => Object.fromEntries(TYPES.map((t) => [t, String(org.retentionCustom?.[t] ?? org.retentionDays ?? "")])) as Record<DataType, string>;
  const [form, setForm] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => setForm(initial()), [org]);
  const custom = org.retentionCustom !== null || org.retentionDays !== null;

  const invalid = TYPES.find((t) => form[t] !== "" && !(Number.isInteger(Number(form[t])) && Number(form[t]) >= MIN_DAYS && Number(form[t]) <= MAX_DAYS));
  const send = async (retention: Partial<Days> | null) => {
    setBusy(true);
    setErr(null);
    try {
      onSaved(await patch<Org>("/v1/org", { retention, retentionDays: null }));
      toast(retention ? "Custom retention saved" : "Back to the plan's retention");
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  const save = (e: Event) => {
    e.preventDefault();
    if (invalid) return;
    const values = Object.fromEntries(TYPES.filter((t) => form[t] !== "").map((t) => [t, Number(form[t])])) as Partial<Days>;
    void send(Object.keys(values).length ? values : null);
  };

  return html`<section class="panel" data-testid="org-retention">
    <div class="panel-head"><h2 class="panel-title">Retention</h2>
      <span class="muted small">${enterprise ? (custom ? "Custom values in force" : "The Enterprise plan's values are in force") : `The ${PLAN_LABEL[org.plan]} plan's values are in force`}</span></div>
    ${enterprise
      ? html`<form onSubmit=${save} data-testid="retention-form">
          <p class="muted small">Days to keep each kind of data after a session ends (${MIN_DAYS}–${MAX_DAYS}). Leave a field empty for the plan's value. Campaigns may keep data for less, never for more.</p>
          <div class="grid-2">
            ${TYPES.map(
              (t) => html`<label key=${t} class="field"><span>${TYPE_LABEL[t]} <span class="muted">(now ${days(org.retention[t])})</span></span>
                <input type="number" name=${`retention-${t}`} min=${MIN_DAYS} max=${MAX_DAYS} step="1" placeholder="plan value" value=${form[t]} onInput=${(e: Event) => setForm({ ...form, [t]: (e.target as HTMLInputElement).value })} />
              </label>`,
            )}
          </div>
          ${invalid ? html`<p class="form-error" role="alert">${TYPE_LABEL[invalid]}: a whole number of days from ${MIN_DAYS} to ${MAX_DAYS}.</p>` : null}
          <${InlineError} error=${err} />
          <div class="actions-bar mt">
            <button class="btn btn-primary" type="submit" disabled=${busy || Boolean(invalid)}>${busy ? "Saving…" : "Save retention"}</button>
            ${custom ? html`<button class="btn" type="button" disabled=${busy} onClick=${() => send(null)}>Use the plan's values</button>` : null}
          </div>
        </form>`
      : html`<div class="table-wrap"><table class="table" data-testid="org-retention-table">
            <thead><tr><th>Data</th><th>Kept for</th></tr></thead>
            <tbody>${TYPES.map((t) => html`<tr key=${t}><td class="strong">${TYPE_LABEL[t]}</td><td>${days(org.retention[t])}</td></tr>`)}</tbody>
          </table></div>
          <p class="muted small mt">Custom retention is available on the Enterprise plan. Campaigns can keep data for less than this in their own settings.</p>`}
    <p class="small mt"><a href="/settings/privacy">See what is deleted next →</a></p>
  </section>`;
}
