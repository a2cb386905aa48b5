// The audit chain's rows and hashing, shared by the ledger object that appends and the
// routes that read and verify. A row's hash covers its fields and the previous row's hash.
import { newId, sha256Hex } from "../shared/crypto";

export interface AuditEntry {
  orgId: string;
  action: string;
  outcome: "allow" | "deny";
  resourceType: string;
  resourceId: string | null;
  campaignId?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditActor {
  type: string;
  id: string | null;
  role: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export const GENESIS_HASH = "0".repeat(64);

export interface AuditRecord {
  id: string;
  org_id: string;
  seq: number;
  at: number;
  actor_type: string;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  campaign_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: "allow" | "deny";
  request_id: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

const HASHED_FIELDS = [
  "id",
  "org_id",
  "seq",
  "at",
  "actor_type",
  "actor_id",
  "actor_role",
  "action",
  "resource_type",
  "resource_id",
  "campaign_id",
  "ip",
  "user_agent",
  "outcome",
  "request_id",
  "details",
  "prev_hash",
] as const satisfies readonly (keyof AuditRecord)[];

export const rowHash = (r: Omit<AuditRecord, "hash">) => sha256Hex(JSON.stringify(HASHED_FIELDS.map((f) => r[f] ?? null)));

/** The row that follows `head` in the chain. */
export async function nextAuditRow(head: { seq: number; hash: string } | null, actor: AuditActor, entry: AuditEntry, at: number, id = newId("aud")): Promise<AuditRecord> {
  const base: Omit<AuditRecord, "hash"> = {
    id,
    org_id: entry.orgId,
    seq: (head?.seq ?? 0) + 1,
    at,
    actor_type: actor.type,
    actor_id: actor.id,
    actor_role: actor.role,
    action: entry.action,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    campaign_id: entry.campaignId ?? null,
    ip: actor.ip,
    user_agent: actor.userAgent,
    outcome: entry.outcome,
    request_id: actor.requestId,
    details: entry.details ? JSON.stringify(entry.details) : null,
    prev_hash: head?.hash ?? GENESIS_HASH,
  };
  return { ...base, hash: await rowHash(base) };
}

export const insertAuditStatement = (db: D1Database, row: AuditRecord) =>
  db
    .prepare(
      `INSERT INTO audit_log (id, org_id, seq, at, actor_type, actor_id, actor_role, action, resource_type, resource_id, campaign_id, ip, user_agent, outcome, request_id, details, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(...HASHED_FIELDS.map((f) => row[f]), row.hash);

export async function insertAuditRow(db: D1Database, row: AuditRecord): Promise<void> {
  await insertAuditStatement(db, row).run();
}
