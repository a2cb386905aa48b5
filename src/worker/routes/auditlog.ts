// Reading the audit log and verifying its hash chain (owners and admins).
import { Hono } from "hono";
import { z } from "zod";
import { ordered } from "../../shared/ordered";
import type { AuditRecord } from "../../db/audit-chain";
import { decodeCursor, encodeCursor, listScope } from "../../db/cursor";
import { verifyAuditChain } from "../audit";
import { op, queryOf } from "../openapi";
import { listQuery } from "../schemas";
import type { AppEnv } from "../types";
import { badCursor } from "./campaigns";

export const auditRoutes = new Hono<AppEnv>();

const AuditFilters = z.strictObject({
  ...listQuery,
  resourceId: z.string().max(100).optional(),
  actorId: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  outcome: z.enum(["allow", "deny"]).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
}).superRefine(ordered([["from", "to"]]));

const AuditEvent = z.object({
  id: z.string(),
  seq: z.number().int(),
  at: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable(), role: z.string().nullable() }),
  action: z.string(),
  resource: z.object({ type: z.string(), id: z.string().nullable() }),
  campaignId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  outcome: z.enum(["allow", "deny"]),
  requestId: z.string().nullable(),
});

const Details = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

const eventJson = (r: AuditRecord) => ({
  id: r.id,
  seq: r.seq,
  at: new Date(r.at).toISOString(),
  actor: { type: r.actor_type, id: r.actor_id, role: r.actor_role },
  action: r.action,
  resource: { type: r.resource_type, id: r.resource_id },
  campaignId: r.campaign_id,
  ip: r.ip,
  userAgent: r.user_agent,
  outcome: r.outcome,
  requestId: r.request_id,
  ...(r.details ? { details: Details.parse(JSON.parse(r.details)) } : {}),
});

auditRoutes.get(
  "/audit-log",
  op({
    summary: "The org's audit log, newest first, filtered by resource, actor, action, outcome and time",
    tags: ["audit"],
    auth: "key",
    resource: "audit_log",
    action: "audit.read",
    responses: { 200: { description: "a page of events", schema: z.object({ data: z.array(AuditEvent), nextCursor: z.string().nullable() }) } },
  }),
  queryOf(AuditFilters),
  async (c) => {
    const q = c.req.valid("query");
    const where = ["org_id = ?"];
    const binds: unknown[] = [c.get("principal")!.orgId];
    const add = (sql: string, v: unknown) => (where.push(sql), binds.push(v));
    if (q.resourceId) add("resource_id = ?", q.resourceId);
    if (q.actorId) add("actor_id = ?", q.actorId);
    if (q.action) add("action = ?", q.action);
    if (q.outcome) add("outcome = ?", q.outcome);
    if (q.from) add("at >= ?", Date.parse(q.from));
    if (q.to) add("at <= ?", Date.parse(q.to));
    const scope = listScope("audit_log", where.join(" AND "), binds);
    if (q.cursor) add("seq < ?", (decodeCursor(q.cursor, scope) ?? badCursor()).sortKey);
    const rows = await c.env.DB.prepare(`SELECT * FROM audit_log WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`)
      .bind(...binds, q.limit + 1)
      .all<AuditRecord>();
    const items = rows.results.slice(0, q.limit);
    const last = items[items.length - 1];
    return c.json({ data: items.map(eventJson), nextCursor: rows.results.length > q.limit && last ? encodeCursor(last.seq, last.id, scope) : null });
  },
);

auditRoutes.get(
  "/audit-log/verify",
  op({
    summary: "Verify the org's audit chain; reports the first broken link",
    tags: ["audit"],
    auth: "key",
    resource: "audit_log",
    action: "audit.read",
    responses: {
      200: {
        description: "the verification report",
        schema: z.object({ ok: z.boolean(), rows: z.number().int(), brokenAt: z.object({ seq: z.number().int(), id: z.string().nullable(), reason: z.string() }).optional() }),
      },
    },
  }),
  async (c) => c.json(await verifyAuditChain(c.env.DB, c.get("principal")!.orgId)),
);
