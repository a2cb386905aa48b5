import { Hono, type Context } from "hono";
import { findCampaign, parseSettings, scriptQuestions } from "../../db/campaigns";
import { keysetPage, keysetQuery } from "../../db/cursor";
import type { CampaignRow, SessionRow } from "../../db/schema";
import { CSV_BOM, csvLine, filterSql, indexFields, sessionCsvCells, sessionFromRow, SESSION_CSV_COLUMNS, type SessionJson } from "../../db/sessions";
import type { ControlAction } from "../../objects/control";
import type { RpcResult } from "../../objects/InterviewSession";
import type { SessionView } from "../../objects/view";
import { newId } from "../../shared/crypto";
import { eraseExportsContaining, eraseSession, recordDeletion } from "../erasure";
import { ANALYTICS_CSV_COLUMNS, analyticsCsvCells, analyticsForRole, noteJson, notesOf, type NoteRow } from "../session-bundle";
import { auditFromContext } from "../audit";
import { openLive } from "../live-access";
import { emitOrgEvent } from "../webhooks";
import type { Principal } from "../auth";
import { ApiError, fromRpcError, notFound } from "../errors";
import { emptyBody, jsonBody, op, queryOf } from "../openapi";
import { canRead, isAllowed, type Role } from "../policy";
import { FlagIn, ListQuery, Note, NoteIn, Reason, Reassign, Session, SessionFilters, SessionInclude, Transcript, idParam, page } from "../schemas";
import type { AppEnv } from "../types";
import { badCursor, campaignFromPath, campaignStatement, ownCampaign } from "./campaigns";
import { z } from "zod";

export const sessionRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");

const stubFor = (c: Context<AppEnv>, id: string) => c.env.SESSION.get(c.env.SESSION.idFromName(id));

/** The session row named by the path, in the caller's org; anything else is 404. */
async function sessionFromPath(c: Context<AppEnv>): Promise<SessionRow> {
  const id = c.req.param("id") ?? "";
  const orgId = c.get("principal")!.orgId;
  const row = sesId.safeParse(id).success
    ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, orgId).first<SessionRow>()
    : null;
  if (!row) throw notFound("session");
  c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
  return row;
}

/** Removes what the role may not read: a response never carries it. */
function present(s: SessionJson, role: Role): Partial<SessionJson> & { id: string } {
  const out: Partial<SessionJson> & { id: string } = { ...s };
  if (!canRead(role, "participant")) delete out.participant;
  return out;
}

const INCLUDE_ACTION = { transcript: "transcript.read", notes: "note.read", analytics: "analytics.read" } as const;

/** Asking for data the role may not read is refused (and audited), not silently dropped. */
async function requireInclude(c: Context<AppEnv>, include: string[] | undefined, what: keyof typeof INCLUDE_ACTION) {
  if (!include?.includes(what)) return false;
  const p = c.get("principal")!;
  const action = INCLUDE_ACTION[what];
  if (!isAllowed(p.role, action)) {
    // The path's id is a campaign on the list route: name the resource the handler looked up.
    const r = c.get("auditResource");
    c.executionCtx.waitUntil(
      auditFromContext(c, { orgId: p.orgId, action, outcome: "deny", resourceType: r?.type ?? "session", resourceId: r?.id ?? c.req.param("id") ?? null, campaignId: r?.campaignId ?? null }),
    );
    throw new ApiError(403, "FORBIDDEN", `the ${p.role} role may not read ${what}`);
  }
  return true;
}

async function transcriptOf(c: Context<AppEnv>, id: string) {
  const r = await stubFor(c, id).transcript();
  return r.ok ? r.value : { segments: [], events: [] };
}

/** Every included session read is audited, one row per session, as on its own route. */
function auditInclude(c: Context<AppEnv>, row: SessionRow, action: "transcript.read" | "analytics.read") {
  c.executionCtx.waitUntil(auditFromContext(c, { orgId: row.org_id, action, outcome: "allow", resourceType: "session", resourceId: row.id, campaignId: row.campaign_id }));
}

/** The freshest view: the object's state with the index's flags (the row alone if the object holds nothing). */
const freshest = (row: SessionRow, view: RpcResult<SessionView>): SessionJson => (view.ok ? { ...view.value, ...indexFields(row) } : sessionFromRow(row));

async function liveSession(c: Context<AppEnv>, row: SessionRow): Promise<SessionJson> {
  return freshest(row, await stubFor(c, row.id).view());
}

