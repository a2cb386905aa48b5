// Erasure: everything a session holds about its participant goes (object storage and its audio
// key, R2 audio, D1 rows, quotes in campaign aggregates, the invite's personal fields), and a
// ledger entry without personal data makes sure a restored backup cannot bring it back.
import { z } from "zod";
import { quoteOf } from "../db/analytics";
import { parseJson } from "../shared/json";
import type { SessionRow } from "../db/schema";
import type { Env } from "../env";
import { newId, toBase64Url } from "../shared/crypto";
import { deletePrefix } from "../shared/r2";
import { appendAudit } from "./audit";
import { DATA_TYPES, type DataType } from "../shared/retention";

export interface SessionErasure {
  sessionId: string;
  transcriptSegments: number;
  notes: number;
  analyses: number;
  audioObjects: number;
  sessionStorage: boolean;
  audioKeyDestroyed: boolean;
  /** Invites whose personal fields were cleared with the session. */
  invites: number;
}

/**
 * The statement removing a participant's quotes from campaign aggregates, which keep their
 * (anonymous) counts. Quotes are compared as values inside the stored JSON arrays (json_each), never
 * as text: the stored form escapes `"`, `\\` and newlines, so a textual match would miss them.
 */
export function forgetQuotes(env: Pick<Env, "DB">, campaignId: string, segments: { speaker: string; text: string }[]): D1PreparedStatement[] {
  // The same quote the analysis folded in (src/db/analytics.ts): the answer's first sentence.
  const quotes = [...new Set(segments.filter((s) => s.speaker === "participant" && s.text.trim()).map((s) => quoteOf(s.text)))];
  if (quotes.length === 0) return [];
  return [
    env.DB.prepare(
      `UPDATE campaign_theme_stats
         SET examples = (SELECT json_group_array(value) FROM json_each(campaign_theme_stats.examples) WHERE value NOT IN (SELECT value FROM json_each(?1)))
       WHERE campaign_id = ?2 AND EXISTS (SELECT 1 FROM json_each(campaign_theme_stats.examples) WHERE value IN (SELECT value FROM json_each(?1)))`,
    ).bind(JSON.stringify(quotes), campaignId),
  ];
}

/** The mark on an export removed because it held an erased participant's data. */
export const ERASED_EXPORT = "removed: it held interview data that has since been deleted (erasure or retention)";

const ExportParams = z.object({ sessionIds: z.array(z.string()), include: z.array(z.string()).optional() });

/**
 * Which kinds of a session's data a bulk export's ZIP holds: audio exports the recordings; CSV the
 * transcript; JSON and PDF the parts they include (transcript and notes are transcript data,
 * retained and purged together). Every format names the session, i.e. its metadata.
 */
export function exportContent(format: string, include: readonly string[] | undefined): Set<DataType> {
  if (format === "audio") return new Set(["audio", "metadata"]);
  if (format === "csv") return new Set(["transcripts", "metadata"]);
  const parts = new Set(include ?? ["transcript", "analytics", "notes"]);
  const out = new Set<DataType>(["metadata"]);
  if (parts.has("transcript") || parts.has("notes")) out.add("transcripts");
  if (parts.has("analytics")) out.add("analytics");
  return out;
}

/**
 * Bulk exports are copies: any export whose selection holds one of the sessions, and whose ZIP holds
 * one of `types` of data (by default any: an erasure), loses its ZIP in R2 and is marked, so its link
 * stops working. Returns the ids of the exports removed.
 */
