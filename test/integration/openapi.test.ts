// The OpenAPI document covers every route of the app with its auth, policy action, parameters
// and body; /docs renders it as a self-contained page.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { api, app } from "../../src/worker/app";
import { routeTable } from "../../src/worker/openapi";
import { POLICY } from "../../src/worker/policy";
import { call } from "../helpers/api";
import { answer, startedInterview } from "../helpers/fixtures";
import { validate } from "../helpers/json-schema";

const toOpenApiPath = (p: string) => p.replace(/:(\w+)/g, "{$1}");

async function document() {
  const r = await call("GET", "/v1/openapi.json");
  expect(r.status).toBe(200);
  expect(r.headers.get("Content-Type")).toMatch(/^application\/json/);
  return r.json as {
    openapi: string;
    info: { title: string; version: string };
    servers: { url: string }[];
    paths: Record<string, Record<string, any>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  };
}

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1.0 document served without credentials", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.servers[0]!.url).toMatch(/^https:\/\/interviews\.example\/v1$/);
    expect(doc.components.schemas.Error).toBeTruthy();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["apiKey", "operatorToken"]));
  });

  it("documents every route of the API with its method, and nothing else", async () => {
    const doc = await document();
    const routes = routeTable(api);
    expect(routes.length).toBeGreaterThan(15);
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) for (const m of Object.keys(methods)) documented.add(`${m.toUpperCase()} ${path}`);
    for (const r of routes) {
      expect(r.spec, `${r.method} ${r.path} has no op() spec`).not.toBeNull();
      expect(documented.has(`${r.method} ${toOpenApiPath(r.path)}`), `${r.method} ${r.path} is documented`).toBe(true);
    }
    const real = new Set(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    for (const d of documented) expect(real.has(d), `${d} is a real route`).toBe(true);
  });

  it("documents every /v1 route the app serves, the document itself included", async () => {
    const doc = await document();
    const v1 = routeTable(app).filter((r) => r.path.startsWith("/v1/") && !r.path.includes("*"));
    expect(v1.length).toBeGreaterThan(15);
    for (const r of v1) {
      const path = toOpenApiPath(r.path.slice(3));
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeTruthy();
    }
    expect(doc.paths["/openapi.json"]?.get).toBeTruthy();
  });

  it("covers the contract's routes", async () => {
    const doc = await document();
    const contract = [
      "POST /orgs",
      "GET /campaigns",
      "POST /campaigns",
      "GET /campaigns/{id}",
      "PATCH /campaigns/{id}",
      "GET /campaigns/{id}/invites",
      "POST /campaigns/{id}/invites",
      "POST /join",
      "GET /sessions/{id}/connect",
      "GET /campaigns/{id}/sessions",
      "GET /sessions/{id}",
      "GET /sessions/{id}/transcript",
      "POST /sessions/{id}/pause",
      "POST /sessions/{id}/resume",
      "POST /sessions/{id}/end",
      "POST /sessions/{id}/reassign",
      "POST /sessions/{id}/notes",
      "GET /sessions/{id}/notes",
      "POST /sessions/{id}/flag",
      "DELETE /sessions/{id}/data",
      "GET /sessions/{id}/live",
      "GET /campaigns/{id}/live",
    ];
    for (const entry of contract) {
      const [method, path] = entry.split(" ") as [string, string];
      expect(doc.paths[path]?.[method.toLowerCase()], entry).toBeTruthy();
    }
  });

  it("declares auth, a known policy action, parameters, body and responses for every operation", async () => {
    const doc = await document();
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    for (const r of routeTable(api)) {
      const o = doc.paths[toOpenApiPath(r.path)]![r.method.toLowerCase()];
      const name = `${r.method} ${r.path}`;
      expect(o.summary, name).toBeTruthy();
      expect(o.tags?.length, name).toBeGreaterThan(0);
      if (r.spec!.auth === "key") {
        expect(r.spec!.action, `${name} declares a policy action`).toBeTruthy();
        expect(Object.keys(POLICY), `${name}: action ${r.spec!.action} is in POLICY`).toContain(r.spec!.action);
        expect(o["x-policy-action"], name).toBe(r.spec!.action);
        expect(o.security, name).toEqual([{ apiKey: [] }]);
        expect(o.responses["401"], name).toBeTruthy();
        expect(o.responses["403"], name).toBeTruthy();
      } else if (r.spec!.auth === "operator") {
        expect(o.security, name).toEqual([{ operatorToken: [] }]);
      } else {
        expect(o.security, name).toEqual([]);
      }
      for (const s of o.security as Record<string, unknown>[]) for (const k of Object.keys(s)) expect(schemes.has(k), `${name}: scheme ${k}`).toBe(true);

      const params = (o.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: unknown }[];
      for (const m of r.path.matchAll(/:(\w+)/g)) {
        expect(params.find((p) => p.in === "path" && p.name === m[1] && p.required), `${name}: path parameter ${m[1]}`).toBeTruthy();
      }
      if (r.query) {
        const shape = Object.keys((r.query as unknown as { shape: Record<string, unknown> }).shape);
        for (const q of shape) expect(params.find((p) => p.in === "query" && p.name === q), `${name}: query parameter ${q}`).toBeTruthy();
      }
      for (const p of params) expect(p.schema, `${name}: schema of ${p.name}`).toBeTruthy();

      if (r.body) {
        const schema = o.requestBody?.content?.["application/json"]?.schema;
        expect(schema, `${name}: request body`).toBeTruthy();
        // Strict bodies say so, so generated clients do not send unknown fields.
        const root = schema.anyOf ? schema.anyOf[0] : schema;
        if (root.type === "object") expect(root.additionalProperties, `${name}: additionalProperties`).toBe(false);
      } else {
        expect(o.requestBody, `${name}: no request body`).toBeUndefined();
      }

      const statuses = Object.keys(o.responses);
      expect(statuses.some((s) => /^(2\d\d|101)$/.test(s)), `${name}: a success response`).toBe(true);
      for (const s of ["400", "404"]) expect(o.responses[s]?.content?.["application/json"]?.schema?.$ref, `${name}: ${s}`).toBe("#/components/schemas/Error");
    }
  });

  it("every write route validates its body: a schema, or emptyBody() when it takes none", () => {
    // A route without one would act on a malformed body or a wrong media type instead of refusing it.
    expect(routeTable(api).filter((r) => r.method !== "GET" && !r.body).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it("every list takes the contract's ?limit= and ?cursor=", () => {
    // A list is a GET whose 200 is {data, nextCursor}; the contract pages every one the same way.
    const shapeOf = (schema: z.ZodType | null | undefined) => (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
    const lists = routeTable(api).filter((r) => r.method === "GET" && "nextCursor" in shapeOf(r.spec?.responses[200]?.schema));
    expect(lists.length).toBeGreaterThanOrEqual(10);
    for (const r of lists) expect(Object.keys(shapeOf(r.query)), `${r.method} ${r.path}`).toEqual(expect.arrayContaining(["limit", "cursor"]));
  });

  it("documents limit as the contract states it: an integer from 1 to 100, 50 by default", async () => {
    const doc = await document();
    const limits = Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((o: any) => (o.parameters ?? []).filter((p: any) => p.name === "limit" && p.in === "query")));
    expect(limits.length).toBeGreaterThanOrEqual(10);
    for (const p of limits) expect(p.schema).toEqual({ type: "integer", minimum: 1, maximum: 100, default: 50 });
  });

  it("has no dangling $ref", async () => {
    const doc = await document();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const raw of refs) {
      const ref = raw.slice(8, -1);
      if (!ref.startsWith("#/")) continue;
      let node: any = doc;
      for (const part of ref.slice(2).split("/")) node = node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      // Local refs inside embedded JSON Schemas ("#/$defs/…") resolve against their own root, not checked here.
      if (ref.startsWith("#/components/")) expect(node, ref).toBeTruthy();
    }
  });

  it("documents the request body of campaigns with its required fields and enums", async () => {
    const doc = await document();
    const body = doc.paths["/campaigns"]!.post.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(expect.arrayContaining(["name", "questions"]));
    const org = doc.paths["/orgs"]!.post.requestBody.content["application/json"].schema;
    expect(org.properties.plan.enum).toEqual(["free", "starter", "professional", "enterprise"]);
  });
});

