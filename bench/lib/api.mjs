// Small HTTP helpers for the product's API, and the setup every product group shares:
// an org (through the operator token), a campaign, and invites.
import { pool } from "./stats.mjs";

export const OPERATOR_TOKEN = "bench-operator-token";

export async function api(base, method, path, { token, body, headers = {}, timeoutMs = 30_000 } = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text, headers: res.headers, ms };
}

export async function expectOk(resP, what) {
  const r = await resP;
  if (r.status < 200 || r.status >= 300) throw new Error(`${what} failed: ${r.status} ${r.text.slice(0, 500)}`);
  return r.json;
}

/** A question script of `n` questions with the given probe depth. */
export function questions(n, probe = "none") {
  return Array.from({ length: n }, (_, i) => ({ text: `Bench question ${i + 1}: what happened, and how did it make you feel?`, probe }));
}

export async function createOrgAndCampaign(base, { questionCount = 10, probe = "none", consentRequired = true } = {}) {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const org = await expectOk(
    api(base, "POST", "/v1/orgs", {
      token: OPERATOR_TOKEN,
      body: { name: `Bench ${tag}`, plan: "enterprise", owner: { email: `owner+${tag}@bench.interviewrelay.test`, name: "Bench Owner", password: "bench-password-123" } },
    }),
    "POST /v1/orgs",
  );
  const key = org.apiKey.key;
  const campaign = await expectOk(
    api(base, "POST", "/v1/campaigns", {
      token: key,
      body: { name: `Bench campaign ${tag}`, questions: questions(questionCount, probe), settings: { consentRequired, mode: "text", recordAudio: false } },
    }),
    "POST /v1/campaigns",
  );
  return { orgId: org.org.id, key, campaignId: campaign.id };
}

/** Creates `count` single-use invites with `concurrency` requests in flight; returns their tokens. */
export async function createInvites(base, key, campaignId, count, concurrency = 8) {
  const started = performance.now();
  const tokens = await pool(count, concurrency, async (i) => {
    const inv = await expectOk(
      api(base, "POST", `/v1/campaigns/${campaignId}/invites`, { token: key, body: { participant: { name: `Participant ${i}`, email: `p${i}@bench.interviewrelay.test` } } }),
      "POST invites",
    );
    return inv.token;
  });
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

export async function join(base, token) {
  const r = await api(base, "POST", "/v1/join", { body: { token, device: { browser: "bench", os: "linux", deviceType: "desktop" } } });
  if (r.status !== 201) throw new Error(`POST /v1/join: ${r.status} ${r.text.slice(0, 300)}`);
  return { ...r.json, ms: r.ms };
}
