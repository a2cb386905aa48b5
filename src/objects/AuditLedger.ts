// One object per org serialises appends to that org's audit chain: each row's hash needs the
// previous row's, and D1 alone cannot order concurrent writers without retry storms.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { inChunks, placeholders } from "../shared/d1";
import { insertAuditStatement, nextAuditRow, type AuditActor, type AuditEntry, type AuditRecord } from "../db/audit-chain";

/** One entry to append; `id` (given when the entry was recorded) makes a redelivered entry a no-op. */
export interface PendingAudit {
  id?: string;
  actor: AuditActor;
  entry: AuditEntry;
  at: number;
}

export class AuditLedger extends DurableObject<Env> {
  private head: { seq: number; hash: string } | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  async append(actor: AuditActor, entry: AuditEntry, at: number): Promise<AuditRecord> {
    const [row] = await this.appendMany([{ actor, entry, at }]);
    return row!;
  }

  /** Appends entries in order, as one D1 transaction; entries whose id is already in the chain are skipped. */
  async appendMany(items: PendingAudit[]): Promise<AuditRecord[]> {
    const run = this.tail.then(() => this.appendNow(items));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(items: PendingAudit[]): Promise<AuditRecord[]> {
    const orgId = items[0]?.entry.orgId;
    if (!orgId) return [];
    const ids = items.flatMap((i) => (i.id ? [i.id] : []));
    const present = new Set<string>();
    for (const chunk of inChunks(ids)) {
      const rows = await this.env.DB.prepare(`SELECT id FROM audit_log WHERE id IN (${placeholders(chunk.length)})`).bind(...chunk).all<{ id: string }>();
      for (const r of rows.results) present.add(r.id);
    }
    const fresh = items.filter((i) => !i.id || !present.has(i.id));
    for (let attempt = 0; attempt < 3; attempt++) {
      this.head ??= await this.readHead(orgId);
      let head = this.head;
      const rows: AuditRecord[] = [];
      for (const i of fresh) {
        const row = await nextAuditRow(head, i.actor, i.entry, i.at, i.id);
        rows.push(row);
        head = { seq: row.seq, hash: row.hash };
      }
      if (rows.length === 0) return [];
      try {
        await this.env.DB.batch(rows.map((r) => insertAuditStatement(this.env.DB, r)));
        this.head = head;
        return rows;
      } catch (err) {
        // Someone appended outside this object (a restore, a migration): re-read the head.
        if (!String(err).includes("UNIQUE")) throw err;
        this.head = null;
      }
    }
    throw new Error(`audit append for ${orgId} failed after re-reading the chain head`);
  }

  private async readHead(orgId: string) {
    return (await this.env.DB.prepare("SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1").bind(orgId).first<{ seq: number; hash: string }>()) ?? null;
  }
}