describe("GET /docs", () => {
  it("renders every operation as HTML that loads nothing from elsewhere", async () => {
    const r = await call("GET", "/docs");
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = r.text;
    expect(html).toMatch(/^<!doctype html>/i);
    // No off-site scripts, styles, images, frames or fonts.
    expect(html).not.toMatch(/<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*\b(src|href|data)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/<script\b[^>]*\bsrc=/i);
    const csp = r.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/https?:/);
    const doc = await document();
    for (const path of Object.keys(doc.paths)) expect(html, path).toContain(path.replace(/&/g, "&#38;"));
  });
});

describe("the document describes what the server sends", () => {
  it("real responses of the main read routes match their documented schemas, and responses are open to new fields", async () => {
    const doc = await document();
    const i = await startedInterview({ participant: { email: "schema.check@example.com" } });
    await answer(i, "a1", "The invoices were hard to find, honestly.");
    await call("POST", `/v1/sessions/${i.sessionId}/notes`, { key: i.key, body: { text: "Follow up on invoices." } });
    await call("POST", `/v1/sessions/${i.sessionId}/flag`, { key: i.key, body: { flagged: true, reason: "check" } });
    const cases: [string, string][] = [
      ["/sessions/{id}", `/v1/sessions/${i.sessionId}?include=transcript,notes,analytics`],
      ["/sessions/{id}/transcript", `/v1/sessions/${i.sessionId}/transcript`],
      ["/sessions/{id}/analytics", `/v1/sessions/${i.sessionId}/analytics`],
      ["/sessions/{id}/notes", `/v1/sessions/${i.sessionId}/notes`],
      ["/campaigns/{id}/sessions", `/v1/campaigns/${i.campaign.id}/sessions?include=transcript,notes`],
      ["/campaigns/{id}/analytics", `/v1/campaigns/${i.campaign.id}/analytics`],
      ["/participants/data", "/v1/participants/data?email=schema.check@example.com"],
    ];
    for (const [docPath, url] of cases) {
      const res = await call("GET", url, { key: i.key });
      expect(res.status, url).toBe(200);
      const schema = doc.paths[docPath]?.get?.responses?.["200"]?.content?.["application/json"]?.schema;
      expect(schema, `${docPath} has a response schema`).toBeTruthy();
      expect(validate(schema, res.json), url).toEqual([]);
    }
    // Every response may gain fields (the contract's "extend freely"): none is documented closed.
    expect(JSON.stringify(Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.responses)))).not.toContain('"additionalProperties":false');
    i.ws.close();
  });

  it("names the statuses, headers and media types the routes really use", async () => {
    const doc = await document();
    const post = doc.paths["/campaigns"]!.post;
    for (const s of ["400", "401", "403", "404", "413", "415", "429"]) expect(post.responses[s], `POST /campaigns ${s}`).toBeTruthy();
    expect(Object.keys(doc.paths["/join"]!.post.responses)).toEqual(expect.arrayContaining(["201", "409", "410"]));
    for (const action of ["pause", "resume", "end", "reassign"]) expect(doc.paths[`/sessions/{id}/${action}`]!.post.responses["409"], action).toBeTruthy();
    // An optional body is documented as optional; the deletion's confirmation is a header.
    expect(doc.paths["/sessions/{id}/resume"]!.post.requestBody.required).toBe(false);
    const del = doc.paths["/sessions/{id}/data"]!.delete;
    expect(del.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: "X-Confirm-Delete", in: "header", required: true })]));
    expect(Object.keys(doc.paths["/sessions/{id}/export"]!.get.responses["200"].content)).toEqual(expect.arrayContaining(["application/json", "text/csv", "application/pdf"]));
    expect(Object.keys(doc.paths["/campaigns/{id}/sessions"]!.get.responses["200"].content)).toEqual(expect.arrayContaining(["application/json", "text/csv"]));
  });
});
