// Bad input on every route of routeTable: malformed JSON, wrong media types, unknown fields,
// wrong types, malformed ids, oversized bodies, random garbage. Each answer is a 4xx with the
// contract's envelope (never a 5xx, never a stack), and nothing changes.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../src/worker/app";
import { routeTable, type RouteInfo } from "../../src/worker/openapi";
import { BASE } from "../helpers/api";
import { call, callRoute, createInvite, errorCode, fillId, keepAlive, keyWithRole, otherTypeId, startedInterview, tableCounts, validRequest, type WorldIds } from "../helpers/fixtures";
import { randomClientIp } from "../helpers/api";

const OPERATOR = "test-operator-token";
const ROUTES = routeTable(api);

/** An org with a campaign, an invite and an in-progress session; ids and keys for every route. */
async function world() {
  const i = await startedInterview();
  // Some of these tests outlast the 5 s heartbeat timeout the tests run with.
  keepAlive(i.ws);
  const invite = await createInvite(i.key, i.campaign.id);
  const ids: WorldIds = { campaignId: i.campaign.id, sessionId: i.sessionId, memberId: i.org!.owner.id, keyId: i.org!.apiKey.id, inviteId: i.invite.id };
  const snapshot = async () => ({
    counts: await tableCounts(),
    session: (await call("GET", `/v1/sessions/${i.sessionId}?include=transcript,notes`, { key: i.key })).json,
    campaign: (await call("GET", `/v1/campaigns/${i.campaign.id}`, { key: i.key })).json,
    invites: (await call("GET", `/v1/campaigns/${i.campaign.id}/invites`, { key: i.key })).json,
    org: await env.DB.prepare("SELECT * FROM orgs WHERE id = ?").bind(i.org!.org.id).first(),
    members: (await env.DB.prepare("SELECT id, email, name, role, password_hash, updated_at FROM members ORDER BY id").all()).results,
    keys: (await env.DB.prepare("SELECT id, name, role, revoked_at FROM api_keys ORDER BY id").all()).results,
  });
  const credentials = (r: RouteInfo) => (r.spec?.auth === "key" ? i.key : r.spec?.auth === "operator" ? OPERATOR : undefined);
  return { ...i, invite, ids, snapshot, credentials };
}

/** Snapshots that must not move; the duration ticks while a session is in progress. */
const stable = (s: Awaited<ReturnType<Awaited<ReturnType<typeof world>>["snapshot"]>>) => ({ ...s, session: { ...s.session, duration: 0 } });

