// Settings → Privacy: the org's retention (the plan table, what is in force, campaign overrides,
// and what the sweep deletes next), and — for owners — the deletion flow for a participant's
// data: email, scope (everything or one session), confirm, then the deletion receipt.
import { useState } from "preact/hooks";
import { del, describeError, download, get, qs, saveBlob } from "../api";
import { fmtDate, fmtDateTime, shortId } from "../format";
import { html } from "../html";
import { can } from "../roles";
import { useMe } from "../session-context";
import { Confirm, ErrorState, InlineError, Loading, PageHeader, toast, useAsync } from "../ui";

const TYPES = ["transcripts", "audio", "analytics", "metadata"] as const;
type DataType = (typeof TYPES)[number];
const PLANS = ["free", "starter", "professional", "enterprise"] as const;
type Days = Record<DataType, number>;

const TYPE_LABEL: Record<DataType, string> = { transcripts: "Transcripts and notes", audio: "Audio recordings", analytics: "Analytics (per-answer insight)", metadata: "Session record (metadata)" };
const PLAN_LABEL: Record<(typeof PLANS)[number], string> = { free: "Free", starter: "Starter", professional: "Professional", enterprise: "Enterprise" };

interface Retention {
  plan: (typeof PLANS)[number];
  table: Record<string, Days>;
  custom: Partial<Days> | null;
  effective: Days;
  horizonDays: number;
  upcoming: { type: DataType; days: number; nextDueAt: string | null; dueWithinHorizon: number }[];
  campaigns: { id: string; name: string; retention: Partial<Days>; effective: Days }[];
}

interface ParticipantSession {
  session: { id: string; status: string; createdAt: string | null; completedAt: string | null; campaignId: string };
}

interface Receipt {
  deletedAt: string;
  subject: string;
  scope: "participant" | "session";
  sessions: { sessionId: string; transcriptSegments: number; notes: number; analyses: number; audioObjects: number; audioKeyDestroyed: boolean }[];
  invitesCleared: number;
  exportsRemoved: string[];
}

const days = (n: number) => (n === 1 ? "1 day" : n % 365 === 0 ? `${n / 365} year${n === 365 ? "" : "s"}` : `${n} days`);

export function PrivacySettings() {
  const me = useMe();
  const r = useAsync((signal) => get<Retention>("/v1/retention", signal), []);
  return html`<div class="page">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="Privacy" sub="How long interview data is kept, what is deleted next, and participants' requests to see or delete their data." />
    ${r.loading && !r.data ? html`<${Loading} label="Loading retention…" />` : null}
    ${r.error ? html`<${ErrorState} error=${r.error} retry=${r.reload} />` : null}
    ${r.data ? html`<${RetentionPanel} r=${r.data} />` : null}
    ${can(me.principal.role, "deleteData")
      ? html`<${AccessRequest} /><${DeletionFlow} onDeleted=${r.reload} />`
      : html`<section class="panel" data-testid="deletion-owner-only"><h2 class="panel-title">Participants' data requests</h2><p class="muted">Only owners can export or delete a participant's data. Ask an owner of this organisation.</p></section>`}
  </div>`;
}

function RetentionPanel({ r }: { r: Retention }) {
  const owner = can(useMe().principal.role, "manageOrg");
  const next = [...r.upcoming].filter((u) => u.nextDueAt).sort((a, b) => Date.parse(a.nextDueAt!) - Date.parse(b.nextDueAt!));
  return html`<section class="panel flush" data-testid="retention">
    <div class="panel-head pad"><h2 class="panel-title">Retention</h2>
      <span class="muted small">Your plan: <strong>${PLAN_LABEL[r.plan]}</strong>${r.custom ? " · custom values" : ""}. Counted from the end of each session; an hourly sweep deletes what is due.</span></div>
    <div class="table-wrap"><table class="table" data-testid="retention-table">
      <thead><tr><th>Data</th>${PLANS.map((p) => html`<th key=${p} class=${p === r.plan ? "strong" : "muted"}>${PLAN_LABEL[p]}${p === r.plan ? " (yours)" : ""}</th>`)}<th>In force</th><th>Next deletion</th></tr></thead>
      <tbody>${TYPES.map((t) => {
        const u = r.upcoming.find((x) => x.type === t);
        return html`<tr key=${t} data-type=${t}>
          <td class="strong">${TYPE_LABEL[t]}</td>
          ${PLANS.map((p) => html`<td key=${p} class=${p === r.plan ? "strong" : "muted"}>${days(r.table[p]![t])}</td>`)}
          <td data-testid=${`in-force-${t}`}>${days(r.effective[t])}</td>
          <td data-testid=${`next-${t}`}>${u?.nextDueAt ? html`${fmtDate(u.nextDueAt)} <span class="muted small">· ${u.dueWithinHorizon} session${u.dueWithinHorizon === 1 ? "" : "s"} within ${r.horizonDays} days</span>` : html`<span class="muted">nothing due within ${r.horizonDays} days</span>`}</td>
        </tr>`;
      })}</tbody>
    </table></div>
    <div class="pad">
      <p class="small" data-testid="retention-next">${next.length
        ? html`Next: <strong>${TYPE_LABEL[next[0]!.type].toLowerCase()}</strong> of ${next[0]!.dueWithinHorizon} session${next[0]!.dueWithinHorizon === 1 ? "" : "s"}, from ${fmtDateTime(next[0]!.nextDueAt)}.`
        : html`<span class="muted">Nothing will be deleted in the next ${r.horizonDays} days.</span>`}</p>
      <p class="muted small">Deleting the session record removes everything left of that session. Custom values are available on the Enterprise plan${owner ? html`: set them in <a href="/settings/org">Settings → Organisation</a>` : " (an owner sets them)"}.</p>
      ${r.campaigns.length
        ? html`<h3 class="small strong">Campaigns with shorter retention</h3><ul class="small" data-testid="campaign-overrides">${r.campaigns.map(
            (c) => html`<li key=${c.id}><a href=${`/campaigns/${c.id}/sessions`}>${c.name}</a>: ${TYPES.filter((t) => c.retention[t] !== undefined)
              .map((t) => `${TYPE_LABEL[t].toLowerCase()} ${days(c.effective[t])}`)
              .join(", ")}</li>`,
          )}</ul>`
        : html`<p class="muted small">No campaign shortens these values (a campaign may, in its settings or with PATCH /v1/campaigns/{id}/retention).</p>`}
    </div>
  </section>`;
}