export async function eraseExportsContaining(env: Env, orgId: string, sessionIds: string[], types: readonly DataType[] = DATA_TYPES): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const wanted = new Set(sessionIds);
  const removed: string[] = [];
  const rows = await env.DB.prepare("SELECT id, format, params, object_key FROM exports WHERE org_id = ? AND (error IS NULL OR error <> ?)")
    .bind(orgId, ERASED_EXPORT)
    .all<{ id: string; format: string; params: string; object_key: string | null }>();
  for (const r of rows.results) {
    const params = parseJson(ExportParams, r.params);
    if (!params.sessionIds.some((id) => wanted.has(id))) continue;
    const holds = exportContent(r.format, params.include);
    if (!types.some((t) => holds.has(t))) continue;
    await env.EXPORTS_BUCKET.delete(r.object_key ?? `exports/${r.id}.zip`);
    await env.DB.prepare("UPDATE exports SET status = 'failed', error = ?, object_key = NULL, size_bytes = NULL, expires_at = ?, updated_at = ? WHERE id = ?")
      .bind(ERASED_EXPORT, Date.now(), Date.now(), r.id)
      .run();
    removed.push(r.id);
  }
  return removed;
}

/** Erases one session completely; safe to run again (a replay finds less and removes it). */
export async function eraseSession(env: Env, row: Pick<SessionRow, "id" | "campaign_id" | "invite_id">): Promise<SessionErasure> {
  const stub = env.SESSION.get(env.SESSION.idFromName(row.id));
  const transcript = await stub.transcript();
  const segments = transcript.ok ? transcript.value.segments : [];
  // The object's storage holds the wrapped audio key: deleting it shreds every copy of the audio.
  await stub.erase();
  const audioObjects = await deletePrefix(env.AUDIO_BUCKET, `sessions/${row.id}/`);
  const stmts = [
    env.DB.prepare("DELETE FROM notes WHERE session_id = ?").bind(row.id),
    env.DB.prepare("DELETE FROM answer_analysis WHERE session_id = ?").bind(row.id),
    env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(row.id),
    env.DB.prepare("UPDATE invites SET session_id = NULL, participant_email = NULL, participant_name = NULL, participant_attributes = NULL WHERE id = ? OR session_id = ?").bind(
      row.invite_id,
      row.id,
    ),
  ];
  stmts.push(...forgetQuotes(env, row.campaign_id, segments));
  const results = await env.DB.batch(stmts);
  await env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(row.campaign_id)).forget(row.id);
  return {
    sessionId: row.id,
    transcriptSegments: segments.length,
    notes: results[0]?.meta.changes ?? 0,
    analyses: results[1]?.meta.changes ?? 0,
    audioObjects,
    sessionStorage: true,
    audioKeyDestroyed: true,
    invites: results[3]?.meta.changes ?? 0,
  };
}

