// Webhooks: target checks (SSRF), fan-out of org events into deliveries, signed delivery with
// retries. Deliveries are rows of webhook_deliveries; each attempt is a `webhook.deliver` queue
// message, retried with backoff by the consumer until the endpoint answers 2xx or attempts run out.
import { z } from "zod";
import { parseJson } from "../shared/json";
import type { Env } from "../env";
import type { webhook_deliveries, webhooks } from "../db/schema";
import type { QueueMessage } from "../objects/messages";
import { inChunks, placeholders } from "../shared/d1";
import { newId, sha256Hex, toHex } from "../shared/crypto";
import { checkHost, forbiddenAddressReason, parseV4, parseV6, resolverFromSettings, type DnsCheckSettings, type HostResolver } from "./dns";

export const WEBHOOK_EVENTS = [
  "session.created",
  "session.started",
  "session.paused",
  "session.resumed",
  "session.completed",
  "session.abandoned",
  "analysis.ready",
  "export.ready",
  "data.deleted",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** Sent only by POST /v1/webhooks/{id}/test, to that webhook, whatever it subscribes to. */
export const TEST_EVENT = "webhook.test";

export const SIGNATURE_HEADER = "InterviewRelay-Signature";
/** 1 attempt + the queue's max_retries (5, wrangler.toml). */
export const MAX_ATTEMPTS = 6;
export const DELIVERY_TIMEOUT_MS = 10_000;

export const webhookBackoffSeconds = (attempts: number) => Math.min(3600, 2 ** attempts * 15);

// ---------------------------------------------------------------------------------------------
// Targets: https only, no credentials, no private, loopback, link-local, CGNAT or multicast hosts,
// neither as a literal address nor as a name that resolves to one.
// ---------------------------------------------------------------------------------------------

const BLOCKED_NAMES = /(^|\.)(localhost|local|internal|localdomain|intranet|lan|home\.arpa|home|corp|private|test|invalid|example|onion)$/;
// Labels of letters, digits, hyphens and underscores (IDNs arrive as punycode), at most 253 characters.
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})+$/;
// A URL never carries raw whitespace or control characters; the URL parser would silently drop
// some (tab, newline) and keep the rest, so the stored string would not be the URL that is called.
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** The host of `raw` (lowercase, without a trailing dot or IPv6 brackets) and whether it is an IP literal, or why `raw` may not be a target. */
function parseTarget(raw: string): { host: string; ip: "v4" | "v6" | null } | { error: string } {
  if (CONTROL_OR_SPACE.test(raw)) return { error: "the URL must not contain whitespace or control characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: "not a URL" };
  }
  if (url.protocol !== "https:") return { error: "the URL must use https" };
  if (url.username || url.password) return { error: "the URL must not carry credentials" };
  let host = url.hostname.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (!host) return { error: "the URL has no host" };
  if (host.startsWith("[") && host.endsWith("]")) {
    const ip = host.slice(1, -1);
    if (!parseV6(ip)) return { error: "the URL's IPv6 address does not parse" };
    return { host: ip, ip: "v6" };
  }
  if (parseV4(host) !== null) return { host, ip: "v4" };
  // WHATWG URL turns every numeric IPv4 form into a dotted quad; anything left that looks numeric is refused.
  if (/^[0-9.]+$/.test(host) || /^0x/i.test(host)) return { error: "the URL's host is not a valid name" };
  if (!host.includes(".")) return { error: "the URL's host must be a public, fully qualified name" };
  if (BLOCKED_NAMES.test(host)) return { error: "the URL's host is a local or reserved name" };
  if (!DNS_NAME.test(host)) return { error: "the URL's host is not a valid DNS name" };
  return { host, ip: null };
}

const LITERAL_REFUSED = {
  v4: "the URL's host is a private, loopback, link-local, CGNAT or multicast IPv4 address",
  v6: "the URL's host is a private, loopback, link-local or otherwise unreachable IPv6 address",
} as const;

/** What can be said of a parsed target without DNS: why it is refused, or null. */
function refusedWithoutDns(t: ReturnType<typeof parseTarget>): string | null {
  if ("error" in t) return t.error;
  return t.ip && forbiddenAddressReason(t.host) ? LITERAL_REFUSED[t.ip] : null;
}

/**
 * Why `raw` may not be a webhook target, judged without DNS (scheme, credentials, literal
 * addresses, local names), or null when it may. A name also needs `checkWebhookTarget`.
 */
export const unsafeTargetReason = (raw: string): string | null => refusedWithoutDns(parseTarget(raw));

let resolverOverride: HostResolver | null = null;

/** Replaces the host resolver whatever WEBHOOK_DNS_CHECK says (tests); `null` restores the one the environment chooses. */
export function setHostResolver(r: HostResolver | null): void {
  resolverOverride = r;
}

