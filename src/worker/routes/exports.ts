// Data leaving the system: single-session exports (JSON, CSV, PDF), the published export schema,
// a participant's data (GDPR access), bulk exports built by a queue job, their signed downloads,
// and the notifications outbox that tells requesters an export is ready.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { EXPORT_FORMATS, type SessionRow } from "../../db/schema";
import { keysetPage } from "../../db/cursor";
import { filterSql } from "../../db/sessions";
import { newId } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { ERASED_EXPORT, subjectHash } from "../erasure";
import { ordered, RANGE_PAIRS } from "../../shared/ordered";
import { auditFromContext } from "../audit";
import { downloadUrl, exportObjectKey, verifyDownload, type ExportParams, type ExportRow } from "../export-job";
import { jsonBody, op, queryOf } from "../openapi";
import { participantZip } from "../participant-zip";
import { ListQuery, idParam, page } from "../schemas";
import { assetFonts } from "../pdf-fonts";
import { SessionExport, sessionBundle, sessionExportJsonSchema, sessionPdf, transcriptCsv } from "../session-bundle";
import type { AppEnv } from "../types";
import { inChunks, placeholders } from "../../shared/d1";
import { badCursor, campaignFromPath } from "./campaigns";

export const exportRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");
const expId = idParam("exp");
/** The most sessions one bulk export may hold. */
export const MAX_EXPORT_SESSIONS = 10_000;

const ATTACHMENT_HEADERS = (type: string, filename: string) => ({
  "Content-Type": type,
  "Content-Disposition": `attachment; filename="${filename}"`,
  "Cache-Control": "private, no-store",
});

async function sessionFromPath(c: Context<AppEnv>): Promise<SessionRow> {
  const id = c.req.param("id") ?? "";
  const orgId = c.get("principal")!.orgId;
  const row = sesId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM sessions WHERE id = ? AND org_id = ?").bind(id, orgId).first<SessionRow>() : null;
  if (!row) throw notFound("session");
  c.set("auditResource", { type: "session", id: row.id, campaignId: row.campaign_id });
  return row;
}

const ExportQuery = z.strictObject({ format: z.enum(["json", "csv", "pdf"]).default("json") });

exportRoutes.get(
  "/sessions/:id/export",
  op({
    summary: "Export one session as JSON (metadata, transcript, analytics, notes), CSV (one row per transcript segment) or PDF",
    description: "The JSON follows the schema published at /v1/schemas/session-export.json. CSV cells that a spreadsheet would evaluate as formulas are prefixed with an apostrophe.",
    tags: ["exports"],
    auth: "key",
    action: "export.create",
    resource: "session",
    responses: {
      200: { description: "the export, as an attachment: JSON, or text/csv (format=csv) or application/pdf (format=pdf)", schema: SessionExport, contentTypes: ["application/json", "text/csv", "application/pdf"] },
    },
  }),
  queryOf(ExportQuery),
  async (c) => {
    const row = await sessionFromPath(c);
    const { format } = c.req.valid("query");
    const bundle = await sessionBundle(c.env, row, { role: c.get("principal")!.role });
    if (format === "csv") return c.body(transcriptCsv(bundle), 200, ATTACHMENT_HEADERS("text/csv; charset=utf-8", `${row.id}-transcript.csv`));
    if (format === "pdf") {
      const campaign = await c.env.DB.prepare("SELECT name FROM campaigns WHERE id = ?").bind(row.campaign_id).first<{ name: string }>();
      const pdf = await sessionPdf(bundle, campaign?.name ?? "Interview", assetFonts(c.env.ASSETS));
      return c.body(pdf as Uint8Array<ArrayBuffer>, 200, ATTACHMENT_HEADERS("application/pdf", `${row.id}.pdf`));
    }
    return c.body(JSON.stringify(bundle, null, 2), 200, ATTACHMENT_HEADERS("application/json; charset=utf-8", `${row.id}.json`));
  },
);

exportRoutes.get(
  "/schemas/session-export.json",
  op({ summary: "The JSON Schema (draft 2020-12) of a session export", tags: ["exports"], auth: "public", responses: { 200: { description: "the schema", contentType: "application/schema+json" } } }),
  (c) => c.body(JSON.stringify(sessionExportJsonSchema(), null, 2), 200, { "Content-Type": "application/schema+json; charset=utf-8", "Cache-Control": "public, max-age=300" }),
);

const ParticipantQuery = z.strictObject({ email: z.email().max(320), format: z.enum(["json", "zip"]).default("json") });