/** A keyed hash of the data subject: the ledger can recognise them again without storing them. */
export async function subjectHash(env: Env, email: string): Promise<string> {
  const secret = env.LEDGER_KEY ?? env.AUDIO_KEK ?? env.OPERATOR_TOKEN ?? "";
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(`ledger:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(email.trim().toLowerCase()))));
}

export async function recordDeletion(env: Env, entry: { orgId: string; subject: string | null; sessionIds: string[]; actor: string }) {
  await env.DB.prepare("INSERT INTO deletion_ledger (id, org_id, subject_hash, session_ids, actor, deleted_at) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(newId("del"), entry.orgId, entry.subject, JSON.stringify(entry.sessionIds), entry.actor, Date.now())
    .run();
}

const REPLAY_ACTOR = { type: "system", id: "deletion-replay", role: null, ip: null, userAgent: null, requestId: null } as const;

/**
 * Replays the ledger against what D1 holds now (after a restore from backup), erasing again what
 * each entry covered: the sessions it names, and (for a participant's erasure) any session or
 * invite of the subject created before the erasure, which a backup may have held. A session or
 * invite created after it (the person took part again, with fresh consent) is not the erasure's
 * and stays. Every removal is audited in its org. Returns how many sessions were erased again.
 */
export async function replayDeletions(env: Env): Promise<number> {
  const ledger = await env.DB.prepare("SELECT id, org_id, subject_hash, session_ids, deleted_at FROM deletion_ledger").all<{
    id: string;
    org_id: string;
    subject_hash: string | null;
    session_ids: string;
    deleted_at: number;
  }>();
  /** Session id → the ledger entry naming it. */
  const ids = new Map<string, string>();
  /** Org → subject hash → the latest erasure of that subject (its entry and time). */
  const subjects = new Map<string, Map<string, { entry: string; at: number }>>();
  for (const e of ledger.results) {
    for (const id of parseJson(z.array(z.string()), e.session_ids)) ids.set(id, e.id);
    if (!e.subject_hash) continue;
    const bySubject = subjects.get(e.org_id) ?? new Map<string, { entry: string; at: number }>();
    if ((bySubject.get(e.subject_hash)?.at ?? -Infinity) < e.deleted_at) bySubject.set(e.subject_hash, { entry: e.id, at: e.deleted_at });
    subjects.set(e.org_id, bySubject);
  }
  const found: { row: SessionRow; entry: string; by: "session_id" | "subject" }[] = [];
  for (const [id, entry] of ids) {
    const row = await env.DB.prepare("SELECT * FROM sessions WHERE id = ?").bind(id).first<SessionRow>();
    if (row) found.push({ row, entry, by: "session_id" });
  }
  const invitesCleared: { orgId: string; id: string; entry: string }[] = [];
  for (const [orgId, bySubject] of subjects) {
    const latest = Math.max(...[...bySubject.values()].map((v) => v.at));
    const rows = await env.DB.prepare("SELECT * FROM sessions WHERE org_id = ? AND participant_email IS NOT NULL AND created_at < ?").bind(orgId, latest).all<SessionRow>();
    for (const r of rows.results) {
      const erasure = bySubject.get(await subjectHash(env, r.participant_email!));
      if (!ids.has(r.id) && erasure && r.created_at < erasure.at) found.push({ row: r, entry: erasure.entry, by: "subject" });
    }
    const invites = await env.DB.prepare("SELECT id, participant_email, created_at FROM invites WHERE org_id = ? AND participant_email IS NOT NULL AND created_at < ?")
      .bind(orgId, latest)
      .all<{ id: string; participant_email: string; created_at: number }>();
    for (const i of invites.results) {
      const erasure = bySubject.get(await subjectHash(env, i.participant_email));
      if (!erasure || i.created_at >= erasure.at) continue;
      await env.DB.prepare("UPDATE invites SET participant_email = NULL, participant_name = NULL, participant_attributes = NULL WHERE id = ?").bind(i.id).run();
      invitesCleared.push({ orgId, id: i.id, entry: erasure.entry });
    }
  }
  for (const { row, entry, by } of found) {
    await eraseSession(env, row);
    await appendAudit(env, REPLAY_ACTOR, {
      orgId: row.org_id,
      action: "deletion.replay",
      outcome: "allow",
      resourceType: "session",
      resourceId: row.id,
      campaignId: row.campaign_id,
      details: { ledgerEntry: entry, matchedBy: by },
    });
  }
  for (const i of invitesCleared) {
    await appendAudit(env, REPLAY_ACTOR, { orgId: i.orgId, action: "deletion.replay", outcome: "allow", resourceType: "invite", resourceId: i.id, details: { ledgerEntry: i.entry, matchedBy: "subject" } });
  }
  // Restored export records (and their ZIPs) that hold erased sessions go again too.
  const byOrg = new Map<string, string[]>();
  for (const e of ledger.results) byOrg.set(e.org_id, [...(byOrg.get(e.org_id) ?? []), ...parseJson(z.array(z.string()), e.session_ids)]);
  for (const { row } of found) byOrg.set(row.org_id, [...(byOrg.get(row.org_id) ?? []), row.id]);
  for (const [orgId, sessionIds] of byOrg) {
    for (const exportId of await eraseExportsContaining(env, orgId, sessionIds)) {
      await appendAudit(env, REPLAY_ACTOR, { orgId, action: "deletion.replay", outcome: "allow", resourceType: "export", resourceId: exportId, details: { matchedBy: "session_id" } });
    }
  }
  return found.length;
}
