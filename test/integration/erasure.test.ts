// The right to erasure: a participant's canary strings leave no trace in D1, object storage or
// R2, other participants are untouched, and a restore-then-replay drill resurrects nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { sessionStub, until } from "../helpers/session";
import { openSocket } from "../helpers/socket";

const CANARY = "zebracanary";

async function interview(key: string, campaignId: string, email: string, words: string) {
  const invite = await createInvite(key, campaignId, { participant: { email, name: `Name ${words}`, attributes: { note: words } } });
  const j = (await join(invite.token)).json;
  const ws = await openSocket(`/v1/sessions/${j.sessionId}/connect?token=${j.participantToken}`);
  ws.send({ type: "hello" });
  ws.send({ type: "start" });
  for (let i = 0; i < 2; i++) {
    await ws.next((f) => f.type === "question" && f.index === i, `question ${i}`);
    ws.send({ type: "answer", id: `a${i}`, text: `The price of ${words} is too expensive, and support was slow.` });
  }
  await ws.next((f) => f.type === "ended", "ended");
  await call("POST", `/v1/sessions/${j.sessionId}/notes`, { key, body: { text: `note about ${words}` } });
  return j.sessionId as string;
}

async function hitsInD1(needle: string): Promise<string[]> {
  const tables = ["sessions", "invites", "notes", "answer_analysis", "campaign_theme_stats", "audit_log", "deletion_ledger"];
  const hits: string[] = [];
  for (const t of tables) {
    const rows = await env.DB.prepare(`SELECT * FROM ${t}`).all<Record<string, unknown>>();
    for (const r of rows.results) if (JSON.stringify(r).toLowerCase().includes(needle.toLowerCase())) hits.push(`${t}: ${JSON.stringify(r).slice(0, 120)}`);
  }
  return hits;
}

describe("erasure", () => {
  it("removes a participant everywhere, keeps others, and a restored backup is erased again by the ledger", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "Q1?" }, { text: "Q2?" }], settings: { consentRequired: false } });
    const email = `${CANARY}@example.com`;
    const mine = [await interview(key, campaign.id, email, CANARY), await interview(key, campaign.id, email, CANARY)];
    const other = await interview(key, campaign.id, "keeper@example.com", "keeperword");
    await until(
      async () => Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM answer_analysis WHERE campaign_id = ?").bind(campaign.id).first<{ n: number }>())!.n) === 6,
      "answers analysed",
      15_000,
    );
    expect((await hitsInD1(CANARY)).length).toBeGreaterThan(0);
    const backup = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(mine[0]).first<Record<string, unknown>>();

    const refused = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(email)}`, { key });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe("CONFIRMATION_REQUIRED");
    const receipt = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(email)}`, { key, headers: { "X-Confirm-Delete": "true" } });
    expect(receipt.status).toBe(200);
    expect(receipt.json.sessions.map((s: any) => s.sessionId).sort()).toEqual([...mine].sort());
    expect(receipt.json.sessions[0]).toMatchObject({ transcriptSegments: 4, notes: 1, analyses: 2, audioKeyDestroyed: true });
    expect(receipt.json.invitesCleared).toBe(2);

    expect(await hitsInD1(CANARY)).toEqual([]);
    for (const id of mine) {
      expect((await sessionStub(id).transcript()).ok).toBe(false);
      expect((await env.AUDIO_BUCKET.list({ prefix: `sessions/${id}/` })).objects).toEqual([]);
      expect((await call("GET", `/v1/sessions/${id}`, { key })).status).toBe(404);
    }
    expect((await call("GET", `/v1/sessions/${other}/transcript`, { key })).json.segments).toHaveLength(4);
    expect((await hitsInD1("keeperword")).length).toBeGreaterThan(0);

    // Restore drill: a backup brings the index row back; the ledger replay erases it again.
    const cols = Object.keys(backup!);
    await env.DB.prepare(`INSERT INTO sessions (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
      .bind(...cols.map((c) => backup![c]))
      .run();
    expect((await hitsInD1(CANARY)).length).toBeGreaterThan(0);
    const replay = await call("POST", "/v1/admin/deletions/replay", { key: "test-operator-token" });
    expect(replay.json.erased).toBe(1);
    expect(await hitsInD1(CANARY)).toEqual([]);
    expect((await call("POST", "/v1/admin/deletions/replay", { key: "test-operator-token" })).json.erased).toBe(0);
  }, 60_000);

  it("the ledger replay erases restored data again but keeps the person's newer interview (fresh consent), and audits what it erases", async () => {
    const { apiKey } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "Q1?" }, { text: "Q2?" }], settings: { consentRequired: false } });
    const email = `returning-${crypto.randomUUID()}@example.com`;
    const old = await interview(key, campaign.id, email, "oldwords");
    const backup = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(old).first<Record<string, unknown>>();
    const inviteBackup = await env.DB.prepare("SELECT * FROM invites WHERE session_id = ?").bind(old).first<Record<string, unknown>>();
    const erased = await call("DELETE", `/v1/participants/data?email=${encodeURIComponent(email)}`, { key, headers: { "X-Confirm-Delete": "true" } });
    expect(erased.status).toBe(200);

    // Later the same person takes part again, with fresh consent.
    const fresh = await interview(key, campaign.id, email, "newwords");
    // A restore brings back the old session's row and its invite's personal fields.
    const restore = async (table: string, row: Record<string, unknown>) => {
      const cols = Object.keys(row);
      await env.DB.prepare(`INSERT OR REPLACE INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
        .bind(...cols.map((c) => row[c]))
        .run();
    };
    await restore("sessions", backup!);
    await restore("invites", inviteBackup!);

    const replay = await call("POST", "/v1/admin/deletions/replay", { key: "test-operator-token" });
    expect(replay.json.erased).toBe(1);
    expect((await call("GET", `/v1/sessions/${old}`, { key })).status).toBe(404);
    expect((await env.DB.prepare("SELECT participant_email FROM invites WHERE id = ?").bind(inviteBackup!.id).first())!.participant_email).toBeNull();
    // The newer interview and its invite are untouched.
    expect((await call("GET", `/v1/sessions/${fresh}`, { key })).status).toBe(200);
    expect((await call("GET", `/v1/sessions/${fresh}/transcript`, { key })).json.segments).toHaveLength(4);
    expect((await env.DB.prepare("SELECT participant_email FROM invites WHERE session_id = ?").bind(fresh).first())!.participant_email).toBe(email);
    // What the replay erased is in the org's audit log (no personal data).
    const audit = await until(
      async () => {
        const r = await call("GET", `/v1/audit-log?action=deletion.replay`, { key });
        return r.json.data.length >= 2 ? r.json.data : null;
      },
      "the replay's audit rows",
      10_000,
    );
    expect(audit.map((a: any) => [a.resource.type, a.resource.id]).sort()).toEqual([["invite", inviteBackup!.id], ["session", old]].sort());
    expect(audit[0]).toMatchObject({ actor: { type: "system", id: "deletion-replay" }, outcome: "allow" });
    expect(JSON.stringify(audit)).not.toContain(email);
    // A second replay finds nothing, and still keeps the new interview.
    expect((await call("POST", "/v1/admin/deletions/replay", { key: "test-operator-token" })).json.erased).toBe(0);
    expect((await call("GET", `/v1/sessions/${fresh}`, { key })).status).toBe(200);
  }, 60_000);
});
