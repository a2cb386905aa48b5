import { Hono } from "hono";
import { newId, randomSecret, sha256Hex } from "../../shared/crypto";
import { actorFromContext, appendAudit } from "../audit";
import { API_KEY_PREFIX } from "../auth";
import { ApiError } from "../errors";
import { jsonBody, op } from "../openapi";
import { hashPassword } from "../passwords";
import { CreateOrg, OrgCreated } from "../schemas";
import type { AppEnv } from "../types";

export const orgRoutes = new Hono<AppEnv>();

/** A new API key: the secret (shown once) and what is stored (its hash and last characters). */
export async function mintApiKey() {
  const key = randomSecret(192, API_KEY_PREFIX);
  return { key, hash: await sha256Hex(key), last4: key.slice(-4) };
}

orgRoutes.post(
  "/orgs",
  op({
    summary: "Create an organisation with its owner and a first API key (operator only)",
    tags: ["orgs"],
    auth: "operator",
    responses: { 201: { description: "created; the API key is shown only here", schema: OrgCreated } },
  }),
  jsonBody(CreateOrg),
  async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const taken = await c.env.DB.prepare("SELECT 1 FROM members WHERE email = ?").bind(body.owner.email).first();
    if (taken) throw new ApiError(409, "EMAIL_TAKEN", "a member with this email already exists", { fields: [{ path: "owner.email", message: "already registered" }] });
    const org = { id: newId("org"), name: body.name, plan: body.plan };
    const owner = { id: newId("usr"), email: body.owner.email, role: "owner" as const };
    const apiKey = await mintApiKey();
    const keyId = newId("key");
    const writes = [
      c.env.DB.prepare("INSERT INTO orgs (id, name, plan, retention_days, created_at) VALUES (?, ?, ?, NULL, ?)").bind(org.id, org.name, org.plan, now),
      c.env.DB.prepare("INSERT INTO members (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, 'owner', ?, ?, ?)").bind(
        owner.id,
        org.id,
        owner.email,
        body.owner.name,
        await hashPassword(body.owner.password),
        now,
        now,
      ),
      c.env.DB.prepare("INSERT INTO api_keys (id, org_id, name, role, key_hash, last4, created_by, created_at) VALUES (?, ?, ?, 'owner', ?, ?, ?, ?)").bind(
        keyId,
        org.id,
        "Owner key",
        apiKey.hash,
        apiKey.last4,
        owner.id,
        now,
      ),
    ];
    try {
      await c.env.DB.batch(writes);
    } catch (err) {
      // Two concurrent sign-ups with one email: the unique index decides, the loser gets a 409.
      if (String(err).includes("UNIQUE")) throw new ApiError(409, "EMAIL_TAKEN", "a member with this email already exists");
      throw err;
    }
    await appendAudit(c.env, { ...actorFromContext(c), type: "operator" }, { orgId: org.id, action: "org.create", outcome: "allow", resourceType: "org", resourceId: org.id });
    return c.json({ org, owner, apiKey: { id: keyId, key: apiKey.key, role: "owner" as const } }, 201);
  },
);
