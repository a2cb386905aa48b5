// Webhooks: owners register https targets (SSRF refused), session lifecycle events and test events
// are delivered from the queue, signed Stripe-style, retried with backoff, and logged. No test
// reaches a remote service: the delivery transport is a stub that records what would be sent, and
// names resolve through a stub DNS-over-HTTPS server (a table this file controls).
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/worker/index";
import { dohResolver, type Fetcher } from "../../src/worker/dns";
import { emitOrgEvent, MAX_ATTEMPTS, setHostResolver, setWebhookTransport, unsafeTargetReason, type WebhookTransport } from "../../src/worker/webhooks";
import { call, createOrg } from "../helpers/api";
import { answer, keyWithRole, startedInterview, waitFor } from "../helpers/fixtures";

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
}

/** Records every request it is asked to send and answers with `respond(url)` (200 by default). */
class StubTransport implements WebhookTransport {
  sent: Sent[] = [];
  respond: (url: string) => number = () => 200;
  async send(url: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }) {
    this.sent.push({ url, headers: init.headers, body: init.body, json: JSON.parse(init.body) });
    return { status: this.respond(url) };
  }
  to(url: string) {
    return this.sent.filter((s) => s.url === url);
  }
}

/**
 * A DNS-over-HTTPS server (JSON API) over a table of names; unknown names are NXDOMAIN. `down`
 * makes it unreachable. The product's real DoH resolver talks to it through an injected fetch.
 */
class StubDoh {
  names = new Map<string, { A?: string[]; AAAA?: string[] }>([["hooks.example.com", { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] }]]);
  down: null | "network" | "http" = null;
  /** The TTL every answer carries (0: nothing may be cached). */
  ttl = 0;
  queries: { name: string; type: string; accept: string | null }[] = [];
  fetch: Fetcher = async (input, init) => {
    const url = new URL(input);
    const name = url.searchParams.get("name") ?? "";
    const type = url.searchParams.get("type") ?? "";
    this.queries.push({ name, type, accept: new Headers(init.headers).get("accept") });
    if (this.down === "network") throw new TypeError("fetch failed: connection refused");
    if (this.down === "http") return new Response("upstream unavailable", { status: 502 });
    const entry = this.names.get(name);
    if (!entry) return Response.json({ Status: 3, Question: [{ name, type: 1 }] });
    const records = type === "A" ? (entry.A ?? []) : (entry.AAAA ?? []);
    return Response.json({ Status: 0, Answer: records.map((data) => ({ name, type: type === "A" ? 1 : 28, TTL: this.ttl, data })) });
  };
}

let stub: StubTransport;
let dns: StubDoh;
beforeEach(() => {
  stub = new StubTransport();
  setWebhookTransport(stub);
  dns = new StubDoh();
  setHostResolver(dohResolver({ endpoint: "https://doh.stub.invalid/dns-query", fetch: dns.fetch }));
});
afterAll(() => {
  setWebhookTransport({ send: async () => ({ status: 204 }) });
  setHostResolver(null);
});

const ALL_SESSION_EVENTS = ["session.created", "session.started", "session.paused", "session.resumed", "session.completed", "session.abandoned"];
let n = 0;
const hookUrl = () => `https://hooks.example.com/ir/${Date.now().toString(36)}-${n++}`;

async function createWebhook(key: string, events: string[] = ALL_SESSION_EVENTS, url = hookUrl()) {
  const r = await call("POST", "/v1/webhooks", { key, body: { url, events } });
  if (r.status !== 201) throw new Error(`createWebhook: ${r.status} ${r.text}`);
  return r.json as { id: string; url: string; events: string[]; secret: string; createdAt: string };
}

async function hmacHex(secret: string, message: string) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Verifies the signature header the way a receiver would; returns the signed timestamp. */
async function verify(s: Sent, secret: string) {
  const header = s.headers["InterviewRelay-Signature"];
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  expect(m, `signature header ${header}`).not.toBeNull();
  const t = Number(m![1]);
  expect(Math.abs(Date.now() / 1000 - t)).toBeLessThan(60);
  expect(m![2]).toBe(await hmacHex(secret, `${t}.${s.body}`));
  expect(m![2]).not.toBe(await hmacHex(`${secret}x`, `${t}.${s.body}`));
  return t;
}

