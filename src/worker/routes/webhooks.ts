// Webhooks: org settings (owners). The signing secret is shown once, in the creation response.
import { parseJson } from "../../shared/json";
import { Hono, type Context } from "hono";
import type { webhook_deliveries, webhooks } from "../../db/schema";
import { z } from "zod";
import { keysetPage, wellFormedCursor } from "../../db/cursor";
import { newId, randomSecret } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { emptyBody, jsonBody, op, queryOf } from "../openapi";
import { ListQuery, idParam, page } from "../schemas";
import type { AppEnv } from "../types";
import { checkWebhookTarget, enqueueTestEvent, SIGNATURE_HEADER, unsafeTargetReason, WEBHOOK_EVENTS } from "../webhooks";
import { badCursor } from "./campaigns";

export const webhookRoutes = new Hono<AppEnv>();

type WebhookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhook_deliveries.$inferSelect;

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const webhookJson = (w: WebhookRow) => ({ id: w.id, url: w.url, events: parseJson(z.array(z.string()), w.events), createdAt: iso(w.created_at)!, disabledAt: iso(w.disabled_at) });
const deliveryJson = (d: DeliveryRow) => ({
  id: d.id,
  webhookId: d.webhook_id,
  event: d.event,
  eventId: d.event_id,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.last_status_code,
  lastError: d.last_error,
  // While pending after a failed attempt: when the next one is due.
  nextAttemptAt: d.status === "pending" && d.attempts > 0 ? iso(d.next_attempt_at) : null,
  createdAt: iso(d.created_at)!,
  deliveredAt: iso(d.delivered_at),
});

const Event = z.enum(WEBHOOK_EVENTS);
const Webhook = z.object({ id: z.string(), url: z.string(), events: z.array(Event), createdAt: z.string(), disabledAt: z.string().nullable() });
const Delivery = z.object({
  id: z.string(),
  webhookId: z.string(),
  event: z.string(),
  eventId: z.string(),
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
const CreateWebhook = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((url, ctx) => {
      const reason = unsafeTargetReason(url);
      if (reason) ctx.addIssue({ code: "custom", message: reason });
    }),
  events: z
    .array(Event)
    .min(1)
    .max(WEBHOOK_EVENTS.length)
    .transform((e) => [...new Set(e)]),
});

const hookId = idParam("whk");

async function webhookFromPath(c: Context<AppEnv>): Promise<WebhookRow> {
  const id = c.req.param("id") ?? "";
  const row = hookId.safeParse(id).success
    ? await c.env.DB.prepare("SELECT * FROM webhooks WHERE id = ? AND org_id = ? AND disabled_at IS NULL").bind(id, c.get("principal")!.orgId).first<WebhookRow>()
    : null;
  if (!row) throw notFound("webhook");
  c.set("auditResource", { type: "webhook", id: row.id });
  return row;
}

const MAX_WEBHOOKS_PER_ORG = 20;
/** How long a client should wait before retrying when the DNS resolver could not answer. */
const DNS_RETRY_AFTER_SECONDS = 30;

/** Resolves the target's name now; refuses it (400, or 503 when the resolver cannot answer) unless every address is public. */
async function requireSafeTarget(c: Context<AppEnv>, url: string): Promise<void> {
  const check = await checkWebhookTarget(c.env, url);
  if (check.ok) return;
  const where = { host: check.host, ...(check.address ? { address: check.address } : {}) };
  if (check.kind === "unavailable") {
    // Not the client's fault and nothing is stored: the same request may be sent again.
    console.warn("webhook target check: DNS resolver unavailable", { host: check.host, error: check.message });
    throw new ApiError(503, "WEBHOOK_DNS_UNAVAILABLE", `the webhook's host could not be checked right now (${check.message}); nothing was stored, retry in ${DNS_RETRY_AFTER_SECONDS} s`, where, {
      "Retry-After": String(DNS_RETRY_AFTER_SECONDS),
    });
  }
  const code = check.kind === "forbidden" ? "WEBHOOK_URL_PRIVATE" : check.kind === "unresolvable" ? "WEBHOOK_URL_UNRESOLVABLE" : "VALIDATION_FAILED";
  throw new ApiError(400, code, `invalid body: url: ${check.message}`, { fields: [{ path: "url", message: check.message, code }], ...where });
}

