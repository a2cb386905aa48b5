// Create a campaign, or edit its questions and settings. Changing the questions makes a new script
// version; sessions already running keep theirs. Roles that cannot edit see the script read-only.
import { useEffect, useState } from "preact/hooks";
import { patch, post } from "../api";
import { html } from "../html";
import { can } from "../roles";
import { navigate } from "../router";
import { useRole } from "../session-context";
import type { Campaign, CampaignSettings, Probe, Question } from "../types";
import { PAGE_LANGUAGES } from "../../shared/locales";
import { ErrorState, InlineError, Loading, PageHeader, toast } from "../ui";
import { CampaignRetention } from "./campaign-retention";
import { CampaignHead, CampaignMissing, rememberCampaign, useCampaign } from "./campaign-head";

const PROBES: { value: Probe; label: string }[] = [
  { value: "none", label: "No follow-up" },
  { value: "light", label: "Light follow-up" },
  { value: "deep", label: "Deep follow-up" },
];

interface Draft {
  name: string;
  questions: Question[];
  settings: CampaignSettings;
}

const blank = (): Draft => ({
  name: "",
  questions: [{ text: "", probe: "light" }],
  settings: { consentRequired: true, consentText: "", mode: "text", recordAudio: true, language: "" },
});

const fromCampaign = (c: Campaign): Draft => ({
  name: c.name,
  questions: c.questions.map((q) => ({ ...q })),
  settings: { consentText: "", language: "", ...c.settings },
});