const deliveries = async (key: string, webhookId: string, q = "") => {
  const r = await call("GET", `/v1/webhooks/${webhookId}/deliveries${q}`, { key });
  expect(r.status, r.text).toBe(200);
  return r.json as { data: Record<string, any>[]; nextCursor: string | null };
};

/** Delivers one message to the consumer as the runtime would; returns acks and each retry's options. */
async function consume(body: unknown, attempts: number) {
  return consumeBatch([body], attempts);
}

async function consumeBatch(bodies: unknown[], attempts: number) {
  const batch = createMessageBatch(
    "interviewrelay-ai",
    bodies.map((body) => ({ id: `m${attempts}-${Math.random()}`, body, attempts, timestamp: new Date() })),
  );
  const retries: (QueueRetryOptions | undefined)[] = [];
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      retries.push(options);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  // Called as the runtime calls it, through the exported handler's signature.
  const queue: ExportedHandlerQueueHandler<Env> = worker.queue;
  await queue(batch, env as unknown as Env, ctx);
  return { ...(await getQueueResult(batch, ctx)), retries };
}

/** `env` with AI_QUEUE replaced by a recorder: messages stay with the test. */
function recordingEnv() {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => void sent.push(body),
    sendBatch: async (msgs: { body: unknown }[]) => void sent.push(...msgs.map((m) => m.body)),
  };
  const e = new Proxy(env as unknown as Env, { get: (t, p) => (p === "AI_QUEUE" ? queue : Reflect.get(t, p)) });
  return { env: e, sent };
}

