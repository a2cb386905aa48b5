// Members, API keys and org settings: the owner's side of the role table.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { typedText } from "../../shared/text";
import { keysetPage } from "../../db/cursor";
import { newId } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { emptyBody, jsonBody, op, queryOf } from "../openapi";
import { hashPassword } from "../passwords";
import { ROLES, type Role } from "../policy";
import { ListQuery, Password, PLANS, idParam, page } from "../schemas";
import { RetentionOverrides } from "../../shared/retention";
import { effectiveOrgRetention, parseOverrides } from "../retention";
import type { AppEnv } from "../types";
import { endLiveAccess } from "../live-access";
import { badCursor } from "./campaigns";
import { mintApiKey } from "./orgs";

export const teamRoutes = new Hono<AppEnv>();

const email = z.email().max(320).transform((e) => e.toLowerCase());
const role = z.enum(ROLES);

type MemberRow = { id: string; org_id: string; email: string; name: string; role: Role; created_at: number; updated_at: number };
type KeyRow = { id: string; org_id: string; name: string; role: Role; last4: string; created_at: number; last_used_at: number | null; revoked_at: number | null; created_by: string | null };

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const memberJson = (m: MemberRow) => ({ id: m.id, email: m.email, name: m.name, role: m.role, createdAt: iso(m.created_at), updatedAt: iso(m.updated_at) });
const keyJson = (k: KeyRow) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  last4: k.last4,
  createdAt: iso(k.created_at),
  lastUsedAt: iso(k.last_used_at),
  revokedAt: iso(k.revoked_at),
});

const Member = z.object({ id: z.string(), email: z.string(), name: z.string(), role, createdAt: z.string(), updatedAt: z.string() });
const CreateMember = z.strictObject({ email, name: typedText(200), role, password: Password });
const PatchMember = z
  .strictObject({ email: email.optional(), name: typedText(200).optional(), role: role.optional(), password: Password.optional() })
  .refine((v) => Object.keys(v).length > 0, "send at least one of email, name, role, password");
const ApiKey = z.object({ id: z.string(), name: z.string(), role, last4: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });
const CreateKey = z.strictObject({ name: typedText(200), role });
const RetentionDaysJson = z.object({ transcripts: z.number().int(), audio: z.number().int(), analytics: z.number().int(), metadata: z.number().int() });
const Org = z.object({
  id: z.string(),
  name: z.string(),
  plan: z.enum(PLANS),
  retentionDays: z.number().int().nullable(),
  /** Enterprise: custom days per data type (null: none). */
  retentionCustom: RetentionOverrides.nullable(),
  /** The days in force per data type (the plan's table, or the enterprise custom values). */
  retention: RetentionDaysJson,
  createdAt: z.string(),
});
const PatchOrg = z
  .strictObject({
    name: typedText(200).optional(),
    plan: z.enum(PLANS).optional(),
    retentionDays: z.number().int().min(1).max(3650).nullable().optional(),
    retention: RetentionOverrides.nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one of name, plan, retentionDays, retention");

const memId = idParam("usr");
const keyId = idParam("key");

async function memberFromPath(c: Context<AppEnv>): Promise<MemberRow> {
  const id = c.req.param("id") ?? "";
  const row = memId.safeParse(id).success
    ? await c.env.DB.prepare("SELECT * FROM members WHERE id = ? AND org_id = ?").bind(id, c.get("principal")!.orgId).first<MemberRow>()
    : null;
  if (!row) throw notFound("member");
  c.set("auditResource", { type: "member", id: row.id });
  return row;
}

async function ownerCount(db: D1Database, orgId: string) {
  return (await db.prepare("SELECT COUNT(*) AS n FROM members WHERE org_id = ? AND role = 'owner'").bind(orgId).first<{ n: number }>())?.n ?? 0;
}

const uniqueEmail = (err: unknown) => {
  if (String(err).includes("UNIQUE")) throw new ApiError(409, "EMAIL_TAKEN", "a member with this email already exists", { fields: [{ path: "email", message: "already registered" }] });
  throw err;
};

teamRoutes.get(
  "/members",
  op({ summary: "List the org's members", tags: ["team"], auth: "key", action: "org.manage", resource: "member", responses: { 200: { description: "a page", schema: page(Member) } } }),
  queryOf(ListQuery),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<MemberRow>(c.env.DB, "members", "org_id = ?", [c.get("principal")!.orgId], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(memberJson), nextCursor: p.nextCursor });
  },
);