/** Right of access and portability: everything the org holds about one participant, as a file. */
function AccessRequest() {
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState<"json" | "zip" | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  /** The address had no sessions: a typo must not look like an export. */
  const [none, setNone] = useState<string | null>(null);
  const valid = /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim());
  const go = async (format: "json" | "zip") => {
    setBusy(format);
    setErr(null);
    setDone(null);
    setNone(null);
    try {
      // The JSON answer is the export itself: it is saved as it is (one request, one audit entry);
      // it also says whether there is anything to put in a ZIP.
      const found = await get<{ sessions: unknown[] }>(`/v1/participants/data${qs({ email: email.trim() })}`);
      if (found.sessions.length === 0) return setNone(email.trim());
      let name = "participant-data.json";
      if (format === "zip") name = await download(`/v1/participants/data${qs({ email: email.trim(), format: "zip" })}`, "participant-data.zip");
      else saveBlob(new Blob([JSON.stringify(found, null, 2)], { type: "application/json" }), name);
      setDone(name);
      toast("Participant data downloaded");
    } catch (x) {
      setErr(x);
      toast(`Export failed: ${describeError(x)}`, "error");
    } finally {
      setBusy(null);
    }
  };
  return html`<section class="panel" data-testid="access-request">
    <h2 class="panel-title">Export a participant's data</h2>
    <p class="muted small">Right of access and portability: every session of this participant in your organisation. JSON holds each session's metadata, transcript, analytics and notes; the ZIP adds the recordings and a CSV per session, with a manifest of checksums. Every export is recorded in the audit log.</p>
    <form class="inline-form" style=${{ gridTemplateColumns: "minmax(0, 1fr) auto" }} onSubmit=${(e: Event) => (e.preventDefault(), valid && void go("json"))}>
      <label class="field"><span>Participant's email</span><input type="email" required name="access-email" value=${email} onInput=${(e: Event) => (setEmail((e.target as HTMLInputElement).value), setDone(null), setNone(null))} /></label>
      <div class="actions-bar">
        <button class="btn" type="submit" disabled=${busy !== null || !valid} data-testid="access-json">${busy === "json" ? "Preparing…" : "⤓ JSON"}</button>
        <button class="btn" type="button" disabled=${busy !== null || !valid} data-testid="access-zip" onClick=${() => go("zip")}>${busy === "zip" ? "Preparing…" : "⤓ ZIP with recordings"}</button>
      </div>
    </form>
    <${InlineError} error=${err} />
    ${done ? html`<p class="small mt" role="status">Downloaded <span class="mono">${done}</span>. Send it to the participant through a secure channel.</p>` : null}
    ${none ? html`<p class="small mt" role="status" data-testid="access-none">This organisation holds no sessions for <strong>${none}</strong>: nothing was exported. Check the address for typos.</p>` : null}
  </section>`;
}

