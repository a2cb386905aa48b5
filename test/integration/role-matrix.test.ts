// The role matrix: every key-authenticated route of routeTable(api) × {owner, admin, analyst,
// viewer, revoked key, anonymous, another org's owner}, each cell checked against the contract's
// role table, which is written out below on purpose (it is NOT imported from src/worker/policy.ts:
// the point is to hold the policy module to the contract, not to itself). Also: every 403 leaves a
// deny row in the audit log, mass-assignment is refused and changes nothing, and a signed-in member
// gets exactly the answers an API key of the same role gets.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api } from "../../src/worker/app";
import { routeTable, type RouteInfo } from "../../src/worker/openapi";
import { BASE, unique } from "../helpers/api";
import { createCampaign, createInvite, createOrg, createdSession, keyWithRole, validRequest, waitFor } from "../helpers/fixtures";
import {
  addMember,
  voiceSessionWithAudio,
  auditRowsByRequest,
  freshCreatedSession,
  freshInProgressSession,
  freshKey,
  freshMember,
  freshPausedSession,
  insertMember,
  MEMBER_PASSWORD,
  memberWithEmail,
  orgSnapshot,
  OWNER_PASSWORD,
  revokedKey,
  ROLES,
  send,
  signIn,
  type Answer,
  type Caller,
  type Role,
} from "../helpers/matrix";

// ---------------------------------------------------------------------------------------------
// CONTRACT.md, "Roles (per org)", copied row by row.
// ---------------------------------------------------------------------------------------------
const CONTRACT_ROWS = {
  metadata: { row: "read insights, summaries, analytics, session metadata", roles: ["owner", "admin", "analyst", "viewer"] },
  transcripts: { row: "read transcripts", roles: ["owner", "admin", "analyst"] },
  audio: { row: "read / download audio", roles: ["owner", "admin"] },
  export: { row: "export (single, bulk, API export)", roles: ["owner", "admin"] },
  watch: { row: "watch live sessions", roles: ["owner", "admin", "analyst"] },
  control: { row: "pause, resume, end, reassign sessions", roles: ["owner", "admin"] },
  notes: { row: "add notes, flag", roles: ["owner", "admin", "analyst"] },
  campaigns: { row: "create and edit campaigns, invites", roles: ["owner", "admin"] },
  gdpr: { row: "GDPR export and deletion", roles: ["owner"] },
  audit: { row: "audit log", roles: ["owner", "admin"] },
  team: { row: "members, roles, API keys, org settings", roles: ["owner"] },
  // Not a row of the table (the contract is silent): any member may ask who they are.
  identity: { row: "(extension) who the caller is: GET /v1/auth/me", roles: ["owner", "admin", "analyst", "viewer"] },
  // Not a row either: saved reports are definitions of analytics (reading and running them is
  // "read analytics"); keeping them is the analysts' work, as notes are.
  reports: { row: "(extension) save, change and delete custom report definitions", roles: ["owner", "admin", "analyst"] },
} as const satisfies Record<string, { row: string; roles: readonly Role[] }>;
type Row = keyof typeof CONTRACT_ROWS;

/**
 * The action names routes declare (spec.action), each placed on its contract row. An action
 * missing here fails the test: a new route must be placed in the contract first.
 */
const CONTRACT_ACTIONS: Record<string, Row> = {
  "campaign.read": "metadata",
  "session.read": "metadata",
  "analytics.read": "metadata",
  "transcript.read": "transcripts",
  "audio.read": "audio",
  "export.create": "export",
  "export.read": "export",
  "session.watch": "watch",
  "session.control": "control",
  "note.write": "notes",
  "session.flag": "notes",
  // Silent in the table: notes are the team's commentary on interview content; those who may
  // write them read them (viewers "see only insights").
  "note.read": "notes",
  "campaign.write": "campaigns",
  "invite.write": "campaigns",
  // Silent in the table: invites carry participants' emails; the people who manage them read them.
  "invite.read": "campaigns",
  "gdpr.manage": "gdpr",
  "audit.read": "audit",
  "org.manage": "team",
  "org.read": "identity",
  "report.write": "reports",
};

/**
 * Routes the contract (or issue 3) places on a row by name. Where a route is named here, its
 * declared action must sit on the same row, and the matrix expects this row's roles.
 */
