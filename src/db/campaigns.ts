// Campaign and invite rows ↔ API JSON, and the org-scoped lookups routes share.
import { z } from "zod";
import type { Question } from "../objects/machine";
import type { CampaignRow, InviteRow } from "./schema";
import { primaryLanguage } from "../shared/language-tag";

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

const DEFAULT_CONSENT_TEXT =
  "This interview is recorded and analysed by the research team that invited you. Your answers are stored securely, used only for this research, and deleted on request.";

// The default consent wording in the languages the participant page speaks: a participant agrees
// to words they can read, and the session records exactly the text it showed.
const DEFAULT_CONSENT_BY_LANGUAGE: Record<string, string> = {
  en: DEFAULT_CONSENT_TEXT,
  es: "Esta entrevista la graba y analiza el equipo de investigación que te ha invitado. Tus respuestas se guardan de forma segura, se usan solo para esta investigación y se eliminan si lo solicitas.",
  fr: "Cet entretien est enregistré et analysé par l'équipe de recherche qui vous a invité. Vos réponses sont conservées en sécurité, utilisées uniquement pour cette recherche et supprimées sur demande.",
  de: "Dieses Interview wird vom Forschungsteam, das Sie eingeladen hat, aufgezeichnet und ausgewertet. Ihre Antworten werden sicher gespeichert, nur für diese Forschung verwendet und auf Wunsch gelöscht.",
  pt: "Esta entrevista é gravada e analisada pela equipe de pesquisa que convidou você. Suas respostas são armazenadas com segurança, usadas apenas nesta pesquisa e excluídas mediante solicitação.",
  ja: "このインタビューは、あなたを招待した調査チームによって録音・分析されます。回答は安全に保管され、この調査のためだけに使用され、ご要望に応じて削除されます。",
  zh: "本次访谈将由邀请您的研究团队录制和分析。您的回答将被安全存储，仅用于本研究，并可应您的要求删除。",
  ar: "تُسجَّل هذه المقابلة ويحلّلها فريق البحث الذي دعاك. تُحفظ إجاباتك بأمان، وتُستخدم لهذا البحث فقط، وتُحذف عند الطلب.",
  hi: "यह इंटरव्यू आपको आमंत्रित करने वाली शोध टीम द्वारा रिकॉर्ड किया जाता है और उसका विश्लेषण किया जाता है। आपके जवाब सुरक्षित रूप से रखे जाते हैं, केवल इसी शोध के लिए इस्तेमाल किए जाते हैं, और आपके अनुरोध पर हटा दिए जाते हैं।",
  it: "Questa intervista viene registrata e analizzata dal team di ricerca che ti ha invitato. Le tue risposte vengono conservate in modo sicuro, usate solo per questa ricerca ed eliminate su richiesta.",
  nl: "Dit interview wordt opgenomen en geanalyseerd door het onderzoeksteam dat je heeft uitgenodigd. Je antwoorden worden veilig opgeslagen, alleen voor dit onderzoek gebruikt en op verzoek verwijderd.",
  ru: "Это интервью записывается и анализируется командой исследователей, которая вас пригласила. Ваши ответы надёжно хранятся, используются только для этого исследования и удаляются по вашему запросу.",
  ko: "이 인터뷰는 귀하를 초대한 연구팀이 녹음하고 분석합니다. 귀하의 답변은 안전하게 저장되며, 이 연구에만 사용되고, 요청 시 삭제됩니다.",
  tr: "Bu görüşme, sizi davet eden araştırma ekibi tarafından kayda alınır ve analiz edilir. Yanıtlarınız güvenli bir şekilde saklanır, yalnızca bu araştırma için kullanılır ve talep etmeniz hâlinde silinir.",
  pl: "Ten wywiad jest nagrywany i analizowany przez zespół badawczy, który Cię zaprosił. Twoje odpowiedzi są bezpiecznie przechowywane, wykorzystywane wyłącznie na potrzeby tego badania i usuwane na Twoją prośbę.",
  id: "Wawancara ini direkam dan dianalisis oleh tim peneliti yang mengundang Anda. Jawaban Anda disimpan dengan aman, hanya digunakan untuk penelitian ini, dan dihapus jika Anda memintanya.",
};

/** The consent text a participant is shown: the campaign's own, else the default in the campaign's language (English otherwise). */
export function consentTextFor(settings: { consentRequired: boolean; consentText?: string | undefined; language?: string | undefined }): string | null {
  if (!settings.consentRequired) return null;
  if (settings.consentText) return settings.consentText;
  return DEFAULT_CONSENT_BY_LANGUAGE[primaryLanguage(settings.language)] ?? DEFAULT_CONSENT_TEXT;
}

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
