// Webhooks: target checks (SSRF), fan-out of org events into deliveries, signed delivery with
// retries. Deliveries are rows of webhook_deliveries; each attempt is a `webhook.deliver` queue
// message, retried with backoff by the consumer until the endpoint answers 2xx or attempts run out.
import { z } from "zod";
import { parseJson } from "../shared/json";
import type { Env } from "../env";
import type { webhook_deliveries, webhooks } from "../db/schema";
import type { QueueMessage } from "../objects/messages";
import { inChunks, placeholders } from "../shared/d1";
import { newId, sha256Hex } from "../shared/crypto";

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
// Targets: https only, no credentials, no private, loopback, link-local, CGNAT or multicast hosts.
// ---------------------------------------------------------------------------------------------

const BLOCKED_V4: [number, number][] = [
  [0x00000000, 8], // "this" network
  [0x0a000000, 8], // private
  [0x64400000, 10], // CGNAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata)
  [0xac100000, 12], // private
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // documentation
  [0xc0586300, 24], // 6to4 relay anycast
  [0xc0a80000, 16], // private
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // documentation
  [0xcb007100, 24], // documentation
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved, broadcast
];

function parseV4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const v4Blocked = (ip: number) => BLOCKED_V4.some(([net, bits]) => (ip >>> (32 - bits)) === (net >>> (32 - bits)));

/** An IPv6 literal (without brackets) as 8 16-bit groups, or null. */
function parseV6(host: string): number[] | null {
  let s = host.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return null;
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
    const v4 = parseV4(last);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - rest.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}

function v6Blocked(g: number[]): boolean {
  const first = g[0]!;
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), unspecified and loopback: all under ::/80 + …
  if (g.slice(0, 5).every((x) => x === 0)) return true;
  // NAT64 (64:ff9b::/96): judged by the IPv4 address inside.
  if (first === 0x64 && g[1] === 0xff9b) return v4Blocked(((g[6]! << 16) | g[7]!) >>> 0);
  // 6to4 (2002::/16): judged by the IPv4 address inside.
  if (first === 0x2002) return v4Blocked(((g[1]! << 16) | g[2]!) >>> 0);
  // Only global unicast (2000::/3) is reachable; within it, Teredo/IETF (2001:0::/23) and documentation (2001:db8::/32) are not.
  if ((first & 0xe000) !== 0x2000) return true;
  if (first === 0x2001 && (g[1]! < 0x200 || g[1] === 0xdb8)) return true;
  return false;
}

const BLOCKED_NAMES = /(^|\.)(localhost|local|internal|localdomain|intranet|lan|home\.arpa|home|corp|private|test|invalid|example|onion)$/;

/** Why `raw` may not be a webhook target, or null when it may. Also used at send time. */
export function unsafeTargetReason(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not a URL";
  }
  if (url.protocol !== "https:") return "the URL must use https";
  if (url.username || url.password) return "the URL must not carry credentials";
  let host = url.hostname.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (!host) return "the URL has no host";
  if (host.startsWith("[") && host.endsWith("]")) {
    const g = parseV6(host.slice(1, -1));
    if (!g) return "the URL's IPv6 address does not parse";
    return v6Blocked(g) ? "the URL's host is a private, loopback, link-local or otherwise unreachable IPv6 address" : null;
  }
  const v4 = parseV4(host);
  if (v4 !== null) return v4Blocked(v4) ? "the URL's host is a private, loopback, link-local, CGNAT or multicast IPv4 address" : null;
  // WHATWG URL turns every numeric IPv4 form into a dotted quad; anything left that looks numeric is refused.
  if (/^[0-9.]+$/.test(host) || /^0x/i.test(host)) return "the URL's host is not a valid name";
  if (!host.includes(".")) return "the URL's host must be a public, fully qualified name";
  if (BLOCKED_NAMES.test(host)) return "the URL's host is a local or reserved name";
  return null;
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
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${t},v1=${hex}`;
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

/** One attempt of a delivery; throws RetryLater while attempts remain. `queueAttempts` is msg.attempts. */
export async function deliverWebhook(env: Env, deliveryId: string, queueAttempts: number): Promise<void> {
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
  // The target is checked again at send time; a refused target is never retried.
  const unsafe = unsafeTargetReason(hook.url);
  if (unsafe) {
    await fail(`refused target: ${unsafe}`, null, d.attempts);
    return;
  }
  const attempts = d.attempts + 1;
  const t = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
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
