// The audit log: who did what to which resource, from where, and whether it was allowed.
// Rows never carry secrets or interview content. Each org's rows form a hash chain: a row's
// hash covers its fields and the previous row's hash, so an edited, removed or reordered row
// breaks the chain at that point (see verifyAuditChain).
import type { Context } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import { GENESIS_HASH, rowHash, type AuditActor, type AuditEntry, type AuditRecord } from "../db/audit-chain";
import type { PendingAudit } from "../objects/AuditLedger";
import { newId } from "../shared/crypto";
import type { AppEnv } from "./types";

export type { AuditActor, AuditEntry, AuditRecord };

/** Appends one row to the org's chain through the org's ledger object, which orders appends. */
export async function appendAudit(env: Pick<Env, "AUDIT_LEDGER">, actor: AuditActor, entry: AuditEntry, at = Date.now()): Promise<AuditRecord> {
  return env.AUDIT_LEDGER.get(env.AUDIT_LEDGER.idFromName(entry.orgId)).append(actor, entry, at);
}

export function actorFromContext(c: Context<AppEnv>): AuditActor {
  const p = c.get("principal");
  return {
    type: p?.type ?? "anonymous",
    id: p?.id ?? null,
    role: p?.role ?? null,
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: c.req.header("User-Agent")?.slice(0, 300) ?? null,
    requestId: c.get("requestId"),
  };
}

/**
 * Records a request's audit entry through the audit queue: the request pays one queue send (after
 * its response, in waitUntil) instead of an append to the org's chain, and the consumer appends
 * whole batches per org in one transaction. The entry's id is fixed here, so a redelivered batch
 * appends nothing twice. If the queue refuses the entry, it is appended directly: never dropped.
 */
/** `actor` overrides who is recorded, for requests no principal makes (a signed download link). */
export function auditFromContext(c: Context<AppEnv>, entry: AuditEntry, actor?: Partial<AuditActor>): Promise<void> {
  const item: PendingAudit = { id: newId("aud"), actor: { ...actorFromContext(c), ...actor }, entry, at: Date.now() };
  // The send starts on a later turn, so serialising it is not on the response's path.
  return new Promise<void>((resolve) => setTimeout(resolve, 0))
    .then(() => c.env.AUDIT_QUEUE.send(item))
    .then(
    () => undefined,
    async (err: unknown) => {
      console.warn("audit queue unavailable; appending directly", { error: String(err) });
      await c.env.AUDIT_LEDGER.get(c.env.AUDIT_LEDGER.idFromName(entry.orgId)).appendMany([item]);
    },
  );
}

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const AuditMessage = z.object({
  id: z.string().min(1).max(64),
  at: z.number().int(),
  actor: z.object({ type: z.string(), id: z.string().nullable(), role: z.string().nullable(), ip: z.string().nullable(), userAgent: z.string().nullable(), requestId: z.string().nullable() }),
  entry: z.object({
    orgId: z.string().min(1),
    action: z.string(),
    outcome: z.enum(["allow", "deny"]),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    campaignId: z.string().nullable().optional(),
    details: z.record(z.string(), Scalar).optional(),
  }),
});

/** The audit pipeline's queue (wrangler.toml); every other batch is AI and background work. */
export const AUDIT_QUEUE_NAME = "interviewrelay-audit";

/** The audit queue's consumer: each org's entries in the batch go to its ledger in one call. */
export async function handleAuditBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byOrg = new Map<string, { msg: Message<unknown>; item: PendingAudit }[]>();
  for (const msg of batch.messages) {
    const parsed = AuditMessage.safeParse(msg.body);
    if (!parsed.success) {
      await env.AI_DLQ.send({ reason: "invalid audit message", queue: batch.queue, body: msg.body });
      msg.ack();
      continue;
    }
    const list = byOrg.get(parsed.data.entry.orgId) ?? [];
    list.push({ msg, item: parsed.data });
    byOrg.set(parsed.data.entry.orgId, list);
  }
  await Promise.all(
    [...byOrg].map(async ([orgId, list]) => {
      try {
        await env.AUDIT_LEDGER.get(env.AUDIT_LEDGER.idFromName(orgId)).appendMany(list.map((l) => l.item));
        for (const l of list) l.msg.ack();
      } catch (err) {
        console.warn("audit append failed; retrying", { orgId, entries: list.length, error: String(err) });
        for (const l of list) l.msg.retry({ delaySeconds: Math.min(60, 2 ** l.msg.attempts) });
      }
    }),
  );
}

export type ChainReport = { ok: true; rows: number } | { ok: false; rows: number; brokenAt: { seq: number; id: string | null; reason: string } };

/** Walks an org's chain in order and reports the first row whose link or content does not check out. */
export async function verifyAuditChain(db: D1Database, orgId: string): Promise<ChainReport> {
  const PAGE = 1000;
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (;;) {
    const page = await db.prepare("SELECT * FROM audit_log WHERE org_id = ? AND seq >= ? ORDER BY seq LIMIT ?").bind(orgId, expectedSeq, PAGE).all<AuditRecord>();
    for (const r of page.results) {
      if (r.seq !== expectedSeq) return { ok: false, rows, brokenAt: { seq: expectedSeq, id: null, reason: "row missing" } };
      if (r.prev_hash !== prev) return { ok: false, rows, brokenAt: { seq: r.seq, id: r.id, reason: "previous hash does not match" } };
      const { hash, ...rest } = r;
      if ((await rowHash(rest)) !== hash) return { ok: false, rows, brokenAt: { seq: r.seq, id: r.id, reason: "row content was changed" } };
      prev = hash;
      expectedSeq += 1;
      rows += 1;
    }
    if (page.results.length < PAGE) return { ok: true, rows };
  }
}