const CONTRACT_ROUTES: Record<string, Row> = {
  "GET /members": "team",
  "POST /members": "team",
  "PATCH /members/:id": "team",
  "DELETE /members/:id": "team",
  "GET /api-keys": "team",
  "POST /api-keys": "team",
  "DELETE /api-keys/:id": "team",
  // "GET|PATCH /v1/org — plan and retention"; issue 3: "Org settings GET|PATCH /v1/org for owners".
  "GET /org": "team",
  "PATCH /org": "team",
  "GET /auth/me": "identity",
  "GET /campaigns": "metadata",
  "GET /campaigns/:id": "metadata",
  "POST /campaigns": "campaigns",
  "PATCH /campaigns/:id": "campaigns",
  "POST /campaigns/:id/invites": "campaigns",
  "PATCH /invites/:id": "campaigns",
  "POST /invites/:id/revoke": "campaigns",
  "GET /campaigns/:id/sessions": "metadata",
  "GET /sessions/:id": "metadata",
  "GET /sessions/:id/transcript": "transcripts",
  "GET /sessions/:id/audio": "audio",
  "GET /sessions/:id/analytics": "metadata",
  "GET /campaigns/:id/analytics": "metadata",
  "POST /sessions/:id/pause": "control",
  "POST /sessions/:id/resume": "control",
  "POST /sessions/:id/end": "control",
  "POST /sessions/:id/reassign": "control",
  "POST /sessions/:id/notes": "notes",
  "POST /sessions/:id/flag": "notes",
  "GET /sessions/:id/export": "export",
  "POST /campaigns/:id/exports": "export",
  "GET /exports/:id": "export",
  "DELETE /sessions/:id/data": "gdpr",
  "GET /participants/data": "gdpr",
  "DELETE /participants/data": "gdpr",
  "GET /sessions/:id/live": "watch",
  "GET /campaigns/:id/live": "watch",
  "GET /audit-log": "audit",
  "GET /audit-log/verify": "audit",
  // The contract lists webhooks without a row: they are org settings, owners only.
  "POST /webhooks": "team",
  "GET /webhooks": "team",
  "DELETE /webhooks/:id": "team",
  "POST /webhooks/:id/test": "team",
  "GET /webhooks/:id/deliveries": "team",
  // Retention (issue 6): the schedule is session metadata; a campaign's retention is campaign editing.
  "GET /campaigns/:id/retention": "metadata",
  "PATCH /campaigns/:id/retention": "campaigns",
  "GET /sessions/:id/retention": "metadata",
};

const ROUTES = routeTable(api);
const KEY_ROUTES = ROUTES.filter((r) => r.spec?.auth === "key");
const routeKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** The contract row that decides a route: the contract's own placement of the route, else its declared action's row. */
function rowOf(r: RouteInfo): Row | null {
  return CONTRACT_ROUTES[routeKey(r)] ?? (r.spec?.action ? CONTRACT_ACTIONS[r.spec.action] ?? null : null);
}
const allowedRoles = (r: RouteInfo): readonly Role[] => {
  const row = rowOf(r);
  if (!row) throw new Error(`${routeKey(r)}: no contract row (action ${r.spec?.action ?? "none"})`);
  return CONTRACT_ROWS[row].roles;
};

// ---------------------------------------------------------------------------------------------
// The world: org A (the one under test), org B (the other tenant), callers, shared fixtures.
// ---------------------------------------------------------------------------------------------
interface Ids {
  campaignId: string;
  /** Where POST /sessions/:id/reassign moves a session to: another campaign of org A. */
  targetCampaignId: string;
  sessionId: string;
  /** A finished voice session with recorded audio, for the audio routes. */
  audioSessionId: string;
  memberId: string;
  keyId: string;
  webhookId: string;
  /** A bulk export of org A, for GET /exports/:id. */
  exportId?: string;
  /** A saved report of org A, for /reports/saved/:id. */
  reportId?: string;
  /** An invite of org A, for /invites/:id. */
  inviteId: string;
}

type Org = Awaited<ReturnType<typeof createOrg>>;
interface World {
  a: Org;
  b: Org;
  ownerKey: string;
  shared: Ids;
  /** Every id of org A: none may appear in an answer to org B. */
  aIds: string[];
  callers: Caller[];
}

let world: World;

/** Fills the route's `:id` with org A's resource of the right type. */
function fill(r: { path: string; spec: RouteInfo["spec"] }, ids: Ids): string {
  const path = r.path;
  // Routes whose required query names what they act on.
  if (path === "/participants/data") return `${path}?email=${encodeURIComponent("pat@example.com")}`;
  if (!path.includes(":")) return path;
  const byPrefix: [string, string][] = [
    ["/campaigns/:id", ids.campaignId],
    ["/sessions/:id", r.spec?.action === "audio.read" ? ids.audioSessionId : ids.sessionId],
    ["/members/:id", ids.memberId],
    ["/api-keys/:id", ids.keyId],
    ["/webhooks/:id", ids.webhookId],
    ["/exports/:id", ids.exportId ?? "exp_zzzzzzzzzzzzzzzz"],
    ["/reports/saved/:id", ids.reportId ?? "rpt_zzzzzzzzzzzzzzzz"],
    ["/invites/:id", ids.inviteId],
  ];
  const hit = byPrefix.find(([prefix]) => path.startsWith(prefix));
  if (!hit || /:(?!id\b)\w+/.test(path)) throw new Error(`no id of org A for ${path}: extend fill() in test/integration/role-matrix.test.ts`);
  return path.replace(":id", hit[1]);
}