exportRoutes.get(
  "/participants/data",
  op({
    summary: "Every session of a participant in the org, as session exports (right of access and portability)",
    description:
      "Matches sessions by the participant's email (case-insensitive). An email without sessions answers with an empty list. format=zip streams a ZIP instead: per session session.json, transcript.csv and the participant's recording (audio-participant.wav), plus participant.json and manifest.json with every file's SHA-256.",
    tags: ["privacy"],
    auth: "key",
    action: "gdpr.manage",
    resource: "participant",
    responses: { 200: { description: "the participant's data (application/zip with format=zip)", schema: z.object({ email: z.string(), exportedAt: z.string(), sessions: z.array(SessionExport) }), contentTypes: ["application/json", "application/zip"] } },
  }),
  queryOf(ParticipantQuery),
  async (c) => {
    const { email, format } = c.req.valid("query");
    const p = c.get("principal")!;
    const rows = await c.env.DB.prepare("SELECT * FROM sessions WHERE org_id = ? AND participant_email = ? COLLATE NOCASE ORDER BY created_at, id LIMIT 1000")
      .bind(p.orgId, email)
      .all<SessionRow>();
    // The audit row names no personal data: the subject is its keyed hash (as in the erasure's
    // row and the deletion ledger), with the sessions disclosed.
    c.set("auditResource", { type: "participant", id: await subjectHash(c.env, email), details: { format, sessions: rows.results.length, sessionIds: rows.results.map((r) => r.id).join(",") } });
    if (format === "zip") {
      return c.body(participantZip(c.env, rows.results, { email: email.toLowerCase(), role: p.role }), 200, ATTACHMENT_HEADERS("application/zip", "participant-data.zip"));
    }
    const sessions = [];
    for (const row of rows.results) sessions.push(await sessionBundle(c.env, row, { role: p.role }));
    return c.body(JSON.stringify({ email, exportedAt: new Date().toISOString(), sessions }), 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "private, no-store",
    });
  },
);

const isoDate = z.iso.datetime({ offset: true });
const BulkFilter = z.strictObject({
  status: z.array(z.enum(["created", "in_progress", "paused", "completed", "abandoned"])).min(1).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  minDuration: z.number().int().min(0).optional(),
  maxDuration: z.number().int().min(0).optional(),
  minCompletion: z.number().int().min(0).max(100).optional(),
  maxCompletion: z.number().int().min(0).max(100).optional(),
  language: z.string().min(2).max(35).optional(),
  sentiment: z.array(z.enum(["positive", "neutral", "negative"])).min(1).optional(),
  flagged: z.boolean().optional(),
}).superRefine(ordered(RANGE_PAIRS));
const BulkExportIn = z
  .strictObject({
    sessionIds: z.array(sesId).min(1).max(MAX_EXPORT_SESSIONS).optional(),
    filter: BulkFilter.optional(),
    format: z.enum(EXPORT_FORMATS),
    include: z.array(z.enum(["transcript", "analytics", "notes"])).min(1).optional(),
  })
  // include picks parts of a session document; an audio export holds none, and silently dropping
  // the choice would let a client believe it received transcripts.
  .superRefine((b, ctx) => {
    if (b.format === "audio" && b.include) ctx.addIssue({ code: "custom", path: ["include"], message: "include selects parts of the JSON, CSV or PDF export; format audio holds recordings only, so leave include out" });
  });
const ExportStatus = z.object({
  id: z.string(),
  campaignId: z.string(),
  format: z.enum(EXPORT_FORMATS),
  status: z.enum(["queued", "running", "ready", "failed"]),
  sessionCount: z.number().int(),
  sessionsDone: z.number().int(),
  createdAt: z.string(),
  downloadUrl: z.string().optional(),
  // When downloadUrl stops working (a link lives a day at most; GET this again for a new one).
  linkExpiresAt: z.string().optional(),
  expiresAt: z.string().optional(),
  error: z.string().optional(),
});