export function CampaignEditor({ params }: { params: { id?: string } }) {
  const role = useRole();
  const editable = can(role, "editCampaigns");
  const { campaign, error, notFound, reload } = useCampaign(params.id);
  const [draft, setDraft] = useState<Draft | null>(params.id ? null : blank());
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);

  useEffect(() => {
    if (campaign && !draft) setDraft(fromCampaign(campaign));
  }, [campaign]);

  const isNew = !params.id;
  const head = isNew
    ? html`<${PageHeader} crumbs=${html`<a href="/campaigns">Campaigns</a>`} title="New campaign" sub="Write the questions the AI interviewer asks, one at a time." />`
    : html`<${CampaignHead} id=${params.id!} campaign=${campaign} tab="settings" />`;

  if (!isNew && notFound) return html`<div class="page">${head}<${CampaignMissing} /></div>`;
  if (!isNew && error && !campaign) return html`<div class="page">${head}<${ErrorState} error=${error} retry=${reload} /></div>`;
  if (!draft) return html`<div class="page">${head}<${Loading} label="Loading the script…" /></div>`;

  if (!editable && campaign) return html`<div class="page">${head}<${ReadOnly} campaign=${campaign} /><${CampaignRetention} id=${campaign.id} editable=${false} /></div>`;

  const set = (fn: (d: Draft) => Draft) => setDraft((d) => (d ? fn(d) : d));
  const setQ = (i: number, q: Partial<Question>) => set((d) => ({ ...d, questions: d.questions.map((x, j) => (j === i ? { ...x, ...q } : x)) }));
  const move = (i: number, by: number) =>
    set((d) => {
      const qs = [...d.questions];
      const j = i + by;
      if (j < 0 || j >= qs.length) return d;
      [qs[i], qs[j]] = [qs[j]!, qs[i]!];
      return { ...d, questions: qs };
    });
  const setS = (s: Partial<CampaignSettings>) => set((d) => ({ ...d, settings: { ...d.settings, ...s } }));

  const questionsValid = draft.questions.length > 0 && draft.questions.every((q) => q.text.trim());
  const valid = draft.name.trim() && questionsValid;
  const questionsChanged = campaign && JSON.stringify(draft.questions.map((q) => ({ text: q.text.trim(), probe: q.probe }))) !== JSON.stringify(campaign.questions);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!valid) return;
    setSaving(true);
    setSaveError(null);
    const settings: Record<string, unknown> = { consentRequired: draft.settings.consentRequired, mode: draft.settings.mode, recordAudio: draft.settings.recordAudio };
    // An emptied field clears the value (null): the server merges settings, so leaving the key out
    // would keep the old language or consent wording. A new campaign simply leaves them out.
    const consentText = draft.settings.consentText?.trim() ?? "";
    const language = draft.settings.language?.trim() ?? "";
    if (consentText) settings.consentText = consentText;
    else if (!isNew && campaign?.settings.consentText) settings.consentText = null;
    if (language) settings.language = language;
    else if (!isNew && campaign?.settings.language) settings.language = null;
    const body = { name: draft.name.trim(), questions: draft.questions.map((q) => ({ text: q.text.trim(), probe: q.probe })), settings };
    try {
      if (isNew) {
        const created = await post<Campaign>("/v1/campaigns", body);
        rememberCampaign(created);
        toast("Campaign created. Invite your first participants.");
        navigate(`/campaigns/${created.id}/invites`);
      } else {
        const updated = await patch<Campaign>(`/v1/campaigns/${params.id}`, body);
        rememberCampaign(updated);
        setDraft(fromCampaign(updated));
        reload();
        toast(updated.scriptVersion !== campaign?.scriptVersion ? `Saved as script version ${updated.scriptVersion}.` : "Saved.");
      }
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };

  return html`<div class="page">
    ${head}
    <form class="editor" onSubmit=${save} data-testid="campaign-form">
      <section class="panel">
        <h2 class="panel-title">Campaign</h2>
        <label class="field"><span>Name</span>
          <input name="name" required maxlength="200" value=${draft.name} placeholder="e.g. Onboarding feedback, Q4" onInput=${(e: Event) => set((d) => ({ ...d, name: (e.target as HTMLInputElement).value }))} />
        </label>
      </section>

      <section class="panel">
        <div class="panel-head">
          <h2 class="panel-title">Questions</h2>
          ${campaign ? html`<span class="muted small">Script v${campaign.scriptVersion}${questionsChanged ? ` → saving makes v${campaign.scriptVersion + 1}; running sessions keep theirs` : ""}</span>` : null}
        </div>
        <ol class="questions">
          ${draft.questions.map(
            (q, i) => html`<li key=${i} class="question-row">
              <span class="q-num" aria-hidden="true">${i + 1}</span>
              <div class="q-body">
                <label class="sr" for=${`q-${i}`}>Question ${i + 1}</label>
                <textarea id=${`q-${i}`} name="question" rows="2" maxlength="2000" required placeholder="What would you like to ask?" value=${q.text}
                  onInput=${(e: Event) => setQ(i, { text: (e.target as HTMLTextAreaElement).value })}></textarea>
                <div class="q-tools">
                  <label class="inline-field"><span class="sr">Follow-up depth for question ${i + 1}</span>
                    <select value=${q.probe} onChange=${(e: Event) => setQ(i, { probe: (e.target as HTMLSelectElement).value as Probe })}>
                      ${PROBES.map((p) => html`<option value=${p.value}>${p.label}</option>`)}
                    </select>
                  </label>
                  <span class="spacer"></span>
                  <button type="button" class="icon-btn" aria-label=${`Move question ${i + 1} up`} disabled=${i === 0} onClick=${() => move(i, -1)}>↑</button>
                  <button type="button" class="icon-btn" aria-label=${`Move question ${i + 1} down`} disabled=${i === draft.questions.length - 1} onClick=${() => move(i, 1)}>↓</button>
                  <button type="button" class="icon-btn danger" aria-label=${`Remove question ${i + 1}`} disabled=${draft.questions.length === 1}
                    onClick=${() => set((d) => ({ ...d, questions: d.questions.filter((_, j) => j !== i) }))}>✕</button>
                </div>
              </div>
            </li>`,
          )}
        </ol>
        <button type="button" class="btn" onClick=${() => set((d) => ({ ...d, questions: [...d.questions, { text: "", probe: "light" }] }))} disabled=${draft.questions.length >= 100}>+ Add a question</button>
      </section>

      <section class="panel">
        <h2 class="panel-title">Settings</h2>
        <div class="grid-2">
          <fieldset class="field"><legend>Interview mode</legend>
            <label class="check"><input type="radio" name="mode" value="text" checked=${draft.settings.mode === "text"} onChange=${() => setS({ mode: "text" })} /> Text: participants type their answers</label>
            <label class="check"><input type="radio" name="mode" value="voice" checked=${draft.settings.mode === "voice"} onChange=${() => setS({ mode: "voice" })} /> Voice: questions are spoken, answers recorded</label>
          </fieldset>
          <div class="stack">
            <label class="check"><input type="checkbox" name="recordAudio" checked=${draft.settings.recordAudio} onChange=${(e: Event) => setS({ recordAudio: (e.target as HTMLInputElement).checked })} /> Keep audio recordings (voice mode)</label>
            <label class="field"><span>Language <span class="muted">(optional, e.g. en, de, pt-BR: the participant page speaks the ${Object.keys(PAGE_LANGUAGES).length} languages listed; others see English)</span></span>
              <input name="language" list="page-languages" value=${draft.settings.language ?? ""} maxlength="12" pattern="[a-z]{2,3}(-[A-Za-z0-9]{2,8})?" onInput=${(e: Event) => setS({ language: (e.target as HTMLInputElement).value })} />
              <datalist id="page-languages">${Object.entries(PAGE_LANGUAGES).map(([code, name]) => html`<option value=${code}>${name}</option>`)}</datalist>
            </label>
          </div>
        </div>
        <label class="check"><input type="checkbox" name="consentRequired" checked=${draft.settings.consentRequired} onChange=${(e: Event) => setS({ consentRequired: (e.target as HTMLInputElement).checked })} /> Ask for consent before the interview starts</label>
        ${draft.settings.consentRequired
          ? html`<label class="field"><span>Consent text <span class="muted">(leave empty for the default wording, in the campaign's language)</span></span>
              <textarea name="consentText" rows="3" maxlength="10000" value=${draft.settings.consentText ?? ""} onInput=${(e: Event) => setS({ consentText: (e.target as HTMLTextAreaElement).value })}></textarea>
            </label>`
          : null}
      </section>

      <div class="form-foot">
        <${InlineError} error=${saveError} />
        ${!valid
          ? html`<span class="muted small" data-testid="form-hint">${!draft.name.trim() && !questionsValid
              ? "Give the campaign a name, and every question some text."
              : !draft.name.trim()
                ? "Give the campaign a name to save it."
                : "Every question needs some text."}</span>`
          : null}
        <span class="spacer"></span>
        ${isNew ? html`<a class="btn" href="/campaigns">Cancel</a>` : null}
        <button class="btn btn-primary" type="submit" disabled=${!valid || saving}>${saving ? "Saving…" : isNew ? "Create campaign" : "Save changes"}</button>
      </div>
    </form>
    ${isNew ? null : html`<${CampaignRetention} id=${params.id!} editable=${true} />`}
  </div>`;
}

function ReadOnly({ campaign }: { campaign: Campaign }) {
  return html`<section class="panel">
    <h2 class="panel-title">Questions</h2>
    <ol class="questions read">
      ${campaign.questions.map((q, i) => html`<li key=${i} class="question-row"><span class="q-num">${i + 1}</span><div class="q-body"><p>${q.text}</p><span class="chip">${PROBES.find((p) => p.value === q.probe)?.label}</span></div></li>`)}
    </ol>
    <dl class="facts">
      <div><dt>Mode</dt><dd>${campaign.settings.mode === "voice" ? "Voice" : "Text"}</dd></div>
      <div><dt>Consent</dt><dd>${campaign.settings.consentRequired ? "Asked before starting" : "Not asked"}</dd></div>
      <div><dt>Language</dt><dd>${campaign.settings.language ?? "Any"}</dd></div>
      <div><dt>Script version</dt><dd>v${campaign.scriptVersion}</dd></div>
    </dl>
  </section>`;
}
