// Writes an InterviewSession's metadata into the D1 session index. The write is an upsert
// guarded by mirror_version, so retries and out-of-order writes converge on the newest state.
import { placeholders } from "../shared/d1";
import type { MirrorRow } from "./view";

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
