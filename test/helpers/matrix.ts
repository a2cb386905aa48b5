// Helpers for the role matrix (test/integration/role-matrix.test.ts): one request function for
// every kind of caller (API key, dashboard cookie, nobody), fresh data for the cells that change
// state, and probes of the audit log. Every wait has a timeout with a clear message.
import { env, exports } from "cloudflare:workers";
import { randomBase32 } from "../../src/shared/crypto";
import { BASE, call, createCampaign, createInvite, randomClientIp, unique } from "./api";
import { begin, connect, createdSession, indexRow, keyWithRole, mirroredStatus, waitFor, type RouteRequest } from "./fixtures";
import { jsonOrNull } from "./json";

export const ROLES = ["owner", "admin", "analyst", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/**
 * How a cell's request is authenticated. A cookie caller sends `origin` as its Origin header on
 * writes and WebSocket upgrades, as a browser on our own pages does (null: no Origin at all).
 */
export type Credentials = { kind: "key"; key: string } | { kind: "cookie"; cookie: string; origin: string | null } | { kind: "none" };

export interface Caller {
  /** The label printed in the matrix. */
  name: string;
  credentials: Credentials;
  /** The actor id an audit row names for this caller (key id or member id). */
  actorId: string | null;
  /** The role in its own org, when it has one that works. */
  role: Role | null;
}

export interface Answer {
  status: number;
  json: any;
  text: string;
  requestId: string | null;
}

/** Sends one request as `caller`; a WebSocket upgrade that succeeds is closed at once and reported as 101. */
export async function send(method: string, path: string, caller: Caller, req: RouteRequest = {}): Promise<Answer> {
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp(), "User-Agent": "role-matrix", ...(req.headers ?? {}) };
  const cred = caller.credentials;
  if (cred.kind === "key") headers.Authorization = `Bearer ${cred.key}`;
  if (cred.kind === "cookie") {
    headers.Cookie = cred.cookie;
    const upgrade = headers.Upgrade?.toLowerCase() === "websocket";
    if (cred.origin && (upgrade || !["GET", "HEAD"].includes(method))) headers.Origin = cred.origin;
  }
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`${BASE}/v1${path}`, { method, headers, body }));
  if (res.status === 101) {
    res.webSocket?.accept();
    res.webSocket?.close(1000, "matrix probe done");
    return { status: 101, json: null, text: "", requestId: null };
  }
  const text = await res.text();
  const json = jsonOrNull(text);
  return { status: res.status, json, text, requestId: res.headers.get("X-Request-Id") };
}

export const OWNER_PASSWORD = "correct horse battery staple";
export const MEMBER_PASSWORD = "a long enough password";

/** Adds a member through the API (so sign-in works with `MEMBER_PASSWORD`). */
export async function addMember(ownerKey: string, role: Role) {
  const email = `${unique(`matrix-${role}`)}@example.com`;
  const r = await call("POST", "/v1/members", { key: ownerKey, body: { email, name: `Matrix ${role}`, role, password: MEMBER_PASSWORD } });
  if (r.status !== 201) throw new Error(`addMember ${role}: ${r.status} ${r.text}`);
  return { id: r.json.id as string, email };
}

/** A member row inserted directly (no usable password): a target for PATCH/DELETE cells, cheap to make. */
export async function insertMember(orgId: string, role: Role = "viewer") {
  const id = `usr_${randomBase32(16)}`;
  const now = Date.now();
  await env.DB.prepare("INSERT INTO members (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(id, orgId, `${unique("target")}@example.com`, "Target Member", role, "pbkdf2-sha256$1$AAAA$AAAA", now, now)
    .run();
  return id;
}

/** Signs in with email and password; returns the `name=value` cookie pair. */
export async function signIn(email: string, password: string): Promise<string> {
  // A documentation-range address of its own, so the sign-in rate limit never bites here.
  const ip = `192.0.2.${1 + Math.floor(Math.random() * 254)}`;
  const r = await call("POST", "/v1/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": ip } });
  if (r.status !== 200) throw new Error(`sign-in ${email}: ${r.status} ${r.text}`);
  const cookie = r.headers.get("Set-Cookie")?.split(";")[0] ?? "";
  if (!cookie.includes("=")) throw new Error(`sign-in ${email} set no cookie`);
  return cookie;
}

/** A key of `role` that no longer works. */
export async function revokedKey(orgId: string, role: Role = "owner") {
  const k = await keyWithRole(orgId, role);
  await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), k.id).run();
  return k;
}

/** A session joined but not started, visible in the D1 index. */
export async function freshCreatedSession(ownerKey: string, campaignId: string) {
  const s = await createdSession(ownerKey, campaignId);
  await waitFor(() => indexRow(s.sessionId), (r) => r !== null, `index row of ${s.sessionId}`);
  return { sessionId: s.sessionId, cleanup: () => {} };
}

