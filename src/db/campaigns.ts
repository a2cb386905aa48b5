// Campaign and invite rows ↔ API JSON, and the org-scoped lookups routes share.
import { z } from "zod";
import type { Question } from "../objects/machine";
import type { CampaignRow, InviteRow } from "./schema";

const StoredSettings = z.object({
  consentRequired: z.boolean(),
  consentText: z.string().optional(),
  mode: z.enum(["text", "voice"]),
  recordAudio: z.boolean(),
  browserTranscription: z.boolean().optional(),
  language: z.string().optional(),
});
export type StoredSettings = z.infer<typeof StoredSettings>;
const StoredQuestions = z.array(z.object({ text: z.string(), probe: z.enum(["none", "light", "deep"]) }));
const StoredAttributes = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const parseSettings = (text: string) => StoredSettings.parse(JSON.parse(text));
export const parseQuestions = (text: string): Question[] => StoredQuestions.parse(JSON.parse(text));

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const DEFAULT_CONSENT_TEXT =
  "This interview is recorded and analysed by the research team that invited you. Your answers are stored securely, used only for this research, and deleted on request.";

export function campaignJson(row: CampaignRow, questions: Question[]) {
  return {
    id: row.id,
    name: row.name,
    questions,
    settings: parseSettings(row.settings),
    scriptVersion: row.script_version,
    totalQuestions: row.total_questions,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

export function inviteJson(row: InviteRow) {
  return {
    id: row.id,
    campaignId: row.campaign_id,
    participant: {
      email: row.participant_email,
      name: row.participant_name,
      attributes: row.participant_attributes ? StoredAttributes.parse(JSON.parse(row.participant_attributes)) : {},
    },
    expiresAt: iso(row.expires_at),
    maxUses: row.max_uses,
    uses: row.uses,
    sessionId: row.session_id,
    createdAt: iso(row.created_at)!,
  };
}

export const findCampaignStatement = (db: D1Database, orgId: string, id: string) => db.prepare("SELECT * FROM campaigns WHERE id = ? AND org_id = ?").bind(id, orgId);

export async function findCampaign(db: D1Database, orgId: string, id: string): Promise<CampaignRow | null> {
  return findCampaignStatement(db, orgId, id).first<CampaignRow>();
}

export async function scriptQuestions(db: D1Database, campaignId: string, version: number): Promise<Question[]> {
  const row = await db.prepare("SELECT questions FROM campaign_scripts WHERE campaign_id = ? AND version = ?").bind(campaignId, version).first<{ questions: string }>();
  if (!row) throw new Error(`script ${campaignId} v${version} is missing`);
  return parseQuestions(row.questions);
}
