// Live watchers: a session's live socket and a campaign's, with their snapshot and the segment and
// status frames that follow as the participant answers; tenancy and upgrade checks.
import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { PROGRESS_WRITE_MS } from "../../src/objects/CampaignLive";
import { resolvePrincipal } from "../../src/worker/auth";
import { LIVE_RECHECK_AFTER_MS, openLive, pruneLiveWatchers } from "../../src/worker/live-access";
import type { AppEnv } from "../../src/worker/types";
import { newId, randomSecret, sha256Hex } from "../../src/shared/crypto";
import { BASE, call, createOrg } from "../helpers/api";
import { openSocket, TestSocket, upgrade } from "../helpers/socket";
import { answer, newSession, participant, startedSession, until } from "../helpers/session";

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const watchSession = (key: string, sessionId: string) => openSocket(`/v1/sessions/${sessionId}/live`, bearer(key));
const watchCampaign = (key: string, campaignId: string) => openSocket(`/v1/campaigns/${campaignId}/live`, bearer(key));

/** An API key of the given role in the org, written straight into the index (keys have no route yet). */
async function keyWithRole(orgId: string, role: string) {
  const key = randomSecret(192, "irk_");
  await env.DB.prepare("INSERT INTO api_keys (id, org_id, name, role, key_hash, last4, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
    .bind(newId("key"), orgId, `${role} key`, role, await sha256Hex(key), key.slice(-4), Date.now())
    .run();
  return key;
}

const framesOf = (ws: TestSocket, sessionId: string) => ws.frames.filter((f) => f.sessionId === sessionId);

describe("watching a session", () => {
  it("sends a snapshot, then a segment frame per transcript segment and a status frame per status change, in order", async () => {
    const s = await newSession();
    const watcher = await watchSession(s.key, s.sessionId);
    const snapshot = await watcher.next((f) => f.type === "snapshot", "snapshot");
    expect(watcher.frames[0]).toBe(snapshot);
    expect(snapshot).toMatchObject({ session: { id: s.sessionId, status: "created", totalQuestions: 3 }, segments: [] });

    const { ws } = await participant(s);
    ws.send({ type: "start" });
    await ws.next((f) => f.type === "question" && f.index === 0, "question 0");
    await answer(ws, "a1", "I love how quick it is.");
    await answer(ws, "a2", "The transcripts.");
    await answer(ws, "a3", "Nothing much.", "ended");
    await watcher.next((f) => f.type === "status" && f.status === "completed", "completed status frame");

    const transcript = await call("GET", `/v1/sessions/${s.sessionId}/transcript`, { key: s.key });
    const live = watcher.frames.slice(1);
    expect(live.every((f) => f.sessionId === s.sessionId)).toBe(true);
    // Every segment exactly once, in transcript order.
    expect(live.filter((f) => f.type === "segment").map((f) => f.segment)).toEqual(transcript.json.segments);
    // Status frames follow the session's life: it starts before the first question is asked, and ends last.
    const statuses = live.filter((f) => f.type === "status");
    expect(live[0]).toMatchObject({ type: "status", status: "in_progress", questionIndex: 0 });
    expect(live.at(-1)).toMatchObject({ type: "status", status: "completed", questionsAnswered: 3 });
    expect([...new Set(statuses.map((f) => f.status))]).toEqual(["in_progress", "completed"]);
    const answered = statuses.map((f) => f.questionsAnswered);
    expect(answered).toEqual([...answered].sort((a, b) => a - b));
    // Each answer's segment comes before the status frame that counts it.
    for (let n = 1; n <= 3; n++) {
      const seg = live.findIndex((f) => f.type === "segment" && f.segment.speaker === "participant" && f.segment.questionIndex === n - 1);
      const counted = live.findIndex((f) => f.type === "status" && f.questionsAnswered === n);
      expect(seg).toBeGreaterThanOrEqual(0);
      expect(seg).toBeLessThan(counted);
    }
    watcher.close();
  });

  it("starts a late watcher from a snapshot with the segments so far", async () => {
    const s = await startedSession();
    await answer(s.ws, "a1", "Planning research.");
    const watcher = await watchSession(s.key, s.sessionId);
    const snapshot = await watcher.next((f) => f.type === "snapshot", "snapshot");
    expect(snapshot.session).toMatchObject({ id: s.sessionId, status: "in_progress", questionsAnswered: 1 });
    expect(snapshot.segments.map((x: any) => `${x.speaker}:${x.questionIndex}`)).toEqual(["ai:0", "participant:0", "ai:1"]);

    const from = watcher.frames.length;
    s.ws.send({ type: "pause", reason: "a call" });
    expect(await watcher.next((f) => f.type === "status", "paused status", from)).toMatchObject({ status: "paused", sessionId: s.sessionId });
    s.ws.close();
    watcher.close();
  });

  it("refuses watchers of another org (404), plain requests (426), no key (401) and viewers (403)", async () => {
    const s = await newSession();
    const other = await createOrg();
    const foreign = await upgrade(`/v1/sessions/${s.sessionId}/live`, bearer(other.apiKey.key));
    expect(foreign.status).toBe(404);
    expect(foreign.webSocket).toBeNull();

    const plain = await call("GET", `/v1/sessions/${s.sessionId}/live`, { key: s.key });
    expect(plain.status).toBe(426);
    expect(plain.json.error.code).toBe("UPGRADE_REQUIRED");

    expect((await upgrade(`/v1/sessions/${s.sessionId}/live`)).status).toBe(401);
    const viewer = await keyWithRole(s.orgId, "viewer");
    expect((await upgrade(`/v1/sessions/${s.sessionId}/live`, bearer(viewer))).status).toBe(403);
    const analyst = await keyWithRole(s.orgId, "analyst");
    const allowed = await watchSession(analyst, s.sessionId);
    await allowed.next((f) => f.type === "snapshot", "snapshot for an analyst");
    allowed.close();
  });
});

describe("watching a campaign", () => {
  it("sends a snapshot of the active sessions, then frames from every session of the campaign", async () => {
    const first = await startedSession();
    const second = await newSession({ key: first.key, orgId: first.orgId });
    // A second session in the same campaign: reuse the first one's campaign through a new invite.
    const invite = await call("POST", `/v1/campaigns/${first.campaignId}/invites`, { key: first.key, body: {} });
    const joined = await call("POST", "/v1/join", { body: { token: invite.json.token } });
    const sibling = { sessionId: joined.json.sessionId as string, participantToken: joined.json.participantToken as string };

    const watcher = await watchCampaign(first.key, first.campaignId);
    const snapshot = await watcher.next((f) => f.type === "snapshot", "campaign snapshot");
    expect(watcher.frames[0]).toBe(snapshot);
    const listed = new Map(snapshot.sessions.map((v: any) => [v.id, v.status]));
    expect(listed.get(first.sessionId)).toBe("in_progress");
    expect(listed.get(sibling.sessionId)).toBe("created");
    expect(listed.has(second.sessionId)).toBe(false);

    await answer(first.ws, "a1", "Great support.");
    const p2 = await participant(sibling);
    p2.ws.send({ type: "start" });
    await p2.ws.next((f) => f.type === "question" && f.index === 0, "sibling question 0");
    await until(() => framesOf(watcher, sibling.sessionId).some((f) => f.type === "status" && f.status === "in_progress"), "the sibling's status frame");
    await until(() => framesOf(watcher, first.sessionId).some((f) => f.type === "segment" && f.segment.text === "Great support."), "the first session's answer");

    // Per session, the frames keep their order.
    const firstSegments = framesOf(watcher, first.sessionId).filter((f) => f.type === "segment").map((f) => f.segment.seq);
    expect(firstSegments).toEqual([...firstSegments].sort((a, b) => a - b));

    await call("POST", `/v1/sessions/${first.sessionId}/end`, { key: first.key });
    await watcher.next((f) => f.type === "status" && f.sessionId === first.sessionId && f.status === "completed", "first session completed");
    const late = await watchCampaign(first.key, first.campaignId);
    const lateSnapshot = await late.next((f) => f.type === "snapshot", "late snapshot");
    const ids = lateSnapshot.sessions.map((v: any) => v.id);
    expect(ids).toContain(sibling.sessionId);
    expect(ids).not.toContain(first.sessionId);
    for (const ws of [watcher, late, p2.ws]) ws.close();
  });

  it("tells campaign watchers at once when a session's data is deleted, so its participant leaves their screen", async () => {
    const s = await startedSession();
    const invite = await call("POST", `/v1/campaigns/${s.campaignId}/invites`, { key: s.key, body: {} });
    const sibling = (await call("POST", "/v1/join", { body: { token: invite.json.token } })).json.sessionId as string;
    const watcher = await watchCampaign(s.key, s.campaignId);
    const snapshot = await watcher.next((f) => f.type === "snapshot", "campaign snapshot");
    expect(snapshot.sessions.map((v: any) => v.id)).toContain(s.sessionId);

    const erased = await call("DELETE", `/v1/sessions/${s.sessionId}/data`, { key: s.key, headers: { "X-Confirm-Delete": "true" } });
    expect(erased.status).toBe(200);
    const removed = await watcher.next((f) => f.type === "session_removed" && f.sessionId === s.sessionId, "the session_removed frame", 0, 5000);
    expect(removed).toMatchObject({ type: "session_removed", sessionId: s.sessionId, reason: "data_deleted" });
    // Only that session: the watcher stays connected, and a new watcher's snapshot no longer lists it.
    expect(watcher.closed).toBeNull();
    expect(framesOf(watcher, sibling).some((f) => f.type === "session_removed")).toBe(false);
    const late = await watchCampaign(s.key, s.campaignId);
    const ids = (await late.next((f) => f.type === "snapshot", "late snapshot")).sessions.map((v: any) => v.id);
    expect(ids).toContain(sibling);
    expect(ids).not.toContain(s.sessionId);
    for (const ws of [watcher, late, s.ws]) ws.close();
  });

  it("a reassigned session leaves the old campaign's live view and joins the new one's", async () => {
    const s = await startedSession();
    const target = await call("POST", "/v1/campaigns", { key: s.key, body: { name: "Target", questions: [{ text: "T1?" }, { text: "T2?" }, { text: "T3?" }], settings: { consentRequired: false } } });
    const oldWatcher = await watchCampaign(s.key, s.campaignId);
    expect((await oldWatcher.next((f) => f.type === "snapshot", "old snapshot")).sessions.map((v: any) => v.id)).toContain(s.sessionId);
    const newWatcher = await watchCampaign(s.key, target.json.id);
    expect((await newWatcher.next((f) => f.type === "snapshot", "new snapshot")).sessions).toEqual([]);

    expect((await call("POST", `/v1/sessions/${s.sessionId}/reassign`, { key: s.key, body: { campaignId: target.json.id } })).status).toBe(200);
    expect(await oldWatcher.next((f) => f.type === "session_removed" && f.sessionId === s.sessionId, "removed from the old campaign", 0, 5000)).toMatchObject({ reason: "reassigned" });
    await newWatcher.next((f) => f.type === "status" && f.sessionId === s.sessionId && f.status === "in_progress", "listed in the new campaign", 0, 5000);
    // Watchers arriving later see it where it is now, and only there.
    const lateOld = await watchCampaign(s.key, s.campaignId);
    expect((await lateOld.next((f) => f.type === "snapshot", "late old snapshot")).sessions.map((v: any) => v.id)).not.toContain(s.sessionId);
    const lateNew = await watchCampaign(s.key, target.json.id);
    const listed = (await lateNew.next((f) => f.type === "snapshot", "late new snapshot")).sessions;
    expect(listed.map((v: any) => [v.id, v.campaignId])).toEqual([[s.sessionId, target.json.id]]);
    for (const ws of [oldWatcher, newWatcher, lateOld, lateNew, s.ws]) ws.close();
  });

  it("a watcher who arrives mid-session sees each session's progress, not the progress at its last status change", async () => {
    const s = await startedSession({ questions: Array.from({ length: 6 }, (_, i) => ({ text: `Question ${i + 1}?`, probe: "none" })) });
    const early = await watchCampaign(s.key, s.campaignId);
    await early.next((f) => f.type === "snapshot", "early snapshot");
    await answer(s.ws, "p1", "First answer, long enough to need no follow-up at all.");
    await answer(s.ws, "p2", "Second answer, long enough to need no follow-up at all.");
    const now = (await call("GET", `/v1/sessions/${s.sessionId}`, { key: s.key })).json;
    expect(now.questionsAnswered).toBe(2);
    await until(() => framesOf(early, s.sessionId).some((f) => f.type === "status" && f.questionsAnswered === 2), "the progress frame");

    // From the hub's memory...
    const late = await watchCampaign(s.key, s.campaignId);
    const view = (await late.next((f) => f.type === "snapshot", "late snapshot")).sessions.find((v: any) => v.id === s.sessionId);
    expect(view).toMatchObject({ status: "in_progress", questionsAnswered: 2, totalQuestions: 6 });
    // ...and from its storage once written, after the hub was evicted.
    for (const ws of [early, late]) ws.close();
    const hub = env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(s.campaignId));
    await until(() => runInDurableObject(hub, (i) => (i as unknown as { progress: Map<string, unknown> }).progress.size === 0), "the progress to be stored", PROGRESS_WRITE_MS + 3000);
    await evictDurableObject(hub);
    const afterEviction = await watchCampaign(s.key, s.campaignId);
    expect((await afterEviction.next((f) => f.type === "snapshot", "snapshot after eviction")).sessions.find((v: any) => v.id === s.sessionId)).toMatchObject({ questionsAnswered: 2 });
    for (const ws of [afterEviction, s.ws]) ws.close();
  });

  it("stores the progress of many sessions at once (a first watcher's call-backs), and keeps it in memory when storing fails", async () => {
    const hub = env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(`cmp_many_${Date.now()}`));
    const view = (i: number, questionsAnswered: number) => ({ id: `ses_many${String(i).padStart(4, "0")}`, status: "in_progress", questionsAnswered, totalQuestions: 10, participant: { name: "n".repeat(2000), email: null } }) as any;
    // More than one batch of views (each statement carries 200).
    const ids = Array.from({ length: 450 }, (_, i) => i);
    for (const i of ids) await hub.publishMany([], [view(i, 0)]);
    for (const i of ids) await hub.publishMany([], [], [view(i, 3)]);
    const held = () => runInDurableObject(hub, (i) => (i as unknown as { progress: Map<string, unknown> }).progress.size);
    const write = () => runInDurableObject(hub, (i) => (i as unknown as { writeProgress(): void }).writeProgress());
    const sql = (q: string) => runInDurableObject(hub, (_i, state) => state.storage.sql.exec<{ view: string }>(q).toArray());

    // A failed write (here: the table is gone for a moment) loses nothing: the views stay in memory.
    await sql("ALTER TABLE active RENAME TO active_away");
    await write();
    expect(await held()).toBe(450);
    await sql("ALTER TABLE active_away RENAME TO active");
    await write();
    const stored = (await sql("SELECT view FROM active")).map((r) => JSON.parse(r.view).questionsAnswered);
    expect(stored).toHaveLength(450);
    expect(new Set(stored)).toEqual(new Set([3]));
    expect(await held()).toBe(0);
  });

  it("the first watcher of an unwatched campaign gets each active session's current progress right after its snapshot", async () => {
    const s = await startedSession({ questions: Array.from({ length: 6 }, (_, i) => ({ text: `Question ${i + 1}?`, probe: "none" })) });
    const unwatched = () => runInDurableObject(s.stub, (i) => (i as unknown as { fanout: { unwatched: boolean } }).fanout.unwatched);
    await answer(s.ws, "u1", "First answer, long enough to need no follow-up at all.");
    await until(unwatched, "the session to learn that no one watches its campaign");
    await answer(s.ws, "u2", "Second answer, long enough to need no follow-up at all.");

    const watcher = await watchCampaign(s.key, s.campaignId);
    await watcher.next((f) => f.type === "snapshot", "campaign snapshot");
    const status = await watcher.next((f) => f.type === "status" && f.sessionId === s.sessionId, "the session's progress", 0, 5000);
    expect(status).toMatchObject({ status: "in_progress", questionsAnswered: 2, totalQuestions: 6 });
    for (const ws of [watcher, s.ws]) ws.close();
  });

  it("spares the hub the frames of a campaign nobody watches, and a watcher who arrives mid-session gets what follows", async () => {
    const s = await startedSession({ questions: Array.from({ length: 8 }, (_, i) => ({ text: `Question ${i + 1}?` })) });
    const sessionWatcher = await watchSession(s.key, s.sessionId);
    await sessionWatcher.next((f) => f.type === "snapshot", "session snapshot");
    // Whether the session stopped sending to its campaign's hub (it learns it from a publish's answer).
    const unwatched = () => runInDurableObject(s.stub, (i) => (i as unknown as { fanout: { unwatched: boolean } }).fanout.unwatched);
    await answer(s.ws, "a1", "Nobody is watching yet.");
    await until(unwatched, "the session to learn that no one watches its campaign");

    const watcher = await watchCampaign(s.key, s.campaignId);
    await watcher.next((f) => f.type === "snapshot", "campaign snapshot");
    // The hub called the session back: it sends again without waiting for a status change.
    await until(async () => !(await unwatched()), "the hub's notice to reach the session");
    await answer(s.ws, "a2", "Now someone is.");
    await watcher.next((f) => f.type === "segment" && f.segment.text === "Now someone is.", "the answer after the watcher arrived");
    expect(framesOf(watcher, s.sessionId).some((f) => f.type === "segment" && f.segment.text === "Nobody is watching yet.")).toBe(false);

    // The watcher leaves: the next publish finds no one, and the session stops sending again.
    watcher.close();
    await until(async () => {
      await answer(s.ws, `a${Date.now()}`, "Alone again.");
      return unwatched();
    }, "the session to learn that the watcher left", 10_000, 300);
    // The session's own watcher saw every answer throughout.
    const texts = framesOf(sessionWatcher, s.sessionId).filter((f) => f.type === "segment" && f.segment.speaker === "participant").map((f) => f.segment.text);
    expect(texts.slice(0, 3)).toEqual(["Nobody is watching yet.", "Now someone is.", "Alone again."]);
    sessionWatcher.close();
  });

  it("refuses watchers of another org (404) and plain requests (426)", async () => {
    const s = await newSession();
    const other = await createOrg();
    const foreign = await upgrade(`/v1/campaigns/${s.campaignId}/live`, bearer(other.apiKey.key));
    expect(foreign.status).toBe(404);
    expect(foreign.webSocket).toBeNull();
    const plain = await call("GET", `/v1/campaigns/${s.campaignId}/live`, { key: s.key });
    expect(plain.status).toBe(426);
  });
});

