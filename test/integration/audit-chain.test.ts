import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { appendAudit, verifyAuditChain } from "../../src/worker/audit";
import { createOrg } from "../helpers/api";

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
});
