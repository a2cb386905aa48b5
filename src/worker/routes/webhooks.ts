// Webhooks: org settings (owners). The signing secret is shown once, in the creation response.
import { parseJson } from "../../shared/json";
import { Hono, type Context } from "hono";
import type { webhook_deliveries, webhooks } from "../../db/schema";
import { z } from "zod";
import { decodeCursor, keysetPage } from "../../db/cursor";
import { newId, randomSecret } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { jsonBody, op, queryOf } from "../openapi";
import { ListQuery, idParam, page } from "../schemas";
import type { AppEnv } from "../types";
import { enqueueTestEvent, SIGNATURE_HEADER, unsafeTargetReason, WEBHOOK_EVENTS } from "../webhooks";
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

webhookRoutes.post(
  "/webhooks",
  op({
    summary: "Register a webhook; its signing secret is shown only in this response",
    description: `Targets must be https URLs without credentials whose host is not a private, loopback, link-local, CGNAT or multicast address, nor a local name. Each delivery is a JSON body {id, type, createdAt, data} signed in the header \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>\`.`,
    tags: ["webhooks"],
    auth: "key",
    action: "org.manage",
    resource: "webhook",
    responses: { 201: { description: "created", schema: Webhook.extend({ secret: z.string() }) } },
  }),
  jsonBody(CreateWebhook),
  async (c) => {
    const body = c.req.valid("json");
    const orgId = c.get("principal")!.orgId;
    const n = (await c.env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE org_id = ? AND disabled_at IS NULL").bind(orgId).first<{ n: number }>())?.n ?? 0;
    if (n >= MAX_WEBHOOKS_PER_ORG) throw new ApiError(409, "TOO_MANY_WEBHOOKS", `an org has at most ${MAX_WEBHOOKS_PER_ORG} webhooks; delete one first`);
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
    if (cursor && !decodeCursor(cursor)) badCursor();
    const row = await webhookFromPath(c);
    const p = (await keysetPage<DeliveryRow>(c.env.DB, "webhook_deliveries", "webhook_id = ?", [row.id], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(deliveryJson), nextCursor: p.nextCursor });
  },
);
