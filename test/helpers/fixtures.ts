// Fixtures for the API contract tests: keys of any role, driven and seeded sessions, D1 probes.
// Every helper makes its own data; every wait has a timeout with a clear message.
import { env, exports } from "cloudflare:workers";
import { sha256Hex, randomBase32, randomSecret } from "../../src/shared/crypto";
import { BASE, call, createCampaign, createInvite, createOrg, join, randomClientIp, unique } from "./api";
import { openSocket, type TestSocket } from "./socket";

export const db = () => env.DB;

/** An API key of `role` for `orgId`, inserted the way the product stores keys (SHA-256 hex only). */
export async function keyWithRole(orgId: string, role: "owner" | "admin" | "analyst" | "viewer") {
  const key = randomSecret(192, "irk_");
  const id = `key_${randomBase32(16)}`;
  await env.DB.prepare("INSERT INTO api_keys (id, org_id, name, role, key_hash, last4, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
    .bind(id, orgId, `${role} key`, role, await sha256Hex(key), key.slice(-4), Date.now())
    .run();
  return { id, key };
}

/** Polls `probe` until `ok` holds; throws with `what` and the last value after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The D1 index row of a session, as the mirror wrote it. */
export const indexRow = (id: string) => env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<Record<string, unknown>>();

/** Waits until the D1 mirror shows `status` for the session. */
export const mirroredStatus = (id: string, status: string) =>
  waitFor(() => indexRow(id), (r) => r?.status === status, `session ${id} mirrored as ${status}`);

const COUNTED = ["orgs", "members", "api_keys", "campaigns", "campaign_scripts", "invites", "sessions", "notes"] as const;

/** Row counts of every table a request could change (the audit log excluded: denials are recorded). */
export async function tableCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of COUNTED) out[t] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${t}`).first<{ n: number }>())!.n;
  return out;
}

export async function auditRows(where: string, ...binds: unknown[]) {
  const r = await env.DB.prepare(`SELECT * FROM audit_log WHERE ${where} ORDER BY at`).bind(...binds).all<Record<string, unknown>>();
  return r.results;
}

export interface Interview {
  sessionId: string;
  participantToken: string;
  ws: TestSocket;
}

/** Joins an invite and connects its participant socket (hello sent, state received). */
export async function connect(token: string, headers: Record<string, string> = {}): Promise<Interview> {
  const joined = await join(token);
  if (joined.status !== 201) throw new Error(`join: ${joined.status} ${joined.text}`);
  const { sessionId, participantToken } = joined.json as { sessionId: string; participantToken: string };
  const ws = await openSocket(`/v1/sessions/${sessionId}/connect?token=${participantToken}`, headers);
  ws.send({ type: "hello" });
  await ws.next((f) => f.type === "state", "state after hello");
  return { sessionId, participantToken, ws };
}

/** Pings every second (tests run with a 5 s heartbeat timeout) until the socket closes. */
export function keepAlive(ws: TestSocket): void {
  const timer = setInterval(() => {
    if (ws.closed) return clearInterval(timer);
    try {
      ws.send({ type: "ping" });
    } catch {
      clearInterval(timer);
    }
  }, 1000);
}

/** Consents and starts; resolves when question 0 is on screen. */
export async function begin(i: Interview) {
  const from = i.ws.frames.length;
  i.ws.send({ type: "consent", granted: true });
  i.ws.send({ type: "start" });
  return i.ws.next((f) => f.type === "question" && f.index === 0, "question 0", from);
}

/** Answers the open question and waits for its ack and the next question (or the end). */
export async function answer(i: Interview, id: string, text: string) {
  const from = i.ws.frames.length;
  i.ws.send({ type: "answer", id, text });
  await i.ws.next((f) => f.type === "ack" && f.id === id, `ack ${id}`, from);
  return i.ws.next((f) => f.type === "question" || f.type === "ended", `the step after ${id}`, from);
}

/** An org with a campaign (probe none everywhere, so every answer moves on) and a started interview. */
export async function startedInterview(opts: { key?: string; campaign?: Record<string, unknown>; participant?: Record<string, unknown> } = {}) {
  const org = opts.key ? null : await createOrg();
  const key = opts.key ?? org!.apiKey.key;
  const campaign = await createCampaign(key, {
    questions: [{ text: "First question?" }, { text: "Second question?" }, { text: "Third question?" }],
    ...(opts.campaign ?? {}),
  });
  const invite = await createInvite(key, campaign.id, opts.participant ? { participant: opts.participant } : {});
  const interview = await connect(invite.token);
  await begin(interview);
  await mirroredStatus(interview.sessionId, "in_progress");
  return { org, key, campaign, invite, ...interview };
}

/** A session joined but not started ("created"). */
export async function createdSession(key: string, campaignId: string, participant?: Record<string, unknown>) {
  const invite = await createInvite(key, campaignId, participant ? { participant } : {});
  const joined = await join(invite.token);
  if (joined.status !== 201) throw new Error(`join: ${joined.status} ${joined.text}`);
  return { invite, sessionId: joined.json.sessionId as string, participantToken: joined.json.participantToken as string };
}

/** Inserts an index row directly (no session object behind it) to seed ranges for list filters. */
export async function seedSessionRow(orgId: string, campaignId: string, over: Record<string, unknown> = {}) {
  const now = Date.now();
  const row: Record<string, unknown> = {
    id: `ses_${randomBase32(16)}`,
    org_id: orgId,
    campaign_id: campaignId,
    invite_id: `inv_${randomBase32(16)}`,
    script_version: 1,
    status: "completed",
    created_at: now,
    started_at: now,
    completed_at: now,
    duration: 60,
    questions_answered: 3,
    total_questions: 3,
    completion: 100,
    language: "en",
    device: null,
    consent_required: 1,
    consent_granted: 1,
    consent_at: now,
    flagged: 0,
    flag_reason: null,
    sentiment: null,
    end_reason: "finished",
    last_question_index: 2,
    paused_reason: null,
    paused_by: null,
    participant_email: null,
    participant_name: null,
    deadline_at: null,
    mirror_version: 1,
    updated_at: now,
    ...over,
  };
  const cols = Object.keys(row);
  await env.DB.prepare(`INSERT INTO sessions (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
    .bind(...cols.map((c) => row[c]))
    .run();
  return row as { id: string } & Record<string, unknown>;
}