webhookRoutes.post(
  "/webhooks",
  op({
    summary: "Register a webhook; its signing secret is shown only in this response",
    description: `Targets must be https URLs without credentials, whitespace or control characters, whose host is not a private, loopback, link-local, CGNAT or multicast address, nor a local name. A host name is resolved (A and AAAA, over DNS-over-HTTPS) when the webhook is registered and again before every delivery: if any address it resolves to is not public, registration is refused with 400 \`WEBHOOK_URL_PRIVATE\` (and a delivery fails without being sent); a name that does not resolve (NXDOMAIN, no A or AAAA records) is refused with 400 \`WEBHOOK_URL_UNRESOLVABLE\`. When the DNS resolver itself cannot be reached or does not answer in time, the request is answered 503 \`WEBHOOK_DNS_UNAVAILABLE\` with \`Retry-After\`, nothing is stored, and the same request may simply be sent again. Each delivery is a JSON body {id, type, createdAt, data} signed in the header \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>\`.`,
    tags: ["webhooks"],
    auth: "key",
    action: "org.manage",
    resource: "webhook",
    responses: {
      201: { description: "created", schema: Webhook.extend({ secret: z.string() }) },
      409: { description: "TOO_MANY_WEBHOOKS: the org already has the maximum number of webhooks" },
      503: { description: "WEBHOOK_DNS_UNAVAILABLE: the DNS resolver could not be reached, so the host could not be checked; nothing stored; retry after Retry-After seconds" },
    },
  }),
  jsonBody(CreateWebhook),
  async (c) => {
    const body = c.req.valid("json");
    const orgId = c.get("principal")!.orgId;
    const n = (await c.env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE org_id = ? AND disabled_at IS NULL").bind(orgId).first<{ n: number }>())?.n ?? 0;
    if (n >= MAX_WEBHOOKS_PER_ORG) throw new ApiError(409, "TOO_MANY_WEBHOOKS", `an org has at most ${MAX_WEBHOOKS_PER_ORG} webhooks; delete one first`);
    await requireSafeTarget(c, body.url);
    const row: WebhookRow = { id: newId("whk"), org_id: orgId, url: body.url, events: JSON.stringify(body.events), secret: randomSecret(256, "whsec_"), created_at: Date.now(), disabled_at: null };
    await c.env.DB.prepare("INSERT INTO webhooks (id, org_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(row.id, row.org_id, row.url, row.events, row.secret, row.created_at)
      .run();
    c.set("auditResource", { type: "webhook", id: row.id });
    return c.json({ ...webhookJson(row), secret: row.secret }, 201);
  },
);

webhookRoutes.get(
  "/webhooks",
  op({ summary: "List the org's webhooks (never their secrets)", tags: ["webhooks"], auth: "key", action: "org.manage", resource: "webhook", responses: { 200: { description: "a page", schema: page(Webhook) } } }),
  queryOf(ListQuery),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<WebhookRow>(c.env.DB, "webhooks", "org_id = ? AND disabled_at IS NULL", [c.get("principal")!.orgId], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(webhookJson), nextCursor: p.nextCursor });
  },
);

webhookRoutes.delete(
  "/webhooks/:id",
  op({ summary: "Delete a webhook; pending deliveries to it are dropped", tags: ["webhooks"], auth: "key", action: "org.manage", resource: "webhook", responses: { 200: { description: "the deleted webhook", schema: Webhook } } }),
  emptyBody(),
  async (c) => {
    const row = await webhookFromPath(c);
    const now = Date.now();
    // Kept as a tombstone for its delivery log; the secret is forgotten.
    await c.env.DB.batch([
      c.env.DB.prepare("UPDATE webhooks SET disabled_at = ?, secret = '' WHERE id = ?").bind(now, row.id),
      c.env.DB.prepare("UPDATE webhook_deliveries SET status = 'failed', last_error = 'the webhook was deleted', next_attempt_at = NULL WHERE webhook_id = ? AND status = 'pending'").bind(row.id),
    ]);
    return c.json(webhookJson({ ...row, disabled_at: now }));
  },
);

webhookRoutes.post(
  "/webhooks/:id/test",
  op({
    summary: "Send a test event (type webhook.test) to the webhook",
    tags: ["webhooks"],
    auth: "key",
    action: "org.manage",
    resource: "webhook",
    responses: { 202: { description: "the delivery, queued", schema: Delivery } },
  }),
  emptyBody(),
  async (c) => {
    const row = await webhookFromPath(c);
    const id = await enqueueTestEvent(c.env, row);
    const d = (await c.env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").bind(id).first<DeliveryRow>())!;
    return c.json(deliveryJson(d), 202);
  },
);

webhookRoutes.get(
  "/webhooks/:id/deliveries",
  op({ summary: "The webhook's delivery log, newest first", tags: ["webhooks"], auth: "key", action: "org.manage", resource: "webhook", responses: { 200: { description: "a page", schema: page(Delivery) } } }),
  queryOf(ListQuery),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    if (cursor && !wellFormedCursor(cursor)) badCursor();
    const row = await webhookFromPath(c);
    const p = (await keysetPage<DeliveryRow>(c.env.DB, "webhook_deliveries", "webhook_id = ?", [row.id], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(deliveryJson), nextCursor: p.nextCursor });
  },
);
