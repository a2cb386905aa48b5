// Appends audit rows: who did what to which resource, from where, and whether it was allowed.
// Rows never carry secrets or interview content.
import type { Context } from "hono";
import { newId } from "../shared/crypto";
import type { AppEnv } from "./types";

export interface AuditEntry {
  orgId: string;
  action: string;
  outcome: "allow" | "deny";
  resourceType: string;
  resourceId: string | null;
  campaignId?: string | null;
  details?: Record<string, unknown>;
}

export function auditFromContext(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  const p = c.get("principal");
  const write = c.env.DB.prepare(
    `INSERT INTO audit_log (id, org_id, at, actor_type, actor_id, actor_role, action, resource_type, resource_id, campaign_id, ip, user_agent, outcome, request_id, details)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      newId("aud"),
      entry.orgId,
      Date.now(),
      p?.type ?? "anonymous",
      p?.id ?? null,
      p && "role" in p ? p.role : null,
      entry.action,
      entry.resourceType,
      entry.resourceId,
      entry.campaignId ?? null,
      c.req.header("CF-Connecting-IP") ?? null,
      c.req.header("User-Agent")?.slice(0, 300) ?? null,
      entry.outcome,
      c.get("requestId"),
      entry.details ? JSON.stringify(entry.details) : null,
    )
    .run()
    .then(() => undefined);
  return write;
}
