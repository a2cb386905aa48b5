// Route metadata, validation and the OpenAPI 3.1 document, all from the same zod schemas.
// `op()` authenticates, asks the policy and audits; `jsonBody()` / `queryOf()` validate. Each
// carries its metadata, and the document is built by walking the app's route list.
import type { Context, Hono, MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import { z } from "zod";
import { issueMessage, issuePath } from "../shared/issues";
import { badJsonField } from "../shared/json";
import { auditFromContext } from "./audit";
import { requireOperator, resolvePrincipal } from "./auth";
import { ApiError } from "./errors";
import { forbiddenMessage, isAllowed, mustAudit, type Action } from "./policy";
import type { AppEnv } from "./types";

export type AuthKind = "key" | "operator" | "participant" | "public";

export interface OpSpec {
  summary: string;
  tags: string[];
  auth: AuthKind;
  /** The policy action; required for `auth: "key"`. */
  action?: Action;
  /** Resource type named in audit rows; the path's `id` is the resource id unless the handler says otherwise. */
  resource?: string;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; contentTypes?: string[] }>;
  description?: string;
  /** Request headers the route reads (documented as header parameters). */
  headers?: { name: string; required: boolean; description: string; schema?: Record<string, unknown> }[];
}

const OP = Symbol.for("interviewrelay.op");
const BODY = Symbol.for("interviewrelay.body");
const BODY_OPTIONAL = Symbol.for("interviewrelay.bodyOptional");
const QUERY = Symbol.for("interviewrelay.query");

type Tagged = { [OP]?: OpSpec; [BODY]?: z.ZodType; [BODY_OPTIONAL]?: boolean; [QUERY]?: z.ZodType };

export function op(spec: OpSpec): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (spec.auth === "operator") requireOperator(c);
    if (spec.auth !== "key") return next();
    const authStarted = performance.now();
    const principal = await resolvePrincipal(c);
    c.set("authMs", performance.now() - authStarted);
    if (!principal) throw new ApiError(401, "UNAUTHENTICATED", "send 'Authorization: Bearer <api key>'");
    c.set("principal", principal);
    const action = spec.action!;
    const resourceType = spec.resource ?? spec.tags[0] ?? "resource";
    const resourceId = c.req.param("id") ?? null;
    if (!isAllowed(principal.role, action)) {
      c.executionCtx.waitUntil(auditFromContext(c, { orgId: principal.orgId, action, outcome: "deny", resourceType, resourceId }));
      throw new ApiError(403, "FORBIDDEN", forbiddenMessage(principal.role, action));
    }
    await next();
    // An id the caller cannot see (another org's, or none at all) is a denied attempt too. It is
    // recorded in the caller's own org, so no other tenant's log learns of it, and the 404 stays
    // the same for both cases.
    if (c.res.status === 404 && resourceId) {
      c.executionCtx.waitUntil(auditFromContext(c, { orgId: principal.orgId, action, outcome: "deny", resourceType, resourceId, details: { reason: "not_found" } }));
    } else if (mustAudit(action) && c.res.status < 400) {
      const r = c.get("auditResource");
      c.executionCtx.waitUntil(
        auditFromContext(c, {
          orgId: principal.orgId,
          action,
          outcome: "allow",
          resourceType: r?.type ?? resourceType,
          resourceId: r?.id ?? resourceId,
          campaignId: r?.campaignId ?? null,
          ...(r?.details ? { details: r.details } : {}),
        }),
      );
    }
  };
  (mw as Tagged)[OP] = spec;
  return mw;
}

/** At most this many failing fields are listed. */
const MAX_FIELDS = 20;

/**
 * The 400 for a failed schema: each failing field with its path. A body of thousands of unknown or
 * bad fields gets a bounded answer: the first 20 issues, a bounded message for each, and how many
 * were left out.
 */
