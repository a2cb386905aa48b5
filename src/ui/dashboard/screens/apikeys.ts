// API keys (owners only): created with a role, the secret shown exactly once, revoked at once.
import { useState } from "preact/hooks";
import { del, post } from "../api";
import { fmtAgo, fmtDate } from "../format";
import { html } from "../html";
import { ROLE_HELP, ROLE_LABEL } from "../roles";
import type { ApiKey, Role } from "../types";
import { Confirm, CopyField, Empty, ErrorState, InlineError, Loading, PageHeader, toast, usePaged } from "../ui";

const ROLES: Role[] = ["owner", "admin", "analyst", "viewer"];

export function ApiKeys() {
  const list = usePaged<ApiKey>("/v1/api-keys?limit=100");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("analyst");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [secret, setSecret] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const k = await post<ApiKey>("/v1/api-keys", { name: name.trim(), role });
      setSecret(k);
      list.setRows((r) => [{ ...k, key: undefined }, ...r]);
      setName("");
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="page">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="API keys" sub="Keys let your own systems call the API. Each key acts with the role you give it." />
    <section class="panel">
      <h2 class="panel-title">Create a key</h2>
      <form class="inline-form" onSubmit=${create} data-testid="key-form">
        <label class="field"><span>Name</span><input required maxlength="200" placeholder="e.g. Data warehouse sync" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
        <label class="field"><span>Role</span>
          <select value=${role} onChange=${(e: Event) => setRole((e.target as HTMLSelectElement).value as Role)}>${ROLES.map((r) => html`<option value=${r}>${ROLE_LABEL[r]}</option>`)}</select>
        </label>
        <button class="btn btn-primary" type="submit" disabled=${busy || !name.trim()}>${busy ? "Creating…" : "Create key"}</button>
      </form>
      <p class="muted small">${ROLE_HELP[role]}.</p>
      <${InlineError} error=${err} />
      ${secret
        ? html`<div class="secret-box" role="status" data-testid="new-key">
            <p><strong>Copy “${secret.name}” now.</strong> This is the only time the full key is shown; we store only a hash of it.</p>
            <${CopyField} value=${secret.key ?? ""} label="New API key" secret />
            <button class="btn btn-small" onClick=${() => setSecret(null)}>I have stored it</button>
          </div>`
        : null}
    </section>
    <section class="panel flush">
      <h2 class="panel-title pad">Keys</h2>
      ${list.loading && !list.rows.length ? html`<${Loading} label="Loading keys…" />` : null}
      ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
      ${!list.loading && !list.error && !list.rows.length ? html`<${Empty} title="No API keys yet" />` : null}
      ${list.rows.length
        ? html`<div class="table-wrap"><table class="table" data-testid="keys">
            <thead><tr><th>Name</th><th>Key</th><th>Role</th><th>Created</th><th>Last used</th><th>Status</th><th><span class="sr">Actions</span></th></tr></thead>
            <tbody>${list.rows.map(
              (k) => html`<tr key=${k.id} class=${k.revokedAt ? "dim" : ""}>
                <td class="strong">${k.name}</td>
                <td class="mono">irk_…${k.last4}</td>
                <td>${ROLE_LABEL[k.role]}</td>
                <td class="nowrap">${fmtDate(k.createdAt)}</td>
                <td class="nowrap">${k.lastUsedAt ? fmtAgo(k.lastUsedAt) : html`<span class="muted">Never</span>`}</td>
                <td>${k.revokedAt ? html`<span class="badge status-abandoned">Revoked</span>` : html`<span class="badge ok">Active</span>`}</td>
                <td class="row-actions">${k.revokedAt ? null : html`<button class="btn btn-small btn-danger-ghost" onClick=${() => setRevoking(k)}>Revoke</button>`}</td>
              </tr>`,
            )}</tbody>
          </table></div>`
        : null}
      ${list.hasMore ? html`<div class="more"><button class="btn" onClick=${list.more}>Load more</button></div>` : null}
    </section>
    ${revoking
      ? html`<${Confirm} title=${`Revoke “${revoking.name}”?`} action="Revoke key" danger onClose=${() => setRevoking(null)}
          body=${html`<p>Anything using this key stops working on its next request. This cannot be undone.</p>`}
          onConfirm=${async () => {
            const k = await del<ApiKey>(`/v1/api-keys/${revoking.id}`);
            list.setRows((r) => r.map((x) => (x.id === k.id ? k : x)));
            toast("Key revoked");
          }} />`
      : null}
  </div>`;
}
