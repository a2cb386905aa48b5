// Campaigns: the org's interview scripts, newest first.
import { fmtDate } from "../format";
import { html } from "../html";
import { can } from "../roles";
import { useRole } from "../session-context";
import type { Campaign } from "../types";
import { Empty, ErrorState, Loading, PageHeader, usePaged } from "../ui";
import { rememberCampaign } from "./campaign-head";

export function CampaignList() {
  const role = useRole();
  const list = usePaged<Campaign>("/v1/campaigns?limit=100");
  list.rows.forEach(rememberCampaign);
  const rows = list.rows;

  return html`<div class="page">
    <${PageHeader} title="Campaigns" sub="Interview scripts, their invites and the sessions they produced.">
      ${can(role, "editCampaigns") ? html`<a class="btn btn-primary" href="/campaigns/new">New campaign</a>` : null}
    <//>
    ${list.loading && !rows.length ? html`<${Loading} label="Loading campaigns…" />` : null}
    ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
    ${!list.loading && !list.error && !rows.length
      ? html`<${Empty} title="No campaigns yet">${can(role, "editCampaigns") ? html`Create your first campaign to write questions and invite participants. <div class="mt"><a class="btn btn-primary" href="/campaigns/new">New campaign</a></div>` : "An admin of your organisation creates campaigns; they will appear here."}<//>`
      : null}
    ${rows.length
      ? html`<div class="table-wrap"><table class="table" data-testid="campaigns">
          <thead><tr><th>Name</th><th class="num">Questions</th><th>Mode</th><th>Consent</th><th class="num">Script</th><th>Created</th><th><span class="sr">Actions</span></th></tr></thead>
          <tbody>
            ${rows.map(
              (c) => html`<tr key=${c.id}>
                <td><a class="strong" href=${`/campaigns/${c.id}/sessions`}>${c.name}</a></td>
                <td class="num">${c.totalQuestions}</td>
                <td><span class="chip">${c.settings.mode === "voice" ? "Voice" : "Text"}</span></td>
                <td>${c.settings.consentRequired ? "Required" : "Not asked"}</td>
                <td class="num">v${c.scriptVersion}</td>
                <td class="nowrap">${fmtDate(c.createdAt)}</td>
                <td class="row-actions">
                  <a class="btn btn-small" href=${`/campaigns/${c.id}/sessions`}>Sessions</a>
                  ${can(role, "editCampaigns") ? html`<a class="btn btn-small" href=${`/campaigns/${c.id}/invites`}>Invite</a>` : null}
                </td>
              </tr>`,
            )}
          </tbody>
        </table></div>`
      : null}
    ${list.hasMore ? html`<div class="more"><button class="btn" disabled=${list.loading} onClick=${list.more}>${list.loading ? "Loading…" : "Load more campaigns"}</button></div>` : null}
  </div>`;
}