/**
 * Routes whose allowed call changes state so that a second allowed call would not answer the same:
 * every allowed cell gets data of its own. Denied cells (403, 401, 404) are refused before any
 * state is read, so they share org A's fixtures.
 */
const FRESH: Record<string, (w: World) => Promise<{ ids: Partial<Ids>; cleanup: () => void }>> = {
  "POST /sessions/:id/pause": async (w) => wrapSession(await freshInProgressSession(w.ownerKey, w.shared.campaignId)),
  "POST /sessions/:id/resume": async (w) => wrapSession(await freshPausedSession(w.ownerKey, w.shared.campaignId)),
  "POST /sessions/:id/end": async (w) => wrapSession(await freshCreatedSession(w.ownerKey, w.shared.campaignId)),
  "POST /sessions/:id/reassign": async (w) => wrapSession(await freshCreatedSession(w.ownerKey, w.shared.campaignId)),
  "DELETE /sessions/:id/data": async (w) => wrapSession(await freshCreatedSession(w.ownerKey, w.shared.campaignId)),
  "DELETE /members/:id": async (w) => {
    const m = await freshMember(w.a.org.id);
    return { ids: { memberId: m.memberId }, cleanup: m.cleanup };
  },
  "DELETE /api-keys/:id": async (w) => {
    const k = await freshKey(w.a.org.id);
    return { ids: { keyId: k.keyId }, cleanup: k.cleanup };
  },
  // Erases whatever the sample email has in the caller's org: nothing shared is at stake.
  "DELETE /participants/data": async () => ({ ids: {}, cleanup: () => {} }),
  "DELETE /webhooks/:id": async (w) => ({ ids: { webhookId: await webhookOf(w.ownerKey) }, cleanup: () => {} }),
  "DELETE /reports/saved/:id": async (w) => ({ ids: { reportId: await savedReportOf(w.ownerKey, w.shared.campaignId) }, cleanup: () => {} }),
};

/** A webhook of the caller's org (deliveries go to the stub transport of test/helpers/apply-migrations.ts). */
async function webhookOf(ownerKey: string): Promise<string> {
  const r = await send("POST", "/webhooks", { name: "owner", credentials: { kind: "key", key: ownerKey }, actorId: null, role: "owner" }, validRequest("POST", "/webhooks", { campaignId: "" }));
  if (r.status !== 201) throw new Error(`webhook: ${r.status} ${r.text}`);
  return r.json.id as string;
}
/** A bulk export of the campaign (the queue builds it in the background). */
async function exportOf(ownerKey: string, campaignId: string): Promise<string> {
  const r = await send("POST", `/campaigns/${campaignId}/exports`, { name: "owner", credentials: { kind: "key", key: ownerKey }, actorId: null, role: "owner" }, validRequest("POST", "/campaigns/:id/exports", { campaignId }));
  if (r.status !== 202) throw new Error(`export: ${r.status} ${r.text}`);
  return r.json.id as string;
}
/** A saved report of the caller's org over one of its campaigns. */
async function savedReportOf(ownerKey: string, campaignId: string): Promise<string> {
  const r = await send("POST", "/reports/saved", { name: "owner", credentials: { kind: "key", key: ownerKey }, actorId: null, role: "owner" }, validRequest("POST", "/reports/saved", { campaignId }));
  if (r.status !== 201) throw new Error(`saved report: ${r.status} ${r.text}`);
  return r.json.id as string;
}
const wrapSession = (s: { sessionId: string; cleanup: () => void }) => ({ ids: { sessionId: s.sessionId }, cleanup: s.cleanup });

/** Routes that must have fresh data: every DELETE and every session control. */
const needsFresh = (r: RouteInfo) => r.method === "DELETE" || r.spec?.action === "session.control";

// ---------------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------------
type Expected = { kind: "allow" } | { kind: "deny"; status: 401 | 403 | 404; code: RegExp };
type Verdict = "ok" | "unexpected allow" | "unexpected deny" | "wrong denial" | "other";

interface Cell {
  route: RouteInfo;
  caller: Caller;
  expected: Expected;
  got: Answer;
  verdict: Verdict;
  note?: string;
}