describe("live access ends when the access behind it does", () => {
  const password = "a long enough password";

  it("revoking a key closes its session and campaign sockets at once; other watchers stay", async () => {
    const s = await newSession();
    const created = await call("POST", "/v1/api-keys", { key: s.key, body: { name: "watch", role: "admin" } });
    const onSession = await watchSession(created.json.key, s.sessionId);
    const onCampaign = await watchCampaign(created.json.key, s.campaignId);
    const owner = await watchSession(s.key, s.sessionId);
    for (const w of [onSession, onCampaign, owner]) await w.next((f) => f.type === "snapshot", "snapshot");

    expect((await call("DELETE", `/v1/api-keys/${created.json.id}`, { key: s.key })).status).toBe(200);
    // Closed with the revocation: no frame of what follows reaches them.
    expect(await onSession.closedWithin(2000)).toMatchObject({ code: 4403 });
    expect(await onCampaign.closedWithin(2000)).toMatchObject({ code: 4403 });
    const { ws } = await participant(s);
    ws.send({ type: "start" });
    await ws.next((f) => f.type === "question" && f.index === 0, "question 0");
    await answer(ws, "a1", "Said after the key was revoked.");
    await owner.next((f) => f.type === "segment" && f.segment.text === "Said after the key was revoked.", "the owner still watches");
    for (const w of [onSession, onCampaign]) expect(JSON.stringify(w.frames)).not.toContain("after the key was revoked");
    // And reconnecting with the revoked key is refused.
    expect((await upgrade(`/v1/sessions/${s.sessionId}/live`, bearer(created.json.key))).status).toBe(401);
    owner.close();
  });

  it("a member's cookie sockets close when their role changes or they are removed", async () => {
    const s = await newSession();
    const email = `watcher-${crypto.randomUUID()}@example.com`;
    const member = await call("POST", "/v1/members", { key: s.key, body: { email, name: "Watcher", role: "analyst", password } });
    const signIn = async () => {
      const r = await call("POST", "/v1/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": "203.0.113.77" } });
      return { Cookie: r.headers.get("Set-Cookie")!.split(";")[0]!, Origin: new URL(BASE).origin };
    };
    const first = await openSocket(`/v1/sessions/${s.sessionId}/live`, await signIn());
    await first.next((f) => f.type === "snapshot", "snapshot");
    await call("PATCH", `/v1/members/${member.json.id}`, { key: s.key, body: { role: "viewer" } });
    expect(await first.closedWithin(2000)).toMatchObject({ code: 4403 });

    await call("PATCH", `/v1/members/${member.json.id}`, { key: s.key, body: { role: "analyst" } });
    const second = await openSocket(`/v1/campaigns/${s.campaignId}/live`, await signIn());
    await second.next((f) => f.type === "snapshot", "snapshot");
    await call("DELETE", `/v1/members/${member.json.id}`, { key: s.key });
    expect(await second.closedWithin(2000)).toMatchObject({ code: 4403 });
  });

  it("a key revoked while its socket is being accepted is caught by the object's check: the socket closes having received nothing", async () => {
    const s = await newSession();
    const created = await call("POST", "/v1/api-keys", { key: s.key, body: { name: "racing", role: "admin" } });
    // The revocation lands after the upgrade passed its credential check and before the object
    // accepted the socket: the registry lookup finds no socket yet.
    const real = env.SESSION.get(env.SESSION.idFromName(s.sessionId));
    const racing = {
      fetch: async (req: Request) => {
        expect((await call("DELETE", `/v1/api-keys/${created.json.id}`, { key: s.key })).status).toBe(200);
        return real.fetch(req);
      },
      dropWatchers: (id: string) => real.dropWatchers(id),
    };
    const namespace = { idFromName: (name: string) => env.SESSION.idFromName(name), get: () => racing };
    const app = new Hono<AppEnv>();
    app.get("/watch/:id", async (c) => {
      c.set("principal", (await resolvePrincipal(c))!);
      return openLive(c, "session", c.req.param("id"));
    });
    const racedEnv = new Proxy(env, { get: (t, p) => (p === "SESSION" ? namespace : Reflect.get(t, p)) });
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}/watch/${s.sessionId}`, { headers: { Upgrade: "websocket", ...bearer(created.json.key) } }), racedEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(101);
    const ws = new TestSocket(res.webSocket!);
    expect(await ws.closedWithin(2000)).toMatchObject({ code: 4403 });
    // The object checked the credential before sending anything: not even the snapshot got out.
    expect(ws.frames).toEqual([]);
  });

  it("the cron forgets registrations whose socket is gone and keeps those still open; revocation still reaches them", async () => {
    const s = await newSession();
    const staying = await call("POST", "/v1/api-keys", { key: s.key, body: { name: "staying", role: "admin" } });
    const leaving = await call("POST", "/v1/api-keys", { key: s.key, body: { name: "leaving", role: "admin" } });
    const open = await watchSession(staying.json.key, s.sessionId);
    const closed = await watchSession(leaving.json.key, s.sessionId);
    for (const w of [open, closed]) await w.next((f) => f.type === "snapshot", "snapshot");
    closed.close();
    await until(async () => (await env.SESSION.get(env.SESSION.idFromName(s.sessionId)).watching(leaving.json.id)) === 0, "the closed socket is gone");
    const registration = (id: string) => env.DB.prepare("SELECT connected_at FROM live_watchers WHERE principal_id = ?").bind(id).first<{ connected_at: number }>();
    // Both registrations are old enough to be confirmed.
    const old = Date.now() - LIVE_RECHECK_AFTER_MS - 60_000;
    await env.DB.prepare("UPDATE live_watchers SET connected_at = ? WHERE principal_id IN (?, ?)").bind(old, staying.json.id, leaving.json.id).run();
    const now = Date.now();
    expect(await pruneLiveWatchers(env, now)).toBeGreaterThanOrEqual(1);
    expect(await registration(leaving.json.id)).toBeNull();
    expect(await registration(staying.json.id)).toEqual({ connected_at: now });
    // A second run within the hour asks nobody again.
    expect(await pruneLiveWatchers(env, now + 1000)).toBe(0);
    expect(await registration(staying.json.id)).toEqual({ connected_at: now });
    // The socket that stayed is still registered: revoking its key closes it.
    expect((await call("DELETE", `/v1/api-keys/${staying.json.id}`, { key: s.key })).status).toBe(200);
    expect(await open.closedWithin(2000)).toMatchObject({ code: 4403 });
  });

  it("answers a watcher's frames other than ping with an error frame, and stays open", async () => {
    const s = await newSession();
    for (const w of [await watchSession(s.key, s.sessionId), await watchCampaign(s.key, s.campaignId)]) {
      await w.next((f) => f.type === "snapshot", "snapshot");
      for (const bad of ["not json", "[]", JSON.stringify({ type: "pause" }), JSON.stringify({ type: "answer", id: "x", text: "injected" })]) w.send(bad);
      w.ws.send(new Uint8Array([1, 2, 3]));
      await until(() => w.frames.filter((f) => f.type === "error").length === 5 || null, "five error frames");
      expect(w.frames.filter((f) => f.type === "error").map((f) => f.code)).toEqual(["INVALID_JSON", "INVALID_FRAME", "INVALID_FRAME", "INVALID_FRAME", "INVALID_FRAME"]);
      w.send({ type: "ping", at: 1 });
      await w.next((f) => f.type === "pong", "pong");
      expect(w.closed).toBeNull();
      w.close();
    }
    expect((await call("GET", `/v1/sessions/${s.sessionId}`, { key: s.key })).json).toMatchObject({ status: "created", questionsAnswered: 0 });
  });
});
