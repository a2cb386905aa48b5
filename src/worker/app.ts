// The Hono app: one sub-app per resource under /v1, one error handler shaping every failure
// into the contract's envelope, security headers on every response.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorBody } from "./errors";
import { op, openApiDocument } from "./openapi";
import { campaignRoutes } from "./routes/campaigns";
import { docsPage } from "./routes/docs";
import { accountRoutes } from "./routes/account";
import { analyticsRoutes } from "./routes/analytics";
import { audioRoutes } from "./routes/audio";
import { auditRoutes } from "./routes/auditlog";
import { orgRoutes } from "./routes/orgs";
import { privacyRoutes } from "./routes/privacy";
import { retentionRoutes } from "./routes/retention";
import { exportRoutes } from "./routes/exports";
import { teamRoutes } from "./routes/team";
import { webhookRoutes } from "./routes/webhooks";
import { shell } from "./routes/pages";
import { participantRoutes } from "./routes/participant";
import { sessionRoutes } from "./routes/sessions";
import type { AppEnv } from "./types";

const MAX_BODY_BYTES = 1024 * 1024;

export const api = new Hono<AppEnv>();
api.route("/", orgRoutes);
api.route("/", campaignRoutes);
api.route("/", participantRoutes);
api.route("/", sessionRoutes);
api.route("/", teamRoutes);
api.route("/", accountRoutes);
api.route("/", auditRoutes);
api.route("/", audioRoutes);
api.route("/", analyticsRoutes);
api.route("/", webhookRoutes);
api.route("/", privacyRoutes);
api.route("/", retentionRoutes);
api.route("/", exportRoutes);
// Inside `api`, so the document lists itself among the routes it documents.
api.get(
  "/openapi.json",
  op({ summary: "This OpenAPI 3.1 document", tags: ["meta"], auth: "public", responses: { 200: { description: "the document" } } }),
  (c) => c.json(openApiDocument(api, `${new URL(c.req.url).origin}/v1`)),
);

export const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  const started = performance.now();
  c.set("requestId", c.req.header("CF-Ray") ?? crypto.randomUUID());
  c.set("principal", null);
  c.set("auditResource", null);
  await next();
  if (c.res.status === 101) return;
  // Time spent inside the Worker on this request, up to its response (the body may still stream).
  // Workers' clocks advance only across I/O in production, so there it counts waits, not CPU.
  const authMs = c.get("authMs");
  const app = `app;dur=${(performance.now() - started).toFixed(1)}${authMs === undefined ? "" : `, auth;dur=${authMs.toFixed(1)}`}`;
  // Responses passed through from a Durable Object's fetch have immutable headers: decorate a copy.
  c.res = new Response(c.res.body, c.res);
  const h = c.res.headers;
  h.set("X-Request-Id", c.get("requestId"));
  h.set("Server-Timing", app);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "no-referrer");
  h.set("X-Frame-Options", "DENY");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
  h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  if (!h.has("Content-Security-Policy")) h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  if (c.req.path.startsWith("/v1/") && !h.has("Cache-Control")) h.set("Cache-Control", "no-store");
});

// Counts the bytes of bodies sent without Content-Length (chunked) too, not only the header.
app.use(
  "*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "PAYLOAD_TOO_LARGE", "request bodies are at most 1 MiB");
    },
  }),
);

// Cross-origin API use is off unless CORS_ORIGINS lists the origins allowed (bearer keys only:
// cookies are never sent cross-origin, and cookie writes must be same-origin anyway).
app.use("/v1/*", async (c, next) => {
  const allowed = (c.env.CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  if (allowed.length === 0) return next();
  return cors({ origin: allowed, allowHeaders: ["Authorization", "Content-Type", "X-Confirm-Delete"], allowMethods: ["GET", "POST", "PATCH", "DELETE"], maxAge: 600 })(c, next);
});

app.route("/v1", api);

app.get("/docs", (c) => docsPage(c, openApiDocument(api, `${new URL(c.req.url).origin}/v1`)));
app.get("/healthz", (c) => c.json({ ok: true }));
// The participant page; the invite token in its path is read by the page itself (Referrer-Policy keeps it private).
app.get("/i/:token", (c) => shell(c, "Your interview", "participant"));

app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
    return c.json(errorBody(err.code, err.message, err.details), err.status);
  }
  if (err instanceof HTTPException) {
    // Hono raises these for malformed bodies; they are the client's fault, never a 5xx.
    const status = err.status >= 500 ? 400 : err.status;
    const code = /json/i.test(err.message) ? "INVALID_JSON" : "BAD_REQUEST";
    return c.json(errorBody(code, err.message || "bad request"), status);
  }
  console.error("unhandled error", { requestId: c.get("requestId"), path: c.req.path, error: String(err) });
  return c.json(errorBody("INTERNAL", `something went wrong on our side (request ${c.get("requestId")})`), 500);
});