const DENY_401: Expected = { kind: "deny", status: 401, code: /^UNAUTHENTICATED$/ };
const DENY_403: Expected = { kind: "deny", status: 403, code: /^FORBIDDEN$/ };
const DENY_404: Expected = { kind: "deny", status: 404, code: /NOT_FOUND$/ };

/** A route's normal, non-auth outcome: success, a WebSocket switch, or an illegal-state 409. */
const allowClass = (s: number) => (s >= 200 && s < 300) || s === 101 || s === 409;
const denyClass = (s: number) => s === 401 || s === 403 || s === 404;

/** Routes whose body names org A's resources (e.g. a report's campaignIds): other orgs get 404 too. */
const NAMES_IDS_IN_BODY = new Set(["POST /reports", "POST /reports/saved"]);

function expectationFor(r: RouteInfo, caller: Caller, kind: "role" | "revoked" | "anonymous" | "other-org"): Expected {
  if (kind === "anonymous" || kind === "revoked") return DENY_401;
  if (kind === "other-org") {
    // The other org's owner may do anything in its own org; org A's ids do not exist for it.
    if (r.path.includes(":id") || NAMES_IDS_IN_BODY.has(`${r.method} ${r.path}`)) return DENY_404;
    return allowedRoles(r).includes("owner") ? { kind: "allow" } : DENY_403;
  }
  return allowedRoles(r).includes(caller.role!) ? { kind: "allow" } : DENY_403;
}

function judge(expected: Expected, got: Answer): Verdict {
  const code = got.json?.error?.code as string | undefined;
  if (expected.kind === "allow") {
    if (allowClass(got.status)) return "ok";
    return denyClass(got.status) ? "unexpected deny" : "other";
  }
  if (got.status === expected.status && code !== undefined && expected.code.test(code)) return "ok";
  if (allowClass(got.status)) return "unexpected allow";
  return denyClass(got.status) ? "wrong denial" : "other";
}

const callerKind = new Map<string, "role" | "revoked" | "anonymous" | "other-org">();

/** Runs one cell: fresh data when the call is expected to change state, the request, the verdict. */
async function runCell(w: World, r: RouteInfo, caller: Caller): Promise<Cell> {
  const kind = callerKind.get(caller.name) ?? "role";
  const expected = expectationFor(r, caller, kind);
  const fresh = expected.kind === "allow" && kind === "role" ? FRESH[routeKey(r)] : undefined;
  const prepared = fresh ? await fresh(w) : { ids: {}, cleanup: () => {} };
  try {
    const ids = { ...w.shared, ...prepared.ids };
    const req = validRequest(r.method, r.path, { campaignId: ids.targetCampaignId });
    const got = await send(r.method, fill(r, ids), caller, req);
    let verdict = judge(expected, got);
    let note: string | undefined;
    if (verdict === "ok" && kind === "other-org" && expected.kind === "allow") {
      // Routes without an id answer with the other org's own data only. Its audit log lists its own
      // denied tries on org A's ids (the ids it sent itself): those rows tell it nothing new.
      const own = (e: { outcome?: string; details?: { reason?: string } | null }) => e.outcome === "deny" && e.details?.reason === "not_found";
      const text = r.path === "/audit-log" && Array.isArray(got.json?.data) ? JSON.stringify(got.json.data.filter((e: Parameters<typeof own>[0]) => !own(e))) : got.text;
      const leaked = w.aIds.filter((id) => text.includes(id));
      if (leaked.length) [verdict, note] = ["unexpected allow", `org A's ids in org B's answer: ${leaked.join(", ")}`];
      const made = typeof got.json?.id === "string" ? await orgOfId(got.json.id) : null;
      if (made && made !== w.b.org.id) [verdict, note] = ["unexpected allow", `${got.json.id} was made in ${made}, not the caller's org`];
    }
    return { route: r, caller, expected, got, verdict, note };
  } finally {
    prepared.cleanup();
  }
}

/** The org a created or changed resource belongs to, by its id's type. */
async function orgOfId(id: string): Promise<string | null> {
  if (id.startsWith("org_")) return id;
  const table = id.startsWith("cmp_") ? "campaigns" : id.startsWith("usr_") ? "members" : id.startsWith("key_") ? "api_keys" : id.startsWith("inv_") ? "invites" : id.startsWith("ses_") ? "sessions" : id.startsWith("whk_") ? "webhooks" : id.startsWith("exp_") ? "exports" : id.startsWith("rpt_") ? "saved_reports" : null;
  if (!table) return null;
  return (await env.DB.prepare(`SELECT org_id FROM ${table} WHERE id = ?`).bind(id).first<{ org_id: string }>())?.org_id ?? null;
}

