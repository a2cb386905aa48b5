// Dashboard sign-in and sign-out, and who the caller is.
import { Hono } from "hono";
import { z } from "zod";
import { actorFromContext, appendAudit } from "../audit";
import { ApiError } from "../errors";
import { emptyBody, jsonBody, op } from "../openapi";
import { hashPassword, verifyPassword } from "../passwords";
import { ROLES, type Role } from "../policy";
import { rateLimit } from "../ratelimit";
import { csrfRejected, endSignIn, hasSessionCookie, sameOrigin, startSignIn } from "../signin";
import type { AppEnv } from "../types";

export const accountRoutes = new Hono<AppEnv>();

const Login = z.strictObject({ email: z.email().max(320).transform((e) => e.toLowerCase()), password: z.string().min(1).max(256) });
const Me = z.object({
  principal: z.object({ type: z.enum(["member", "api_key"]), id: z.string(), role: z.enum(ROLES) }),
  member: z.object({ id: z.string(), email: z.string(), name: z.string(), role: z.enum(ROLES) }).nullable(),
  org: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
});

// Unknown emails still pay for one PBKDF2 run, so response time does not reveal who has an account.
let dummyHash: Promise<string> | null = null;

accountRoutes.post(
  "/auth/login",
  op({
    summary: "Sign in to the dashboard with email and password; sets an HttpOnly session cookie",
    description: "Rate limited per client address (429 with Retry-After). Every sign-in gets a new session id.",
    tags: ["auth"],
    auth: "public",
    responses: { 200: { description: "signed in", schema: Me } },
  }),
  jsonBody(Login),
  async (c) => {
    await rateLimit(c, "login");
    const { email, password } = c.req.valid("json");
    const member = await c.env.DB.prepare("SELECT m.*, o.name AS org_name, o.plan AS org_plan FROM members m JOIN orgs o ON o.id = m.org_id WHERE m.email = ?")
      .bind(email)
      .first<{ id: string; org_id: string; email: string; name: string; role: Role; password_hash: string; org_name: string; org_plan: string }>();
    const ok = member ? await verifyPassword(password, member.password_hash) : await verifyPassword(password, await (dummyHash ??= hashPassword("not-a-password")));
    if (!member || !ok) {
      if (member) {
        c.executionCtx.waitUntil(
          appendAudit(c.env, { ...actorFromContext(c), type: "member", id: member.id, role: member.role }, { orgId: member.org_id, action: "auth.login", outcome: "deny", resourceType: "member", resourceId: member.id }),
        );
      }
      throw new ApiError(401, "INVALID_CREDENTIALS", "the email or password is not correct");
    }
    await startSignIn(c, member);
    c.executionCtx.waitUntil(
      appendAudit(c.env, { ...actorFromContext(c), type: "member", id: member.id, role: member.role }, { orgId: member.org_id, action: "auth.login", outcome: "allow", resourceType: "member", resourceId: member.id }),
    );
    return c.json({
      principal: { type: "member" as const, id: member.id, role: member.role },
      member: { id: member.id, email: member.email, name: member.name, role: member.role },
      org: { id: member.org_id, name: member.org_name, plan: member.org_plan },
    });
  },
);

accountRoutes.post(
  "/auth/logout",
  op({ summary: "Sign out: the session cookie stops working at once", tags: ["auth"], auth: "public", responses: { 200: { description: "signed out" } } }),
  emptyBody(),
  async (c) => {
    // A cookie write like any other: another site may not sign the member out.
    if (hasSessionCookie(c) && !sameOrigin(c)) throw csrfRejected();
    await endSignIn(c);
    return c.json({ ok: true });
  },
);

accountRoutes.get(
  "/auth/me",
  op({ summary: "Who the caller is: member or API key, role and org", tags: ["auth"], auth: "key", resource: "org", action: "org.read", responses: { 200: { description: "the caller", schema: Me } } }),
  async (c) => {
    const p = c.get("principal")!;
    const org = (await c.env.DB.prepare("SELECT id, name, plan FROM orgs WHERE id = ?").bind(p.orgId).first<{ id: string; name: string; plan: string }>())!;
    const member =
      p.type === "member" ? await c.env.DB.prepare("SELECT id, email, name, role FROM members WHERE id = ?").bind(p.id).first<{ id: string; email: string; name: string; role: Role }>() : null;
    return c.json({ principal: { type: p.type, id: p.id, role: p.role }, member, org });
  },
);
