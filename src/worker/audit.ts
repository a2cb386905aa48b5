// The audit log: who did what to which resource, from where, and whether it was allowed.
// Rows never carry secrets or interview content. Each org's rows form a hash chain: a row's
// hash covers its fields and the previous row's hash, so an edited, removed or reordered row
// breaks the chain at that point (see verifyAuditChain).
import type { Context } from "hono";
import type { Env } from "../env";
import { GENESIS_HASH, rowHash, type AuditActor, type AuditEntry, type AuditRecord } from "../db/audit-chain";
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

export function auditFromContext(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  return appendAudit(c.env, actorFromContext(c), entry).then(() => undefined);
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