const describeCell = (c: Cell) =>
  `${routeKey(c.route)} as ${c.caller.name}: expected ${c.expected.kind === "allow" ? "allow (2xx/101/409)" : `${c.expected.status} ${c.expected.code.source}`}, got ${c.got.status} ${c.got.json?.error?.code ?? ""}${c.note ? ` (${c.note})` : ""} ${c.got.status >= 400 ? c.got.text.slice(0, 160) : ""}`.trim();

function count(cells: Cell[]) {
  const by = (v: Verdict) => cells.filter((c) => c.verdict === v).length;
  return { total: cells.length, unexpectedAllows: by("unexpected allow"), unexpectedDenies: by("unexpected deny"), wrongDenials: by("wrong denial"), other: by("other") };
}

/** Waits until every 403 cell has its deny row in the audit log; returns the cells still missing one. */
async function missingDenyRows(cells: Cell[], orgId: string, actorType: string) {
  const denied = cells.filter((c) => c.got.status === 403);
  const noRequestId = denied.filter((c) => !c.got.requestId);
  const ids = denied.map((c) => c.got.requestId).filter((x): x is string => Boolean(x));
  const matches = (c: Cell, rows: Record<string, unknown>[]) =>
    rows.some(
      (row) =>
        row.request_id === c.got.requestId &&
        row.outcome === "deny" &&
        row.org_id === orgId &&
        row.actor_type === actorType &&
        row.actor_id === c.caller.actorId &&
        row.actor_role === c.caller.role &&
        row.action === c.route.spec?.action,
    );
  let rows: Record<string, unknown>[] = [];
  try {
    await waitFor(
      async () => (rows = await auditRowsByRequest(ids)),
      (rs) => denied.every((c) => !c.got.requestId || matches(c, rs)),
      "a deny audit row for every 403",
      10_000,
    );
  } catch {
    /* reported below, cell by cell */
  }
  return [...noRequestId, ...denied.filter((c) => c.got.requestId && !matches(c, rows))].map(
    (c) => `${routeKey(c.route)} as ${c.caller.name} (request ${c.got.requestId ?? "without X-Request-Id"}): rows ${JSON.stringify(rows.filter((r) => r.request_id === c.got.requestId))}`,
  );
}

// ---------------------------------------------------------------------------------------------
beforeAll(async () => {
  const [a, b] = [await createOrg(), await createOrg()];
  const ownerKey = a.apiKey.key;
  const campaign = await createCampaign(ownerKey);
  const target = await createCampaign(ownerKey, { name: "Reassign target" });
  const invite = await createInvite(ownerKey, campaign.id, { participant: { email: `${unique("p")}@example.com`, name: "Pat" } });
  const session = await freshCreatedSession(ownerKey, campaign.id);
  const voice = await voiceSessionWithAudio(ownerKey);
  const memberId = await insertMember(a.org.id, "viewer");
  const spareKey = await keyWithRole(a.org.id, "viewer");
  const keys = { admin: await keyWithRole(a.org.id, "admin"), analyst: await keyWithRole(a.org.id, "analyst"), viewer: await keyWithRole(a.org.id, "viewer") };
  const revoked = await revokedKey(a.org.id, "owner");
  const webhookId = await webhookOf(ownerKey);
  const exportId = await exportOf(ownerKey, campaign.id);
  const reportId = await savedReportOf(ownerKey, campaign.id);
  // Something in org B too, so its lists are not trivially empty.
  await createCampaign(b.apiKey.key, { name: "Org B's own campaign" });

  const callers: Caller[] = [
    { name: "owner", credentials: { kind: "key", key: ownerKey }, actorId: a.apiKey.id, role: "owner" },
    { name: "admin", credentials: { kind: "key", key: keys.admin.key }, actorId: keys.admin.id, role: "admin" },
    { name: "analyst", credentials: { kind: "key", key: keys.analyst.key }, actorId: keys.analyst.id, role: "analyst" },
    { name: "viewer", credentials: { kind: "key", key: keys.viewer.key }, actorId: keys.viewer.id, role: "viewer" },
    { name: "revoked key", credentials: { kind: "key", key: revoked.key }, actorId: revoked.id, role: null },
    { name: "anonymous", credentials: { kind: "none" }, actorId: null, role: null },
    { name: "other org's owner", credentials: { kind: "key", key: b.apiKey.key }, actorId: b.apiKey.id, role: "owner" },
  ];
  callerKind.set("revoked key", "revoked").set("anonymous", "anonymous").set("other org's owner", "other-org");
  const shared: Ids = { campaignId: campaign.id, targetCampaignId: target.id, sessionId: session.sessionId, audioSessionId: voice.sessionId, memberId, keyId: spareKey.id, webhookId, exportId, reportId, inviteId: invite.id };
  const aIds = [webhookId, exportId, reportId, a.org.id, a.owner.id, a.apiKey.id, campaign.id, target.id, invite.id, session.sessionId, voice.sessionId, voice.campaignId, memberId, spareKey.id, ...Object.values(keys).map((k) => k.id), revoked.id];
  world = { a, b, ownerKey, shared, aIds, callers };
}, 30_000);