/** Ids of every page of a list, following nextCursor. */
export async function allPages(path: string, key: string, limit: number) {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const sep = path.includes("?") ? "&" : "?";
    const r = await call("GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { key });
    if (r.status !== 200) throw new Error(`list ${path}: ${r.status} ${r.text}`);
    expectPage(r.json);
    if (r.json.data.length > limit) throw new Error(`page larger than limit ${limit}`);
    ids.push(...r.json.data.map((x: { id: string }) => x.id));
    cursor = r.json.nextCursor;
    if (cursor === null) return ids;
  }
  throw new Error(`list ${path} did not end`);
}

function expectPage(body: unknown): asserts body is { data: { id: string }[]; nextCursor: string | null } {
  const b = body as { data?: unknown; nextCursor?: unknown };
  if (!Array.isArray(b?.data) || !(b.nextCursor === null || typeof b.nextCursor === "string")) throw new Error(`not a page: ${JSON.stringify(body)}`);
}

/** Asserts the contract's error envelope and returns its code. */
export function errorCode(r: { status: number; json: any; text: string }): string {
  const e = r.json?.error;
  if (!e || typeof e.code !== "string" || typeof e.message !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(e.code)) {
    throw new Error(`not an error envelope (${r.status}): ${r.text.slice(0, 300)}`);
  }
  if (/\bat .*\(.*:\d+:\d+\)|node_modules|\.ts:\d+/.test(r.text)) throw new Error(`error leaks a stack trace: ${r.text.slice(0, 300)}`);
  return e.code;
}

export { call, createCampaign, createInvite, createOrg, join };