sessionRoutes.get(
  "/campaigns/:id/sessions",
  op({
    summary: "List and filter a campaign's sessions (JSON or CSV)",
    description:
      "Newest first. `from`/`to` filter on startedAt. With format=csv the next page's cursor is in the X-Next-Cursor header. include=transcript adds each session's segments (roles that read transcripts); include=notes its notes; include=analytics its analytics as GET /sessions/{id}/analytics returns them, without the AI summary (in CSV: distribution, engagement, response rate and length, pauses, drop-off and themes as columns). Each included transcript or analytics read is audited.",
    tags: ["sessions"],
    auth: "key",
    resource: "campaign",
    action: "session.read",
    responses: { 200: { description: "a page of sessions; with format=csv a text/csv page whose X-Next-Cursor header carries the next cursor", schema: page(Session), contentTypes: ["application/json", "text/csv"] } },
  }),
  queryOf(SessionFilters),
  async (c) => {
    const q = c.req.valid("query");
    const { where, binds } = filterSql(q);
    // The campaign check and the page are one D1 batch: one round trip, and one snapshot (a batch
    // is a transaction). Nothing of the page is used unless the campaign is the caller's org's.
    const listing = keysetQuery<SessionRow>(c.env.DB, "sessions", `campaign_id = ?${where}`, [c.req.param("id"), ...binds], q.limit, q.cursor);
    const check = campaignStatement(c);
    const [found, rows] = check ? await c.env.DB.batch<unknown>(listing ? [check, listing.statement] : [check]) : [];
    const campaign = ownCampaign(c, found?.results[0] as CampaignRow | undefined);
    const role = c.get("principal")!.role;
    const withTranscript = await requireInclude(c, q.include, "transcript");
    const withNotes = await requireInclude(c, q.include, "notes");
    const withAnalytics = await requireInclude(c, q.include, "analytics");
    const p = listing?.page(rows!.results as SessionRow[]) ?? badCursor();
    const data = await Promise.all(
      p.items.map(async (row) => {
        const [transcript, view] = await Promise.all([withTranscript || withAnalytics ? transcriptOf(c, row.id) : null, withAnalytics ? stubFor(c, row.id).view() : null]);
        return {
          ...present(sessionFromRow(row), role),
          ...(withTranscript ? { transcript: transcript!.segments } : {}),
          ...(withNotes ? { notes: await notesOf(c.env.DB, row.id) } : {}),
          // As GET /sessions/{id}/analytics, without the summary (an AI call per session).
          ...(withAnalytics ? { analytics: await analyticsForRole(c.env, row, view?.ok ? view.value : null, transcript!, role, { summary: false }) } : {}),
        };
      }),
    );
    for (const row of p.items) {
      if (withTranscript) auditInclude(c, row, "transcript.read");
      if (withAnalytics) auditInclude(c, row, "analytics.read");
    }
    if (q.format === "csv") {
      const columns = canRead(role, "participant") ? [...SESSION_CSV_COLUMNS] : SESSION_CSV_COLUMNS.filter((col) => col !== "participantEmail");
      let body = CSV_BOM + csvLine([...columns, ...(withTranscript ? ["transcript"] : []), ...(withNotes ? ["notes"] : []), ...(withAnalytics ? ANALYTICS_CSV_COLUMNS : [])]);
      for (const s of data) {
        const cells = sessionCsvCells(s).slice(0, columns.length);
        const transcript = s.transcript ? [s.transcript.map((t) => `[${t.speaker}] ${t.text}`).join("\n")] : [];
        // One cell of the session's notes, oldest first, each with its time (include=notes was dropped before).
        const notes = s.notes ? [s.notes.map((n) => `[${n.createdAt}] ${n.text}`).join("\n")] : [];
        body += csvLine([...cells, ...transcript, ...notes, ...(s.analytics ? analyticsCsvCells(s.analytics) : [])]);
      }
      return c.body(body, 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="${campaign.id}-sessions.csv"`,
        ...(p.nextCursor ? { "X-Next-Cursor": p.nextCursor } : {}),
      });
    }
    return c.json({ data, nextCursor: p.nextCursor });
  },
);

sessionRoutes.get(
  "/sessions/:id",
  op({
    summary: "Get a session",
    description: "include=transcript,analytics,notes adds those parts (analytics as GET /sessions/{id}/analytics returns them); each is subject to the role table, and transcript and analytics reads are audited.",
    tags: ["sessions"],
    auth: "key",
    resource: "session",
    action: "session.read",
    responses: { 200: { description: "the session", schema: Session } },
  }),
  queryOf(SessionInclude),
  async (c) => {
    const row = await sessionFromPath(c);
    const { include } = c.req.valid("query");
    const withTranscript = await requireInclude(c, include, "transcript");
    const withNotes = await requireInclude(c, include, "notes");
    const withAnalytics = await requireInclude(c, include, "analytics");
    const role = c.get("principal")!.role;
    const [view, transcript] = await Promise.all([stubFor(c, row.id).view(), withTranscript || withAnalytics ? transcriptOf(c, row.id) : null]);
    const session = present(freshest(row, view), role);
    const extra: Record<string, unknown> = {};
    if (withTranscript) {
      extra.transcript = transcript!.segments;
      auditInclude(c, row, "transcript.read");
    }
    if (withNotes) extra.notes = await notesOf(c.env.DB, row.id);
    if (withAnalytics) {
      extra.analytics = await analyticsForRole(c.env, row, view.ok ? view.value : null, transcript!, role);
      auditInclude(c, row, "analytics.read");
    }
    return c.json({ ...session, ...extra });
  },
);

sessionRoutes.get(
  "/sessions/:id/transcript",
  op({
    summary: "A session's transcript and its timeline of events",
    tags: ["sessions"],
    auth: "key",
    action: "transcript.read",
    resource: "session",
    responses: { 200: { description: "segments in order, and the session's lifecycle events", schema: Transcript } },
  }),
  async (c) => {
    const row = await sessionFromPath(c);
    const { segments, events } = await transcriptOf(c, row.id);
    return c.json({ sessionId: row.id, segments, events: events.map((e) => ({ at: new Date(e.at).toISOString(), type: e.name, ...(e.data ? { data: e.data } : {}) })) });
  },
);

function control(path: string, summary: string, toAction: (body: { reason?: string }) => ControlAction) {
  sessionRoutes.post(
    `/sessions/:id/${path}`,
    op({ summary, tags: ["sessions"], auth: "key", action: "session.control", resource: "session", responses: { 200: { description: "the session after the change", schema: Session }, 409: { description: "INVALID_TRANSITION: not possible in the session's status" } } }),
    jsonBody(Reason, { optional: true }),
    async (c) => {
      const row = await sessionFromPath(c);
      const r = await stubFor(c, row.id).control(toAction(c.req.valid("json")));
      if (!r.ok) throw fromRpcError(r.error);
      return c.json(present({ ...r.value, ...indexFields(row) }, c.get("principal")!.role));
    },
  );
}
control("pause", "Pause a session (409 INVALID_TRANSITION unless in progress)", (b) => ({ type: "pause", reason: b.reason ?? null }));
control("resume", "Resume a paused session", () => ({ type: "resume" }));
control("end", "End a session; it is marked completed", (b) => ({ type: "end", reason: b.reason ?? null }));

sessionRoutes.post(
  "/sessions/:id/reassign",
  op({
    summary: "Move an unfinished session to another campaign of the org",
    description: "The session adopts the target campaign's current script and language. Answers already given stay; the interview continues at the next unanswered question index, and completes if the new script is shorter. A typed session cannot move to a voice campaign, nor a spoken one to a typed campaign (409 INVALID_TRANSITION).",
    tags: ["sessions"],
    auth: "key",
    action: "session.control",
    resource: "session",
    responses: { 200: { description: "the session after the change", schema: Session }, 409: { description: "INVALID_TRANSITION: the session is finished, already in that campaign, or the campaign is in the other mode" } },
  }),
  jsonBody(Reassign),
  async (c) => {
    const row = await sessionFromPath(c);
    const { campaignId } = c.req.valid("json");
    const target = await findCampaign(c.env.DB, row.org_id, campaignId);
    if (!target) throw notFound("campaign");
    const questions = await scriptQuestions(c.env.DB, target.id, target.script_version);
    const settings = parseSettings(target.settings);
    const r = await stubFor(c, row.id).control({ type: "reassign", campaignId: target.id, scriptVersion: target.script_version, questions, mode: settings.mode, language: settings.language ?? null });
    if (!r.ok) throw fromRpcError(r.error);
    return c.json(present({ ...r.value, ...indexFields(row) }, c.get("principal")!.role));
  },
);

sessionRoutes.post(
  "/sessions/:id/notes",
  op({ summary: "Add a note to a session", tags: ["sessions"], auth: "key", action: "note.write", resource: "session", responses: { 201: { description: "the note", schema: Note } } }),
  jsonBody(NoteIn),
  async (c) => {
    const row = await sessionFromPath(c);
    const p = c.get("principal") as Principal;
    const note = { id: newId("not"), sessionId: row.id, text: c.req.valid("json").text, author: { type: p.type, id: p.id }, createdAt: new Date().toISOString() };
    await c.env.DB.prepare("INSERT INTO notes (id, org_id, session_id, author_type, author_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(note.id, row.org_id, row.id, p.type, p.id, note.text, Date.parse(note.createdAt))
      .run();
    return c.json(note, 201);
  },
);

sessionRoutes.get(
  "/sessions/:id/notes",
  op({ summary: "A session's notes, oldest first", tags: ["sessions"], auth: "key", resource: "session", action: "note.read", responses: { 200: { description: "a page of notes", schema: page(Note) } } }),
  queryOf(ListQuery),
  async (c) => {
    const row = await sessionFromPath(c);
    const { limit, cursor } = c.req.valid("query");
    const p = (await keysetPage<NoteRow>(c.env.DB, "notes", "session_id = ?", [row.id], limit, cursor, "oldest")) ?? badCursor();
    return c.json({ data: p.items.map(noteJson), nextCursor: p.nextCursor });
  },
);

sessionRoutes.post(
  "/sessions/:id/flag",
  op({ summary: "Flag or unflag a session", tags: ["sessions"], auth: "key", action: "session.flag", resource: "session", responses: { 200: { description: "the session", schema: Session } } }),
  jsonBody(FlagIn),
  async (c) => {
    const row = await sessionFromPath(c);
    const { flagged, reason } = c.req.valid("json");
    await c.env.DB.prepare("UPDATE sessions SET flagged = ?, flag_reason = ? WHERE id = ?").bind(flagged ? 1 : 0, flagged ? (reason ?? null) : null, row.id).run();
    const updated = { ...row, flagged: flagged ? 1 : 0, flag_reason: flagged ? (reason ?? null) : null };
    return c.json(present(await liveSession(c, updated), c.get("principal")!.role));
  },
);

sessionRoutes.delete(
  "/sessions/:id/data",
  op({
    summary: "Permanently delete a session's data (requires X-Confirm-Delete: true)",
    description: "Deletes the transcript, audio, analytics, notes, the session object's storage and any bulk export holding the session. The audit log keeps a record of the deletion without personal data.",
    tags: ["privacy"],
    auth: "key",
    action: "gdpr.manage",
    resource: "session",
    headers: [{ name: "X-Confirm-Delete", required: true, description: "must be true: deletion is permanent (400 CONFIRMATION_REQUIRED without it)", schema: { type: "string", const: "true" } }],
    responses: { 200: { description: "a deletion receipt" } },
  }),
  emptyBody(),
  async (c) => {
    if (c.req.header("X-Confirm-Delete") !== "true") throw new ApiError(400, "CONFIRMATION_REQUIRED", "send the header X-Confirm-Delete: true to delete permanently");
    const row = await sessionFromPath(c);
    const erased = await eraseSession(c.env, row);
    const p = c.get("principal")!;
    await recordDeletion(c.env, { orgId: row.org_id, subject: null, sessionIds: [row.id], actor: `${p.type}:${p.id}` });
    const { sessionId, ...removed } = erased;
    const exportsRemoved = await eraseExportsContaining(c.env, row.org_id, [row.id]);
    const receipt = { sessionId, deletedAt: new Date().toISOString(), removed: { ...removed, indexRow: true, exports: exportsRemoved } };
    c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
    // Downstream systems that copied the session's data hear that it is gone (ids only).
    await emitOrgEvent(c.env, row.org_id, "data.deleted", { scope: "session", sessionIds: [row.id], campaignIds: [row.campaign_id], deletedAt: receipt.deletedAt });
    return c.json(receipt);
  },
);

sessionRoutes.get(
  "/sessions/:id/live",
  op({
    summary: "Watch a session live (WebSocket): a snapshot, then segment and status frames",
    tags: ["live"],
    auth: "key",
    action: "session.watch",
    resource: "session",
    responses: { 101: { description: "switching protocols" } },
  }),
  async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "UPGRADE_REQUIRED", "connect with a WebSocket");
    const row = await sessionFromPath(c);
    return openLive(c, "session", row.id);
  },
);

sessionRoutes.get(
  "/campaigns/:id/live",
  op({
    summary: "Watch every active session of a campaign (WebSocket)",
    description:
      "Frames: a snapshot of the active sessions, then segment and status frames of every session; when a session's data is deleted (erasure), {type:\"session_removed\", sessionId, reason:\"data_deleted\", at}: drop everything shown of it.",
    tags: ["live"],
    auth: "key",
    action: "session.watch",
    resource: "campaign",
    responses: { 101: { description: "switching protocols" } },
  }),
  async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "UPGRADE_REQUIRED", "connect with a WebSocket");
    const campaign = await campaignFromPath(c);
    return openLive(c, "campaign", campaign.id);
  },
);