teamRoutes.post(
  "/members",
  op({ summary: "Add a member with a role and an initial password", tags: ["team"], auth: "key", action: "org.manage", resource: "member", responses: { 201: { description: "created", schema: Member }, 409: { description: "EMAIL_TAKEN: the email already signs in to InterviewRelay (sign-in is by email, so an address belongs to one member)" } } }),
  jsonBody(CreateMember),
  async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const row: MemberRow = { id: newId("usr"), org_id: c.get("principal")!.orgId, email: body.email, name: body.name, role: body.role, created_at: now, updated_at: now };
    await c.env.DB.prepare("INSERT INTO members (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(row.id, row.org_id, row.email, row.name, row.role, await hashPassword(body.password), now, now)
      .run()
      .catch(uniqueEmail);
    c.set("auditResource", { type: "member", id: row.id });
    return c.json(memberJson(row), 201);
  },
);

teamRoutes.patch(
  "/members/:id",
  op({ summary: "Change a member's name, email, role or password", tags: ["team"], auth: "key", action: "org.manage", resource: "member", responses: { 200: { description: "the member", schema: Member }, 409: { description: "EMAIL_TAKEN; or LAST_OWNER: an org keeps at least one owner" } } }),
  jsonBody(PatchMember),
  async (c) => {
    const row = await memberFromPath(c);
    const body = c.req.valid("json");
    if (row.role === "owner" && body.role && body.role !== "owner" && (await ownerCount(c.env.DB, row.org_id)) <= 1) {
      throw new ApiError(409, "LAST_OWNER", "an org keeps at least one owner; make someone else owner first");
    }
    const next: MemberRow = { ...row, email: body.email ?? row.email, name: body.name ?? row.name, role: body.role ?? row.role, updated_at: Date.now() };
    const writes = [
      c.env.DB.prepare("UPDATE members SET email = ?, name = ?, role = ?, updated_at = ? WHERE id = ?").bind(next.email, next.name, next.role, next.updated_at, row.id),
    ];
    if (body.password) writes.push(c.env.DB.prepare("UPDATE members SET password_hash = ? WHERE id = ?").bind(await hashPassword(body.password), row.id));
    // A new password or a lower role ends every sign-in of that member.
    const accessEnds = Boolean(body.password || (body.role && body.role !== row.role));
    if (accessEnds) writes.push(c.env.DB.prepare("DELETE FROM auth_sessions WHERE member_id = ?").bind(row.id));
    await c.env.DB.batch(writes).catch(uniqueEmail);
    // Their open live sockets were opened under the old role or password: they close too.
    if (accessEnds) await endLiveAccess(c.env, row.id);
    return c.json(memberJson(next));
  },
);

teamRoutes.delete(
  "/members/:id",
  op({ summary: "Remove a member; their sign-ins end at once", tags: ["team"], auth: "key", action: "org.manage", resource: "member", responses: { 200: { description: "the removed member", schema: Member }, 409: { description: "LAST_OWNER: an org keeps at least one owner" } } }),
  emptyBody(),
  async (c) => {
    const row = await memberFromPath(c);
    if (row.role === "owner" && (await ownerCount(c.env.DB, row.org_id)) <= 1) throw new ApiError(409, "LAST_OWNER", "an org keeps at least one owner");
    await c.env.DB.batch([
      c.env.DB.prepare("DELETE FROM auth_sessions WHERE member_id = ?").bind(row.id),
      c.env.DB.prepare("DELETE FROM members WHERE id = ?").bind(row.id),
    ]);
    await endLiveAccess(c.env, row.id);
    return c.json(memberJson(row));
  },
);

teamRoutes.get(
  "/api-keys",
  op({ summary: "List API keys (never their secrets)", tags: ["team"], auth: "key", action: "org.manage", resource: "api_key", responses: { 200: { description: "a page", schema: page(ApiKey) } } }),
  queryOf(ListQuery),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<KeyRow>(c.env.DB, "api_keys", "org_id = ?", [c.get("principal")!.orgId], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(keyJson), nextCursor: p.nextCursor });
  },
);

