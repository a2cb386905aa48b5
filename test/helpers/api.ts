// Small helpers for integration tests: every test makes its own org, campaign and invites.
import { exports } from "cloudflare:workers";
import { jsonOrNull } from "./json";

export const BASE = "https://interviews.example";

export async function call(method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  // Each call comes from its own documentation-range address, so per-address rate limits only
  // bite in the tests that aim at them (they pass their own CF-Connecting-IP).
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp(), ...(opts.headers ?? {}) };
  if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  const text = await res.text();
  const json = jsonOrNull(text);
  return { status: res.status, json, text, headers: res.headers };
}

export const randomClientIp = () => `198.51.100.${1 + Math.floor(Math.random() * 254)}`;

let counter = 0;
export const unique = (p: string) => `${p}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export async function createOrg(plan = "professional") {
  const r = await call("POST", "/v1/orgs", {
    key: "test-operator-token",
    body: { name: unique("Org"), plan, owner: { email: `${unique("owner")}@example.com`, name: "Owner", password: "correct horse battery staple" } },
  });
  if (r.status !== 201) throw new Error(`createOrg: ${r.status} ${r.text}`);
  return r.json as { org: { id: string }; owner: { id: string; email: string }; apiKey: { id: string; key: string } };
}

export async function createCampaign(key: string, overrides: Record<string, unknown> = {}) {
  const r = await call("POST", "/v1/campaigns", {
    key,
    body: {
      name: "Onboarding study",
      questions: [{ text: "How did you first hear about us?" }, { text: "What almost stopped you from signing up?", probe: "light" }, { text: "What would you change first?" }],
      settings: { consentRequired: true, consentText: "We record this interview." },
      ...overrides,
    },
  });
  if (r.status !== 201) throw new Error(`createCampaign: ${r.status} ${r.text}`);
  return r.json as { id: string; scriptVersion: number; totalQuestions: number };
}

export async function createInvite(key: string, campaignId: string, body: Record<string, unknown> = {}) {
  const r = await call("POST", `/v1/campaigns/${campaignId}/invites`, { key, body });
  if (r.status !== 201) throw new Error(`createInvite: ${r.status} ${r.text}`);
  return r.json as { id: string; token: string; url: string; expiresAt: string };
}

export async function join(token: string, resume?: { sessionId: string; participantToken: string }) {
  const r = await call("POST", "/v1/join", { body: { token, device: { browser: "Firefox", os: "Linux", deviceType: "desktop" }, ...(resume ? { resume } : {}) } });
  return r;
}
