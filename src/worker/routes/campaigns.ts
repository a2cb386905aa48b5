import { Hono, type Context } from "hono";
import { campaignJson, findCampaign, findCampaignStatement, inviteJson, parseSettings, scriptQuestions } from "../../db/campaigns";
import { keysetPage } from "../../db/cursor";
import type { CampaignRow, InviteRow } from "../../db/schema";
import { newId, randomSecret, sha256Hex } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { emptyBody, jsonBody, op, queryOf } from "../openapi";
import { Campaign, CreateCampaign, CreateInvite, Invite, InviteCreated, ListQuery, PatchCampaign, PatchInvite, idParam, page } from "../schemas";
import type { AppEnv } from "../types";

export const campaignRoutes = new Hono<AppEnv>();

const DEFAULT_INVITE_DAYS = 30;
const cmpId = idParam("cmp");
const invId = idParam("inv");

/** The invite named by the path, in the caller's org; anything else is 404. */
async function inviteFromPath(c: Context<AppEnv>): Promise<InviteRow> {
  const id = c.req.param("id") ?? "";
  const row = invId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM invites WHERE id = ? AND org_id = ?").bind(id, c.get("principal")!.orgId).first<InviteRow>() : null;
  if (!row) throw notFound("invite");
  c.set("auditResource", { type: "invite", id: row.id, campaignId: row.campaign_id });
  return row;
}

/** The campaign named by the path, in the caller's org; anything else is 404. */
export async function campaignFromPath(c: Context<AppEnv>): Promise<CampaignRow> {
  const id = c.req.param("id") ?? "";
  return ownCampaign(c, cmpId.safeParse(id).success ? await findCampaign(c.env.DB, c.get("principal")!.orgId, id) : null);
}

/** The path's campaign lookup as a statement, for a D1 batch; null when the id cannot be one (404). */
export function campaignStatement(c: Context<AppEnv>): D1PreparedStatement | null {
  const id = c.req.param("id") ?? "";
  return cmpId.safeParse(id).success ? findCampaignStatement(c.env.DB, c.get("principal")!.orgId, id) : null;
}

/** The row campaignFromPath's lookup found, or 404; the request's audit entry names it. */
export function ownCampaign(c: Context<AppEnv>, row: CampaignRow | null | undefined): CampaignRow {
  if (!row) throw notFound("campaign");
  c.set("auditResource", { type: "campaign", id: row.id, campaignId: row.id });
  return row;
}

export function badCursor(): never {
  throw new ApiError(400, "VALIDATION_FAILED", "invalid cursor", { fields: [{ path: "cursor", message: "not a cursor from this list" }] });
}

campaignRoutes.post(
  "/campaigns",
  op({ summary: "Create a campaign", tags: ["campaigns"], auth: "key", action: "campaign.write", resource: "campaign", responses: { 201: { description: "created", schema: Campaign } } }),
  jsonBody(CreateCampaign),
  async (c) => {
    const body = c.req.valid("json");
    const orgId = c.get("principal")!.orgId;
    const now = Date.now();
    const row: CampaignRow = {
      id: newId("cmp"),
      org_id: orgId,
      name: body.name,
      script_version: 1,
      settings: JSON.stringify(body.settings),
      retention: null,
      total_questions: body.questions.length,
      created_at: now,
      updated_at: now,
    };
    await c.env.DB.batch([
      c.env.DB.prepare("INSERT INTO campaigns (id, org_id, name, script_version, settings, total_questions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").bind(
        row.id,
        orgId,
        row.name,
        1,
        row.settings,
        row.total_questions,
        now,
        now,
      ),
      c.env.DB.prepare("INSERT INTO campaign_scripts (campaign_id, version, questions, created_at) VALUES (?, 1, ?, ?)").bind(row.id, JSON.stringify(body.questions), now),
    ]);
    c.set("auditResource", { type: "campaign", id: row.id, campaignId: row.id });
    return c.json(campaignJson(row, body.questions), 201);
  },
);

