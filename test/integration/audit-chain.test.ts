import { createMessageBatch, getQueueResult, createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appendAudit, verifyAuditChain } from "../../src/worker/audit";
import worker from "../../src/worker/index";
import { call, createOrg } from "../helpers/api";

afterEach(() => vi.restoreAllMocks());

const actor = { type: "api_key", id: "key_test", role: "owner", ip: "203.0.113.9", userAgent: "vitest", requestId: "req-1" };

describe("the audit log", () => {
  it("refuses updates and deletes at the database", async () => {
    const { org } = await createOrg();
    await appendAudit(env, actor, { orgId: org.id, action: "campaign.write", outcome: "allow", resourceType: "campaign", resourceId: "cmp_x" });
    await expect(env.DB.prepare("UPDATE audit_log SET outcome = 'deny' WHERE org_id = ?").bind(org.id).run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM audit_log WHERE org_id = ?").bind(org.id).run()).rejects.toThrow(/append-only/);
  });

  it("chains rows per org, survives concurrent appends, and reports the first tampered row", async () => {
    const { org } = await createOrg();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendAudit(env, actor, { orgId: org.id, action: "transcript.read", outcome: "allow", resourceType: "session", resourceId: `ses_${i}aaaaaaaa` })),
    );
    const ok = await verifyAuditChain(env.DB, org.id);
    expect(ok).toEqual({ ok: true, rows: 13 }); // 12 reads + the org creation
    // An attacker with database access drops the guard and rewrites history.
    await env.DB.prepare("DROP TRIGGER audit_log_no_update").run();
    try {
      await env.DB.prepare("UPDATE audit_log SET actor_id = 'someone_else' WHERE org_id = ? AND seq = 5").bind(org.id).run();
      const report = await verifyAuditChain(env.DB, org.id);
      expect(report).toMatchObject({ ok: false, brokenAt: { seq: 5, reason: "row content was changed" } });
    } finally {
      await env.DB.prepare("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END").run();
    }
  });

  it("takes requests' entries through the audit queue: a redelivered batch appends nothing twice, poison is dead-lettered", async () => {
    const { org } = await createOrg();
    const entry = (i: number) => ({ id: `aud_queued${i}`, at: Date.now() + i, actor, entry: { orgId: org.id, action: "transcript.read", outcome: "allow", resourceType: "session", resourceId: `ses_q${i}` } });
    const deliver = async (bodies: unknown[]) => {
      const batch = createMessageBatch("interviewrelay-audit", bodies.map((body, i) => ({ id: `m${i}`, body, attempts: 1, timestamp: new Date() })));
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      return getQueueResult(batch, ctx);
    };
    const dlq = vi.spyOn(env.AI_DLQ, "send").mockResolvedValue(undefined as never);
    const first = await deliver([entry(1), entry(2), { not: "an audit entry" }]);
    expect(first.explicitAcks.sort()).toEqual(["m0", "m1", "m2"]);
    expect(dlq).toHaveBeenCalledTimes(1);
    const again = await deliver([entry(1), entry(2), entry(3)]);
    expect(again.explicitAcks.sort()).toEqual(["m0", "m1", "m2"]);
    const rows = await env.DB.prepare("SELECT id, resource_id FROM audit_log WHERE org_id = ? AND action = 'transcript.read' ORDER BY seq").bind(org.id).all();
    expect(rows.results).toEqual([1, 2, 3].map((i) => ({ id: `aud_queued${i}`, resource_id: `ses_q${i}` })));
    expect(await verifyAuditChain(env.DB, org.id)).toEqual({ ok: true, rows: 4 });
  });

  it("appends an entry directly when the audit queue refuses it, so no access goes unrecorded", async () => {
    const { org, apiKey } = await createOrg();
    vi.spyOn(env.AUDIT_QUEUE, "send").mockRejectedValue(new Error("queue unavailable"));
    const created = await call("POST", "/v1/campaigns", { key: apiKey.key, body: { name: "Audited", questions: [{ text: "Why?" }] } });
    expect(created.status).toBe(201);
    await expect
      .poll(async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE org_id = ? AND action = 'campaign.write'").bind(org.id).first<{ n: number }>())!.n, { timeout: 5000 })
      .toBe(1);
  });
});