exportRoutes.post(
  "/campaigns/:id/exports",
  op({
    summary: "Start a bulk export of a campaign's sessions (a selection or a filter) into a ZIP",
    description:
      "Without sessionIds or filter, every session of the campaign. The selection is fixed when the export is requested; a queue job builds the ZIP (one folder per session and manifest.json with each file's SHA-256). Poll GET /v1/exports/{id}; the requester is notified when it is ready. " +
      "format json, csv or pdf: per session session.json, transcript.csv or session.pdf; include (transcript, analytics, notes) narrows what they carry. " +
      "format audio: per session that has recordings, audio-participant.wav (the participant's answers, volume-normalised) and audio-ai.wav (the AI's spoken questions, when any were synthesised), 16 kHz 16-bit mono WAV, the same bytes GET /v1/sessions/{id}/audio serves; " +
      "manifest.json lists each file with its SHA-256, size, track and duration, and names the selected sessions that have no recording in sessionsWithoutAudio (they do not fail the export). " +
      "include is refused with format audio (400 VALIDATION_FAILED on include): an audio export carries no transcript, analytics or notes.",
    tags: ["exports"],
    auth: "key",
    action: "export.create",
    resource: "campaign",
    responses: { 202: { description: "the export, queued", schema: z.object({ id: z.string(), status: z.literal("queued"), sessionCount: z.number().int() }) } },
  }),
  jsonBody(BulkExportIn),
  async (c) => {
    const campaign = await campaignFromPath(c);
    const body = c.req.valid("json");
    const p = c.get("principal")!;
    const { where, binds } = filterSql(body.filter ?? {});
    let ids: string[];
    if (body.sessionIds) {
      const wanted = [...new Set(body.sessionIds)];
      const found = new Set<string>();
      for (const chunk of inChunks(wanted)) {
        const r = await c.env.DB.prepare(`SELECT id FROM sessions WHERE campaign_id = ? AND org_id = ? AND id IN (${placeholders(chunk.length)})${where}`)
          .bind(campaign.id, p.orgId, ...chunk, ...binds)
          .all<{ id: string }>();
        for (const x of r.results) found.add(x.id);
      }
      if (!body.filter && found.size !== wanted.length) throw notFound("session");
      ids = wanted.filter((id) => found.has(id));
    } else {
      const r = await c.env.DB.prepare(`SELECT id FROM sessions WHERE campaign_id = ? AND org_id = ?${where} ORDER BY created_at, id LIMIT ${MAX_EXPORT_SESSIONS + 1}`)
        .bind(campaign.id, p.orgId, ...binds)
        .all<{ id: string }>();
      ids = r.results.map((x) => x.id);
      if (ids.length > MAX_EXPORT_SESSIONS) throw new ApiError(400, "TOO_MANY_SESSIONS", `an export holds at most ${MAX_EXPORT_SESSIONS} sessions: narrow the filter`);
    }
    const id = newId("exp");
    const now = Date.now();
    const params: ExportParams = { sessionIds: ids, ...(body.include ? { include: body.include } : {}) };
    await c.env.DB.prepare(
      "INSERT INTO exports (id, org_id, campaign_id, format, params, status, session_count, sessions_done, requested_by_type, requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, 0, ?, ?, ?, ?)",
    )
      .bind(id, p.orgId, campaign.id, body.format, JSON.stringify(params), ids.length, p.type, p.id, now, now)
      .run();
    await c.env.AI_QUEUE.send({ type: "export.build", exportId: id });
    c.set("auditResource", { type: "export", id, campaignId: campaign.id });
    return c.json({ id, status: "queued" as const, sessionCount: ids.length }, 202);
  },
);

async function exportFromPath(c: Context<AppEnv>): Promise<ExportRow> {
  const id = c.req.param("id") ?? "";
  const orgId = c.get("principal")!.orgId;
  const row = expId.safeParse(id).success ? await c.env.DB.prepare("SELECT * FROM exports WHERE id = ? AND org_id = ?").bind(id, orgId).first<ExportRow>() : null;
  if (!row) throw notFound("export");
  c.set("auditResource", { type: "export", id: row.id, campaignId: row.campaign_id });
  return row;
}

