// The audit log (owners and admins): who did what to which resource, from where, allowed or denied.
// Filters live in the URL like the session list's.
import { useState } from "preact/hooks";
import { qs } from "../api";
import { fmtDateTime, shortId } from "../format";
import { html } from "../html";
import { setQuery, type Loc } from "../router";
import type { AuditEvent } from "../types";
import { Empty, ErrorState, Loading, PageHeader, usePaged } from "../ui";

const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);
const dayEnd = (d: string) => (d ? new Date(`${d}T23:59:59.999`).toISOString() : undefined);

export function AuditLog({ loc }: { loc: Loc }) {
  const q = loc.query;
  const f = { action: q.get("action") ?? "", actorId: q.get("actorId") ?? "", resourceId: q.get("resourceId") ?? "", outcome: q.get("outcome") ?? "", from: q.get("from") ?? "", to: q.get("to") ?? "" };
  const path = `/v1/audit-log${qs({ limit: 100, action: f.action, actorId: f.actorId, resourceId: f.resourceId, outcome: f.outcome, from: dayStart(f.from), to: dayEnd(f.to) })}`;
  const list = usePaged<AuditEvent>(path);
  const [open, setOpen] = useState<string | null>(null);
  const commit = (k: string) => (e: Event) => setQuery({ [k]: (e.target as HTMLInputElement).value.trim() }, { replace: true });
  const any = Object.values(f).some(Boolean);

  return html`<div class="page">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="Audit log" sub="Every read of transcripts, audio, analytics and exports, every change, and every denied attempt." />
    <section class="filters" aria-label="Filters" data-testid="audit-filters">
      <div class="filter-grid">
        <label class="field"><span>Action</span><input name="action" placeholder="e.g. transcript.read" value=${f.action} onChange=${commit("action")} /></label>
        <label class="field"><span>Actor id</span><input name="actorId" placeholder="usr_… or key_…" value=${f.actorId} onChange=${commit("actorId")} /></label>
        <label class="field"><span>Resource id</span><input name="resourceId" placeholder="ses_…, cmp_…" value=${f.resourceId} onChange=${commit("resourceId")} /></label>
        <label class="field"><span>Outcome</span>
          <select name="outcome" value=${f.outcome} onChange=${commit("outcome")}><option value="">Any</option><option value="allow">Allowed</option><option value="deny">Denied</option></select>
        </label>
        <label class="field"><span>From</span><input type="date" name="from" value=${f.from} onChange=${commit("from")} /></label>
        <label class="field"><span>Until</span><input type="date" name="to" value=${f.to} onChange=${commit("to")} /></label>
      </div>
      ${any ? html`<a class="btn btn-small btn-ghost" href=${loc.path}>Clear filters</a>` : null}
    </section>
    ${list.loading && !list.rows.length ? html`<${Loading} label="Loading the audit log…" />` : null}
    ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
    ${!list.loading && !list.error && !list.rows.length ? html`<${Empty} title=${any ? "No events match these filters" : "No events yet"} />` : null}
    ${list.rows.length
      ? html`<div class="table-wrap"><table class="table audit" data-testid="audit">
          <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Resource</th><th>Outcome</th><th>From</th></tr></thead>
          <tbody>${list.rows.map(
            (e) => html`<tr key=${e.id} class=${open === e.id ? "open" : ""} onClick=${() => setOpen(open === e.id ? null : e.id)}>
              <td class="nowrap">${fmtDateTime(e.at)}</td>
              <td><span class="chip">${e.actor.type.replace("_", " ")}</span> ${e.actor.role ?? ""} <a class="mono small" href=${`?actorId=${e.actor.id ?? ""}`} title=${e.actor.id ?? ""} onClick=${(ev: Event) => ev.stopPropagation()}>${shortId(e.actor.id)}</a></td>
              <td class="mono">${e.action}</td>
              <td>${e.resource.type} ${e.resource.id ? html`<a class="mono small" href=${e.resource.type === "session" ? `/sessions/${e.resource.id}` : `?resourceId=${e.resource.id}`} title=${e.resource.id} onClick=${(ev: Event) => ev.stopPropagation()}>${shortId(e.resource.id)}</a>` : null}</td>
              <td><span class=${`badge ${e.outcome === "allow" ? "ok" : "status-abandoned"}`}>${e.outcome === "allow" ? "Allowed" : "Denied"}</span></td>
              <td class="small">${e.ip ?? "—"}${open === e.id ? html`<div class="muted small wrap">${e.userAgent ?? ""}${e.requestId ? html`<br />request ${e.requestId}` : null}${e.details ? html`<br /><code>${JSON.stringify(e.details)}</code>` : null}</div>` : null}</td>
            </tr>`,
          )}</tbody>
        </table></div>`
      : null}
    ${list.hasMore ? html`<div class="more"><button class="btn" disabled=${list.loading} onClick=${list.more}>${list.loading ? "Loading…" : "Load older events"}</button></div>` : null}
  </div>`;
}