/** A session in progress (participant connected, consented, started). Use it at once: the heartbeat timeout is short in tests. */
export async function freshInProgressSession(ownerKey: string, campaignId: string) {
  const invite = await createInvite(ownerKey, campaignId);
  const i = await connect(invite.token);
  await begin(i);
  await mirroredStatus(i.sessionId, "in_progress");
  return { sessionId: i.sessionId, cleanup: () => i.ws.close() };
}

/** A session paused by the team. */
export async function freshPausedSession(ownerKey: string, campaignId: string) {
  const s = await freshInProgressSession(ownerKey, campaignId);
  const r = await call("POST", `/v1/sessions/${s.sessionId}/pause`, { key: ownerKey, body: { reason: "matrix setup" } });
  if (r.status !== 200) throw new Error(`pause for setup: ${r.status} ${r.text}`);
  await mirroredStatus(s.sessionId, "paused");
  return s;
}

export async function freshKey(orgId: string) {
  const k = await keyWithRole(orgId, "viewer");
  return { keyId: k.id, cleanup: () => {} };
}

export async function freshMember(orgId: string) {
  return { memberId: await insertMember(orgId), cleanup: () => {} };
}

/** The audit rows of the given request ids (chunked: D1 binds at most 100 parameters). */
export async function auditRowsByRequest(requestIds: string[]) {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < requestIds.length; i += 90) {
    const chunk = requestIds.slice(i, i + 90);
    const r = await env.DB.prepare(`SELECT * FROM audit_log WHERE request_id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<Record<string, unknown>>();
    rows.push(...r.results);
  }
  return rows;
}

/** Everything of one org a request could change (volatile columns left out). */
export async function orgSnapshot(orgId: string) {
  const all = async (sql: string) => (await env.DB.prepare(sql).bind(orgId).all()).results;
  return {
    org: await all("SELECT id, name, plan, retention_days FROM orgs WHERE id = ?"),
    members: await all("SELECT id, email, name, role, password_hash, updated_at FROM members WHERE org_id = ? ORDER BY id"),
    keys: await all("SELECT id, name, role, revoked_at FROM api_keys WHERE org_id = ? ORDER BY id"),
    campaigns: await all("SELECT id, name, script_version, settings, total_questions, updated_at FROM campaigns WHERE org_id = ? ORDER BY id"),
    scripts: await all("SELECT s.campaign_id, s.version, s.questions FROM campaign_scripts s JOIN campaigns c ON c.id = s.campaign_id WHERE c.org_id = ? ORDER BY s.campaign_id, s.version"),
    invites: await all("SELECT id, campaign_id, uses, max_uses, session_id, participant_email, expires_at FROM invites WHERE org_id = ? ORDER BY id"),
    sessions: await all("SELECT id, campaign_id, status, script_version, flagged, flag_reason, paused_reason FROM sessions WHERE org_id = ? ORDER BY id"),
    notes: await all("SELECT id, session_id, text FROM notes WHERE org_id = ? ORDER BY id"),
    signIns: await all("SELECT COUNT(*) AS n FROM auth_sessions WHERE org_id = ?"),
  };
}

/** Whether a member with this email exists anywhere. */
export async function memberWithEmail(email: string) {
  return (await env.DB.prepare("SELECT id, org_id FROM members WHERE email = ?").bind(email.toLowerCase()).first()) !== null;
}

/**
 * A finished voice session with one recorded answer (1 s of PCM), so that audio routes have
 * something to return to the roles that may hear it.
 */
export async function voiceSessionWithAudio(ownerKey: string) {
  const campaign = await createCampaign(ownerKey, {
    name: "Voice study",
    questions: [{ text: "Tell us about your day." }, { text: "Anything else?" }],
    settings: { consentRequired: true, consentText: "We record this interview.", mode: "voice", recordAudio: true },
  });
  const invite = await createInvite(ownerKey, campaign.id);
  const i = await connect(invite.token);
  await begin(i);
  const from = i.ws.frames.length;
  i.ws.send({ type: "answer_start", id: "v0" });
  const pcm = new Int16Array(16_000);
  for (let n = 0; n < pcm.length; n++) pcm[n] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / 16_000));
  i.ws.ws.send(pcm.buffer);
  i.ws.send({ type: "answer_end", id: "v0", text: "A quiet day at the office." });
  const ack = await i.ws.next((f) => (f.type === "ack" && f.id === "v0") || f.type === "error", "the ack of the spoken answer", from);
  if (ack.type !== "ack") throw new Error(`spoken answer refused: ${JSON.stringify(ack)}`);
  const ended = await call("POST", `/v1/sessions/${i.sessionId}/end`, { key: ownerKey, body: { reason: "matrix setup" } });
  if (ended.status !== 200) throw new Error(`end: ${ended.status} ${ended.text}`);
  await mirroredStatus(i.sessionId, "completed");
  i.ws.close();
  return { sessionId: i.sessionId, campaignId: campaign.id };
}