const origin = (c: Context<AppEnv>) => (c.env.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");

exportRoutes.get(
  "/exports/:id",
  op({
    summary: "A bulk export's progress and, once ready, a signed download link valid for a day",
    tags: ["exports"],
    auth: "key",
    action: "export.read",
    resource: "export",
    responses: { 200: { description: "the export", schema: ExportStatus } },
  }),
  async (c) => {
    const row = await exportFromPath(c);
    const out: z.infer<typeof ExportStatus> = {
      id: row.id,
      campaignId: row.campaign_id,
      format: row.format,
      status: row.status,
      sessionCount: row.session_count,
      sessionsDone: row.sessions_done,
      createdAt: new Date(row.created_at).toISOString(),
    };
    if (row.status === "ready" && row.expires_at !== null) {
      out.expiresAt = new Date(row.expires_at).toISOString();
      if (row.expires_at > Date.now()) {
        const link = await downloadUrl(c.env, origin(c), row);
        out.downloadUrl = link.url;
        out.linkExpiresAt = link.expiresAt;
      }
    }
    if (row.status === "failed" && row.error) out.error = row.error === ERASED_EXPORT ? ERASED_EXPORT : "the export could not be built; request it again";
    return c.json(out);
  },
);

exportRoutes.get(
  "/exports/:id/download",
  op({
    summary: "Download a ready export's ZIP through its signed link (from GET /v1/exports/{id} or the ready notification)",
    description: "No credentials: the link's HMAC signature is the authorisation. A tampered link is 403; an expired one is 410 LINK_EXPIRED; an export withdrawn because data it held was erased is 410 EXPORT_GONE.",
    tags: ["exports"],
    auth: "public",
    responses: { 200: { description: "the ZIP", contentType: "application/zip" }, 410: { description: "the link or the export expired" } },
  }),
  // A malformed id is 404 before the link's parameters are looked at.
  async (c, next) => {
    if (!expId.safeParse(c.req.param("id") ?? "").success) throw notFound("export");
    await next();
  },
  queryOf(z.strictObject({ expires: z.string().regex(/^\d{1,12}$/), sig: z.string().regex(/^[0-9a-fA-F]{64}$/) })),
  async (c) => {
    const id = c.req.param("id") ?? "";
    const row = await c.env.DB.prepare("SELECT * FROM exports WHERE id = ?").bind(id).first<ExportRow>();
    if (!row) throw notFound("export");
    const { expires, sig } = c.req.valid("query");
    // The link needs no credentials and can be forwarded, so every use of it is recorded: who the
    // link was made for, from where, and whether it was honoured.
    const audit = (outcome: "allow" | "deny", reason?: string) =>
      c.executionCtx.waitUntil(
        auditFromContext(
          c,
          { orgId: row.org_id, action: "export.download", outcome, resourceType: "export", resourceId: row.id, campaignId: row.campaign_id, ...(reason ? { details: { reason } } : {}) },
          { type: "signed_link", id: row.requested_by, role: null },
        ),
      );
    if (!(await verifyDownload(c.env, row.id, expires, sig))) {
      audit("deny", "invalid_signature");
      throw new ApiError(403, "INVALID_SIGNATURE", "the download link is not valid");
    }
    // Withdrawn (its data was erased) or failed: a new link would not help, so say why instead.
    if (row.error === ERASED_EXPORT) {
      audit("deny", "export_withdrawn");
      throw new ApiError(410, "EXPORT_GONE", `the export was ${ERASED_EXPORT}`);
    }
    const now = Date.now();
    if (Number(expires) * 1000 <= now || (row.expires_at !== null && row.expires_at <= now)) {
      audit("deny", "link_expired");
      throw new ApiError(410, "LINK_EXPIRED", "the download link has expired: get a new one from GET /v1/exports/{id}");
    }
    if (row.status !== "ready") {
      audit("deny", "not_ready");
      throw new ApiError(409, "EXPORT_NOT_READY", `the export is ${row.status}`);
    }
    const object = await c.env.EXPORTS_BUCKET.get(row.object_key ?? exportObjectKey(row.id));
    if (!object) {
      audit("deny", "file_missing");
      throw new ApiError(410, "EXPORT_GONE", "the export's file no longer exists");
    }
    audit("allow");
    return c.body(object.body, 200, { ...ATTACHMENT_HEADERS("application/zip", `${row.id}.zip`), "Content-Length": String(object.size) });
  },
);

interface NotificationRow {
  id: string;
  kind: string;
  subject: string;
  body: string;
  data: string | null;
  created_at: number;
}

const Notification = z.object({ id: z.string(), kind: z.string(), subject: z.string(), body: z.string(), data: z.unknown(), createdAt: z.string() });

exportRoutes.get(
  "/notifications",
  op({
    summary: "The caller's notifications, newest first (the local outbox of what production sends by email)",
    tags: ["notifications"],
    auth: "key",
    action: "org.read",
    resource: "notification",
    responses: { 200: { description: "a page of notifications", schema: page(Notification) } },
  }),
  queryOf(ListQuery),
  async (c) => {
    const p = c.get("principal")!;
    const { limit, cursor } = c.req.valid("query");
    const rows = await keysetPage<NotificationRow>(c.env.DB, "notifications", "org_id = ? AND recipient_type = ? AND recipient_id = ?", [p.orgId, p.type, p.id], limit, cursor);
    const { items, nextCursor } = rows ?? badCursor();
    return c.json({
      data: items.map((n) => ({ id: n.id, kind: n.kind, subject: n.subject, body: n.body, data: n.data ? JSON.parse(n.data) : null, createdAt: new Date(n.created_at).toISOString() })),
      nextCursor,
    });
  },
);
