// The header every campaign tab shares: the campaign's name and the tabs the role may open.
import { useEffect, useState } from "preact/hooks";
import { ApiError, get } from "../api";
import { html } from "../html";
import { can } from "../roles";
import { useRole } from "../session-context";
import type { Campaign } from "../types";
import { Empty, PageHeader, Tabs } from "../ui";

const cache = new Map<string, Campaign>();
export const rememberCampaign = (c: Campaign) => void cache.set(c.id, c);

/** Campaigns the server answered 404 for (unknown, deleted, or another org's). */
const missing = new Set<string>();
export const isMissingCampaign = (error: unknown) => error instanceof ApiError && error.status === 404;

/** The campaign, from the cache at once when known, refreshed from the server every mount. */
export function useCampaign(id: string | undefined): { campaign: Campaign | null; error: unknown; notFound: boolean; reload: () => void } {
  const [campaign, setCampaign] = useState<Campaign | null>(id ? (cache.get(id) ?? null) : null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!id) return;
    const ctrl = new AbortController();
    get<Campaign>(`/v1/campaigns/${encodeURIComponent(id)}`, ctrl.signal).then(
      (c) => (missing.delete(c.id), rememberCampaign(c), setCampaign(c), setError(null)),
      (e) => {
        if (ctrl.signal.aborted) return;
        if (isMissingCampaign(e)) {
          missing.add(id);
          cache.delete(id);
          setCampaign(null);
        }
        setError(e);
      },
    );
    return () => ctrl.abort();
  }, [id, tick]);
  return { campaign, error, notFound: !campaign && isMissingCampaign(error), reload: () => setTick((t) => t + 1) };
}

/** Every campaign of the org (first 100), for pickers such as reassign and the live view. */
export async function allCampaigns(signal?: AbortSignal): Promise<Campaign[]> {
  const p = await get<{ data: Campaign[] }>("/v1/campaigns?limit=100", signal);
  p.data.forEach(rememberCampaign);
  return p.data;
}

export const cachedCampaign = (id: string) => cache.get(id);

export function CampaignHead({ id, campaign, tab, children }: { id: string; campaign: Campaign | null; tab: string; children?: unknown }) {
  const role = useRole();
  const items = [
    { key: "sessions", href: `/campaigns/${id}/sessions`, label: "Sessions" },
    { key: "analytics", href: `/campaigns/${id}/analytics`, label: "Analytics" },
  ];
  items.push({ key: "settings", href: `/campaigns/${id}/settings`, label: can(role, "editCampaigns") ? "Questions & settings" : "Questions" });
  if (can(role, "editCampaigns")) items.push({ key: "invites", href: `/campaigns/${id}/invites`, label: "Invites" });
  return html`<div>
    <${PageHeader}
      crumbs=${html`<a href="/campaigns">Campaigns</a>`}
      title=${campaign?.name ?? (missing.has(id) ? "Campaign not found" : html`<span class="skeleton-text">Loading campaign…</span>`)}
      sub=${campaign ? `${campaign.totalQuestions} question${campaign.totalQuestions === 1 ? "" : "s"} · ${campaign.settings.mode === "voice" ? "voice" : "text"} interviews · script v${campaign.scriptVersion}` : null}
    >${children}<//>
    <${Tabs} items=${items} active=${tab} />
  </div>`;
}

/** The state every campaign tab shows for an unknown, deleted or other org's campaign. */
export function CampaignMissing() {
  return html`<div data-testid="campaign-not-found"><${Empty} title="Campaign not found">It may have been deleted, or it belongs to another organisation. <div class="mt"><a class="btn" href="/campaigns">Back to campaigns</a></div><//></div>`;
}