teamRoutes.post(
  "/api-keys",
  op({
    summary: "Create an API key with a role; the secret is shown only in this response",
    tags: ["team"],
    auth: "key",
    action: "org.manage",
    resource: "api_key",
    responses: { 201: { description: "created", schema: ApiKey.extend({ key: z.string() }) } },
  }),
  jsonBody(CreateKey),
  async (c) => {
    const body = c.req.valid("json");
    const p = c.get("principal")!;
    const minted = await mintApiKey();
    const row: KeyRow = { id: newId("key"), org_id: p.orgId, name: body.name, role: body.role, last4: minted.last4, created_at: Date.now(), last_used_at: null, revoked_at: null, created_by: p.id };
    await c.env.DB.prepare("INSERT INTO api_keys (id, org_id, name, role, key_hash, last4, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(row.id, row.org_id, row.name, row.role, minted.hash, row.last4, row.created_by, row.created_at)
      .run();
    c.set("auditResource", { type: "api_key", id: row.id });
    return c.json({ ...keyJson(row), key: minted.key }, 201);
  },
);

teamRoutes.delete(
  "/api-keys/:id",
  op({ summary: "Revoke an API key; it stops working on the next request", tags: ["team"], auth: "key", action: "org.manage", resource: "api_key", responses: { 200: { description: "the revoked key", schema: ApiKey } } }),
  emptyBody(),
  async (c) => {
    const id = c.req.param("id");
    const orgId = c.get("principal")!.orgId;
    const row = keyId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM api_keys WHERE id = ? AND org_id = ?").bind(id, orgId).first<KeyRow>() : null;
    if (!row) throw notFound("API key");
    const revokedAt = row.revoked_at ?? Date.now();
    await c.env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(revokedAt, row.id).run();
    await endLiveAccess(c.env, row.id);
    return c.json(keyJson({ ...row, revoked_at: revokedAt }));
  },
);

type OrgRow = { id: string; name: string; plan: (typeof PLANS)[number]; retention_days: number | null; retention: string | null; created_at: number };
const orgJson = (o: OrgRow) => ({
  id: o.id,
  name: o.name,
  plan: o.plan,
  retentionDays: o.retention_days,
  retentionCustom: parseOverrides(o.retention),
  retention: effectiveOrgRetention(o),
  createdAt: iso(o.created_at),
});

teamRoutes.get(
  "/org",
  op({ summary: "The org's settings: plan and retention (owners)", tags: ["team"], auth: "key", action: "org.manage", resource: "org", responses: { 200: { description: "the org", schema: Org } } }),
  async (c) => {
    const row = await c.env.DB.prepare("SELECT * FROM orgs WHERE id = ?").bind(c.get("principal")!.orgId).first<OrgRow>();
    if (!row) throw notFound("org");
    return c.json(orgJson(row));
  },
);

teamRoutes.patch(
  "/org",
  op({
    summary: "Change the org's name, plan or retention",
    description:
      "Custom retention is only available on the enterprise plan: retentionDays (one value for every data type) or retention (days per type: transcripts, audio, analytics, metadata; it wins over retentionDays). Other plans follow the plan's table (GET /v1/retention).",
    tags: ["team"],
    auth: "key",
    action: "org.manage",
    resource: "org",
    responses: { 200: { description: "the org", schema: Org } },
  }),
  jsonBody(PatchOrg),
  async (c) => {
    const orgId = c.get("principal")!.orgId;
    const row = (await c.env.DB.prepare("SELECT * FROM orgs WHERE id = ?").bind(orgId).first<OrgRow>())!;
    const body = c.req.valid("json");
    const plan = body.plan ?? row.plan;
    let retention = body.retentionDays === undefined ? row.retention_days : body.retentionDays;
    if (body.retentionDays !== undefined && body.retentionDays !== null && plan !== "enterprise") {
      throw new ApiError(400, "VALIDATION_FAILED", "custom retention is only available on the enterprise plan", { fields: [{ path: "retentionDays", message: "enterprise plan only" }] });
    }
    if (body.retention && plan !== "enterprise") {
      throw new ApiError(400, "VALIDATION_FAILED", "custom retention is only available on the enterprise plan", { fields: [{ path: "retention", message: "enterprise plan only" }] });
    }
    let perType = body.retention === undefined ? row.retention : body.retention && Object.keys(body.retention).length ? JSON.stringify(body.retention) : null;
    // Leaving enterprise drops custom retention: the plan's own limits apply again.
    if (plan !== "enterprise") {
      retention = null;
      perType = null;
    }
    const next: OrgRow = { ...row, name: body.name ?? row.name, plan, retention_days: retention, retention: perType };
    await c.env.DB.prepare("UPDATE orgs SET name = ?, plan = ?, retention_days = ?, retention = ? WHERE id = ?").bind(next.name, next.plan, next.retention_days, next.retention, orgId).run();
    c.set("auditResource", { type: "org", id: orgId });
    return c.json(orgJson(next));
  },
);
