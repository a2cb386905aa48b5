// Settings → Webhooks (owners): where InterviewRelay posts signed events. A webhook's signing
// secret is shown once, right after creation; each webhook can be sent a test event, its delivery
// log read, and be deleted.
import { useState } from "preact/hooks";
import { del, post } from "../api";
import { fmtDateTime } from "../format";
import { html } from "../html";
import { Confirm, CopyField, Empty, ErrorState, InlineError, Loading, PageHeader, toast, usePaged } from "../ui";

const EVENTS = [
  ["session.created", "A participant opened an invite"],
  ["session.started", "An interview started"],
  ["session.paused", "An interview was paused"],
  ["session.resumed", "An interview was resumed"],
  ["session.completed", "An interview completed"],
  ["session.abandoned", "An interview was abandoned"],
  ["analysis.ready", "A session's analysis is ready"],
  ["export.ready", "A bulk export is ready"],
  ["data.deleted", "Data was deleted (erasure)"],
] as const;

interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  disabledAt: string | null;
  secret?: string;
}

interface Delivery {
  id: string;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export function Webhooks() {
  const list = usePaged<Webhook>("/v1/webhooks?limit=100");
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["session.completed", "analysis.ready"]);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [created, setCreated] = useState<Webhook | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  const toggle = (e: string) => setEvents((cur) => (cur.includes(e) ? cur.filter((x) => x !== e) : [...cur, e]));
  const httpsOk = /^https:\/\/[^\s/]+/i.test(url.trim());
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const w = await post<Webhook>("/v1/webhooks", { url: url.trim(), events: EVENTS.map(([ev]) => ev).filter((ev) => events.includes(ev)) });
      setCreated(w);
      list.setRows((r) => [{ ...w, secret: undefined }, ...r]);
      setUrl("");
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="page" data-testid="webhooks-page">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="Webhooks" sub="InterviewRelay posts a signed JSON event to your URL when something happens in your organisation." />
    <section class="panel">
      <h2 class="panel-title">Add a webhook</h2>
      <form onSubmit=${create} data-testid="webhook-form">
        <label class="field"><span>URL <span class="muted">(https, on a public address)</span></span>
          <input name="webhook-url" type="url" required maxlength="2048" placeholder="https://example.com/hooks/interviewrelay" value=${url} onInput=${(e: Event) => setUrl((e.target as HTMLInputElement).value)} />
        </label>
        <fieldset class="field"><legend>Events</legend>
          <div class="check-grid" data-testid="webhook-events">
            ${EVENTS.map(([ev, label]) => html`<label key=${ev} title=${label}><input type="checkbox" name="event" value=${ev} checked=${events.includes(ev)} onChange=${() => toggle(ev)} /><span><span class="mono small">${ev}</span></span></label>`)}
          </div>
        </fieldset>
        <div class="actions-bar">
          <button class="btn btn-primary" type="submit" disabled=${busy || !httpsOk || !events.length}>${busy ? "Adding…" : "Add webhook"}</button>
          <button class="btn btn-small btn-ghost" type="button" onClick=${() => setEvents(events.length === EVENTS.length ? [] : EVENTS.map(([ev]) => ev))}>${events.length === EVENTS.length ? "Clear all events" : "Select all events"}</button>
          ${url.trim() && !httpsOk ? html`<span class="muted small">The URL must start with https://</span>` : !events.length ? html`<span class="muted small">Choose at least one event.</span>` : null}
        </div>
      </form>
      <${InlineError} error=${err} />
      ${created
        ? html`<div class="secret-box" role="status" data-testid="webhook-secret">
            <p><strong>Copy the signing secret now.</strong> This is the only time it is shown. Check each delivery's <span class="mono">InterviewRelay-Signature</span> header (HMAC-SHA256 of “t.body”) with it.</p>
            <${CopyField} value=${created.secret ?? ""} label="Webhook signing secret" secret />
            <button class="btn btn-small" onClick=${() => setCreated(null)}>I have stored it</button>
          </div>`
        : null}
    </section>

