// A campaign's retention on its settings page: the org's days per data type, the campaign's own
// shorter values (admins and owners may set them; never longer than the org's), and what is
// deleted next in this campaign.
import { useState } from "preact/hooks";
import { get, patch } from "../api";
import { fmtDate } from "../format";
import { html } from "../html";
import { InlineError, toast, useAsync } from "../ui";

const TYPES = ["transcripts", "audio", "analytics", "metadata"] as const;
type DataType = (typeof TYPES)[number];
type Days = Record<DataType, number>;
const LABEL: Record<DataType, string> = { transcripts: "Transcripts and notes", audio: "Audio", analytics: "Analytics", metadata: "Session record" };

interface CampaignRetentionJson {
  campaignId: string;
  org: Days;
  retention: Partial<Days>;
  effective: Days;
  horizonDays: number;
  upcoming: { type: DataType; nextDueAt: string | null; dueWithinHorizon: number }[];
}

export function CampaignRetention({ id, editable }: { id: string; editable: boolean }) {
  const r = useAsync((signal) => get<CampaignRetentionJson>(`/v1/campaigns/${id}/retention`, signal), [id]);
  const [draft, setDraft] = useState<Record<DataType, string> | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  if (!r.data) return null;
  const data = r.data;
  const values = draft ?? (Object.fromEntries(TYPES.map((t) => [t, data.retention[t] === undefined ? "" : String(data.retention[t])])) as Record<DataType, string>);
  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setErr(null);
    try {
      const body = Object.fromEntries(TYPES.map((t) => [t, values[t].trim() === "" ? null : Number(values[t])]));
      const next = await patch<CampaignRetentionJson>(`/v1/campaigns/${id}/retention`, body);
      r.setData(() => next);
      setDraft(null);
      toast("Retention saved");
    } catch (x) {
      setErr(x);
    } finally {
      setSaving(false);
    }
  };
  return html`<section class="panel editor" data-testid="campaign-retention">
    <h2 class="panel-title">Data retention</h2>
    <p class="muted small">Days kept after each session ends. This campaign may keep data for less time than the organisation (never longer); leave a field empty to follow the organisation.</p>
    <form onSubmit=${save}>
      <div class="table-wrap"><table class="table">
        <thead><tr><th>Data</th><th>Organisation</th><th>This campaign</th><th>Next deletion here</th></tr></thead>
        <tbody>${TYPES.map((t) => {
          const u = data.upcoming.find((x) => x.type === t);
          return html`<tr key=${t}>
            <td class="strong">${LABEL[t]}</td>
            <td>${data.org[t]} days</td>
            <td>${editable
              ? html`<label class="inline-field"><span class="sr">${LABEL[t]} days for this campaign</span><input type="number" min="1" name=${`retention-${t}`} placeholder=${String(data.org[t])} value=${values[t]} onInput=${(e: Event) => setDraft({ ...values, [t]: (e.target as HTMLInputElement).value })} /></label>`
              : `${data.effective[t]} days`}</td>
            <td>${u?.nextDueAt ? `${fmtDate(u.nextDueAt)} (${u.dueWithinHorizon} within ${data.horizonDays} days)` : html`<span class="muted">none within ${data.horizonDays} days</span>`}</td>
          </tr>`;
        })}</tbody>
      </table></div>
      <${InlineError} error=${err} />
      ${editable ? html`<div class="actions-bar mt"><button class="btn" type="submit" disabled=${saving || draft === null}>${saving ? "Saving…" : "Save retention"}</button></div>` : null}
    </form>
  </section>`;
}