/**
 * The full verdict on a target: `unsafeTargetReason`, then, for a name, where it resolves now
 * (WEBHOOK_DNS_CHECK=off skips the lookup). `invalid` and `forbidden` and `unresolvable` are the
 * client's to fix; `unavailable` means the resolver could not answer and is worth retrying.
 */
export type TargetCheck =
  | { ok: true }
  | { ok: false; kind: "invalid" | "forbidden" | "unresolvable" | "unavailable"; message: string; host?: string; address?: string };

/** The resolver the settings (or a test) choose; null when the check is off. */
export const targetResolver = (env: DnsCheckSettings): HostResolver | null => resolverOverride ?? resolverFromSettings(env);

export async function checkWebhookTarget(env: DnsCheckSettings, raw: string, resolver = targetResolver(env)): Promise<TargetCheck> {
  const t = parseTarget(raw);
  const reason = refusedWithoutDns(t);
  if (reason) return { ok: false, kind: "invalid", message: reason };
  if ("error" in t || t.ip !== null) return { ok: true };
  if (!resolver) return { ok: true };
  const r = await checkHost(resolver, t.host);
  if (r.ok) return { ok: true };
  return { ok: false, kind: r.kind, message: r.message, host: t.host, ...(r.kind === "forbidden" ? { address: r.address } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Transport (injectable: tests stub it; nothing else may call a remote service).
// ---------------------------------------------------------------------------------------------

export interface WebhookTransport {
  send(url: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }): Promise<{ status: number }>;
}

const fetchTransport: WebhookTransport = {
  async send(url, init) {
    const res = await fetch(url, { method: "POST", headers: init.headers, body: init.body, redirect: "manual", signal: init.signal });
    // The body is not read: drop it so the connection is released.
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  },
};

let transport: WebhookTransport = fetchTransport;

/** Replaces the transport (tests); `null` restores global fetch. */
export function setWebhookTransport(t: WebhookTransport | null): void {
  transport = t ?? fetchTransport;
}

// ---------------------------------------------------------------------------------------------
// Signatures: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>
// ---------------------------------------------------------------------------------------------

export async function signPayload(secret: string, body: string, t: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`));
  return `t=${t},v1=${toHex(mac)}`;
}

// ---------------------------------------------------------------------------------------------
// Fan-out: an event becomes one delivery per subscribed, active webhook of the org.
// ---------------------------------------------------------------------------------------------

type WebhookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhook_deliveries.$inferSelect;

const deliverMessage = (deliveryId: string): QueueMessage => ({ type: "webhook.deliver", deliveryId });

/** Inserts the deliveries (idempotently per webhook and event id) and enqueues an attempt for each. */
async function fanOut(env: Env, hooks: Pick<WebhookRow, "id" | "org_id">[], event: string, eventId: string, createdAt: string, data: Record<string, unknown>) {
  if (hooks.length === 0) return [];
  const payload = JSON.stringify({ id: eventId, type: event, createdAt, data });
  const now = Date.now();
  await env.DB.batch(
    hooks.map((h) =>
      env.DB.prepare(
        "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, org_id, event, event_id, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
      ).bind(newId("whd"), h.id, h.org_id, event, eventId, payload, now, now),
    ),
  );
  // A redelivered event finds its rows already there: the still-untried ones are enqueued again.
  const rows = await env.DB.prepare(
    `SELECT id FROM webhook_deliveries WHERE event_id = ? AND status = 'pending' AND attempts = 0 AND webhook_id IN (${hooks.map(() => "?").join(",")})`,
  )
    .bind(eventId, ...hooks.map((h) => h.id))
    .all<{ id: string }>();
  const ids = rows.results.map((r) => r.id);
  if (ids.length) await env.AI_QUEUE.sendBatch(ids.map((id) => ({ body: deliverMessage(id) })));
  return ids;
}

/**
 * Emits an org event to every active webhook subscribed to it. `eventId` makes a repeated emit of
 * the same event (a redelivered message) a no-op; by default each call is a new event.
 */
export async function emitOrgEvent(env: Env, orgId: string, event: WebhookEvent, data: Record<string, unknown>, opts: { eventId?: string; at?: string } = {}): Promise<string[]> {
  const hooks = await env.DB.prepare("SELECT id, org_id, events FROM webhooks WHERE org_id = ? AND disabled_at IS NULL").bind(orgId).all<Pick<WebhookRow, "id" | "org_id" | "events">>();
  const subscribed = hooks.results.filter((h) => parseJson(z.array(z.string()), h.events).includes(event));
  return fanOut(env, subscribed, event, opts.eventId ?? newId("evt"), opts.at ?? new Date().toISOString(), data);
}

/**
 * The events each of these orgs' active webhooks subscribe to, in one query: the consumer
 * acknowledges lifecycle events that no webhook wants without any further D1 work.
 */
export async function subscribedEvents(db: D1Database, orgIds: string[]): Promise<Map<string, Set<string>>> {
  const byOrg = new Map<string, Set<string>>(orgIds.map((id) => [id, new Set<string>()]));
  for (const chunk of inChunks([...byOrg.keys()])) {
    const rows = await db
      .prepare(`SELECT org_id, events FROM webhooks WHERE org_id IN (${placeholders(chunk.length)}) AND disabled_at IS NULL`)
      .bind(...chunk)
      .all<Pick<WebhookRow, "org_id" | "events">>();
    for (const r of rows.results) for (const e of parseJson(z.array(z.string()), r.events)) byOrg.get(r.org_id)?.add(e);
  }
  return byOrg;
}

/** A `session.event` queue message, fanned out; its event id is derived from the message so redelivery adds nothing. */
export async function emitSessionEvent(env: Env, m: Extract<QueueMessage, { type: "session.event" }>): Promise<void> {
  const eventId = `evt_${(await sha256Hex(`${m.event}:${m.sessionId}:${m.at}`)).slice(0, 24)}`;
  await emitOrgEvent(env, m.orgId, m.event, { sessionId: m.sessionId, campaignId: m.campaignId, status: m.event.slice("session.".length), at: m.at }, { eventId, at: m.at });
}

/** The test event for one webhook: a delivery of `webhook.test`, enqueued. */
export async function enqueueTestEvent(env: Env, hook: Pick<WebhookRow, "id" | "org_id">): Promise<string> {
  const eventId = newId("evt");
  const [id] = await fanOut(env, [hook], TEST_EVENT, eventId, new Date().toISOString(), { webhookId: hook.id, message: "a test event from InterviewRelay" });
  return id!;
}

// ---------------------------------------------------------------------------------------------
// Delivery: one attempt per `webhook.deliver` message.
// ---------------------------------------------------------------------------------------------

/** Thrown to have the consumer retry the message after `delaySeconds`. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delaySeconds: number,
  ) {
    super(message);
  }
}

/**
 * One attempt of a delivery; throws RetryLater while attempts remain. `queueAttempts` is
 * msg.attempts; `resolver` is the batch's (see cachingResolver).
 */
export async function deliverWebhook(env: Env, deliveryId: string, queueAttempts: number, resolver = targetResolver(env)): Promise<void> {
  const d = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").bind(deliveryId).first<DeliveryRow>();
  if (!d || d.status !== "pending") return; // gone, or already settled by an earlier copy of the message
  const hook = await env.DB.prepare("SELECT * FROM webhooks WHERE id = ?").bind(d.webhook_id).first<WebhookRow>();
  const fail = (error: string, code: number | null, attempts: number) =>
    env.DB.prepare("UPDATE webhook_deliveries SET status = 'failed', attempts = ?, last_status_code = ?, last_error = ?, next_attempt_at = NULL WHERE id = ?")
      .bind(attempts, code, error.slice(0, 500), d.id)
      .run();
  if (!hook || hook.disabled_at !== null) {
    await fail("the webhook was deleted", null, d.attempts);
    return;
  }
  // The target is checked again at send time, its name resolved again (a name may have been
  // re-pointed at a private address since registration: DNS rebinding); a refused target is never
  // retried. A name that does not resolve now, or a resolver that cannot answer, is a failed
  // attempt like a connection error, retried with backoff; nothing is sent either way.
  const target = await checkWebhookTarget(env, hook.url, resolver);
  if (!target.ok && (target.kind === "invalid" || target.kind === "forbidden")) {
    await fail(`refused target: ${target.message}`, null, d.attempts);
    return;
  }
  const attempts = d.attempts + 1;
  const t = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
  if (!target.ok) error = `DNS: ${target.message}`;
  else {
    try {
      const res = await transport.send(hook.url, {
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "InterviewRelay-Webhooks/1",
          [SIGNATURE_HEADER]: await signPayload(hook.secret, d.payload, t),
          "InterviewRelay-Event": d.event,
          "InterviewRelay-Delivery": d.id,
        },
        body: d.payload,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      status = res.status;
      if (status < 200 || status >= 300) error = status >= 300 && status < 400 ? `redirect ${status} (not followed)` : `HTTP ${status}`;
    } catch (err) {
      error = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") ? `timed out after ${DELIVERY_TIMEOUT_MS / 1000} s` : `request failed: ${String(err)}`;
    }
  }
  if (error === null) {
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status_code = ?, last_error = NULL, next_attempt_at = NULL, delivered_at = ? WHERE id = ?")
      .bind(attempts, status, Date.now(), d.id)
      .run();
    return;
  }
  if (Math.max(attempts, queueAttempts) >= MAX_ATTEMPTS) {
    await fail(error, status, attempts);
    return;
  }
  const delaySeconds = webhookBackoffSeconds(attempts);
  await env.DB.prepare("UPDATE webhook_deliveries SET attempts = ?, last_status_code = ?, last_error = ?, next_attempt_at = ? WHERE id = ?")
    .bind(attempts, status, error.slice(0, 500), Date.now() + delaySeconds * 1000, d.id)
    .run();
  throw new RetryLater(`webhook delivery ${d.id}: ${error}`, delaySeconds);
}