async function send(method: string, path: string, init: { key?: string; headers?: Record<string, string>; body?: BodyInit }) {
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp(), ...(init.headers ?? {}) };
  if (init.key) headers.Authorization = `Bearer ${init.key}`;
  const res = await exports.default.fetch(new Request(`${BASE}/v1${path}`, { method, headers, body: init.body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function expectClientError(r: { status: number; json: any; text: string }, what: string, status?: number, code?: string) {
  if (status !== undefined) expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBe(status);
  expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
  const got = errorCode(r);
  if (code !== undefined) expect(got, what).toBe(code);
  return got;
}

const withBody = () => ROUTES.filter((r) => r.body && r.method !== "GET");

/** A value of the wrong type for the sample value `v`. */
const wrongType = (v: unknown): unknown => (typeof v === "string" ? 12345 : typeof v === "number" ? "12" : typeof v === "boolean" ? "true" : Array.isArray(v) ? { not: "an array" } : "not-an-object");

describe("bad bodies on every route with a body", () => {
  it("there are routes with bodies to test", () => {
    expect(withBody().map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(["POST /orgs", "POST /campaigns", "PATCH /campaigns/:id", "POST /join", "POST /sessions/:id/pause"]));
  });

  it("malformed JSON is 400 INVALID_JSON", async () => {
    const w = await world();
    const before = await w.snapshot();
    for (const r of withBody()) {
      const path = fillId(r.path, w.ids);
      // The last: valid JSON around bytes that are not UTF-8 (a 0xFF 0xFE pair in a string).
      for (const body of ['{"name":', "{'a':1}", "not json", '{"a":1}}', "\u0000", '{"a":NaN}', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])]) {
        const res = await send(r.method, path, { key: w.credentials(r), headers: { "Content-Type": "application/json" }, body });
        expectClientError(res, `${r.method} ${path} ${JSON.stringify(body)}`, 400, "INVALID_JSON");
      }
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });

  it("a body that is not application/json is 415", async () => {
    const w = await world();
    const before = await w.snapshot();
    for (const r of withBody()) {
      const path = fillId(r.path, w.ids);
      const valid = JSON.stringify(validRequest(r.method, r.path, { campaignId: w.ids.campaignId }).body ?? {});
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json", "application/json; charset=utf-16", "application/json; charset=iso-8859-1", null]) {
        const res = await send(r.method, path, { key: w.credentials(r), headers: type ? { "Content-Type": type } : {}, body: valid });
        expectClientError(res, `${r.method} ${path} as ${type}`, 415, "UNSUPPORTED_MEDIA_TYPE");
      }
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });

  it("unknown fields, wrong types and non-object bodies are 400 VALIDATION_FAILED naming the field", async () => {
    const w = await world();
    const before = await w.snapshot();
    for (const r of withBody()) {
      const path = fillId(r.path, w.ids);
      const sample = (validRequest(r.method, r.path, { campaignId: w.ids.campaignId }).body ?? {}) as Record<string, unknown>;
      const key = w.credentials(r);
      const unknown = await call(r.method, `/v1${path}`, { key, body: { ...sample, zzUnknown: true } });
      expectClientError(unknown, `${r.method} ${path} unknown field`, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(unknown.json.error.details.fields)).toContain("zzUnknown");
      for (const [field, value] of Object.entries(sample)) {
        const res = await call(r.method, `/v1${path}`, { key, body: { ...sample, [field]: wrongType(value) } });
        expectClientError(res, `${r.method} ${path} ${field} of the wrong type`, 400, "VALIDATION_FAILED");
        expect((res.json.error.details.fields as { path: string }[]).some((f) => f.path === field || f.path.startsWith(`${field}.`)), `${r.method} ${path} names ${field}`).toBe(true);
      }
      for (const body of [[], "a string", 42, null, true, [sample]]) {
        const res = await call(r.method, `/v1${path}`, { key, body });
        expectClientError(res, `${r.method} ${path} body ${JSON.stringify(body)}`, 400, "VALIDATION_FAILED");
      }
      const deep = `{"zzDeep":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
      expectClientError(await send(r.method, path, { key, headers: { "Content-Type": "application/json" }, body: deep }), `${r.method} ${path} deep nesting`, 400);
      const proto = await send(r.method, path, { key, headers: { "Content-Type": "application/json" }, body: `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}` });
      expectClientError(proto, `${r.method} ${path} __proto__`, 400, "VALIDATION_FAILED");
      // Thousands of unknown fields get a short answer that still names the first ones and counts the rest.
      const many = await call(r.method, `/v1${path}`, { key, body: { ...sample, ...Object.fromEntries(Array.from({ length: 5000 }, (_, n) => [`zz${n}_${"k".repeat(100)}`, n])) } });
      expectClientError(many, `${r.method} ${path} 5,000 unknown fields`, 400, "VALIDATION_FAILED");
      expect(many.text.length, `${r.method} ${path}: size of the answer`).toBeLessThan(8_000);
      expect(many.json.error.message).toContain("zz0_");
      expect(many.json.error.message).toMatch(/and 4990 more/);
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });

  it("text that shows nothing and attribute names that would vanish are refused", async () => {
    const w = await world();
    const before = await w.snapshot();
    for (const text of ["\u200b", " \u200d\u2060 ", "\u0000", "\ufeff\u00ad"]) {
      const note = await call("POST", `/v1/sessions/${w.sessionId}/notes`, { key: w.key, body: { text } });
      expectClientError(note, `a note of ${JSON.stringify(text)}`, 400, "VALIDATION_FAILED");
      const campaign = await call("POST", "/v1/campaigns", { key: w.key, body: { ...(validRequest("POST", "/campaigns", { campaignId: w.ids.campaignId }).body as object), name: text } });
      expectClientError(campaign, `a campaign named ${JSON.stringify(text)}`, 400, "VALIDATION_FAILED");
    }
    // JSON.parse makes "__proto__" an own key; stored in an object it would silently disappear.
    // Names that a trimming schema would merge into one attribute are refused too.
    for (const attrs of [String.raw`{"ok":1,"__proto__":"x"}`, String.raw`{"a\u0000b":"x"}`, String.raw`{"\u200b":"x"}`, `{" plan":"a","plan":"b"}`, `{"plan ":"a"}`]) {
      const invite = await send("POST", `/campaigns/${w.ids.campaignId}/invites`, { key: w.key, headers: { "Content-Type": "application/json" }, body: `{"participant":{"attributes":${attrs}}}` });
      expectClientError(invite, `attributes ${attrs}`, 400, "VALIDATION_FAILED");
      if (attrs.includes("__proto__")) expect(invite.json.error.details.fields[0].path).toBe("participant.attributes.__proto__");
    }
    // A lone surrogate (escaped, since raw it is not UTF-8) is not text: D1 would store it as
    // U+FFFD, so the 201 would echo one text and every later read another.
    const camp = JSON.stringify(validRequest("POST", "/campaigns", { campaignId: w.ids.campaignId }).body);
    for (const [path, body, field] of [
      [`/sessions/${w.sessionId}/notes`, String.raw`{"text":"note \ud800"}`, "text"],
      ["/campaigns", camp.replace(/"name":"[^"]*"/, String.raw`"name":"Bad \udc00 name"`), "name"],
      [`/campaigns/${w.ids.campaignId}/invites`, String.raw`{"participant":{"attributes":{"k\ud83d":"v"}}}`, null],
    ] as const) {
      const r = await send("POST", path, { key: w.key, headers: { "Content-Type": "application/json" }, body });
      expectClientError(r, `${path} with a lone surrogate`, 400, "VALIDATION_FAILED");
      expect(r.json.error.details.fields[0].message).toMatch(/lone surrogate/);
      if (field) expect(r.json.error.details.fields[0].path).toBe(field);
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    // Text with something visible in it is kept as typed (trimmed).
    const ok = await call("POST", `/v1/sessions/${w.sessionId}/notes`, { key: w.key, body: { text: " \u200bnote " } });
    expect(ok.status).toBe(201);
    expect(ok.json.text).toBe("\u200bnote");
    w.ws.close();
  });

  it("random garbage never produces a 5xx", async () => {
    const w = await world();
    const before = await w.snapshot();
    let seed = 20261123;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const value = (depth: number): unknown => {
      const k = Math.floor(rnd() * (depth > 3 ? 5 : 7));
      if (k === 0) return null;
      if (k === 1) return rnd() < 0.5;
      if (k === 2) return [0, -1, 1e308, -0.5, 2 ** 53 + 1][Math.floor(rnd() * 5)];
      if (k === 3) return ["", "x".repeat(Math.floor(rnd() * 3000)), "🎉\u0000\ud800", "=SUM(1)", "<script>"][Math.floor(rnd() * 5)];
      if (k === 4) return "ses_" + "a".repeat(Math.floor(rnd() * 80));
      if (k === 5) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      return object(depth + 1);
    };
    // Every object has an unknown key, so a strict schema can never accept it by chance.
    const object = (depth: number): Record<string, unknown> => {
      const o: Record<string, unknown> = { [`zz${Math.floor(rnd() * 1e6)}`]: value(depth + 1) };
      for (const k of ["name", "text", "questions", "settings", "participant", "token", "reason", "campaignId", "flagged", "owner", "plan"]) if (rnd() < 0.3) o[k] = value(depth + 1);
      return o;
    };
    for (const r of withBody()) {
      const path = fillId(r.path, w.ids);
      for (let n = 0; n < 25; n++) {
        const body = n % 5 === 0 ? value(0) : object(0);
        if (body && typeof body === "object" && !Array.isArray(body) && Object.keys(body).length === 0) continue;
        const res = await call(r.method, `/v1${path}`, { key: w.credentials(r), body });
        expectClientError(res, `${r.method} ${path} ${JSON.stringify(body).slice(0, 120)}`);
      }
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });

  it("an absent optional body is accepted with or without a JSON Content-Type", async () => {
    const w = await world();
    const pause = await send("POST", `/sessions/${w.sessionId}/pause`, { key: w.key, headers: { "Content-Type": "application/json" } });
    expect(pause.status, pause.text).toBe(200);
    const resume = await send("POST", `/sessions/${w.sessionId}/resume`, { key: w.key, headers: { "Content-Type": "application/json" }, body: "" });
    expect(resume.status, resume.text).toBe(200);
    expect(resume.json.status).toBe("in_progress");
    w.ws.close();
  });
});

describe("oversized bodies", () => {
  it("more than 1 MiB is 413 on every route, with or without Content-Length", async () => {
    const w = await world();
    const before = await w.snapshot();
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) });
    for (const r of ROUTES.filter((x) => x.method !== "GET")) {
      const path = fillId(r.path, w.ids);
      const sized = await send(r.method, path, { key: w.credentials(r), headers: { "Content-Type": "application/json" }, body: big });
      expectClientError(sized, `${r.method} ${path} 1 MiB + 10`, 413, "PAYLOAD_TOO_LARGE");
      const bytes = new TextEncoder().encode(big);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let o = 0; o < bytes.length; o += 64 * 1024) controller.enqueue(bytes.slice(o, o + 64 * 1024));
          controller.close();
        },
      });
      const chunked = await send(r.method, path, { key: w.credentials(r), headers: { "Content-Type": "application/json" }, body: stream });
      expectClientError(chunked, `${r.method} ${path} streamed`, 413, "PAYLOAD_TOO_LARGE");
    }
    const justUnder = await call("POST", `/v1/sessions/${w.sessionId}/notes`, { key: w.key, body: { text: "n".repeat(10_001) } });
    expectClientError(justUnder, "a long note", 400, "VALIDATION_FAILED");
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });
});

describe("ids, queries, credentials and unknown routes", () => {
  it("a malformed or unknown id is 404 NOT_FOUND on every route with an id", async () => {
    const w = await world();
    const before = await w.snapshot();
    const routes = ROUTES.filter((r) => r.path.includes(":id"));
    const bad = ["nope", "cmp_", "ses_x", "cmp_ABCDEFGHIJKLMNOP", "ses_zzzzzzzzzzzzzzzz", "cmp_zzzzzzzzzzzzzzzz", "inv_zzzzzzzzzzzzzzzz", "%27%3B%20DROP%20TABLE%20sessions%3B--", "ses_abc%2F..%2Fdef", "ses_%E0%A4%A", "a".repeat(3000)];
    for (const r of routes) {
      const req = validRequest(r.method, r.path, { campaignId: w.ids.campaignId });
      for (const id of bad) {
        const path = r.path.replace(":id", id) + (r.path.endsWith("/connect") ? `?token=${w.participantToken}` : "");
        const res = await callRoute(r.method, path, w.credentials(r), req);
        expect(expectClientError(res, `${r.method} ${path.slice(0, 80)}`, 404), path).toMatch(/NOT_FOUND$/);
      }
      // A well-formed id of the wrong type (a campaign's id on a session route and back).
      const swapped = r.path.replace(":id", otherTypeId(r.path, w.ids));
      const res = await callRoute(r.method, swapped + (r.path.endsWith("/connect") ? `?token=${w.participantToken}` : ""), w.credentials(r), req);
      expect(expectClientError(res, `${r.method} ${swapped}`, 404)).toMatch(/NOT_FOUND$/);
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    w.ws.close();
  });

  it("unknown query parameters and malformed values are 400 on every route with a query schema", async () => {
    const w = await world();
    const routes = ROUTES.filter((r) => r.query);
    expect(routes.length).toBeGreaterThanOrEqual(3);
    for (const r of routes) {
      const path = fillId(r.path, w.ids);
      const shape = (r.query as unknown as { shape: Record<string, unknown> }).shape;
      const counts = ["limit=abc", "limit=0", "limit=101", "limit=-1", "limit=0x10", "limit=1e1", "limit=5.0", "limit=%205", "limit=", "limit=1&limit=2"];
      for (const q of ["zzUnknown=1", "__proto__=1", "constructor=1", ...counts, "cursor=%FF%FE", "include=everything", "minDuration=1e3", "maxCompletion=0x10"]) {
        const param = q.split("=")[0]!;
        if (!["zzUnknown", "__proto__", "constructor"].includes(param) && !(param in shape)) continue;
        const res = await call(r.method, `/v1${path}?${q}`, { key: w.credentials(r) });
        expectClientError(res, `${r.method} ${path}?${q}`, 400, "VALIDATION_FAILED");
      }
    }
    w.ws.close();
  });

  it("ranges given both ways round are 400 naming the upper bound, not an empty page", async () => {
    const w = await world();
    const key = w.key;
    const list = `/v1/campaigns/${w.ids.campaignId}/sessions`;
    for (const [url, field] of [
      [`${list}?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, "to"],
      [`${list}?minCompletion=80&maxCompletion=20`, "maxCompletion"],
      [`${list}?minDuration=600&maxDuration=60`, "maxDuration"],
      ["/v1/audit-log?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"],
      [`/v1/campaigns/${w.ids.campaignId}/analytics?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, "to"],
    ] as const) {
      const r = await call("GET", url, { key });
      expectClientError(r, url, 400, "VALIDATION_FAILED");
      expect(r.json.error.details.fields.map((f: { path: string }) => f.path)).toContain(field);
    }
    const report = await call("POST", "/v1/reports", { key, body: { campaignIds: [w.ids.campaignId], metrics: ["sessions"], groupBy: "campaign", from: "2027-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } });
    expectClientError(report, "a report from after to", 400, "VALIDATION_FAILED");
    // Equal bounds are a range of one instant or value, and fine.
    expect((await call("GET", `${list}?minCompletion=50&maxCompletion=50&from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { key })).status).toBe(200);
    expect((await call("GET", `/v1/campaigns/${w.ids.campaignId}/analytics?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { key })).status).toBe(200);
    w.ws.close();
  });

  it("every key route without credentials or with bad ones is 401 and changes nothing", async () => {
    const w = await world();
    const before = await w.snapshot();
    for (const r of ROUTES.filter((x) => x.spec?.auth === "key" || x.spec?.auth === "operator")) {
      const path = fillId(r.path, w.ids);
      const req = validRequest(r.method, r.path, { campaignId: w.ids.campaignId });
      for (const auth of [undefined, "Bearer", "Bearer irk_wrong", `Bearer ${OPERATOR}x`, "Basic dXNlcjpwYXNz", `Bearer ${w.key} extra`, `Token ${w.key}`]) {
        const res = await callRoute(r.method, path, undefined, { ...req, headers: { ...(req.headers ?? {}), ...(auth ? { Authorization: auth } : {}) } });
        expectClientError(res, `${r.method} ${path} with ${auth}`, 401, "UNAUTHENTICATED");
      }
      if (r.spec?.auth === "key") {
        const op = await callRoute(r.method, path, OPERATOR, req);
        expectClientError(op, `${r.method} ${path} with the operator token`, 401, "UNAUTHENTICATED");
      }
    }
    expect(stable(await w.snapshot())).toEqual(stable(before));
    // A revoked key stops working at once.
    const orgId = (await env.DB.prepare("SELECT org_id FROM campaigns WHERE id = ?").bind(w.ids.campaignId).first<{ org_id: string }>())!.org_id;
    const spare = await keyWithRole(orgId, "owner");
    expect((await call("GET", "/v1/campaigns", { key: spare.key })).status).toBe(200);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), spare.id).run();
    expectClientError(await call("GET", "/v1/campaigns", { key: spare.key }), "a revoked key", 401, "UNAUTHENTICATED");
    w.ws.close();
  });

  it("unknown routes and methods are a 404 envelope", async () => {
    const w = await world();
    for (const [method, path] of [
      ["GET", "/v1/nope"],
      ["GET", "/v1"],
      ["GET", "/v1/"],
      ["POST", "/v1/campaigns/x/y/z"],
      ["PUT", "/v1/campaigns"],
      ["DELETE", `/v1/campaigns/${w.ids.campaignId}`],
      ["GET", `/v1/sessions/${w.ids.sessionId}/nope`],
      ["GET", "/v2/campaigns"],
      ["GET", "/nope"],
      ["PATCH", "/v1/orgs"],
    ] as const) {
      const res = await call(method, path, { key: w.key, body: method === "GET" ? undefined : {} });
      expectClientError(res, `${method} ${path}`, 404, "NOT_FOUND");
    }
    w.ws.close();
  });
});