    <section class="panel flush">
      <h2 class="panel-title pad">Webhooks</h2>
      ${list.loading && !list.rows.length ? html`<${Loading} label="Loading webhooks…" />` : null}
      ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
      ${!list.loading && !list.error && !list.rows.length ? html`<${Empty} title="No webhooks yet">Add one above to receive events.<//>` : null}
      ${list.rows.length
        ? html`<div class="table-wrap"><table class="table" data-testid="webhooks">
            <thead><tr><th>URL</th><th>Events</th><th>Created</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>${list.rows.map(
              (w) => html`<tr key=${w.id} data-webhook=${w.id}>
                  <td class="mono small" style=${{ overflowWrap: "anywhere", minWidth: "240px" }}>${w.url}</td>
                  <td class="small">${w.events.length === EVENTS.length ? "All events" : w.events.join(", ")}</td>
                  <td class="nowrap">${fmtDateTime(w.createdAt)}</td>
                  <td class="row-actions nowrap">
                    <${TestButton} hook=${w} onSent=${() => setOpen(w.id)} />
                    <button class="btn btn-small" aria-expanded=${open === w.id} onClick=${() => setOpen(open === w.id ? null : w.id)}>${open === w.id ? "Hide deliveries" : "Deliveries"}</button>
                    <button class="btn btn-small btn-danger-ghost" onClick=${() => setDeleting(w)}>Delete</button>
                  </td>
                </tr>
                ${open === w.id ? html`<tr key=${`${w.id}-log`} class="expanded"><td colspan="4"><${Deliveries} hookId=${w.id} /></td></tr>` : null}`,
            )}</tbody>
          </table></div>`
        : null}
      ${list.hasMore ? html`<div class="more"><button class="btn" onClick=${list.more}>Load more</button></div>` : null}
    </section>
    ${deleting
      ? html`<${Confirm} title="Delete this webhook?" action="Delete webhook" danger onClose=${() => setDeleting(null)}
          body=${html`<p><span class="mono small">${deleting.url}</span> stops receiving events at once; deliveries still pending are dropped. Its delivery log is kept for the audit trail.</p>`}
          onConfirm=${async () => {
            await del(`/v1/webhooks/${deleting.id}`);
            list.setRows((r) => r.filter((x) => x.id !== deleting.id));
            if (open === deleting.id) setOpen(null);
            toast("Webhook deleted");
          }} />`
      : null}
  </div>`;
}

function TestButton({ hook, onSent }: { hook: Webhook; onSent: () => void }) {
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setBusy(true);
    try {
      await post(`/v1/webhooks/${hook.id}/test`);
      toast("Test event queued: see its delivery below");
      onSent();
    } catch (x) {
      toast(x instanceof Error ? x.message : String(x), "error");
    } finally {
      setBusy(false);
    }
  };
  return html`<button class="btn btn-small" disabled=${busy} onClick=${send}>${busy ? "Sending…" : "Send test"}</button>`;
}

const STATUS_CLASS: Record<Delivery["status"], string> = { pending: "badge status-paused", delivered: "badge ok", failed: "badge status-abandoned" };

function Deliveries({ hookId }: { hookId: string }) {
  const log = usePaged<Delivery>(`/v1/webhooks/${hookId}/deliveries?limit=20`);
  return html`<div data-testid="deliveries">
    <div class="panel-head"><span class="strong small">Recent deliveries</span><button class="btn btn-small" onClick=${log.reload} disabled=${log.loading}>${log.loading ? "Refreshing…" : "Refresh"}</button></div>
    ${log.error ? html`<${ErrorState} error=${log.error} retry=${log.reload} />` : null}
    ${!log.loading && !log.error && !log.rows.length ? html`<p class="muted small">Nothing sent yet. “Send test” posts a webhook.test event.</p>` : null}
    ${log.rows.length
      ? html`<table class="table small">
          <thead><tr><th>Event</th><th>Status</th><th class="num">Attempts</th><th>Response</th><th>Queued</th></tr></thead>
          <tbody>${log.rows.map(
            (d) => html`<tr key=${d.id}>
              <td class="mono">${d.event}</td>
              <td><span class=${STATUS_CLASS[d.status]}>${d.status}</span>${d.nextAttemptAt ? html`<span class="block muted">retry ${fmtDateTime(d.nextAttemptAt)}</span>` : null}</td>
              <td class="num">${d.attempts}</td>
              <td>${d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : ""}${d.lastError ? html`<span class="block muted" style=${{ wordBreak: "break-word" }}>${d.lastError}</span>` : null}${!d.lastStatusCode && !d.lastError ? html`<span class="muted">—</span>` : null}</td>
              <td class="nowrap">${fmtDateTime(d.createdAt)}${d.deliveredAt ? html`<span class="block muted">delivered ${fmtDateTime(d.deliveredAt)}</span>` : null}</td>
            </tr>`,
          )}</tbody>
        </table>`
      : null}
    ${log.hasMore ? html`<div class="more"><button class="btn btn-small" onClick=${log.more}>Load more</button></div>` : null}
  </div>`;
}