describe("registering webhooks", () => {
  it("creates, lists and deletes; the secret is shown once", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["session.completed", "analysis.ready", "session.completed"]);
    expect(hook.id).toMatch(/^whk_[a-z0-9]{16}$/);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
    expect(hook.events).toEqual(["session.completed", "analysis.ready"]);
    expect(Date.parse(hook.createdAt)).toBeGreaterThan(0);

    const list = await call("GET", "/v1/webhooks", { key });
    expect(list.status).toBe(200);
    expect(list.json.data).toEqual([{ id: hook.id, url: hook.url, events: hook.events, createdAt: hook.createdAt, disabledAt: null }]);
    expect(list.text).not.toContain(hook.secret);
    expect(list.text).not.toContain("secret");
    expect((await deliveries(key, hook.id)).data).toEqual([]);

    const del = await call("DELETE", `/v1/webhooks/${hook.id}`, { key });
    expect(del.status, del.text).toBe(200);
    expect(del.text).not.toContain(hook.secret);
    expect(del.json.disabledAt).not.toBeNull();
    expect((await call("GET", "/v1/webhooks", { key })).json.data).toEqual([]);
    expect((await call("DELETE", `/v1/webhooks/${hook.id}`, { key })).status).toBe(404);
    expect((await call("POST", `/v1/webhooks/${hook.id}/test`, { key })).status).toBe(404);
    // The secret is forgotten with the webhook.
    const row = await env.DB.prepare("SELECT secret FROM webhooks WHERE id = ?").bind(hook.id).first<{ secret: string }>();
    expect(row?.secret).toBe("");
  });

  it("refuses non-https, credentialed and private, loopback, link-local, CGNAT and multicast targets with 400", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const bad = [
      "http://hooks.example.com/x",
      "https://127.0.0.1/x",
      "https://127.1/x",
      "https://2130706433/x",
      "https://0x7f000001/x",
      "https://0.0.0.0/x",
      "https://10.0.0.1/x",
      "https://172.16.5.4/x",
      "https://192.168.1.1/x",
      "https://100.64.0.1/x",
      "https://169.254.169.254/latest/meta-data",
      "https://224.0.0.1/x",
      "https://255.255.255.255/x",
      "https://[::1]/x",
      "https://[::]/x",
      "https://[::ffff:127.0.0.1]/x",
      "https://[::ffff:10.0.0.1]/x",
      "https://[::ffff:a9fe:a9fe]/x",
      "https://[64:ff9b::7f00:1]/x",
      "https://[2002:7f00:1::]/x",
      "https://[fe80::1]/x",
      "https://[fc00::1]/x",
      "https://[fd12:3456::1]/x",
      "https://[ff02::1]/x",
      "https://localhost/x",
      "https://localhost./x",
      "https://api.localhost/x",
      "https://printer.local/x",
      "https://metadata.google.internal/x",
      "https://intranet/x",
      "https://user:pass@example.com/x",
      "https://user@example.com/x",
      "ftp://example.com/x",
      "not a url",
    ];
    for (const url of bad) {
      const r = await call("POST", "/v1/webhooks", { key, body: { url, events: ["session.completed"] } });
      expect(r.status, `${url}: ${r.text}`).toBe(400);
      expect(r.json.error.code).toBe("VALIDATION_FAILED");
      expect(r.json.error.details.fields.map((f: { path: string }) => f.path)).toContain("url");
    }
    for (const events of [[], ["session.exploded"], ["webhook.test"], "session.completed"]) {
      const r = await call("POST", "/v1/webhooks", { key, body: { url: hookUrl(), events } });
      expect(r.status, `${JSON.stringify(events)}: ${r.text}`).toBe(400);
      expect(JSON.stringify(r.json.error.details.fields)).toContain("events");
    }
    expect((await call("GET", "/v1/webhooks", { key })).json.data).toEqual([]);
    // Public targets pass the same check.
    for (const ok of ["https://hooks.example.com/x", "https://8.8.8.8/x", "https://[2606:4700:4700::1111]/x", "https://hooks.example.com:8443/x"]) expect(unsafeTargetReason(ok), ok).toBeNull();
  });

  const storedHooks = async (orgId: string) => (await env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE org_id = ?").bind(orgId).first<{ n: number }>())!.n;
  const create = (key: string, url: string) => call("POST", "/v1/webhooks", { key, body: { url, events: ["session.completed"] } });

  it("refuses a URL with raw whitespace or control characters with 400; nothing is stored", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    for (const url of ["https://hooks.example.com/\nx", "https://hooks.example.com/x\r\nX-Injected: 1", "https://hooks.example.com/\tx", "https://hooks.ex\nample.com/x", "https://hooks.example.com/x\u0000", "https://hooks.example.com/a b", "https://hooks.example.com/x\n"]) {
      const r = await create(key, url);
      expect(r.status, `${JSON.stringify(url)}: ${r.text}`).toBe(400);
      expect(r.json.error.code).toBe("VALIDATION_FAILED");
      expect(r.json.error.details.fields).toEqual([expect.objectContaining({ path: "url", message: "the URL must not contain whitespace or control characters" })]);
    }
    expect(await storedHooks(org.org.id)).toBe(0);
  });

  it("refuses a name that resolves to a private, loopback or link-local address with 400 WEBHOOK_URL_PRIVATE; nothing is stored", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.names.set("127.0.0.1.nip.io", { A: ["127.0.0.1"] });
    dns.names.set("localtest.me", { A: ["127.0.0.1"], AAAA: ["::1"] });
    dns.names.set("metadata.attacker.example.net", { AAAA: ["::ffff:169.254.169.254"] });
    // One public answer does not save a name: a client may connect to any of them.
    dns.names.set("mixed.example.org", { A: ["93.184.215.14", "10.0.0.5"] });
    dns.names.set("cgnat.example.org", { A: ["100.64.1.1"] });
    const cases: [string, string][] = [
      ["https://127.0.0.1.nip.io/x", "127.0.0.1"],
      ["https://localtest.me/x", "127.0.0.1"],
      ["https://metadata.attacker.example.net/latest", "::ffff:169.254.169.254"],
      ["https://mixed.example.org/x", "10.0.0.5"],
      ["https://CGNAT.example.org./x", "100.64.1.1"],
    ];
    for (const [url, address] of cases) {
      const r = await create(key, url);
      expect(r.status, `${url}: ${r.text}`).toBe(400);
      expect(r.json.error.code).toBe("WEBHOOK_URL_PRIVATE");
      expect(r.json.error.message).toContain(address);
      expect(r.json.error.details).toMatchObject({ address, fields: [expect.objectContaining({ path: "url", code: "WEBHOOK_URL_PRIVATE" })] });
    }
    expect(await storedHooks(org.org.id)).toBe(0);
    expect((await call("GET", "/v1/webhooks", { key })).json.data).toEqual([]);
    // Both record types were asked for, as DoH JSON, for the lowercased name without its trailing dot.
    expect(dns.queries.filter((q) => q.name === "cgnat.example.org").map((q) => `${q.type} ${q.accept}`).sort()).toEqual(["A application/dns-json", "AAAA application/dns-json"]);
  });

  it("accepts a name whose addresses are all public (201)", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.names.set("api.customer-hooks.com", { A: ["93.184.215.14", "8.8.8.8"], AAAA: ["2606:4700:4700::1111"] });
    dns.names.set("v4only.customer-hooks.com", { A: ["1.1.1.1"] });
    for (const url of ["https://api.customer-hooks.com/ir", "https://v4only.customer-hooks.com:8443/ir?x=1"]) {
      const r = await create(key, url);
      expect(r.status, `${url}: ${r.text}`).toBe(201);
      expect(r.json.url).toBe(url);
    }
    expect(await storedHooks(org.org.id)).toBe(2);
    // Accepted after looking both record types up, not without a check.
    expect(dns.queries.filter((q) => q.name === "api.customer-hooks.com").map((q) => q.type).sort()).toEqual(["A", "AAAA"]);
    // A literal public address needs no lookup.
    const before = dns.queries.length;
    expect((await create(key, "https://8.8.8.8/ir")).status).toBe(201);
    expect(dns.queries.length).toBe(before);
  });

  it("refuses a name that does not resolve (NXDOMAIN, no A or AAAA records) with 400 WEBHOOK_URL_UNRESOLVABLE", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.names.set("mx-only.customer-hooks.com", {});
    for (const [url, why] of [
      ["https://nowhere.customer-hooks.com/x", /NXDOMAIN/],
      ["https://mx-only.customer-hooks.com/x", /no A or AAAA records/],
    ] as const) {
      const r = await create(key, url);
      expect(r.status, `${url}: ${r.text}`).toBe(400);
      expect(r.json.error.code).toBe("WEBHOOK_URL_UNRESOLVABLE");
      expect(r.json.error.message).toMatch(why);
      expect(r.json.error.details.fields[0]).toMatchObject({ path: "url" });
    }
    expect(await storedHooks(org.org.id)).toBe(0);
  });

  it("answers 503 WEBHOOK_DNS_UNAVAILABLE with Retry-After when the resolver cannot be reached; nothing is stored", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    for (const down of ["network", "http"] as const) {
      dns.down = down;
      const r = await create(key, hookUrl());
      expect(r.status, `${down}: ${r.text}`).toBe(503);
      expect(r.json.error.code).toBe("WEBHOOK_DNS_UNAVAILABLE");
      expect(r.json.error.message).toMatch(/nothing was stored, retry/);
      expect(r.text).not.toMatch(/stack|at \w+ \(/);
      expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
    }
    expect(await storedHooks(org.org.id)).toBe(0);
    // The same request succeeds once the resolver is back.
    dns.down = null;
    expect((await create(key, hookUrl())).status).toBe(201);
  });

  it("only owners manage webhooks (403 for admin, analyst, viewer); other orgs get 404", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key);
    for (const role of ["admin", "analyst", "viewer"] as const) {
      const k = (await keyWithRole(org.org.id, role)).key;
      const answers = [
        await call("POST", "/v1/webhooks", { key: k, body: { url: hookUrl(), events: ["session.completed"] } }),
        await call("GET", "/v1/webhooks", { key: k }),
        await call("DELETE", `/v1/webhooks/${hook.id}`, { key: k }),
        await call("POST", `/v1/webhooks/${hook.id}/test`, { key: k }),
        await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: k }),
      ];
      for (const a of answers) {
        expect(a.status, `${role}: ${a.text}`).toBe(403);
        expect(a.json.error.code).toBe("FORBIDDEN");
      }
    }
    const other = await createOrg();
    const ok = other.apiKey.key;
    for (const [method, path] of [
      ["DELETE", `/v1/webhooks/${hook.id}`],
      ["POST", `/v1/webhooks/${hook.id}/test`],
      ["GET", `/v1/webhooks/${hook.id}/deliveries`],
    ] as const) {
      const a = await call(method, path, { key: ok });
      expect(a.status, `${method} ${path}: ${a.text}`).toBe(404);
      expect(a.json.error.code).toBe("NOT_FOUND");
    }
    const theirs = await call("GET", "/v1/webhooks", { key: ok });
    expect(theirs.json.data).toEqual([]);
    // Still there for its owner, with nothing sent.
    expect((await call("GET", "/v1/webhooks", { key })).json.data.map((h: { id: string }) => h.id)).toEqual([hook.id]);
    expect((await deliveries(key, hook.id)).data).toEqual([]);
  });
});