describe("the route list against the contract's role table", () => {
  it("every key-authenticated route declares an action that the contract table places", () => {
    expect(KEY_ROUTES.length).toBeGreaterThanOrEqual(25);
    const problems = KEY_ROUTES.flatMap((r) => {
      const action = r.spec?.action;
      if (!action) return [`${routeKey(r)} declares no policy action`];
      if (!(action in CONTRACT_ACTIONS)) return [`${routeKey(r)} declares "${action}", which the contract table does not place`];
      return [];
    });
    expect(problems).toEqual([]);
  });

  it("routes the contract names declare an action on the row the contract puts them", () => {
    const problems = KEY_ROUTES.flatMap((r) => {
      const named = CONTRACT_ROUTES[routeKey(r)];
      const declared = r.spec?.action ? CONTRACT_ACTIONS[r.spec.action] : undefined;
      if (!named || !declared || named === declared) return [];
      return [`${routeKey(r)} declares "${r.spec!.action}" (${CONTRACT_ROWS[declared].row}: ${CONTRACT_ROWS[declared].roles.join(", ")}) but the contract puts it under "${CONTRACT_ROWS[named].row}" (${CONTRACT_ROWS[named].roles.join(", ")})`];
    });
    expect(problems).toEqual([]);
  });

  it("every route that changes state for good has fresh data per allowed cell, and every route has an id of org A", () => {
    expect(KEY_ROUTES.filter(needsFresh).filter((r) => !FRESH[routeKey(r)]).map(routeKey)).toEqual([]);
    expect(() => KEY_ROUTES.forEach((r) => fill(r, world.shared))).not.toThrow();
  });
});

let matrix: Cell[] = [];

