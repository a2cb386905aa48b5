// Invites: one link per participant. The link (its token) is shown once, right after creation.
import { useState } from "preact/hooks";
import { patch, post } from "../api";
import { fmtDate, fmtDateTime, participantLabel } from "../format";
import { html } from "../html";
import type { Invite } from "../types";
import { CopyField, Empty, ErrorState, InlineError, Loading, usePaged } from "../ui";
import { CampaignHead, CampaignMissing, useCampaign } from "./campaign-head";

export function Invites({ params }: { params: { id: string } }) {
  const { campaign, notFound } = useCampaign(params.id);
  const list = usePaged<Invite>(`/v1/campaigns/${encodeURIComponent(params.id)}/invites?limit=100`);
  const [created, setCreated] = useState<Invite[]>([]);
  const [form, setForm] = useState({ name: "", email: "", expires: "", maxUses: "1" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const participant: Record<string, string> = {};
    if (form.name.trim()) participant.name = form.name.trim();
    if (form.email.trim()) participant.email = form.email.trim();
    const body: Record<string, unknown> = { participant, maxUses: Math.max(1, Number(form.maxUses) || 1) };
    if (form.expires) body.expiresAt = new Date(`${form.expires}T23:59:59`).toISOString();
    try {
      const inv = await post<Invite>(`/v1/campaigns/${params.id}/invites`, body);
      setCreated((c) => [inv, ...c]);
      list.setRows((r) => [inv, ...r.filter((x) => x.id !== inv.id)]);
      setForm({ name: "", email: "", expires: form.expires, maxUses: form.maxUses });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  // Revoke (it expires now: no new sessions, one under way goes on) or reopen for 30 days.
  const [changing, setChanging] = useState<string | null>(null);
  const [rowError, setRowError] = useState<unknown>(null);
  const change = async (inv: Invite, what: "revoke" | "extend") => {
    if (what === "revoke" && !window.confirm(`Revoke the link for ${participantLabel(inv.participant, "this participant")}? Nobody can start an interview with it any more; one under way can still be finished.`)) return;
    setChanging(inv.id);
    setRowError(null);
    try {
      const next =
        what === "revoke"
          ? await post<Invite>(`/v1/invites/${encodeURIComponent(inv.id)}/revoke`, {})
          : await patch<Invite>(`/v1/invites/${encodeURIComponent(inv.id)}`, { expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() });
      list.setRows((r) => r.map((x) => (x.id === next.id ? { ...x, ...next } : x)));
    } catch (err) {
      setRowError(err);
    } finally {
      setChanging(null);
    }
  };
  const field = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const now = Date.now();

  if (notFound) return html`<div class="page"><${CampaignHead} id=${params.id} campaign=${null} tab="invites" /><${CampaignMissing} /></div>`;
  return html`<div class="page">
    <${CampaignHead} id=${params.id} campaign=${campaign} tab="invites" />
    <section class="panel">
      <h2 class="panel-title">Invite a participant</h2>
      <form class="invite-form" onSubmit=${submit} data-testid="invite-form">
        <label class="field"><span>Name <span class="muted">(optional)</span></span><input name="name" value=${form.name} maxlength="200" onInput=${field("name")} /></label>
        <label class="field"><span>Email <span class="muted">(optional)</span></span><input name="email" type="email" value=${form.email} onInput=${field("email")} /></label>
        <label class="field"><span>Expires <span class="muted">(default 30 days)</span></span><input name="expires" type="date" value=${form.expires} onInput=${field("expires")} /></label>
        <label class="field narrow"><span>Uses</span><input name="maxUses" type="number" min="1" max="1000" value=${form.maxUses} onInput=${field("maxUses")} /></label>
        <button class="btn btn-primary" type="submit" disabled=${busy}>${busy ? "Creating…" : "Create invite link"}</button>
      </form>
      <${InlineError} error=${error} />
      ${created.map(
        (inv) => html`<div key=${inv.id} class="created-invite" data-testid="invite-link">
          <p><strong>Link for ${participantLabel(inv.participant, "a participant")}</strong> <span class="muted small">· copy it now: for security it is not shown again</span></p>
          <${CopyField} value=${inv.url ?? ""} label="Invite link" />
        </div>`,
      )}
    </section>

    <section class="panel flush">
      <h2 class="panel-title pad">Invites</h2>
      ${rowError ? html`<div class="pad"><${InlineError} error=${rowError} /></div>` : null}
      ${list.loading && !list.rows.length ? html`<${Loading} label="Loading invites…" />` : null}
      ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
      ${!list.loading && !list.error && !list.rows.length ? html`<${Empty} title="No invites yet">Create a link above and send it to a participant.<//>` : null}
      ${list.rows.length
        ? html`<div class="table-wrap"><table class="table">
            <thead><tr><th>Participant</th><th>Created</th><th>Expires</th><th class="num">Used</th><th>Session</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>${list.rows.map((inv) => {
              const lapsed = inv.expiresAt !== null && Date.parse(inv.expiresAt) <= now;
              const expired = lapsed && !inv.sessionId;
              return html`<tr key=${inv.id}>
                <td><span class="strong">${participantLabel(inv.participant, "Anonymous")}</span>${inv.participant.email && inv.participant.name ? html`<span class="muted small block">${inv.participant.email}</span>` : null}</td>
                <td class="nowrap">${fmtDateTime(inv.createdAt)}</td>
                <td class="nowrap">${expired ? html`<span class="badge status-abandoned">Expired</span>` : fmtDate(inv.expiresAt)}</td>
                <td class="num">${inv.uses} / ${inv.maxUses}</td>
                <td>${inv.sessionId ? html`<a href=${`/sessions/${inv.sessionId}`}>Open session</a>` : html`<span class="muted">Not opened yet</span>`}</td>
                <td class="nowrap">${lapsed
                  ? html`<button class="btn btn-small" type="button" data-testid="invite-extend" disabled=${changing === inv.id} onClick=${() => change(inv, "extend")}>Reopen for 30 days</button>`
                  : html`<button class="btn btn-small" type="button" data-testid="invite-revoke" disabled=${changing === inv.id} onClick=${() => change(inv, "revoke")}>Revoke</button>`}</td>
              </tr>`;
            })}</tbody>
          </table></div>`
        : null}
      ${list.hasMore ? html`<div class="more"><button class="btn" onClick=${list.more} disabled=${list.loading}>Load more</button></div>` : null}
    </section>
  </div>`;
}