function DeletionFlow({ onDeleted }: { onDeleted: () => void }) {
  const [email, setEmail] = useState("");
  const [scope, setScope] = useState<"participant" | "session">("participant");
  const [found, setFound] = useState<{ email: string; sessions: ParticipantSession[] } | null>(null);
  const [sessionId, setSessionId] = useState("");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [receipt, setReceipt] = useState<Receipt | null>(null);

  const look = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    setReceipt(null);
    try {
      const data = await get<{ email: string; sessions: ParticipantSession[] }>(`/v1/participants/data${qs({ email: email.trim() })}`);
      setFound({ email: email.trim(), sessions: data.sessions });
      setSessionId(data.sessions[0]?.session.id ?? "");
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  const count = found ? (scope === "session" ? 1 : found.sessions.length) : 0;
  return html`<section class="panel" data-testid="deletion">
    <h2 class="panel-title">Delete a participant's data</h2>
    <p class="muted small">Right to erasure: removes transcripts, recordings (their key is destroyed), analytics, notes, the participant's quotes in campaign insights, their invite details and any bulk export holding them. It cannot be undone; a receipt lists what was removed.</p>
    <form class="inline-form" onSubmit=${look}>
      <label class="field"><span>Participant's email</span><input type="email" required name="email" value=${email} onInput=${(e: Event) => (setEmail((e.target as HTMLInputElement).value), setFound(null))} /></label>
      <fieldset class="field"><legend>Scope</legend>
        <label class="small"><input type="radio" name="scope" value="participant" checked=${scope === "participant"} onChange=${() => setScope("participant")} /> All of their data</label>
        <label class="small"><input type="radio" name="scope" value="session" checked=${scope === "session"} onChange=${() => setScope("session")} /> One session</label>
      </fieldset>
      <button class="btn" type="submit" disabled=${busy || !email.trim()}>${busy ? "Looking…" : "Find their data"}</button>
    </form>
    <${InlineError} error=${err} />
    ${found
      ? html`<div class="stack mt" data-testid="deletion-found">
          <p class="small">${found.sessions.length === 0 ? html`No sessions for <strong>${found.email}</strong> in this organisation; their invite details (if any) can still be removed.` : html`<strong>${found.sessions.length}</strong> session${found.sessions.length === 1 ? "" : "s"} for <strong>${found.email}</strong>.`}</p>
          ${scope === "session" && found.sessions.length
            ? html`<label class="field"><span>Session to delete</span><select value=${sessionId} onChange=${(e: Event) => setSessionId((e.target as HTMLSelectElement).value)}>${found.sessions.map(
                (s) => html`<option value=${s.session.id}>${shortId(s.session.id)} · ${s.session.status} · ${fmtDate(s.session.createdAt)}</option>`,
              )}</select></label>`
            : null}
          <div class="actions-bar"><button class="btn btn-danger" type="button" disabled=${scope === "session" && !sessionId} onClick=${() => setConfirming(true)}>Delete permanently…</button></div>
        </div>`
      : null}
    ${confirming && found
      ? html`<${Confirm} title="Delete this participant's data?" action="Delete permanently" danger requireText="DELETE" onClose=${() => setConfirming(false)}
          body=${html`<p>${scope === "session" ? "One session" : `All ${count} session${count === 1 ? "" : "s"}`} of <strong>${found.email}</strong> will be erased everywhere, including backups' audio (by destroying its key). This cannot be undone.</p>`}
          onConfirm=${async () => {
            const r = await del<Receipt>(`/v1/participants/data${qs({ email: found.email, sessionId: scope === "session" ? sessionId : undefined })}`, { "X-Confirm-Delete": "true" });
            setReceipt(r);
            setFound(null);
            toast("Data deleted");
            onDeleted();
          }} />`
      : null}
    ${receipt ? html`<${DeletionReceipt} r=${receipt} />` : null}
  </section>`;
}

function DeletionReceipt({ r }: { r: Receipt }) {
  const sum = (k: "transcriptSegments" | "notes" | "analyses" | "audioObjects") => r.sessions.reduce((n, s) => n + s[k], 0);
  return html`<div class="panel mt" data-testid="deletion-receipt" role="status">
    <h3 class="panel-title">Deletion receipt</h3>
    <div class="grid-2 small">
      <span class="muted">Deleted at</span><span>${fmtDateTime(r.deletedAt)}</span>
      <span class="muted">Scope</span><span>${r.scope === "session" ? "one session" : "all of the participant's data"}</span>
      <span class="muted">Sessions erased</span><span data-testid="receipt-sessions">${r.sessions.length}</span>
      <span class="muted">Transcript segments</span><span>${sum("transcriptSegments")}</span>
      <span class="muted">Notes</span><span>${sum("notes")}</span>
      <span class="muted">Analyses</span><span>${sum("analyses")}</span>
      <span class="muted">Audio files (key destroyed)</span><span>${sum("audioObjects")}</span>
      <span class="muted">Invites cleared</span><span>${r.invitesCleared}</span>
      <span class="muted">Bulk exports removed</span><span data-testid="receipt-exports">${r.exportsRemoved.length}</span>
      <span class="muted">Subject (keyed hash, kept in the deletion ledger)</span><span class="mono small">${r.subject.slice(0, 16)}…</span>
    </div>
    ${r.sessions.length ? html`<p class="muted small">Sessions: ${r.sessions.map((s) => shortId(s.sessionId)).join(", ")}</p>` : null}
  </div>`;
}