describe("delivery", () => {
  it("a session's lifecycle reaches a subscribed webhook, signed with its secret; unsubscribed events do not", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const all = await createWebhook(key);
    const onlyDone = await createWebhook(key, ["session.completed", "session.abandoned"]);
    const i = await startedInterview({ key });
    const paused = await call("POST", `/v1/sessions/${i.sessionId}/pause`, { key, body: { reason: "a break" } });
    expect(paused.status, paused.text).toBe(200);
    const resumed = await call("POST", `/v1/sessions/${i.sessionId}/resume`, { key });
    expect(resumed.status, resumed.text).toBe(200);
    const ended = await call("POST", `/v1/sessions/${i.sessionId}/end`, { key, body: { reason: "done" } });
    expect(ended.status, ended.text).toBe(200);
    i.ws.close();

    const terminal = (s: Sent) => s.json.type === "session.completed" || s.json.type === "session.abandoned";
    const got = await waitFor(
      async () => stub.to(all.url),
      (s) => ["session.created", "session.started", "session.paused", "session.resumed"].every((t) => s.some((x) => x.json.type === t)) && s.some(terminal),
      "the lifecycle at the webhook",
      15_000,
    );
    for (const s of got) {
      await verify(s, all.secret);
      expect(s.headers["Content-Type"]).toBe("application/json");
      expect(s.json.id).toMatch(/^evt_/);
      expect(Date.parse(s.json.createdAt)).toBeGreaterThan(0);
      expect(s.json.data).toMatchObject({ sessionId: i.sessionId, campaignId: i.campaign.id });
    }
    // The other webhook gets only what it subscribed to, signed with its own secret.
    const done = await waitFor(async () => stub.to(onlyDone.url), (s) => s.some(terminal), "the end at the second webhook", 15_000);
    expect(done.every(terminal)).toBe(true);
    for (const s of done) await verify(s, onlyDone.secret);

    const log = await waitFor(
      () => deliveries(key, all.id),
      (p) => p.data.length >= 5 && p.data.every((d) => d.status === "delivered"),
      "delivered rows in the log",
    );
    for (const d of log.data) expect(d).toMatchObject({ webhookId: all.id, status: "delivered", attempts: 1, lastStatusCode: 200, lastError: null });
    // Newest first.
    const times = log.data.map((d) => Date.parse(d.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // Paged.
    const first = await deliveries(key, all.id, "?limit=2");
    expect(first.data).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = await deliveries(key, all.id, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.data.map((d) => d.id)).toEqual(log.data.slice(2, 4).map((d) => d.id));
  }, 30_000);

  it("a finished session's analysis.ready, and data.deleted when its data is erased, reach subscribed webhooks with ids only", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["analysis.ready", "data.deleted"]);
    const i = await startedInterview({ key, participant: { email: "wes@example.com", name: "Wes" } });
    await answer(i, "a1", "I really love how fast the exports are.");
    expect((await call("POST", `/v1/sessions/${i.sessionId}/end`, { key, body: { reason: "done" } })).status).toBe(200);
    i.ws.close();
    const ready = await waitFor(async () => stub.to(hook.url), (s) => s.some((x) => x.json.type === "analysis.ready"), "analysis.ready at the webhook", 15_000);
    const a = ready.find((x) => x.json.type === "analysis.ready")!;
    await verify(a, hook.secret);
    expect(a.json.data).toMatchObject({ sessionId: i.sessionId, campaignId: i.campaign.id, status: "completed", sentiment: "positive" });

    const erased = await call("DELETE", "/v1/participants/data?email=wes@example.com", { key, headers: { "X-Confirm-Delete": "true" } });
    expect(erased.status).toBe(200);
    const gone = await waitFor(async () => stub.to(hook.url), (s) => s.some((x) => x.json.type === "data.deleted"), "data.deleted at the webhook", 15_000);
    const d = gone.find((x) => x.json.type === "data.deleted")!;
    await verify(d, hook.secret);
    expect(d.json.data).toMatchObject({ scope: "participant", subject: erased.json.subject, sessionIds: [i.sessionId] });
    // Never the participant's address or answers.
    expect(JSON.stringify(gone.map((x) => x.json))).not.toMatch(/wes@example\.com|exports are/);
  }, 30_000);

  it("a lifecycle event no webhook wants is acknowledged with no trace; once one subscribes, the same event is delivered", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const i = await startedInterview({ key });
    i.ws.close();
    const event = { type: "session.event", event: "session.started", sessionId: i.sessionId, orgId: org.org.id, campaignId: i.campaign.id, at: new Date().toISOString() };
    const marks = () => env.DB.prepare("SELECT COUNT(*) AS n FROM processed_messages WHERE key = ?").bind(`session.started:${i.sessionId}:${event.at}`).first<{ n: number }>();

    const quiet = await consume(event, 1);
    expect(quiet.explicitAcks).toHaveLength(1);
    expect(quiet.retries).toEqual([]);
    expect((await marks())!.n).toBe(0);

    // A webhook subscribed to something else changes nothing.
    await createWebhook(key, ["session.completed"]);
    expect((await consume(event, 1)).explicitAcks).toHaveLength(1);
    expect((await marks())!.n).toBe(0);

    const hook = await createWebhook(key, ["session.started"]);
    expect((await consume(event, 1)).explicitAcks).toHaveLength(1);
    expect((await marks())!.n).toBe(1);
    const log = await waitFor(() => deliveries(key, hook.id), (p) => p.data.length === 1, "the delivery row");
    expect(log.data[0]).toMatchObject({ webhookId: hook.id, event: "session.started" });
  });

  it("the test event is delivered and logged", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["export.ready"]);
    const r = await call("POST", `/v1/webhooks/${hook.id}/test`, { key });
    expect(r.status, r.text).toBe(202);
    expect(r.json).toMatchObject({ webhookId: hook.id, event: "webhook.test", status: "pending", attempts: 0 });
    const [s] = await waitFor(async () => stub.to(hook.url), (x) => x.length > 0, "the test event");
    expect(s!.json).toMatchObject({ type: "webhook.test", data: { webhookId: hook.id } });
    await verify(s!, hook.secret);
    const log = await waitFor(() => deliveries(key, hook.id), (p) => p.data[0]?.status === "delivered", "the test delivery settled");
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({ id: r.json.id, event: "webhook.test", status: "delivered", attempts: 1, lastStatusCode: 200 });
  });

  it("a failing endpoint is retried with growing backoff, then marked failed; the log shows the attempts", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["analysis.ready"]);
    const other = await createWebhook(key, ["export.ready"]);
    stub.respond = () => 500;
    const rec = recordingEnv();
    const ids = await emitOrgEvent(rec.env, org.org.id, "analysis.ready", { sessionId: "ses_abcdefghabcdefgh", campaignId: "cmp_abcdefghabcdefgh" });
    expect(ids).toHaveLength(1);
    expect(rec.sent).toEqual([{ type: "webhook.deliver", deliveryId: ids[0] }]);
    const message = rec.sent[0];

    const delays: number[] = [];
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const res = await consume(message, attempt);
      expect(res.explicitAcks).toEqual([]);
      expect(res.retryMessages).toHaveLength(1);
      expect(res.retries).toHaveLength(1);
      delays.push(res.retries[0]!.delaySeconds!);
      const [d] = (await deliveries(key, hook.id)).data;
      expect(d).toMatchObject({ status: "pending", attempts: attempt, lastStatusCode: 500, lastError: "HTTP 500" });
      expect(Date.parse(d!.nextAttemptAt)).toBeGreaterThan(Date.now());
    }
    for (let k = 1; k < delays.length; k++) expect(delays[k]!).toBeGreaterThan(delays[k - 1]!);
    const last = await consume(message, MAX_ATTEMPTS);
    expect(last.retries).toEqual([]);
    expect(last.explicitAcks).toHaveLength(1);
    const [d] = (await deliveries(key, hook.id)).data;
    expect(d).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS, lastStatusCode: 500, lastError: "HTTP 500", nextAttemptAt: null });
    expect(stub.to(hook.url)).toHaveLength(MAX_ATTEMPTS);
    // Every attempt carries a valid signature; the same event id each time.
    for (const s of stub.to(hook.url)) await verify(s, hook.secret);
    expect(new Set(stub.to(hook.url).map((s) => s.json.id)).size).toBe(1);
    // A redelivered copy of a settled delivery sends nothing more.
    await consume(message, 1);
    expect(stub.to(hook.url)).toHaveLength(MAX_ATTEMPTS);
    expect(stub.to(other.url)).toEqual([]);
  });

  it("a recovering endpoint is delivered on a retry; redirects are not followed", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["export.ready"]);
    const answers = [302, 503, 204];
    stub.respond = () => answers.shift()!;
    const rec = recordingEnv();
    const [id] = await emitOrgEvent(rec.env, org.org.id, "export.ready", { exportId: "exp_abcdefghabcdefgh" });
    const first = await consume(rec.sent[0], 1);
    expect(first.retries).toHaveLength(1);
    expect((await deliveries(key, hook.id)).data[0]).toMatchObject({ id, status: "pending", lastStatusCode: 302, lastError: "redirect 302 (not followed)" });
    expect((await consume(rec.sent[0], 2)).retries).toHaveLength(1);
    const third = await consume(rec.sent[0], 3);
    expect(third.retries).toEqual([]);
    expect((await deliveries(key, hook.id)).data[0]).toMatchObject({ id, status: "delivered", attempts: 3, lastStatusCode: 204, lastError: null });
  });

  it("the target is checked again at send time", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    const hook = await createWebhook(key, ["data.deleted"]);
    // A target that became unsafe after registration (e.g. an operator edit) is never contacted.
    await env.DB.prepare("UPDATE webhooks SET url = ? WHERE id = ?").bind("https://169.254.169.254/latest", hook.id).run();
    const rec = recordingEnv();
    await emitOrgEvent(rec.env, org.org.id, "data.deleted", { sessionIds: [] });
    const res = await consume(rec.sent[0], 1);
    expect(res.retries).toEqual([]);
    expect(stub.sent).toEqual([]);
    const [d] = (await deliveries(key, hook.id)).data;
    expect(d).toMatchObject({ status: "failed", attempts: 0 });
    expect(d!.lastError).toMatch(/refused target/);
  });

  it("a name re-pointed at a private address after registration (DNS rebinding) is never contacted: the delivery fails", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.names.set("rebind.customer-hooks.com", { A: ["93.184.215.14"] });
    const hook = await createWebhook(key, ["data.deleted"], "https://rebind.customer-hooks.com/ir");
    dns.names.set("rebind.customer-hooks.com", { A: ["127.0.0.1"] });
    const rec = recordingEnv();
    await emitOrgEvent(rec.env, org.org.id, "data.deleted", { sessionIds: [] });
    const queriesBefore = dns.queries.filter((q) => q.name === "rebind.customer-hooks.com").length;
    const res = await consume(rec.sent[0], 1);
    expect(res.retries).toEqual([]);
    expect(res.explicitAcks).toHaveLength(1);
    expect(stub.sent).toEqual([]);
    // Resolved again at send time.
    expect(dns.queries.filter((q) => q.name === "rebind.customer-hooks.com").length).toBeGreaterThan(queriesBefore);
    const [d] = (await deliveries(key, hook.id)).data;
    expect(d).toMatchObject({ status: "failed", attempts: 0, lastStatusCode: null, nextAttemptAt: null });
    expect(d!.lastError).toBe("refused target: rebind.customer-hooks.com resolves to 127.0.0.1, a private, loopback, link-local, CGNAT, multicast or reserved IPv4 address");
    // A redelivered copy sends nothing either.
    await consume(rec.sent[0], 2);
    expect(stub.sent).toEqual([]);
  });

  it("deliveries to one host in a batch look its name up once; the next batch looks again", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.ttl = 300;
    dns.names.set("batch.customer-hooks.com", { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] });
    const hook = await createWebhook(key, ["export.ready"], "https://batch.customer-hooks.com/ir");
    const rec = recordingEnv();
    for (let k = 0; k < 5; k++) await emitOrgEvent(rec.env, org.org.id, "export.ready", { exportId: `exp_abcdefgh${k}bcdefgh` });
    expect(rec.sent).toHaveLength(5);
    const lookups = () => dns.queries.filter((q) => q.name === "batch.customer-hooks.com").length;
    const before = lookups();
    const res = await consumeBatch(rec.sent, 1);
    expect(res.explicitAcks).toHaveLength(5);
    expect(stub.to(hook.url)).toHaveLength(5);
    expect(lookups() - before).toBe(2); // one A and one AAAA query for the five
    // The next batch does not trust this one's answer: a name re-pointed meanwhile is caught.
    dns.names.set("batch.customer-hooks.com", { A: ["10.0.0.7"] });
    const [late] = await emitOrgEvent(rec.env, org.org.id, "export.ready", { exportId: "exp_abcdefghzzcdefgh" });
    await consumeBatch([rec.sent.at(-1)], 1);
    expect(lookups() - before).toBe(4);
    expect(stub.to(hook.url)).toHaveLength(5);
    expect((await deliveries(key, hook.id)).data.find((d) => d.id === late)).toMatchObject({ status: "failed", lastError: expect.stringMatching(/resolves to 10\.0\.0\.7/) });
  });

  it("a name that does not resolve at send time, or a resolver that is down, is a failed attempt retried with backoff; nothing is sent", async () => {
    const org = await createOrg();
    const key = org.apiKey.key;
    dns.names.set("flaky.customer-hooks.com", { A: ["93.184.215.14"] });
    const hook = await createWebhook(key, ["export.ready"], "https://flaky.customer-hooks.com/ir");
    const rec = recordingEnv();
    const [id] = await emitOrgEvent(rec.env, org.org.id, "export.ready", { exportId: "exp_abcdefghabcdefgh" });
    dns.down = "network";
    const first = await consume(rec.sent[0], 1);
    expect(first.retries).toHaveLength(1);
    expect(stub.sent).toEqual([]);
    expect((await deliveries(key, hook.id)).data[0]).toMatchObject({ id, status: "pending", attempts: 1, lastStatusCode: null, lastError: "DNS: the DNS resolver could not be reached" });
    dns.down = null;
    dns.names.delete("flaky.customer-hooks.com");
    expect((await consume(rec.sent[0], 2)).retries).toHaveLength(1);
    expect(stub.sent).toEqual([]);
    expect((await deliveries(key, hook.id)).data[0]).toMatchObject({ status: "pending", attempts: 2, lastError: "DNS: flaky.customer-hooks.com does not exist (NXDOMAIN)" });
    // Back, and public: delivered.
    dns.names.set("flaky.customer-hooks.com", { A: ["93.184.215.14"] });
    expect((await consume(rec.sent[0], 3)).retries).toEqual([]);
    expect(stub.to(hook.url)).toHaveLength(1);
    expect((await deliveries(key, hook.id)).data[0]).toMatchObject({ status: "delivered", attempts: 3, lastError: null });
  });
});
