// Members and their roles (owners only).
import { useState } from "preact/hooks";
import { del, patch, post } from "../api";
import { fmtDate } from "../format";
import { html } from "../html";
import { ROLE_HELP, ROLE_LABEL } from "../roles";
import { useMe } from "../session-context";
import type { Member, Role } from "../types";
import { Confirm, Empty, ErrorState, InlineError, Loading, Modal, PageHeader, toast, usePaged } from "../ui";

const ROLES: Role[] = ["owner", "admin", "analyst", "viewer"];

export function Members() {
  const me = useMe();
  const list = usePaged<Member>("/v1/members?limit=100");
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);

  const changeRole = async (m: Member, role: Role) => {
    try {
      const updated = await patch<Member>(`/v1/members/${m.id}`, { role });
      list.setRows((rows) => rows.map((r) => (r.id === m.id ? updated : r)));
      toast(`${m.name} is now ${ROLE_LABEL[role].toLowerCase()}`);
    } catch (err) {
      list.setRows((rows) => [...rows]); // re-render to restore the select
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  };

  return html`<div class="page">
    <${PageHeader} crumbs=${html`<span>Settings</span>`} title="Members" sub="Who can sign in to this organisation, and what each role may do.">
      <button class="btn btn-primary" onClick=${() => setAdding(true)}>Add member</button>
    <//>
    <div class="role-legend">${ROLES.map((r) => html`<div key=${r}><strong>${ROLE_LABEL[r]}</strong><span class="muted small">${ROLE_HELP[r]}</span></div>`)}</div>
    ${list.loading && !list.rows.length ? html`<${Loading} label="Loading members…" />` : null}
    ${list.error ? html`<${ErrorState} error=${list.error} retry=${list.reload} />` : null}
    ${!list.loading && !list.error && !list.rows.length ? html`<${Empty} title="No members" />` : null}
    ${list.rows.length
      ? html`<div class="table-wrap"><table class="table" data-testid="members">
          <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Added</th><th><span class="sr">Actions</span></th></tr></thead>
          <tbody>${list.rows.map(
            (m) => html`<tr key=${m.id + m.role}>
              <td class="strong">${m.name}${m.id === me.principal.id ? html` <span class="chip">you</span>` : null}</td>
              <td>${m.email}</td>
              <td><label class="inline-field"><span class="sr">Role of ${m.name}</span>
                <select value=${m.role} onChange=${(e: Event) => changeRole(m, (e.target as HTMLSelectElement).value as Role)}>
                  ${ROLES.map((r) => html`<option value=${r}>${ROLE_LABEL[r]}</option>`)}
                </select></label></td>
              <td class="nowrap">${fmtDate(m.createdAt)}</td>
              <td class="row-actions">${m.id !== me.principal.id ? html`<button class="btn btn-small btn-danger-ghost" onClick=${() => setRemoving(m)}>Remove</button>` : null}</td>
            </tr>`,
          )}</tbody>
        </table></div>`
      : null}
    ${adding ? html`<${AddMember} onClose=${() => setAdding(false)} onAdded=${(m: Member) => list.setRows((r) => [m, ...r])} />` : null}
    ${removing
      ? html`<${Confirm} title=${`Remove ${removing.name}?`} action="Remove member" danger onClose=${() => setRemoving(null)}
          body=${html`<p>${removing.email} loses access at once and is signed out everywhere.</p>`}
          onConfirm=${async () => {
            await del(`/v1/members/${removing.id}`);
            list.setRows((r) => r.filter((x) => x.id !== removing.id));
            toast("Member removed");
          }} />`
      : null}
  </div>`;
}

function AddMember({ onClose, onAdded }: { onClose: () => void; onAdded: (m: Member) => void }) {
  const [f, setF] = useState({ name: "", email: "", role: "analyst" as Role, password: "" });
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const m = await post<Member>("/v1/members", { ...f, name: f.name.trim(), email: f.email.trim() });
      onAdded(m);
      toast(`${m.name} added as ${ROLE_LABEL[m.role].toLowerCase()}`);
      onClose();
    } catch (x) {
      setErr(x);
      setBusy(false);
    }
  };
  return html`<${Modal} title="Add a member" onClose=${onClose}>
    <form onSubmit=${submit}>
      <div class="dialog-body stack">
        <label class="field"><span>Name</span><input required maxlength="200" value=${f.name} onInput=${set("name")} /></label>
        <label class="field"><span>Email</span><input type="email" required value=${f.email} onInput=${set("email")} /></label>
        <label class="field"><span>Role</span>
          <select value=${f.role} onChange=${set("role")}>${ROLES.map((r) => html`<option value=${r}>${ROLE_LABEL[r]}: ${ROLE_HELP[r]}</option>`)}</select>
        </label>
        <label class="field"><span>Initial password <span class="muted">(at least 12 characters; share it privately)</span></span>
          <input type="password" autocomplete="new-password" minlength="12" required value=${f.password} onInput=${set("password")} />
        </label>
        <${InlineError} error=${err} />
      </div>
      <div class="dialog-actions">
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy || !f.name.trim() || !f.email.trim() || f.password.length < 12}>${busy ? "Adding…" : "Add member"}</button>
      </div>
    </form>
  <//>`;
}
