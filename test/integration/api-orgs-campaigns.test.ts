// Contract tests for orgs, campaigns and invites: shapes, defaults, strictness, pagination,
// script versions, and the invite lifecycle (expired, used up, unknown, resumed).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { limitsFrom } from "../../src/env";
import type { InterviewSession } from "../../src/objects/InterviewSession";
import { sameIndexRow } from "../../src/objects/mirror";
import { mirrorRow } from "../../src/objects/view";
import { internals, sessionStub } from "../helpers/session";
import { describe, expect, it } from "vitest";
import { randomSecret } from "../../src/shared/crypto";
import { unique } from "../helpers/api";
import { allPages, answer, begin, call, connect, createCampaign, createInvite, createOrg, errorCode, join, tableCounts } from "../helpers/fixtures";

const OPERATOR = "test-operator-token";
const orgBody = (over: Record<string, unknown> = {}) => ({
  name: unique("Acme"),
  plan: "starter",
  owner: { email: `${unique("o")}@example.com`, name: "Olive Owner", password: "a long enough password" },
  ...over,
});

describe("POST /v1/orgs", () => {
  it("requires the operator token", async () => {
    const before = await tableCounts();
    for (const key of [undefined, "wrong-token", "test-operator-token-x", "irk_notakey"]) {
      const r = await call("POST", "/v1/orgs", { key, body: orgBody() });
      expect(r.status, `token ${key}`).toBe(401);
      expect(errorCode(r)).toBe("UNAUTHENTICATED");
    }
    const basic = await call("POST", "/v1/orgs", { headers: { Authorization: `Basic ${btoa("x:y")}` }, body: orgBody() });
    expect(basic.status).toBe(401);
    const ownerKey = (await createOrg()).apiKey.key;
    const withKey = await call("POST", "/v1/orgs", { key: ownerKey, body: orgBody() });
    expect(withKey.status).toBe(401);
    expect((await tableCounts()).orgs).toBe(before.orgs! + 1); // only createOrg's
  });

  it("creates the org, its owner and a hashed owner key that works as Bearer", async () => {
    const body = orgBody({ plan: "enterprise" });
    const r = await call("POST", "/v1/orgs", { key: OPERATOR, body });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({
      org: { id: expect.stringMatching(/^org_[a-z0-9]{8,}$/), name: body.name, plan: "enterprise" },
      owner: { id: expect.stringMatching(/^usr_[a-z0-9]{8,}$/), email: body.owner.email, role: "owner" },
      apiKey: { id: expect.stringMatching(/^key_[a-z0-9]{8,}$/), key: expect.stringMatching(/^irk_[A-Za-z0-9_-]{22,}$/), role: "owner" },
    });
    expect(r.text).not.toContain(body.owner.password);

    const list = await call("GET", "/v1/campaigns", { key: r.json.apiKey.key });
    expect(list.status).toBe(200);
    expect(list.json).toEqual({ data: [], nextCursor: null });

    const keys = await env.DB.prepare("SELECT * FROM api_keys").all<Record<string, unknown>>();
    for (const row of keys.results) expect(JSON.stringify(row)).not.toContain(r.json.apiKey.key);
    const mine = keys.results.find((k) => k.id === r.json.apiKey.id)!;
    expect(mine.key_hash).toMatch(/^[0-9a-f]{64}$/);
    const member = await env.DB.prepare("SELECT * FROM members WHERE id = ?").bind(r.json.owner.id).first<Record<string, unknown>>();
    expect(JSON.stringify(member)).not.toContain(body.owner.password);
  });

  it("validates the body and names the failing fields", async () => {
    const before = await tableCounts();
    const cases: [unknown, string[]][] = [
      [{}, ["name", "plan", "owner"]],
      [orgBody({ plan: "gold" }), ["plan"]],
      [orgBody({ name: "" }), ["name"]],
      [orgBody({ name: 42 }), ["name"]],
      [orgBody({ owner: { email: "not-an-email", name: "X", password: "a long enough password" } }), ["owner.email"]],
      [orgBody({ owner: { email: "x@example.com", name: "X", password: "short" } }), ["owner.password"]],
      [orgBody({ owner: { email: "x@example.com", name: "X" } }), ["owner.password"]],
      [orgBody({ id: "org_aaaaaaaaaaaaaaaa" }), [""]],
      [orgBody({ owner: { email: "x@example.com", name: "X", password: "a long enough password", role: "admin" } }), ["owner"]],
      [[], ["body"]],
      [null, ["body"]],
    ];
    for (const [body, paths] of cases) {
      const r = await call("POST", "/v1/orgs", { key: OPERATOR, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(r)).toBe("VALIDATION_FAILED");
      const got = (r.json.error.details.fields as { path: string }[]).map((f) => f.path);
      for (const p of paths) if (p) expect(got.some((g) => g === p || g.startsWith(`${p}.`) || p === "body"), `${JSON.stringify(body)} → ${got}`).toBe(true);
    }
    // Strictness: the unknown field is named in the message.
    const extra = await call("POST", "/v1/orgs", { key: OPERATOR, body: orgBody({ retentionDays: 5 }) });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain("retentionDays");
    expect(await tableCounts()).toEqual(before);
  });

  it("refuses a second org with the same owner email (case-insensitive) with 409", async () => {
    const email = `${unique("dup")}@example.com`;
    const first = await call("POST", "/v1/orgs", { key: OPERATOR, body: orgBody({ owner: { email, name: "A", password: "a long enough password" } }) });
    expect(first.status).toBe(201);
    const before = await tableCounts();
    const second = await call("POST", "/v1/orgs", { key: OPERATOR, body: orgBody({ owner: { email: email.toUpperCase(), name: "B", password: "a long enough password" } }) });
    expect(second.status).toBe(409);
    expect(errorCode(second)).toBe("EMAIL_TAKEN");
    expect(await tableCounts()).toEqual(before);
  });
});

describe("campaigns", () => {
  it("creates with defaults and returns id, scriptVersion and totalQuestions", async () => {
    const { apiKey } = await createOrg();
    const r = await call("POST", "/v1/campaigns", { key: apiKey.key, body: { name: "Defaults", questions: [{ text: "One?" }, { text: "Two?", probe: "deep" }] } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      id: expect.stringMatching(/^cmp_[a-z0-9]{8,}$/),
      name: "Defaults",
      scriptVersion: 1,
      totalQuestions: 2,
      questions: [
        { text: "One?", probe: "none" },
        { text: "Two?", probe: "deep" },
      ],
      settings: { consentRequired: true, mode: "text", recordAudio: true },
    });
    const got = await call("GET", `/v1/campaigns/${r.json.id}`, { key: apiKey.key });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(r.json);
  });

  it("rejects unknown and server-owned fields, at the top level and in settings, creating nothing", async () => {
    const { apiKey } = await createOrg();
    const base = { name: "Strict", questions: [{ text: "Q?" }] };
    const before = await tableCounts();
    const bodies = [
      { ...base, id: "cmp_aaaaaaaaaaaaaaaa" },
      { ...base, scriptVersion: 7 },
      { ...base, orgId: "org_aaaaaaaaaaaaaaaa" },
      { ...base, totalQuestions: 9 },
      { ...base, createdAt: new Date().toISOString() },
      { ...base, settings: { orgId: "org_aaaaaaaaaaaaaaaa" } },
      { ...base, settings: { scriptVersion: 2 } },
      { ...base, settings: { mode: "video" } },
      { ...base, questions: [{ text: "Q?", probe: "extreme" }] },
      { ...base, questions: [{ text: "Q?", id: 1 }] },
      { ...base, questions: [] },
      { ...base, questions: [{ text: "   " }] },
      { ...base, settings: { consentRequired: "yes" } },
      { ...base, settings: { language: "english please" } },
    ];
    for (const body of bodies) {
      const r = await call("POST", "/v1/campaigns", { key: apiKey.key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(r)).toBe("VALIDATION_FAILED");
      expect(r.json.error.details.fields.length).toBeGreaterThan(0);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("lists newest first with limit/cursor pagination and refuses bad limits and cursors", async () => {
    const { apiKey } = await createOrg();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createCampaign(apiKey.key, { name: `C${i}` })).id);
    const all = await call("GET", "/v1/campaigns", { key: apiKey.key });
    expect(all.json.data.map((c: { id: string }) => c.id)).toEqual([...created].reverse());
    expect(all.json.nextCursor).toBeNull();
    for (const limit of [1, 2, 5, 100]) {
      const ids = await allPages("/v1/campaigns", apiKey.key, limit);
      expect(ids, `limit ${limit}`).toEqual([...created].reverse());
    }
    const first = await call("GET", "/v1/campaigns?limit=2", { key: apiKey.key });
    expect(first.json.data).toHaveLength(2);
    expect(typeof first.json.nextCursor).toBe("string");
    const exact = await call("GET", "/v1/campaigns?limit=5", { key: apiKey.key });
    expect(exact.json.nextCursor).toBeNull();

    for (const q of ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5", "limit=", "cursor=not-a-cursor", "cursor=%00%01", `cursor=${"A".repeat(600)}`, "limit=1&limit=2", "bogus=1"]) {
      const r = await call("GET", `/v1/campaigns?${q}`, { key: apiKey.key });
      expect(r.status, q).toBe(400);
      expect(errorCode(r)).toBe("VALIDATION_FAILED");
    }
  });

  it("PATCH: new questions bump the script version, the same questions keep it, an empty PATCH is 400", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key, { questions: [{ text: "Old one?" }, { text: "Old two?" }], settings: { consentRequired: false } });
    const same = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { questions: [{ text: "Old one?" }, { text: "Old two?", probe: "none" }] } });
    expect(same.status).toBe(200);
    expect(same.json.scriptVersion).toBe(1);
    const renamed = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { name: "Renamed" } });
    expect(renamed.json).toMatchObject({ name: "Renamed", scriptVersion: 1 });
    // Optional settings are set, kept when not named, and cleared with null.
    const set = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { settings: { language: "fr", consentText: "Nous enregistrons." } } });
    expect(set.json.settings).toMatchObject({ language: "fr", consentText: "Nous enregistrons.", consentRequired: false });
    const cleared = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { settings: { language: null, consentText: null } } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.settings).not.toHaveProperty("language");
    expect(cleared.json.settings).not.toHaveProperty("consentText");
    expect((await call("GET", `/v1/campaigns/${c.id}`, { key: apiKey.key })).json.settings).toEqual(cleared.json.settings);
    expect((await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { settings: { mode: null } } })).status).toBe(400);

    const empty = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: {} });
    expect(empty.status).toBe(400);
    expect(errorCode(empty)).toBe("VALIDATION_FAILED");
    for (const body of [{ scriptVersion: 5 }, { id: "cmp_aaaaaaaaaaaaaaaa" }, { questions: [] }, { settings: { orgId: "x" } }]) {
      const r = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }

    // A session opened before the edit keeps the old script.
    const before = await connect((await createInvite(apiKey.key, c.id)).token);
    const edited = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { questions: [{ text: "New one?" }, { text: "New two?" }, { text: "New three?" }] } });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ scriptVersion: 2, totalQuestions: 3, name: "Renamed" });
    expect((await call("GET", `/v1/campaigns/${c.id}`, { key: apiKey.key })).json.scriptVersion).toBe(2);

    const q0 = await begin(before);
    expect(q0.text).toBe("Old one?");
    const q1 = await answer(before, "a1", "An answer to the old first question.");
    expect(q1).toMatchObject({ type: "question", index: 1, text: "Old two?" });
    const end = await answer(before, "a2", "An answer to the old second question.");
    expect(end).toMatchObject({ type: "ended", status: "completed" });
    const s = await call("GET", `/v1/sessions/${before.sessionId}`, { key: apiKey.key });
    expect(s.json).toMatchObject({ totalQuestions: 2, questionsAnswered: 2, completion: 100 });

    // A session opened after the edit gets the new one.
    const after = await connect((await createInvite(apiKey.key, c.id)).token);
    expect((await begin(after)).text).toBe("New one?");
    after.ws.close();
  });

  it("concurrent PATCHes never lose an edit they answered 200 to", async () => {
    const { apiKey } = await createOrg();
    for (let round = 0; round < 5; round++) {
      const c = await createCampaign(apiKey.key);
      const questions = [{ text: `Round ${round} question?`, probe: "none" }];
      const [q, n, q2] = await Promise.all([
        call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { questions } }),
        call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { name: `Name ${round}` } }),
        call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { questions: [{ text: "Other?" }] } }),
      ]);
      for (const r of [q, n, q2]) expect([200, 409], r.text).toContain(r.status);
      const final = (await call("GET", `/v1/campaigns/${c.id}`, { key: apiKey.key })).json;
      if (n.status === 200) expect(final.name, `round ${round}`).toBe(`Name ${round}`);
      // Losers of the race get 409 and change nothing (all of them may lose to the rename).
      const winners = [q, q2].filter((r) => r.status === 200);
      const last = winners.reduce<(typeof winners)[number] | null>((a, b) => (a && a.json.scriptVersion > b.json.scriptVersion ? a : b), null);
      if (last) expect(final.questions).toEqual(last.json.questions);
      expect(final.scriptVersion).toBe(1 + winners.length);
      expect([q, n, q2].some((r) => r.status === 200)).toBe(true);
      // A lost race leaves no stray script version behind: the next edit still gets the next one.
      const after = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { questions: [{ text: "After the race?" }] } });
      expect(after.status, after.text).toBe(200);
      expect(after.json.scriptVersion).toBe(final.scriptVersion + 1);
    }
  });

  it("PATCH settings changes only the settings named", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key, { settings: { consentRequired: false, recordAudio: false, mode: "text", language: "de" } });
    const r = await call("PATCH", `/v1/campaigns/${c.id}`, { key: apiKey.key, body: { settings: { mode: "voice" } } });
    expect(r.status).toBe(200);
    expect(r.json.settings).toEqual({ consentRequired: false, recordAudio: false, mode: "voice", language: "de", browserTranscription: false });
    expect(r.json.scriptVersion).toBe(1);
  });
});