export function validationError(error: z.ZodError, where: string): ApiError {
  const fields = error.issues.slice(0, MAX_FIELDS).map((i) => ({ path: issuePath(i) || where, message: issueMessage(i), code: i.code }));
  const omitted = error.issues.length - fields.length;
  const text = fields.map((f) => `${f.path}: ${f.message}`).join("; ") + (omitted > 0 ? `; and ${omitted} more` : "");
  return new ApiError(400, "VALIDATION_FAILED", `invalid ${where}: ${text}`, omitted > 0 ? { fields, omitted } : { fields });
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * For writes that take no body: none, or an empty JSON object. Anything else (malformed JSON,
 * fields, another media type) is refused like any bad body, and the write does not happen.
 */
export const emptyBody = () => jsonBody(z.strictObject({}), { optional: true });

/** Validates a JSON body; wrong media type is 415, malformed JSON 400, schema failures 400 with fields. */
export function jsonBody<S extends z.ZodType>(schema: S, opts: { optional?: boolean } = {}) {
  const parse = (value: unknown) => {
    const r = schema.safeParse(value);
    if (!r.success) throw validationError(r.error, "body");
    // Only a body the schema accepted is walked (strict objects refuse the key themselves; a
    // record would drop it): garbage costs no more than its validation.
    const bad = badJsonField(value);
    if (bad) {
      const path = bad.path.slice(0, 200) || "body";
      const [message, code] = bad.problem === "proto_key" ? ["__proto__ is not a field name", "invalid_key"] : ["is not valid Unicode text (a lone surrogate)", "invalid_text"];
      throw new ApiError(400, "VALIDATION_FAILED", `invalid body: ${path}: ${message}`, { fields: [{ path, message, code }] });
    }
    return r.data as z.output<S>;
  };
  const parseJson = validator("json", (value) => parse(value));
  // Bodies are UTF-8 JSON (the contract): another charset is 415, bytes that are not UTF-8 are 400.
  // Hono caches the bytes read here, and the validator parses them from that cache.
  const validate: typeof parseJson = async (c, next) => {
    const [type, ...params] = (c.req.header("Content-Type") ?? "").split(";");
    if (!JSON_TYPE.test(type!.trim())) throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
    if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "JSON bodies are UTF-8 (charset=utf-8, or none)");
    try {
      UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ApiError(400, "INVALID_JSON", "the body is not valid UTF-8");
    }
    return parseJson(c, next);
  };
  // An optional body may be absent, with or without a Content-Type: many clients always send one.
  const mw: typeof validate = opts.optional
    ? async (c, next) => {
        if (c.req.raw.body !== null && c.req.header("Content-Length") !== "0") return validate(c, next);
        c.req.addValidatedData("json", parse({}) as object);
        await next();
      }
    : validate;
  (mw as Tagged)[BODY] = schema;
  if (opts.optional) (mw as Tagged)[BODY_OPTIONAL] = true;
  return mw;
}

export function queryOf<S extends z.ZodType>(schema: S) {
  const mw = validator("query", (value) => {
    const r = schema.safeParse(value);
    if (!r.success) throw validationError(r.error, "query");
    return r.data as z.output<S>;
  });
  (mw as Tagged)[QUERY] = schema;
  return mw;
}

export interface RouteInfo {
  method: string;
  path: string;
  spec: OpSpec | null;
  /** The body may be left out (jsonBody(…, { optional: true })). */
  bodyOptional?: boolean;
  body: z.ZodType | null;
  query: z.ZodType | null;
}

/** Every route of the app with the metadata its middlewares carry. */
export function routeTable(app: Hono<AppEnv>): RouteInfo[] {
  const byKey = new Map<string, RouteInfo>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    const info = byKey.get(key) ?? { method: r.method, path: r.path, spec: null, body: null, query: null };
    const h = r.handler as Tagged;
    info.spec ??= h[OP] ?? null;
    if (h[BODY]) info.bodyOptional = h[BODY_OPTIONAL] === true;
    info.body ??= h[BODY] ?? null;
    info.query ??= h[QUERY] ?? null;
    byKey.set(key, info);
  }
  return [...byKey.values()];
}

const toJsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    target: "draft-2020-12",
    // zod leaves out the default of a piped schema (a query count read from its digits) in input mode.
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def;
      if (def.type === "default" && ctx.jsonSchema.default === undefined) ctx.jsonSchema.default = def.defaultValue;
    },
  }) as Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<string, string> = {
  "400": "bad input: details.fields names each failing field",
  "401": "no or invalid credentials",
  "403": "the caller's role may not do this",
  "404": "not found, or in another org",
  "413": "the body is over 1 MiB",
  "415": "the body is not application/json (UTF-8)",
  "429": "rate limited: see Retry-After",
};

/**
 * Responses are documented open: the contract lets every response gain fields ("extend freely"),
 * so a client generated from this document must keep working when one appears. zod marks its
 * output objects closed (additionalProperties: false); that is dropped here, for responses only.
 */
function openForExtension<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(openForExtension) as T;
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (!(k === "additionalProperties" && v === false)) out[k] = openForExtension(v);
  return out as T;
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object" } },
    },
  },
};

export function openApiDocument(app: Hono<AppEnv>, serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routeTable(app)) {
    if (!r.spec) continue;
    const path = r.path.replace(/:(\w+)/g, "{$1}");
    const params: { name: string | undefined; in: string; required: boolean; description?: string; schema: { type: string } }[] = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (r.query) {
      const qs = toJsonSchema(r.query, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(qs.properties ?? {})) {
        params.push({ name, in: "query", required: (qs.required ?? []).includes(name), schema: schema as { type: string } });
      }
    }
    for (const h of r.spec.headers ?? []) params.push({ name: h.name, in: "header", required: h.required, description: h.description, schema: (h.schema ?? { type: "string" }) as { type: string } });
    const responses: Record<string, unknown> = {};
    const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
    for (const [status, res] of Object.entries(r.spec.responses)) {
      // An error a route names (409, 503, …) without a schema of its own is the shared envelope.
      const types = res.contentTypes ?? (res.contentType ? [res.contentType] : []);
      const content = res.schema
        ? { [res.contentType ?? "application/json"]: { schema: openForExtension(toJsonSchema(res.schema, "output")) }, ...Object.fromEntries(types.filter((t) => t !== (res.contentType ?? "application/json")).map((t) => [t, {}])) }
        : types.length
          ? Object.fromEntries(types.map((t) => [t, {}]))
          : Number(status) >= 400
            ? errorContent
            : null;
      responses[status] = { description: res.description, ...(content ? { content } : {}) };
    }
    // The errors every route can answer; a body adds 413 (over 1 MiB) and 415 (not JSON).
    for (const status of ["400", "401", "403", "404", "429", ...(r.body ? ["413", "415"] : [])]) {
      responses[status] ??= { description: ERROR_DESCRIPTIONS[status]!, content: errorContent };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.spec.summary,
      ...(r.spec.description ? { description: r.spec.description } : {}),
      tags: r.spec.tags,
      ...(r.spec.action ? { "x-policy-action": r.spec.action } : {}),
      security: r.spec.auth === "key" ? [{ apiKey: [] }] : r.spec.auth === "operator" ? [{ operatorToken: [] }] : [],
      parameters: params,
      ...(r.body ? { requestBody: { required: !r.bodyOptional, content: { "application/json": { schema: toJsonSchema(r.body, "input") } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "InterviewRelay API",
      version: "1.0.0",
      description: "AI interviews on the edge. Errors use {error:{code,message,details?}}; lists use ?limit=&cursor= and return {data,nextCursor}.",
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key (irk_…)" },
        operatorToken: { type: "http", scheme: "bearer", description: "The OPERATOR_TOKEN secret" },
      },
    },
  };
}