campaignRoutes.get(
  "/campaigns",
  op({ summary: "List campaigns, newest first", tags: ["campaigns"], auth: "key", resource: "campaign", action: "campaign.read", responses: { 200: { description: "a page", schema: page(Campaign) } } }),
  queryOf(ListQuery),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<CampaignRow>(c.env.DB, "campaigns", "org_id = ?", [c.get("principal")!.orgId], limit, cursor)) ?? badCursor();
    const data = await Promise.all(p.items.map(async (r) => campaignJson(r, await scriptQuestions(c.env.DB, r.id, r.script_version))));
    return c.json({ data, nextCursor: p.nextCursor });
  },
);

campaignRoutes.get(
  "/campaigns/:id",
  op({ summary: "Get a campaign", tags: ["campaigns"], auth: "key", resource: "campaign", action: "campaign.read", responses: { 200: { description: "the campaign", schema: Campaign } } }),
  async (c) => {
    const row = await campaignFromPath(c);
    return c.json(campaignJson(row, await scriptQuestions(c.env.DB, row.id, row.script_version)));
  },
);

campaignRoutes.patch(
  "/campaigns/:id",
  op({
    summary: "Edit a campaign; changed questions make a new script version",
    description: "Sessions keep the script version they started with.",
    tags: ["campaigns"],
    auth: "key",
    resource: "campaign",
    action: "campaign.write",
    responses: { 200: { description: "the campaign", schema: Campaign } },
  }),
  jsonBody(PatchCampaign),
  async (c) => {
    const row = await campaignFromPath(c);
    const body = c.req.valid("json");
    // updated_at strictly grows with every edit, so it doubles as the row's version for the guard below.
    const now = Math.max(Date.now(), row.updated_at + 1);
    const current = await scriptQuestions(c.env.DB, row.id, row.script_version);
    const questionsChanged = body.questions !== undefined && JSON.stringify(body.questions) !== JSON.stringify(current);
    const questions = questionsChanged ? body.questions! : current;
    const version = questionsChanged ? row.script_version + 1 : row.script_version;
    const merged: Record<string, unknown> = { ...parseSettings(row.settings), ...(body.settings ?? {}) };
    for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k]; // null clears
    const settings = merged;
    const next: CampaignRow = {
      ...row,
      name: body.name ?? row.name,
      settings: JSON.stringify(settings),
      script_version: version,
      total_questions: questions.length,
      updated_at: now,
    };
    // Every write is guarded by the updated_at read above: an edit that raced another saves nothing.
    const writes = [
      c.env.DB.prepare("UPDATE campaigns SET name = ?, settings = ?, script_version = ?, total_questions = ?, updated_at = ? WHERE id = ? AND updated_at = ?").bind(
        next.name,
        next.settings,
        version,
        next.total_questions,
        now,
        row.id,
        row.updated_at,
      ),
    ];
    if (questionsChanged) {
      writes.unshift(
        c.env.DB.prepare(
          "INSERT INTO campaign_scripts (campaign_id, version, questions, created_at) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND updated_at = ?)",
        ).bind(row.id, version, JSON.stringify(questions), now, row.id, row.updated_at),
      );
    }
    const conflict = () => new ApiError(409, "CONFLICT", "the campaign was edited concurrently; fetch it and try again");
    let results: D1Result[];
    try {
      results = await c.env.DB.batch(writes);
    } catch (err) {
      if (String(err).includes("UNIQUE") || String(err).includes("PRIMARY")) throw conflict();
      throw err;
    }
    if (!results.at(-1)?.meta.changes) throw conflict();
    return c.json(campaignJson(next, questions));
  },
);

