// The audit trail of privacy-relevant reads: a participant's data export names the subject (by
// its keyed hash, never the email) and the sessions disclosed; reading a bulk export's status is
// a read, not a new export; a try to download a withdrawn export is recorded as a denial.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { subjectHash } from "../../src/worker/erasure";
import { auditRows, call, createCampaign, createdSession, createOrg, waitFor } from "../helpers/fixtures";

/** The org's audit rows of `action` once at least `n` are there (appends go through a queue). */
const rowsOf = (orgId: string, action: string, n: number) =>
  waitFor(() => auditRows("org_id = ? AND action = ?", orgId, action), (r) => r.length >= n, `${n} ${action} audit rows`, 10_000);

describe("audit of privacy reads", () => {
  it("a participant's data export (JSON and ZIP) records the subject's hash and the sessions disclosed, not the email", async () => {
    const { apiKey, org } = await createOrg();
    const campaign = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const email = `audited-${crypto.randomUUID()}@example.com`;
    const mine = [(await createdSession(apiKey.key, campaign.id, { email })).sessionId, (await createdSession(apiKey.key, campaign.id, { email })).sessionId];
    await createdSession(apiKey.key, campaign.id, { email: "someone.else@example.com" });
    await waitFor(
      async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE participant_email = ?").bind(email).first<{ n: number }>())!.n,
      (n) => n === 2,
      "both sessions indexed",
    );
    const json = await call("GET", `/v1/participants/data?email=${encodeURIComponent(email.toUpperCase())}`, { key: apiKey.key });
    expect(json.status).toBe(200);
    expect(json.json.sessions).toHaveLength(2);
    const zip = await call("GET", `/v1/participants/data?email=${encodeURIComponent(email)}&format=zip`, { key: apiKey.key });
    expect(zip.status).toBe(200);

    const rows = await rowsOf(org.id, "gdpr.manage", 2);
    const subject = await subjectHash(env, email);
    const detailsOf = (r: Record<string, unknown>) => JSON.parse(String(r.details ?? "{}"));
    for (const format of ["json", "zip"]) {
      const r = rows.find((x) => detailsOf(x).format === format)!;
      expect(r).toMatchObject({ outcome: "allow", resource_type: "participant", resource_id: subject });
      const details = JSON.parse(String(r.details));
      expect(details).toMatchObject({ format, sessions: 2 });
      expect(String(details.sessionIds).split(",").sort()).toEqual([...mine].sort());
    }
    expect(JSON.stringify(rows).toLowerCase()).not.toContain(email.toLowerCase());
    // The same subject as the erasure's receipt (and its audit row) names: the trail can be followed.
    const erased = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(email)}`, { key: apiKey.key, headers: { "X-Confirm-Delete": "true" } });
    expect(erased.json.subject).toBe(subject);
    const erasure = (await rowsOf(org.id, "gdpr.manage", 3)).find((x) => detailsOf(x).scope === "participant")!;
    expect(erasure).toMatchObject({ resource_id: subject });
    expect(String(detailsOf(erasure).sessionIds).split(",").sort()).toEqual([...mine].sort());
  }, 60_000);

  it("reading an export's status is export.read; downloading a withdrawn export is a recorded denial", async () => {
    const { apiKey, org } = await createOrg();
    const campaign = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const { sessionId } = await createdSession(apiKey.key, campaign.id, { email: "withdrawn@example.com" });
    const r = await call("POST", `/v1/campaigns/${campaign.id}/exports`, { key: apiKey.key, body: { format: "json", sessionIds: [sessionId] } });
    expect(r.status, r.text).toBe(202);
    const ready = await waitFor(async () => (await call("GET", `/v1/exports/${r.json.id}`, { key: apiKey.key })).json, (j) => j?.status === "ready", "export ready", 30_000);
    const reads = await rowsOf(org.id, "export.read", 1);
    expect(reads[0]).toMatchObject({ outcome: "allow", resource_type: "export", resource_id: ready.id });
    // Only the request made an export.create row; the status reads did not.
    expect(await auditRows("org_id = ? AND action = 'export.create'", org.id)).toHaveLength(1);

    await call("DELETE", `/v1/sessions/${sessionId}/data`, { key: apiKey.key, headers: { "X-Confirm-Delete": "true" } });
    const url = ready.downloadUrl as string;
    const gone = await call("GET", url.slice(url.indexOf("/v1/")));
    expect(gone.status).toBe(410);
    expect(gone.json.error.code).toBe("EXPORT_GONE");
    const denied = await waitFor(
      () => auditRows("org_id = ? AND action = 'export.download' AND outcome = 'deny'", org.id),
      (rows) => rows.length >= 1,
      "the denied download's audit row",
      10_000,
    );
    expect(denied[0]).toMatchObject({ actor_type: "signed_link", resource_type: "export", resource_id: ready.id });
    expect(JSON.parse(String(denied[0]!.details))).toEqual({ reason: "export_withdrawn" });
  }, 60_000);
});
