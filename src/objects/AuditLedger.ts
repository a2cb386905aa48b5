// One object per org serialises appends to that org's audit chain: each row's hash needs the
// previous row's, and D1 alone cannot order concurrent writers without retry storms.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { insertAuditRow, nextAuditRow, type AuditActor, type AuditEntry, type AuditRecord } from "../db/audit-chain";

export class AuditLedger extends DurableObject<Env> {
  private head: { seq: number; hash: string } | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  async append(actor: AuditActor, entry: AuditEntry, at: number): Promise<AuditRecord> {
    const run = this.tail.then(() => this.appendNow(actor, entry, at));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(actor: AuditActor, entry: AuditEntry, at: number): Promise<AuditRecord> {
    for (let attempt = 0; attempt < 3; attempt++) {
      this.head ??= await this.readHead(entry.orgId);
      const row = await nextAuditRow(this.head, actor, entry, at);
      try {
        await insertAuditRow(this.env.DB, row);
        this.head = { seq: row.seq, hash: row.hash };
        return row;
      } catch (err) {
        // Someone appended outside this object (a restore, a migration): re-read the head.
        if (!String(err).includes("UNIQUE")) throw err;
        this.head = null;
      }
    }
    throw new Error(`audit append for ${entry.orgId} failed after re-reading the chain head`);
  }

  private async readHead(orgId: string) {
    return (await this.env.DB.prepare("SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1").bind(orgId).first<{ seq: number; hash: string }>()) ?? null;
  }
}