campaignRoutes.post(
  "/campaigns/:id/invites",
  op({
    summary: "Create an invite link for a participant",
    description: `The token is shown only in this response and stored as a hash. Invites expire after ${DEFAULT_INVITE_DAYS} days unless expiresAt says otherwise.`,
    tags: ["invites"],
    auth: "key",
    action: "invite.write",
    resource: "invite",
    responses: { 201: { description: "created", schema: InviteCreated } },
  }),
  jsonBody(CreateInvite),
  async (c) => {
    const campaign = await campaignFromPath(c);
    const body = c.req.valid("json");
    const now = Date.now();
    const token = randomSecret(192);
    const row: InviteRow = {
      id: newId("inv"),
      org_id: campaign.org_id,
      campaign_id: campaign.id,
      token_hash: await sha256Hex(token),
      participant_email: body.participant.email ?? null,
      participant_name: body.participant.name ?? null,
      participant_attributes: body.participant.attributes ? JSON.stringify(body.participant.attributes) : null,
      expires_at: body.expiresAt ? Date.parse(body.expiresAt) : now + DEFAULT_INVITE_DAYS * 86_400_000,
      max_uses: body.maxUses,
      uses: 0,
      session_id: null,
      created_at: now,
    };
    await c.env.DB.prepare(
      "INSERT INTO invites (id, org_id, campaign_id, token_hash, participant_email, participant_name, participant_attributes, expires_at, max_uses, uses, session_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)",
    )
      .bind(row.id, row.org_id, row.campaign_id, row.token_hash, row.participant_email, row.participant_name, row.participant_attributes, row.expires_at, row.max_uses, now)
      .run();
    c.set("auditResource", { type: "invite", id: row.id, campaignId: campaign.id });
    const base = c.env.PUBLIC_URL?.replace(/\/$/, "") ?? new URL(c.req.url).origin;
    return c.json({ ...inviteJson(row), token, url: `${base}/i/${token}` }, 201);
  },
);

campaignRoutes.get(
  "/campaigns/:id/invites",
  op({ summary: "List a campaign's invites (tokens are never shown again)", tags: ["invites"], auth: "key", resource: "campaign", action: "invite.read", responses: { 200: { description: "a page", schema: page(Invite) } } }),
  queryOf(ListQuery),
  async (c) => {
    const campaign = await campaignFromPath(c);
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<InviteRow>(c.env.DB, "invites", "campaign_id = ?", [campaign.id], limit, cursor)) ?? badCursor();
    return c.json({ data: p.items.map(inviteJson), nextCursor: p.nextCursor });
  },
);

campaignRoutes.patch(
  "/invites/:id",
  op({
    summary: "Extend or shorten an invite, or change how many may use it",
    description: "expiresAt must be in the future (to end an invite now, revoke it); maxUses may not go below the uses already made. A session already under way resumes whatever its invite says.",
    tags: ["invites"],
    auth: "key",
    action: "invite.write",
    resource: "invite",
    responses: { 200: { description: "the invite after the change", schema: Invite } },
  }),
  jsonBody(PatchInvite),
  async (c) => {
    const invite = await inviteFromPath(c);
    const body = c.req.valid("json");
    if (body.maxUses !== undefined && body.maxUses < invite.uses) {
      throw new ApiError(400, "VALIDATION_FAILED", `this invite has been used ${invite.uses} times`, { fields: [{ path: "maxUses", message: `at least ${invite.uses}, the uses already made`, code: "too_small" }] });
    }
    // Guarded by the uses read, so a join in between cannot leave maxUses below uses.
    const next = await c.env.DB.prepare("UPDATE invites SET expires_at = COALESCE(?, expires_at), max_uses = COALESCE(?, max_uses) WHERE id = ? AND uses <= COALESCE(?, max_uses) RETURNING *")
      .bind(body.expiresAt ? Date.parse(body.expiresAt) : null, body.maxUses ?? null, invite.id, body.maxUses ?? null)
      .first<InviteRow>();
    if (!next) throw new ApiError(409, "CONFLICT", "the invite was used meanwhile; read it and try again");
    return c.json(inviteJson(next));
  },
);

campaignRoutes.post(
  "/invites/:id/revoke",
  op({
    summary: "Revoke an invite: it expires now",
    description: "Nobody can start a session with it any more (410 INVITE_EXPIRED); an interview already under way can still be resumed by its participant, as with any expired invite. Revoking again changes nothing.",
    tags: ["invites"],
    auth: "key",
    action: "invite.write",
    resource: "invite",
    responses: { 200: { description: "the invite, expired", schema: Invite } },
  }),
  emptyBody(),
  async (c) => {
    const invite = await inviteFromPath(c);
    const now = Date.now();
    const next = await c.env.DB.prepare("UPDATE invites SET expires_at = MIN(COALESCE(expires_at, ?), ?) WHERE id = ? RETURNING *").bind(now, now, invite.id).first<InviteRow>();
    return c.json(inviteJson(next!));
  },
);
