import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/shared/crypto";
import { IDLE_MS } from "../../src/worker/signin";
import { BASE, call, createCampaign, createInvite, createOrg, join, unique } from "../helpers/api";

const password = "a long enough password";

async function addMember(ownerKey: string, role: string) {
  const email = `${unique(role)}@example.com`;
  const r = await call("POST", "/v1/members", { key: ownerKey, body: { email, name: `The ${role}`, role, password } });
  expect(r.status, r.text).toBe(201);
  return { ...r.json, email } as { id: string; email: string; role: string };
}

async function login(email: string, pw = password, ip = "203.0.113.10") {
  return call("POST", "/v1/auth/login", { body: { email, password: pw }, headers: { "CF-Connecting-IP": ip } });
}

const cookieOf = (r: { headers: Headers }) => r.headers.get("Set-Cookie")?.split(";")[0] ?? "";

describe("members", () => {
  it("owners add, change and remove members; the last owner stays", async () => {
    const { apiKey, owner } = await createOrg();
    const analyst = await addMember(apiKey.key, "analyst");
    const list = await call("GET", "/v1/members", { key: apiKey.key });
    expect(list.json.data.map((m: any) => m.role).sort()).toEqual(["analyst", "owner"]);
    expect(JSON.stringify(list.json)).not.toContain("password");

    const promoted = await call("PATCH", `/v1/members/${analyst.id}`, { key: apiKey.key, body: { role: "admin" } });
    expect(promoted.json).toMatchObject({ id: analyst.id, role: "admin" });
    const demoteOwner = await call("PATCH", `/v1/members/${owner.id}`, { key: apiKey.key, body: { role: "viewer" } });
    expect(demoteOwner.status).toBe(409);
    expect(demoteOwner.json.error.code).toBe("LAST_OWNER");
    expect((await call("DELETE", `/v1/members/${owner.id}`, { key: apiKey.key })).status).toBe(409);

    const dup = await call("POST", "/v1/members", { key: apiKey.key, body: { email: analyst.email, name: "Again", role: "viewer", password } });
    expect(dup.status).toBe(409);
    const mass = await call("POST", "/v1/members", { key: apiKey.key, body: { email: `${unique("m")}@example.com`, name: "X", role: "viewer", password, orgId: "org_aaaaaaaaaaaaaaaa" } });
    expect(mass.status).toBe(400);

    expect((await call("DELETE", `/v1/members/${analyst.id}`, { key: apiKey.key })).status).toBe(200);
    expect((await login(analyst.email)).status).toBe(401);
  });

  it("only owners manage the team, and other orgs see nothing", async () => {
    const a = await createOrg();
    const b = await createOrg();
    const adminKey = await call("POST", "/v1/api-keys", { key: a.apiKey.key, body: { name: "ops", role: "admin" } });
    expect((await call("GET", "/v1/members", { key: adminKey.json.key })).status).toBe(403);
    expect((await call("PATCH", `/v1/members/${a.owner.id}`, { key: b.apiKey.key, body: { name: "Mallory" } })).status).toBe(404);
  });
});

describe("API keys", () => {
  it("shows the secret once, stores a hash, records use, and revocation bites on the next request", async () => {
    const { apiKey } = await createOrg();
    const created = await call("POST", "/v1/api-keys", { key: apiKey.key, body: { name: "reporting", role: "analyst" } });
    expect(created.status).toBe(201);
    expect(created.json.key).toMatch(/^irk_/);
    expect(created.json.last4).toBe(created.json.key.slice(-4));
    const stored = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(created.json.id).first<Record<string, unknown>>();
    expect(JSON.stringify(stored)).not.toContain(created.json.key);
    expect(stored!.key_hash).toBe(await sha256Hex(created.json.key));

    expect((await call("GET", "/v1/campaigns", { key: created.json.key })).status).toBe(200);
    const listed = await call("GET", "/v1/api-keys", { key: apiKey.key });
    const mine = listed.json.data.find((k: any) => k.id === created.json.id);
    expect(mine).not.toHaveProperty("key");
    await expect.poll(async () => (await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(created.json.id).first<{ last_used_at: number | null }>())!.last_used_at).not.toBeNull();

    expect((await call("DELETE", `/v1/api-keys/${created.json.id}`, { key: apiKey.key })).status).toBe(200);
    const after = await call("GET", "/v1/campaigns", { key: created.json.key });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("UNAUTHENTICATED");
  });
});

