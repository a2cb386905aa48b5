// Writes an InterviewSession's metadata into the D1 session index. The write is an upsert
// guarded by mirror_version, so retries and out-of-order writes converge on the newest state.
import { placeholders } from "../shared/d1";
import { initialState, type Limits } from "./machine";
import { mirrorRow, type MirrorRow, type SessionMeta } from "./view";

export interface MirrorWriter {
  write(row: MirrorRow): Promise<void>;
}

const OWNED: (keyof MirrorRow)[] = [
  "campaign_id",
  "script_version",
  "status",
  "started_at",
  "completed_at",
  "duration",
  "questions_answered",
  "total_questions",
  "completion",
  "language",
  "device",
  "consent_required",
  "consent_granted",
  "consent_at",
  "end_reason",
  "last_question_index",
  "paused_reason",
  "paused_by",
  "participant_email",
  "participant_name",
  "deadline_at",
  "mirror_version",
  "updated_at",
];

export class D1Mirror implements MirrorWriter {
  constructor(private readonly db: D1Database) {}

  async write(row: MirrorRow): Promise<void> {
    const cols = Object.keys(row) as (keyof MirrorRow)[];
    // flagged, flag_reason and sentiment belong to D1 (set by routes and analysis): never overwritten here.
    const sql =
      `INSERT INTO sessions (${cols.join(", ")}, flagged) VALUES (${placeholders(cols.length)}, 0) ` +
      `ON CONFLICT(id) DO UPDATE SET ${OWNED.map((c) => `${c} = excluded.${c}`).join(", ")} ` +
      `WHERE excluded.mirror_version > sessions.mirror_version`;
    await this.db.prepare(sql).bind(...cols.map((c) => row[c])).run();
  }
}

/**
 * A session's first index row, for the join's D1 batch: inserted only if the invite in the same
 * batch is now claimed by this session, so a lost race for a single-use invite writes no row.
 */
export function insertIfClaimed(db: D1Database, row: MirrorRow, inviteId: string): D1PreparedStatement {
  const cols = Object.keys(row) as (keyof MirrorRow)[];
  return db
    .prepare(
      `INSERT INTO sessions (${cols.join(", ")}, flagged) SELECT ${placeholders(cols.length)}, 0 ` +
        "WHERE EXISTS (SELECT 1 FROM invites WHERE id = ? AND session_id = ?)",
    )
    .bind(...cols.map((c) => row[c]), inviteId, row.id);
}

/** The columns of a new session's index row that its invite and campaign decide, as SQL over the join's read. */
const FROM_INVITE = {
  org_id: "i.org_id",
  campaign_id: "i.campaign_id",
  invite_id: "i.id",
  script_version: "c.script_version",
  total_questions: "json_array_length(s.questions)",
  language: "json_extract(c.settings, '$.language')",
  consent_required: "CASE WHEN json_extract(c.settings, '$.consentRequired') THEN 1 ELSE 0 END",
  participant_email: "i.participant_email",
  participant_name: "i.participant_name",
} satisfies Partial<Record<keyof MirrorRow, string>>;

/**
 * A fresh open's claim and first index row, for the same D1 batch as the invite's read, so that
 * joining costs one round trip to D1. The claim takes a use of the invite with this token only if
 * it is live and has uses left; the row is inserted only if this open won that claim, its invite
 * and campaign columns read in SQL (`FROM_INVITE`), the others those `mirrorRow` gives a session
 * just created.
 * The row carries mirror_version 0 and comes back whole (RETURNING): the caller compares it with
 * the row the object would write (`sameIndexRow`) and, should they differ, has the object's
 * outbox rewrite it (any version it writes is newer).
 */
export function claimAndIndex(
  db: D1Database,
  c: { inviteHash: string; sessionId: string; now: number; device: SessionMeta["device"]; limits: Limits },
): [claim: D1PreparedStatement, insert: D1PreparedStatement] {
  // The row of a session just created, from mirrorRow itself; the invite's columns are left to SQL.
  const blank: SessionMeta = { id: c.sessionId, orgId: "", campaignId: "", inviteId: "", scriptVersion: 0, consentText: null, language: null, device: c.device, participantEmail: null, participantName: null };
  const row = mirrorRow(blank, initialState({ questions: [], consentRequired: false, now: c.now }), c.now, c.limits, 0);
  const ownCols = (Object.keys(row) as (keyof MirrorRow)[]).filter((k) => !(k in FROM_INVITE));
  const inviteCols = Object.keys(FROM_INVITE) as (keyof typeof FROM_INVITE)[];
  return [
    db
      .prepare("UPDATE invites SET uses = uses + 1, session_id = ? WHERE token_hash = ? AND uses < max_uses AND (expires_at IS NULL OR expires_at > ?)")
      .bind(c.sessionId, c.inviteHash, c.now),
    db
      .prepare(
        `INSERT INTO sessions (${[...ownCols, ...inviteCols].join(", ")}, flagged) ` +
          `SELECT ${placeholders(ownCols.length)}, ${inviteCols.map((k) => FROM_INVITE[k]).join(", ")}, 0 ` +
          "FROM invites i JOIN campaigns c ON c.id = i.campaign_id " +
          "LEFT JOIN campaign_scripts s ON s.campaign_id = c.id AND s.version = c.script_version " +
          "WHERE i.token_hash = ? AND i.session_id = ? " +
          `RETURNING ${[...ownCols, ...inviteCols].join(", ")}`,
      )
      .bind(...ownCols.map((k) => row[k]), c.inviteHash, c.sessionId),
  ];
}

/** Whether an index row read back from D1 holds what `expected` says (the version aside). */
export function sameIndexRow(stored: Record<string, unknown> | undefined, expected: MirrorRow): boolean {
  if (!stored) return false;
  return (Object.keys(expected) as (keyof MirrorRow)[]).every((k) => k === "mirror_version" || stored[k] === expected[k]);
}