describe("the role matrix", () => {
  it("every key route × {owner, admin, analyst, viewer, revoked key, anonymous, other org's owner} answers as the contract says", async () => {
    const started = Date.now();
    const cells: Cell[] = [];
    for (const r of KEY_ROUTES) {
      if (!rowOf(r)) continue; // reported by the test above
      for (const caller of world.callers) cells.push(await runCell(world, r, caller));
    }
    matrix = cells;
    const n = count(cells);
    const bad = cells.filter((c) => c.verdict !== "ok");
    const tolerated = cells.filter((c) => c.verdict === "ok" && c.got.status === 409);
    console.log(
      [
        `role matrix: ${KEY_ROUTES.length} key routes × ${world.callers.length} principals = ${n.total} cells in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `  answers: ${["2xx", "101", "409", "401", "403", "404"].map((k) => `${k} ${cells.filter((c) => (k === "2xx" ? c.got.status >= 200 && c.got.status < 300 : String(c.got.status) === k)).length}`).join(", ")}`,
        `  unexpected allows: ${n.unexpectedAllows}`,
        `  unexpected denies: ${n.unexpectedDenies}`,
        `  wrong denial status: ${n.wrongDenials}`,
        `  other answers (5xx, 400, …): ${n.other}`,
        ...(tolerated.length ? [`  allowed with a 409 (illegal state): ${tolerated.map(describeCell).join("; ")}`] : []),
        ...bad.map((c) => `  ✗ [${c.verdict}] ${describeCell(c)}`),
      ].join("\n"),
    );
    expect(n.total).toBe(KEY_ROUTES.length * world.callers.length);
    expect(bad.map((c) => `[${c.verdict}] ${describeCell(c)}`)).toEqual([]);
    expect(n.unexpectedAllows).toBe(0);
    expect(n.unexpectedDenies).toBe(0);
  }, 60_000);

  it("every 403 cell left an audit row with outcome deny for that actor", async () => {
    expect(matrix.length, "the matrix test runs first").toBeGreaterThan(0);
    expect(matrix.filter((c) => c.got.status === 403).length).toBeGreaterThan(0);
    expect(await missingDenyRows(matrix, world.a.org.id, "api_key")).toEqual([]);
    console.log(`audit: a deny row found for each of the ${matrix.filter((c) => c.got.status === 403).length} 403 cells`);
  }, 20_000);

  it("the other org's owner gets org B's own data from routes without an id", async () => {
    const b = world.callers.find((c) => c.name === "other org's owner")!;
    const campaigns = await send("GET", "/campaigns", b);
    expect(campaigns.status).toBe(200);
    expect(campaigns.json.data.map((c: { name: string }) => c.name)).toContain("Org B's own campaign");
    expect(campaigns.json.data.map((c: { id: string }) => c.id)).not.toContain(world.shared.campaignId);
    const org = await send("GET", "/org", b);
    expect(org.json.id).toBe(world.b.org.id);
    const members = await send("GET", "/members", b);
    const memberIds: string[] = members.json.data.map((m: { id: string }) => m.id);
    expect(memberIds).toContain(world.b.owner.id);
    for (const id of memberIds) expect(await orgOfId(id), id).toBe(world.b.org.id);
    const keys = await send("GET", "/api-keys", b);
    for (const k of keys.json.data as { id: string }[]) expect(await orgOfId(k.id), k.id).toBe(world.b.org.id);
    for (const id of world.aIds) expect(campaigns.text + org.text + members.text + keys.text).not.toContain(id);
  });
});

// ---------------------------------------------------------------------------------------------
describe("mass assignment", () => {
  const ATTEMPTS = (otherOrgId: string): [string, unknown][] => [
    ["orgId", otherOrgId],
    ["org_id", otherOrgId],
    ["role", "owner"],
    ["status", "completed"],
    ["id", "cmp_aaaaaaaaaaaaaaaa"],
    ["scriptVersion", 99],
    ["createdAt", "2020-01-01T00:00:00.000Z"],
  ];
  /** The fields a route's body schema accepts. */
  const fieldsOf = (r: RouteInfo): Set<string> => {
    const s = r.body as unknown as { shape?: Record<string, unknown>; _zod?: { def?: { shape?: Record<string, unknown> } } };
    return new Set(Object.keys(s?.shape ?? s?._zod?.def?.shape ?? {}));
  };

  it("POST and PATCH bodies carrying orgId, org_id, role, status, id, scriptVersion or createdAt are 400 and change nothing", async () => {
    const m = await createOrg();
    const key = m.apiKey.key;
    const campaign = await createCampaign(key);
    const target = await createCampaign(key, { name: "Target" });
    const invite = await createInvite(key, campaign.id);
    const session = await createdSession(key, campaign.id);
    await waitFor(async () => (await env.DB.prepare("SELECT 1 FROM sessions WHERE id = ?").bind(session.sessionId).first()) !== null, (x) => x, "index row");
    const memberId = await insertMember(m.org.id, "analyst");
    const spare = await keyWithRole(m.org.id, "viewer");
    const ids: Ids = { campaignId: campaign.id, targetCampaignId: target.id, sessionId: session.sessionId, audioSessionId: session.sessionId, memberId, keyId: spare.id, webhookId: world.shared.webhookId, inviteId: invite.id };
    const before = await orgSnapshot(m.org.id);
    const beforeB = await orgSnapshot(world.b.org.id);
    const credentials = (r: RouteInfo): Caller => ({
      name: "owner",
      role: "owner",
      actorId: m.apiKey.id,
      credentials: r.spec?.auth === "key" ? { kind: "key", key } : r.spec?.auth === "operator" ? { kind: "key", key: "test-operator-token" } : { kind: "none" },
    });

    const routes = ROUTES.filter((r) => r.body && ["POST", "PATCH", "PUT"].includes(r.method));
    expect(routes.map(routeKey)).toEqual(expect.arrayContaining(["POST /campaigns", "PATCH /campaigns/:id", "POST /members", "PATCH /members/:id", "POST /api-keys", "PATCH /org", "POST /sessions/:id/pause"]));
    const problems: string[] = [];
    const emails: string[] = [];
    let attempts = 0;
    for (const r of routes) {
      const fields = fieldsOf(r);
      for (const [field, value] of ATTEMPTS(world.b.org.id)) {
        if (fields.has(field)) continue; // a real field of this body (role on members and keys)
        const sample = (validRequest(r.method, r.path, { campaignId: ids.targetCampaignId }).body ?? {}) as Record<string, any>;
        for (const e of [sample.email, sample.owner?.email]) if (typeof e === "string") emails.push(e);
        attempts++;
        const res = await send(r.method, fill(r, ids), credentials(r), { body: { ...sample, [field]: value } });
        const named = JSON.stringify(res.json?.error?.details?.fields ?? []).includes(field);
        if (res.status !== 400 || res.json?.error?.code !== "VALIDATION_FAILED" || !named) problems.push(`${routeKey(r)} with ${field}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    console.log(`mass assignment: ${attempts} attempts on ${routes.length} routes with a body`);
    expect(problems).toEqual([]);
    expect(await orgSnapshot(m.org.id)).toEqual(before);
    expect(await orgSnapshot(world.b.org.id)).toEqual(beforeB);
    for (const e of emails) expect(await memberWithEmail(e), `a member ${e} was created`).toBe(false);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
describe("dashboard sign-in gets the same answers as an API key of the same role", () => {
  /** A read and a write that each role may and may not do; live watching as the cookie upgrade. */
  const SAMPLE = [
    "GET /campaigns/:id",
    "GET /sessions/:id/transcript",
    "GET /audit-log",
    "GET /members",
    "GET /sessions/:id/live",
    "POST /sessions/:id/notes",
    "PATCH /campaigns/:id",
    "POST /sessions/:id/pause",
    "POST /api-keys",
    "DELETE /sessions/:id/data",
  ];

  it("for a read and a write of every role, cookie and key answer alike, and cookie 403s are audited", async () => {
    const routes = SAMPLE.map((k) => KEY_ROUTES.find((r) => routeKey(r) === k));
    expect(routes.map((r, i) => r ?? SAMPLE[i]).filter((r) => typeof r === "string")).toEqual([]);
    const w = world;
    const keyCallers = new Map(w.callers.filter((c) => c.role && callerKind.get(c.name) === undefined).map((c) => [c.role!, c]));
    const members: Record<Role, { id: string; email: string; password: string }> = {
      owner: { id: w.a.owner.id, email: w.a.owner.email, password: OWNER_PASSWORD },
      admin: { ...(await addMember(w.ownerKey, "admin")), password: MEMBER_PASSWORD },
      analyst: { ...(await addMember(w.ownerKey, "analyst")), password: MEMBER_PASSWORD },
      viewer: { ...(await addMember(w.ownerKey, "viewer")), password: MEMBER_PASSWORD },
    };
    const cookieCallers: Caller[] = [];
    for (const role of ROLES) {
      const cookie = await signIn(members[role].email, members[role].password);
      cookieCallers.push({ name: `${role} (signed in)`, credentials: { kind: "cookie", cookie, origin: BASE }, actorId: members[role].id, role });
    }

    const cookieCells: Cell[] = [];
    const problems: string[] = [];
    const reads = new Map<Role, number>();
    const writes = new Map<Role, number>();
    for (const r of routes as RouteInfo[]) {
      for (const cookieCaller of cookieCallers) {
        const role = cookieCaller.role!;
        const viaKey = await runCell(w, r, keyCallers.get(role)!);
        const viaCookie = await runCell(w, r, cookieCaller);
        cookieCells.push(viaCookie);
        (r.method === "GET" ? reads : writes).set(role, ((r.method === "GET" ? reads : writes).get(role) ?? 0) + 1);
        if (viaCookie.verdict !== "ok") problems.push(`[${viaCookie.verdict}] ${describeCell(viaCookie)}`);
        if (viaCookie.got.status !== viaKey.got.status) problems.push(`${routeKey(r)} as ${role}: key ${viaKey.got.status}, cookie ${viaCookie.got.status} ${viaCookie.got.text.slice(0, 160)}`);
      }
    }
    const n = count(cookieCells);
    console.log(`cookie parity: ${n.total} cells; unexpected allows: ${n.unexpectedAllows}; unexpected denies: ${n.unexpectedDenies}; differing from the key: ${problems.length}`);
    for (const role of ROLES) {
      expect(reads.get(role), `${role} reads`).toBeGreaterThanOrEqual(1);
      expect(writes.get(role), `${role} writes`).toBeGreaterThanOrEqual(1);
    }
    expect(problems).toEqual([]);
    expect(await missingDenyRows(cookieCells, w.a.org.id, "member")).toEqual([]);

    // The same owner cookie without a same-origin Origin is refused on a write (CSRF), with no change.
    const noOrigin: Caller = { ...cookieCallers[0]!, credentials: { ...(cookieCallers[0]!.credentials as { kind: "cookie"; cookie: string }), kind: "cookie", origin: null } };
    const notesOf = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM notes WHERE session_id = ?").bind(w.shared.sessionId).first<{ n: number }>())!.n;
    const nameOf = async () => (await env.DB.prepare("SELECT name FROM campaigns WHERE id = ?").bind(w.shared.campaignId).first<{ name: string }>())!.name;
    const before = { notes: await notesOf(), name: await nameOf() };
    const csrf = await send("PATCH", `/campaigns/${w.shared.campaignId}`, noOrigin, { body: { name: "Cross-site rename" } });
    expect(csrf.status, csrf.text).toBe(403);
    expect(csrf.json.error.code).toBe("CSRF_REJECTED");
    const foreign: Caller = { ...noOrigin, credentials: { ...(noOrigin.credentials as { kind: "cookie"; cookie: string }), kind: "cookie", origin: "https://evil.example" } };
    expect((await send("POST", `/sessions/${w.shared.sessionId}/notes`, foreign, { body: { text: "x" } })).status).toBe(403);
    expect({ notes: await notesOf(), name: await nameOf() }).toEqual(before);
  }, 60_000);
});
