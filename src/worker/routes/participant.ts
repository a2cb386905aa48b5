// The participant's side: join by invite token, then the session socket. Authorised by the
// invite token and the participant token it yields, never by an API key.
import { Hono } from "hono";
import { consentTextFor, parseQuestions, parseSettings } from "../../db/campaigns";
import type { InviteRow } from "../../db/schema";
import { limitsFrom } from "../../env";
import { initialState, isTerminal } from "../../objects/machine";
import { claimAndIndex, insertIfClaimed, sameIndexRow } from "../../objects/mirror";
import { mirrorRow, type SessionMeta, type SessionView } from "../../objects/view";
import { newId, randomSecret, sha256Hex } from "../../shared/crypto";
import { ApiError, notFound } from "../errors";
import { jsonBody, op } from "../openapi";
import { Join, Joined, idParam } from "../schemas";
import { rateLimit } from "../ratelimit";
import type { AppEnv } from "../types";

export const participantRoutes = new Hono<AppEnv>();
const sesId = idParam("ses");

participantRoutes.post(
  "/join",
  op({
    summary: "Open an invite: creates the session, or resumes the invite's unfinished one",
    description:
      "Unknown token 404 INVITE_NOT_FOUND; expired 410 INVITE_EXPIRED; used up 409 INVITE_USED. An unfinished session is resumed even after the invite expires, so a participant mid-interview can reload the page. A personal invite (maxUses 1) resumes its unfinished session for whoever opens it; a shared invite (maxUses > 1) resumes one only when `resume` carries that session's id and a participant token it issued (the participant page keeps them), and otherwise starts a new session, using up one use. With resumeOnly it never starts one: 410 SESSION_ENDED (details: sessionStatus, endReason) when that session is over, 404 SESSION_NOT_FOUND when it cannot be resumed. A 409 INVITE_USED for a personal link carries the same details.",
    tags: ["participant"],
    auth: "participant",
    responses: {
      201: { description: "the session to connect to", schema: Joined },
      409: { description: "INVITE_USED: the link has no uses left (details: how its session ended)" },
      410: { description: "INVITE_EXPIRED; or SESSION_ENDED with resumeOnly" },
    },
  }),
  jsonBody(Join),
  async (c) => {
    const body = c.req.valid("json");
    const { token, resume, resumeOnly } = body;
    if (resumeOnly && !resume) throw new ApiError(400, "VALIDATION_FAILED", "resumeOnly needs resume", { fields: [{ path: "resume", message: "required with resumeOnly", code: "required" }] });
    const db = c.env.DB;
    const inviteHash = await sha256Hex(token);
    // The invite, its campaign and the campaign's current script in one read.
    const read = db
      .prepare(
        `SELECT i.*, c.name AS campaign_name, c.settings AS campaign_settings, c.script_version AS campaign_script_version, s.questions AS script_questions,
           EXISTS (SELECT 1 FROM webhooks w WHERE w.org_id = i.org_id AND w.disabled_at IS NULL AND w.events LIKE '%"session.created"%') AS created_hook
         FROM invites i JOIN campaigns c ON c.id = i.campaign_id
         LEFT JOIN campaign_scripts s ON s.campaign_id = c.id AND s.version = c.script_version
         WHERE i.token_hash = ?`,
      )
      .bind(inviteHash);
    type ReadRow = InviteRow & { campaign_name: string; campaign_settings: string; campaign_script_version: number; script_questions: string | null; created_hook: number };
    const sessionId = newId("ses");
    const now = Date.now();
    const device = body.device ?? (c.req.header("User-Agent") ? { userAgent: c.req.header("User-Agent")!.slice(0, 500) } : null);
    let row: ReadRow | null;
    /** The index row written with the claim, when this open claimed its invite in the read's batch. */
    let claimedRow: Record<string, unknown> | undefined;
    let claimed = false;
    if (resume) {
      // This browser may hold a session of this link: the read decides (alongside the rate limit).
      [, row] = await Promise.all([rateLimit(c, "join"), read.first<ReadRow>()]);
    } else {
      // A fresh open: the read, the claim of a use and the session's first index row go in one
      // batch, one round trip to D1 (the rate limit first: a refused open must claim nothing). The
      // claim holds only for a live invite with uses left; otherwise nothing changed and the open
      // goes on as below (a personal link resumes its session, a used or expired one is refused).
      await rateLimit(c, "join");
      const [r, claim, insert] = await db.batch([read, ...claimAndIndex(db, { inviteHash, sessionId, now, device, limits: limitsFrom(c.env) })]);
      row = (r?.results[0] as ReadRow | undefined) ?? null;
      claimed = claim?.meta.changes === 1;
      claimedRow = insert?.results[0] as Record<string, unknown> | undefined;
    }
    if (!row) throw new ApiError(404, "INVITE_NOT_FOUND", "this invite link is not valid");
    const invite: InviteRow = row;
    const campaign = { id: row.campaign_id, name: row.campaign_name, settings: row.campaign_settings, script_version: row.campaign_script_version };
    const settings = parseSettings(campaign.settings);
    const participantToken = randomSecret(192, "pt_");
    const tokenHash = await sha256Hex(participantToken);
    // A reopened link answers with what its session recorded (consent text, language), not with
    // what the campaign says now.
    const reply = (
      sessionId: string,
      status: string,
      resumed: boolean,
      totalQuestions: number,
      consentRequired: boolean,
      consentText: string | null,
      language: string | null,
      // A session moved to another campaign goes on under that campaign's name and settings.
      own: { mode: "text" | "voice"; campaignName: string; browserTranscription: boolean } = { mode: settings.mode, campaignName: campaign.name, browserTranscription: settings.browserTranscription ?? false },
    ) =>
      c.json(
        {
          sessionId,
          participantToken,
          status,
          resumed,
          consentRequired,
          consentText: consentRequired ? consentText : null,
          totalQuestions,
          mode: own.mode,
          campaignName: own.campaignName,
          browserTranscription: own.browserTranscription,
          language,
        },
        201,
      );

    // An open that claimed a use above is a new session; any other may be a reopening.
    if (!claimed) {
      // Which unfinished session this open may resume. A personal link (maxUses 1) reopens its
      // session from any browser. A shared link (a panel link, maxUses > 1) reopens only the session
      // whose participant token this browser kept: before, the next person to open it joined the
      // first one's interview, and their answers were stored in it.
      const candidates: { id: string; proof?: { token: string; inviteId: string } }[] = [];
      if (resume) candidates.push({ id: resume.sessionId, proof: { token: resume.participantToken, inviteId: invite.id } });
      if (invite.max_uses === 1 && invite.session_id && invite.session_id !== resume?.sessionId) candidates.push({ id: invite.session_id });
      // How a finished session ended, so that the page can say so (declined, left, completed).
      let ended: { sessionStatus: string; endReason: string | null; language: string | null } | undefined;
      for (const { id, proof } of candidates) {
        const stub = c.env.SESSION.get(c.env.SESSION.idFromName(id));
        const r = await stub.addToken(tokenHash, proof);
        if (r.ok && !isTerminal(r.value.status)) {
          const v = r.value;
          let own = { mode: v.mode, campaignName: campaign.name, browserTranscription: settings.browserTranscription ?? false };
          if (v.campaignId !== campaign.id) {
            // Reassigned: the page follows the session's campaign now, not the invite's.
            const moved = await db.prepare("SELECT name, settings FROM campaigns WHERE id = ?").bind(v.campaignId).first<{ name: string; settings: string }>();
            if (moved) own = { mode: v.mode, campaignName: moved.name, browserTranscription: parseSettings(moved.settings).browserTranscription ?? false };
          }
          return reply(v.id, v.status, true, v.totalQuestions, v.consent.required, v.consentText, v.language, own);
        }
        if (r.ok) ended ??= { sessionStatus: r.value.status, endReason: r.value.endReason, language: r.value.language };
        // This browser's own interview through a shared link is over: reopening the link (a reload
        // of the thank-you page) says so, instead of starting another interview and using up a
        // place. The page offers to start a new one (a kiosk's next participant).
        if (r.ok && proof && invite.max_uses > 1) throw new ApiError(410, "SESSION_ENDED", "this interview has ended", { ...ended, shared: true });
      }
      if (resumeOnly) {
        if (ended) throw new ApiError(410, "SESSION_ENDED", "this interview has ended", ended);
        throw new ApiError(404, "SESSION_NOT_FOUND", "this interview no longer exists");
      }
      if (invite.expires_at !== null && invite.expires_at <= now) throw new ApiError(410, "INVITE_EXPIRED", "this invite link has expired");
      if (invite.uses >= invite.max_uses) {
        // A shared link that has had all its participants is not "your interview is completed".
        if (invite.max_uses > 1 && !ended) throw new ApiError(409, "INVITE_USED", "this invite link has had all the participants it allows", { linkFull: true });
        throw new ApiError(409, "INVITE_USED", "this invite link has already been used", ended);
      }
    }

    if (row.script_questions === null) throw new Error(`script ${campaign.id} v${campaign.script_version} is missing`);
    const questions = parseQuestions(row.script_questions);
    const meta: SessionMeta = {
      id: sessionId,
      orgId: invite.org_id,
      campaignId: campaign.id,
      inviteId: invite.id,
      scriptVersion: campaign.script_version,
      consentText: consentTextFor(settings),
      language: settings.language ?? null,
      device,
      participantEmail: invite.participant_email,
      participantName: invite.participant_name,
      mode: settings.mode,
      recordAudio: settings.recordAudio,
    };
    const first = initialState({ questions, consentRequired: settings.consentRequired, now });
    let indexed = true;
    if (claimed) {
      // The row written with the claim is the one the object would write (a test holds the two
      // together); should they ever differ, the object's outbox rewrites it at once.
      indexed = sameIndexRow(claimedRow, mirrorRow(meta, first, now, limitsFrom(c.env), 0));
      if (!indexed) console.warn("join: the index row written with the claim differs from the session's; the session rewrites it", sessionId);
    } else {
      // The claim and the session's first index row go in one D1 batch (one transaction): the
      // guard makes concurrent opens of a single-use invite yield one session, not two, and the
      // row is written only by the open that won. The object starts with its mirror in sync.
      const [claim] = await db.batch([
        db.prepare("UPDATE invites SET uses = uses + 1, session_id = ? WHERE id = ? AND uses < max_uses").bind(sessionId, invite.id),
        insertIfClaimed(db, mirrorRow(meta, first, now, limitsFrom(c.env), 1), invite.id),
      ]);
      if (!claim?.meta.changes) throw new ApiError(409, "INVITE_USED", "this invite link has already been used");
    }

    const stub = c.env.SESSION.get(c.env.SESSION.idFromName(sessionId));
    let view: SessionView;
    try {
      // session.created is queued for webhooks only if one subscribed to it before the session existed.
      view = await stub.init({ meta, questions, consentRequired: settings.consentRequired, tokenHash, createdAt: now, indexed, announce: row.created_hook === 1 });
    } catch (err) {
      // No object behind it: the row must not list a session that does not exist.
      await db.prepare("DELETE FROM sessions WHERE id = ?").bind(sessionId).run().catch(() => undefined);
      throw err;
    }
    return reply(sessionId, view.status, false, view.totalQuestions, view.consent.required, meta.consentText, meta.language);
  },
);

participantRoutes.get(
  "/sessions/:id/connect",
  op({
    summary: "The participant's WebSocket (token in the query: browsers cannot send headers on an upgrade)",
    description: "A wrong token is refused before the upgrade (401/404); a finished session refuses new connections (410).",
    tags: ["participant"],
    auth: "participant",
    responses: { 101: { description: "switching protocols" }, 410: { description: "the session is finished" }, 426: { description: "UPGRADE_REQUIRED: connect with a WebSocket" } },
  }),
  async (c) => {
    const id = c.req.param("id");
    if (!sesId.safeParse(id).success) throw notFound("session");
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "UPGRADE_REQUIRED", "connect with a WebSocket");
    const tokens = c.req.queries("token") ?? [];
    if (tokens.length > 1) throw new ApiError(400, "VALIDATION_FAILED", "send the token once", { fields: [{ path: "token", message: "given more than once", code: "duplicate" }] });
    const token = tokens[0];
    if (!token) throw new ApiError(401, "INVALID_TOKEN", "the participant token is missing");
    const url = new URL("https://session.internal/connect");
    url.searchParams.set("token", token);
    return c.env.SESSION.get(c.env.SESSION.idFromName(id)).fetch(new Request(url, c.req.raw));
  },
);