export interface RouteRequest {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A valid request for a route (`METHOD /path` as in routeTable), so that only the thing under
 * test (the id, the caller, the role) decides the answer. A route with a body and no sample here
 * fails loudly: add one when adding a route.
 */
export function validRequest(method: string, path: string, ctx: { campaignId: string }): RouteRequest {
  const key = `${method} ${path}`;
  const samples: Record<string, RouteRequest> = {
    "POST /orgs": { body: { name: "Sample", plan: "free", owner: { email: `${unique("sample")}@example.com`, name: "S", password: "a long enough password" } } },
    "POST /campaigns": { body: { name: "Sample", questions: [{ text: "Q?" }] } },
    "PATCH /campaigns/:id": { body: { name: "Renamed by sample" } },
    "POST /campaigns/:id/invites": { body: { maxUses: 1 } },
    "PATCH /invites/:id": { body: { maxUses: 5 } },
    "POST /invites/:id/revoke": {},
    "POST /join": { body: { token: randomSecret(192) } },
    "POST /sessions/:id/pause": { body: { reason: "sample" } },
    "POST /sessions/:id/resume": {},
    "POST /sessions/:id/end": { body: { reason: "sample" } },
    "POST /sessions/:id/reassign": { body: { campaignId: ctx.campaignId } },
    "POST /sessions/:id/notes": { body: { text: "a sample note" } },
    "POST /sessions/:id/flag": { body: { flagged: true, reason: "sample" } },
    "DELETE /sessions/:id/data": { headers: { "X-Confirm-Delete": "true" } },
    "DELETE /participants/data": { headers: { "X-Confirm-Delete": "true" } },
    "POST /admin/deletions/replay": {},
    "POST /members": { body: { email: `${unique("member")}@example.com`, name: "Sample Member", role: "analyst", password: "a long enough password" } },
    "PATCH /members/:id": { body: { name: "Renamed by sample" } },
    "DELETE /members/:id": {},
    "POST /api-keys": { body: { name: "sample key", role: "viewer" } },
    "DELETE /api-keys/:id": {},
    "PATCH /org": { body: { name: "Renamed by sample" } },
    "POST /auth/login": { body: { email: "nobody@example.com", password: "not the password" } },
    "POST /auth/logout": {},
    "POST /reports": { body: { campaignIds: [ctx.campaignId], metrics: ["sessions"], groupBy: "campaign" } },
    "POST /reports/saved": { body: { name: "Sample report", definition: { campaignIds: [ctx.campaignId], metrics: ["sessions"], groupBy: "campaign" } } },
    "PATCH /reports/saved/:id": { body: { name: "Renamed by sample" } },
    "POST /reports/saved/:id/run": {},
    "DELETE /reports/saved/:id": {},
    "POST /campaigns/:id/exports": { body: { format: "json" } },
    "POST /webhooks": { body: { url: "https://hooks.example.com/interviewrelay", events: ["session.completed"] } },
    "POST /webhooks/:id/test": {},
    "DELETE /webhooks/:id": {},
    // Shorter than every plan's transcript retention, so it is valid whatever the org's plan.
    "PATCH /campaigns/:id/retention": { body: { transcripts: 7 } },
  };
  if (key in samples) return samples[key]!;
  if (method === "GET") return path.endsWith("/live") || path.endsWith("/connect") ? { headers: { Upgrade: "websocket" } } : {};
  throw new Error(`no sample request for ${key}: add one to validRequest in test/helpers/fixtures.ts`);
}

export interface WorldIds {
  campaignId: string;
  sessionId: string;
  memberId?: string;
  keyId?: string;
  exportId?: string;
  webhookId?: string;
  reportId?: string;
  inviteId?: string;
}

/** Fills `:id` with the id of the right type for the path (campaign paths get a campaign id, …). */
export function fillId(path: string, ids: WorldIds): string {
  if (!path.includes(":id")) return path;
  const byPrefix: [string, string | undefined][] = [
    ["/campaigns/", ids.campaignId],
    ["/sessions/", ids.sessionId],
    ["/members/", ids.memberId],
    ["/api-keys/", ids.keyId],
    // Without an export of the org: a well-formed id that exists nowhere.
    ["/exports/", ids.exportId ?? "exp_zzzzzzzzzzzzzzzz"],
    // Without a webhook of the org: a well-formed id that exists nowhere.
    ["/webhooks/", ids.webhookId ?? "whk_zzzzzzzzzzzzzzzz"],
    // Without a saved report of the org: a well-formed id that exists nowhere.
    ["/reports/saved/", ids.reportId ?? "rpt_zzzzzzzzzzzzzzzz"],
    // Without an invite of the org: a well-formed id that exists nowhere.
    ["/invites/", ids.inviteId ?? "inv_zzzzzzzzzzzzzzzz"],
  ];
  const hit = byPrefix.find(([prefix]) => path.startsWith(prefix));
  if (!hit?.[1]) throw new Error(`no id of the right type for ${path}: extend fillId in test/helpers/fixtures.ts`);
  return path.replace(":id", hit[1]);
}

/** A well-formed id of another resource type, for the same path (a session id on a campaign path, …). */
export const otherTypeId = (path: string, ids: WorldIds) => (path.startsWith("/sessions/") ? ids.campaignId : ids.sessionId);

export async function callRoute(method: string, path: string, key: string | undefined, req: RouteRequest) {
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp(), ...(req.headers ?? {}) };
  if (headers.Upgrade) {
    // Upgrades go through exports.default.fetch directly: a 101 has no body to read.
    const res = await exports.default.fetch(new Request(`${BASE}/v1${path}`, { method, headers: { ...headers, ...(key ? { Authorization: `Bearer ${key}` } : {}) } }));
    if (res.status === 101) {
      res.webSocket?.accept();
      res.webSocket?.close(1000, "probe done");
      return { status: 101, json: null, text: "", headers: res.headers };
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text, headers: res.headers };
  }
  return call(method, `/v1${path}`, { key, body: req.body, headers });
}