describe("dashboard sign-in", () => {
  it("sets a hardened cookie, a new session id per sign-in, and logout ends it", async () => {
    const { apiKey } = await createOrg();
    const admin = await addMember(apiKey.key, "admin");
    const first = await login(admin.email);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ member: { email: admin.email, role: "admin" } });
    const header = first.headers.get("Set-Cookie")!;
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/Secure/i);
    expect(header).toMatch(/SameSite=Lax/i);
    const second = await login(admin.email);
    expect(cookieOf(second)).not.toBe(cookieOf(first));

    const me = await call("GET", "/v1/auth/me", { headers: { Cookie: cookieOf(first) } });
    expect(me.json).toMatchObject({ principal: { type: "member", id: admin.id, role: "admin" } });

    // Another site cannot sign the member out (CSRF), with or without an Origin.
    for (const headers of [{ Cookie: cookieOf(first), Origin: "https://evil.example" }, { Cookie: cookieOf(first) }] as Record<string, string>[]) {
      const refused = await call("POST", "/v1/auth/logout", { headers });
      expect(refused.status).toBe(403);
      expect(refused.json.error.code).toBe("CSRF_REJECTED");
    }
    expect((await call("GET", "/v1/auth/me", { headers: { Cookie: cookieOf(first) } })).status).toBe(200);
    expect((await call("POST", "/v1/auth/logout", { headers: { Cookie: cookieOf(first), Origin: BASE } })).status).toBe(200);
    expect((await call("GET", "/v1/auth/me", { headers: { Cookie: cookieOf(first) } })).status).toBe(401);
    expect((await call("GET", "/v1/auth/me", { headers: { Cookie: cookieOf(second) } })).status).toBe(200);
  });

  it("refuses cookie writes from a foreign or missing Origin", async () => {
    const { apiKey } = await createOrg();
    const admin = await addMember(apiKey.key, "admin");
    const cookie = cookieOf(await login(admin.email));
    const body = { name: "CSRF target", questions: [{ text: "Q?" }] };
    const foreign = await call("POST", "/v1/campaigns", { body, headers: { Cookie: cookie, Origin: "https://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(foreign.json.error.code).toBe("CSRF_REJECTED");
    expect((await call("POST", "/v1/campaigns", { body, headers: { Cookie: cookie } })).status).toBe(403);
    expect((await call("POST", "/v1/campaigns", { body, headers: { Cookie: cookie, Origin: BASE } })).status).toBe(201);
  });

  it("expires idle sessions", async () => {
    const { apiKey } = await createOrg();
    const admin = await addMember(apiKey.key, "admin");
    const cookie = cookieOf(await login(admin.email));
    await env.DB.prepare("UPDATE auth_sessions SET last_seen_at = ? WHERE member_id = ?").bind(Date.now() - IDLE_MS - 1000, admin.id).run();
    const r = await call("GET", "/v1/auth/me", { headers: { Cookie: cookie } });
    expect(r.status).toBe(401);
  });

  it("rate-limits sign-in per client address with Retry-After", async () => {
    const { owner } = await createOrg();
    const ip = `203.0.113.${Math.floor(Math.random() * 200) + 20}`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await login(owner.email, "wrong password!", ip)).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const limited = await login(owner.email, "correct horse battery staple", ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(limited.json.error.code).toBe("RATE_LIMITED");
    expect((await login(owner.email, "correct horse battery staple", "203.0.113.250")).status).toBe(200);
  });

  it("rate-limits joins per client address", async () => {
    const ip = "192.0.2.77";
    let last = 0;
    for (let i = 0; i < 61; i++) last = (await call("POST", "/v1/join", { body: { token: "x".repeat(32) }, headers: { "CF-Connecting-IP": ip } })).status;
    expect(last).toBe(429);
  });
});

describe("the audit log API", () => {
  it("answers who read a transcript and from where, records denials, and verifies its chain", async () => {
    const { apiKey, org } = await createOrg();
    const campaign = await createCampaign(apiKey.key);
    const invite = await createInvite(apiKey.key, campaign.id);
    const session = (await join(invite.token)).json;
    const analyst = await call("POST", "/v1/api-keys", { key: apiKey.key, body: { name: "analyst", role: "analyst" } });
    const viewer = await call("POST", "/v1/api-keys", { key: apiKey.key, body: { name: "viewer", role: "viewer" } });

    const read = await call("GET", `/v1/sessions/${session.sessionId}/transcript`, { key: analyst.json.key, headers: { "CF-Connecting-IP": "198.51.100.7", "User-Agent": "research-notebook/1.0" } });
    expect(read.status).toBe(200);
    expect((await call("GET", `/v1/sessions/${session.sessionId}/transcript`, { key: viewer.json.key })).status).toBe(403);
    expect((await call("GET", "/v1/audit-log", { key: analyst.json.key })).status).toBe(403);

    await expect
      .poll(async () => (await call("GET", `/v1/audit-log?resourceId=${session.sessionId}`, { key: apiKey.key })).json.data.length, { timeout: 5000 })
      .toBeGreaterThanOrEqual(2);
    const log = await call("GET", `/v1/audit-log?resourceId=${session.sessionId}`, { key: apiKey.key });
    const allow = log.json.data.find((e: any) => e.action === "transcript.read" && e.outcome === "allow");
    expect(allow).toMatchObject({ actor: { type: "api_key", id: analyst.json.id, role: "analyst" }, resource: { type: "session", id: session.sessionId }, ip: "198.51.100.7", userAgent: "research-notebook/1.0" });
    const deny = log.json.data.find((e: any) => e.action === "transcript.read" && e.outcome === "deny");
    expect(deny).toMatchObject({ actor: { id: viewer.json.id, role: "viewer" } });
    expect(JSON.stringify(log.json)).not.toContain(viewer.json.key);

    const denied = await call("GET", `/v1/audit-log?outcome=deny&actorId=${analyst.json.id}`, { key: apiKey.key });
    expect(denied.json.data.map((e: any) => e.action)).toContain("audit.read");
    const verify = await call("GET", "/v1/audit-log/verify", { key: apiKey.key });
    expect(verify.json).toMatchObject({ ok: true });
    expect(verify.json.rows).toBeGreaterThanOrEqual(4);
    expect(org.id).toMatch(/^org_/);
  });
});

describe("org settings and secure defaults", () => {
  it("custom retention needs the enterprise plan", async () => {
    const { apiKey } = await createOrg("starter");
    const refused = await call("PATCH", "/v1/org", { key: apiKey.key, body: { retentionDays: 400 } });
    expect(refused.status).toBe(400);
    const upgraded = await call("PATCH", "/v1/org", { key: apiKey.key, body: { plan: "enterprise", retentionDays: 400 } });
    expect(upgraded.json).toMatchObject({ plan: "enterprise", retentionDays: 400 });
    expect((await call("GET", "/v1/org", { key: apiKey.key })).json.retentionDays).toBe(400);
  });

  it("sends security headers and no CORS grant by default", async () => {
    const { apiKey } = await createOrg();
    const r = await call("GET", "/v1/campaigns", { key: apiKey.key, headers: { Origin: "https://elsewhere.example" } });
    expect(r.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(r.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("Strict-Transport-Security")).toContain("max-age");
    expect(r.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("reports the Worker's own time on each response in Server-Timing, errors included", async () => {
    const { apiKey } = await createOrg();
    for (const r of [await call("GET", "/v1/campaigns", { key: apiKey.key }), await call("GET", "/v1/campaigns/cmp_nope", { key: apiKey.key })]) {
      const m = /^app;dur=(\d+(?:\.\d)?), auth;dur=\d+(?:\.\d)?$/.exec(r.headers.get("Server-Timing") ?? "");
      expect(m, r.headers.get("Server-Timing") ?? "no Server-Timing").not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(0);
      expect(Number(m![1])).toBeLessThan(10_000);
    }
  });
});
