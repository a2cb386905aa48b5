// The right to erasure for a participant, and the ledger replay that keeps erased data erased
// after a restore.
import { Hono } from "hono";
import { z } from "zod";
import type { SessionRow } from "../../db/schema";
import { eraseExportsContaining, eraseSession, recordDeletion, replayDeletions, subjectHash } from "../erasure";
import { ApiError, notFound } from "../errors";
import { emptyBody, op, queryOf } from "../openapi";
import { idParam } from "../schemas";
import type { AppEnv } from "../types";
import { emitOrgEvent } from "../webhooks";

export const privacyRoutes = new Hono<AppEnv>();

const Subject = z.strictObject({ email: z.email().max(320).transform((e) => e.toLowerCase()), sessionId: idParam("ses").optional() });

privacyRoutes.delete(
  "/participants/data",
  op({
    summary: "Erase a participant's data in the org (all sessions, or one with sessionId: 404 unless it is theirs); requires X-Confirm-Delete: true",
    description:
      "Removes each session's transcript, audio (its key is destroyed), analytics, notes, object storage and index row, the participant's quotes from campaign aggregates and their invites' personal fields, and every bulk export whose selection held one of the sessions (its ZIP is deleted and the export marked). The deletion ledger keeps a keyed hash of the subject (no personal data) and is replayed after any restore. Returns a receipt.",
    tags: ["privacy"],
    auth: "key",
    action: "gdpr.manage",
    resource: "participant",
    headers: [{ name: "X-Confirm-Delete", required: true, description: "must be true: deletion is permanent (400 CONFIRMATION_REQUIRED without it)", schema: { type: "string", const: "true" } }],
    responses: { 200: { description: "a deletion receipt" } },
  }),
  emptyBody(),
  queryOf(Subject),
  async (c) => {
    if (c.req.header("X-Confirm-Delete") !== "true") throw new ApiError(400, "CONFIRMATION_REQUIRED", "send the header X-Confirm-Delete: true to delete permanently");
    const { email, sessionId } = c.req.valid("query");
    const p = c.get("principal")!;
    const rows = await c.env.DB.prepare(`SELECT * FROM sessions WHERE org_id = ? AND participant_email = ?${sessionId ? " AND id = ?" : ""}`)
      .bind(...(sessionId ? [p.orgId, email, sessionId] : [p.orgId, email]))
      .all<SessionRow>();
    // A named session that is not this participant's in this org (or is already gone) is 404, as every id.
    if (sessionId && rows.results.length === 0) throw notFound("session");
    const sessions = [];
    for (const row of rows.results) sessions.push(await eraseSession(c.env, row));
    let invitesCleared = sessions.reduce((n, s) => n + s.invites, 0);
    if (!sessionId) {
      const cleared = await c.env.DB.prepare("UPDATE invites SET participant_email = NULL, participant_name = NULL, participant_attributes = NULL WHERE org_id = ? AND participant_email = ?")
        .bind(p.orgId, email)
        .run();
      invitesCleared += cleared.meta.changes ?? 0;
    }
    const exportsRemoved = await eraseExportsContaining(c.env, p.orgId, sessions.map((s) => s.sessionId));
    const subject = await subjectHash(c.env, email);
    await recordDeletion(c.env, { orgId: p.orgId, subject: sessionId ? null : subject, sessionIds: sessions.map((s) => s.sessionId), actor: `${p.type}:${p.id}` });
    c.set("auditResource", { type: "participant", id: subject, details: { scope: sessionId ? "session" : "participant", sessions: sessions.length, sessionIds: sessions.map((s) => s.sessionId).join(",") } });
    const deletedAt = new Date().toISOString();
    // Downstream systems hear which sessions went, and the subject's keyed hash (never the email).
    await emitOrgEvent(c.env, p.orgId, "data.deleted", { scope: sessionId ? "session" : "participant", subject, sessionIds: sessions.map((s) => s.sessionId), deletedAt });
    return c.json({ deletedAt, subject, scope: sessionId ? "session" : "participant", sessions, invitesCleared, exportsRemoved });
  },
);

privacyRoutes.post(
  "/admin/deletions/replay",
  op({
    summary: "Replay the deletion ledger (operator): run after restoring any backup so erased data never returns",
    description:
      "Also runs every night from the cron trigger. Erases again what each ledger entry covered: the sessions it names and, for a participant's erasure, the subject's sessions and invites created before it (a later interview of the same person stays). Each removal is audited in its org as deletion.replay.",
    tags: ["privacy"],
    auth: "operator",
    responses: { 200: { description: "how many sessions were erased again" } },
  }),
  emptyBody(),
  async (c) => c.json({ erased: await replayDeletions(c.env) }),
);