describe("invites", () => {
  it("creates an unguessable token stored only as a hash; the list never shows it", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const r = await call("POST", `/v1/campaigns/${c.id}/invites`, { key: apiKey.key, body: { participant: { email: "Pat@Example.com", name: "Pat", attributes: { plan: "pro", seats: 3 } } } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id: expect.stringMatching(/^inv_[a-z0-9]{8,}$/), token: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/), expiresAt: expect.any(String) });
    expect(r.json.url.endsWith(`/i/${r.json.token}`)).toBe(true);
    expect(Date.parse(r.json.expiresAt)).toBeGreaterThan(Date.now());
    expect(r.json.participant).toEqual({ email: "pat@example.com", name: "Pat", attributes: { plan: "pro", seats: 3 } });

    const rows = await env.DB.prepare("SELECT * FROM invites").all();
    for (const row of rows.results) expect(JSON.stringify(row)).not.toContain(r.json.token);

    const list = await call("GET", `/v1/campaigns/${c.id}/invites`, { key: apiKey.key });
    expect(list.status).toBe(200);
    expect(list.json.data.map((i: { id: string }) => i.id)).toEqual([r.json.id]);
    expect(list.text).not.toContain(r.json.token);
    expect(list.json.data[0].token).toBeUndefined();
    expect(list.json.nextCursor).toBeNull();

    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) tokens.add((await createInvite(apiKey.key, c.id)).token);
    expect(tokens.size).toBe(5);
    expect(await allPages(`/v1/campaigns/${c.id}/invites`, apiKey.key, 2)).toHaveLength(6);
  });

  it("rejects bad invite bodies", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const before = await tableCounts();
    for (const body of [
      { expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { expiresAt: "tomorrow" },
      { maxUses: 0 },
      { maxUses: "1" },
      { maxUses: 1.5 },
      { participant: { email: "nope" } },
      { participant: { phone: "123" } },
      { participant: { attributes: { nested: { a: 1 } } } },
      { token: "chosen-by-client" },
    ]) {
      const r = await call("POST", `/v1/campaigns/${c.id}/invites`, { key: apiKey.key, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(r)).toBe("VALIDATION_FAILED");
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("join: unknown 404, expired 410, used up 409, unfinished session resumed", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key, { settings: { consentRequired: false } });

    for (const token of [randomSecret(192), "short"]) {
      const unknown = await join(token);
      expect(unknown.status, token).toBe(404);
      expect(errorCode(unknown)).toBe("INVITE_NOT_FOUND");
    }

    const expiring = await createInvite(apiKey.key, c.id);
    await env.DB.prepare("UPDATE invites SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, expiring.id).run();
    const expired = await join(expiring.token);
    expect(expired.status).toBe(410);
    expect(errorCode(expired)).toBe("INVITE_EXPIRED");

    const once = await createInvite(apiKey.key, c.id, { maxUses: 1 });
    const first = await join(once.token);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ sessionId: expect.stringMatching(/^ses_/), resumed: false, status: "created", consentRequired: false, consentText: null, totalQuestions: 3 });
    const again = await join(once.token);
    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({ sessionId: first.json.sessionId, resumed: true });
    expect(again.json.participantToken).not.toBe(first.json.participantToken);

    const end = await call("POST", `/v1/sessions/${first.json.sessionId}/end`, { key: apiKey.key });
    expect(end.status).toBe(200);
    const used = await join(once.token);
    expect(used.status).toBe(409);
    expect(errorCode(used)).toBe("INVITE_USED");
    // It says how the interview ended, so that the page does not thank someone who declined.
    expect(used.json.error.details).toMatchObject({ sessionStatus: "completed" });
    const inviteRow = await env.DB.prepare("SELECT uses FROM invites WHERE id = ?").bind(once.id).first<{ uses: number }>();
    expect(inviteRow!.uses).toBe(1);
  });

  it("join lists the new session at once, and simultaneous opens of a single-use invite make one session and one row", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const once = await createInvite(apiKey.key, c.id, { maxUses: 1 });
    const opens = await Promise.all(Array.from({ length: 4 }, () => join(once.token)));
    const created = opens.filter((r) => r.status === 201 && r.json.resumed === false);
    expect(created).toHaveLength(1);
    for (const r of opens.filter((r) => r !== created[0])) {
      // A loser either finds the winner's session (resumed) or is refused; it never makes its own.
      if (r.status === 201) expect(r.json.sessionId).toBe(created[0]!.json.sessionId);
      else expect(errorCode(r)).toBe("INVITE_USED");
    }
    const rows = await env.DB.prepare("SELECT id, status, mirror_version, total_questions FROM sessions WHERE invite_id = ?").bind(once.id).all();
    // Written with the claim, before the object exists: version 0, which anything the object writes supersedes.
    expect(rows.results).toEqual([{ id: created[0]!.json.sessionId, status: "created", mirror_version: 0, total_questions: 3 }]);
    const listed = await call("GET", `/v1/campaigns/${c.id}/sessions`, { key: apiKey.key });
    expect(listed.json.data.map((s: { id: string }) => s.id)).toEqual([created[0]!.json.sessionId]);
    const inviteRow = await env.DB.prepare("SELECT uses FROM invites WHERE id = ?").bind(once.id).first<{ uses: number }>();
    expect(inviteRow!.uses).toBe(1);
  });

  it("a fresh open writes, with its claim, the very index row its session would write", async () => {
    // The row is built in SQL from the invite and campaign (one round trip to D1); the object
    // builds its own from what it was given. Campaign settings and invite details that reach the
    // row vary here, and every column must agree.
    const { apiKey } = await createOrg();
    const variants = [
      { settings: { consentRequired: true }, invite: {} },
      { settings: { consentRequired: false, language: "de-AT" }, invite: { participant: { email: "ana@example.org", name: "Ana Müller" } } },
      { settings: { consentRequired: false, mode: "voice", recordAudio: false, language: "ja" }, invite: { participant: { name: "山田" } } },
    ];
    for (const v of variants) {
      const c = await createCampaign(apiKey.key, { settings: v.settings, questions: [{ text: "One?" }, { text: "Two?", probe: "deep" }] });
      const inv = await createInvite(apiKey.key, c.id, v.invite);
      const opened = await join(inv.token);
      expect(opened.status).toBe(201);
      const id = opened.json.sessionId as string;
      const stored = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<Record<string, unknown>>();
      const own = await runInDurableObject(sessionStub(id), (o: InterviewSession) => {
        const i = internals(o);
        return mirrorRow(i.meta!, i.state!, i.state!.createdAt, limitsFrom(env), 0);
      });
      expect(stored).toMatchObject(own);
      expect(sameIndexRow(stored!, own)).toBe(true);
      expect(stored).toMatchObject({ total_questions: 2, participant_email: (v.invite as { participant?: { email?: string } }).participant?.email ?? null });
    }
  });

  it("an invite can be revoked (no new sessions, the one under way goes on), extended, and given more places", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const panel = await createInvite(apiKey.key, c.id, { maxUses: 2 });
    const first = await join(panel.token);
    expect(first.status).toBe(201);
    const revoked = await call("POST", `/v1/invites/${panel.id}/revoke`, { key: apiKey.key });
    expect(revoked.status).toBe(200);
    expect(Date.parse(revoked.json.expiresAt)).toBeLessThanOrEqual(Date.now());
    expect(errorCode(await join(panel.token))).toBe("INVITE_EXPIRED");
    // The participant already in the interview can still come back to it.
    const back = await join(panel.token, { sessionId: first.json.sessionId, participantToken: first.json.participantToken });
    expect(back.json).toMatchObject({ sessionId: first.json.sessionId, resumed: true });
    // Revoking again changes nothing.
    expect((await call("POST", `/v1/invites/${panel.id}/revoke`, { key: apiKey.key })).json.expiresAt).toBe(revoked.json.expiresAt);

    // Reopened for a week with more places: the link works again.
    const week = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const extended = await call("PATCH", `/v1/invites/${panel.id}`, { key: apiKey.key, body: { expiresAt: week, maxUses: 3 } });
    expect(extended.status).toBe(200);
    expect(extended.json).toMatchObject({ expiresAt: week, maxUses: 3, uses: 1 });
    expect((await join(panel.token)).status).toBe(201);
    // Not below the uses made, not in the past, not empty; another org's key sees no such invite.
    const tooFew = await call("PATCH", `/v1/invites/${panel.id}`, { key: apiKey.key, body: { maxUses: 1 } });
    expect(tooFew.status).toBe(400);
    expect(tooFew.json.error.details.fields[0].path).toBe("maxUses");
    expect((await call("PATCH", `/v1/invites/${panel.id}`, { key: apiKey.key, body: { expiresAt: new Date(Date.now() - 1000).toISOString() } })).status).toBe(400);
    expect((await call("PATCH", `/v1/invites/${panel.id}`, { key: apiKey.key, body: {} })).status).toBe(400);
    const other = await createOrg();
    expect((await call("POST", `/v1/invites/${panel.id}/revoke`, { key: other.apiKey.key })).status).toBe(404);
    const row = await env.DB.prepare("SELECT uses, max_uses FROM invites WHERE id = ?").bind(panel.id).first();
    expect(row).toEqual({ uses: 2, max_uses: 3 });
  });

  it("a shared link gives each person their own session; only the browser holding a session's token resumes it", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key, { settings: { consentRequired: false } });
    const panel = await createInvite(apiKey.key, c.id, { maxUses: 3 });
    const first = await join(panel.token);
    const second = await join(panel.token);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.json).toMatchObject({ resumed: false });
    expect(second.json.sessionId).not.toBe(first.json.sessionId);
    // The first person reloads: their page sends the session and token it kept.
    const reload = await join(panel.token, { sessionId: first.json.sessionId, participantToken: first.json.participantToken });
    expect(reload.json).toMatchObject({ sessionId: first.json.sessionId, resumed: true });
    // A token that session never issued resumes nothing: that open is a new person (the third use).
    const forged = await join(panel.token, { sessionId: first.json.sessionId, participantToken: second.json.participantToken });
    expect(forged.status).toBe(201);
    expect(forged.json.resumed).toBe(false);
    expect([first.json.sessionId, second.json.sessionId]).not.toContain(forged.json.sessionId);
    // Nor does another invite's session with its own valid token: the link is used up.
    const other = await createInvite(apiKey.key, c.id, { maxUses: 1 });
    const elsewhere = await join(other.token);
    const full = await join(panel.token, { sessionId: elsewhere.json.sessionId, participantToken: elsewhere.json.participantToken });
    expect(full.status).toBe(409);
    expect(errorCode(full)).toBe("INVITE_USED");
    const row = await env.DB.prepare("SELECT uses FROM invites WHERE id = ?").bind(panel.id).first<{ uses: number }>();
    expect(row!.uses).toBe(3);
    const listed = await call("GET", `/v1/campaigns/${c.id}/sessions`, { key: apiKey.key });
    expect(listed.json.data.filter((s: { inviteId: string }) => s.inviteId === panel.id)).toHaveLength(3);
    // The page's "does my interview still exist?" check never starts a session: it learns it ended.
    expect((await call("POST", `/v1/sessions/${first.json.sessionId}/end`, { key: apiKey.key })).status).toBe(200);
    const check = (participantToken: string) => call("POST", "/v1/join", { body: { token: panel.token, resume: { sessionId: first.json.sessionId, participantToken }, resumeOnly: true } });
    const over = await check(reload.json.participantToken);
    expect(over.status).toBe(410);
    expect(over.json.error).toMatchObject({ code: "SESSION_ENDED", details: { sessionStatus: "completed", endReason: "ended_by_admin" } });
    const unknown = await check(second.json.participantToken);
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe("SESSION_NOT_FOUND");
    // Reopening the link in the browser whose interview ended says so and starts nothing (a reload
    // of the thank-you page used to take a place); anyone else meets a link that is full.
    const reopened = await join(panel.token, { sessionId: first.json.sessionId, participantToken: reload.json.participantToken });
    expect(reopened.status).toBe(410);
    expect(reopened.json.error).toMatchObject({ code: "SESSION_ENDED", details: { sessionStatus: "completed", shared: true } });
    const stranger = await join(panel.token);
    expect(stranger.status).toBe(409);
    expect(stranger.json.error).toMatchObject({ code: "INVITE_USED", details: { linkFull: true } });
    // Every session keeps its own transcript: the second person's token opens only their session.
    const onFirst = await call("GET", `/v1/sessions/${first.json.sessionId}/connect?token=${second.json.participantToken}`, { headers: { Upgrade: "websocket" } });
    expect([401, 404]).toContain(onFirst.status);
  });

  it("an unfinished session is resumed even after its invite expires", async () => {
    const { apiKey } = await createOrg();
    const c = await createCampaign(apiKey.key);
    const inv = await createInvite(apiKey.key, c.id);
    const first = await join(inv.token);
    await env.DB.prepare("UPDATE invites SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, inv.id).run();
    const again = await join(inv.token);
    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({ sessionId: first.json.sessionId, resumed: true });
  });
});
