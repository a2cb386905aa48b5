// Follow-up questions behind a small interface: a deterministic local provider for dev and tests,
// and Workers AI (an LLM through workers-ai-provider) in production.
import { generateText } from "ai";
import { createWorkersAI } from "workers-ai-provider";
import type { Probe } from "../objects/machine";
import { words } from "./words";
import { primaryLanguage } from "../shared/language-tag";

export interface FollowUpInput {
  question: string;
  answer: string;
  probe: Probe;
  followUpsAsked: number;
  language?: string | null;
}

export interface FollowUpProvider {
  readonly name: string;
  /** A follow-up question, or null to move on to the next question. */
  followUp(input: FollowUpInput, signal?: AbortSignal): Promise<string | null>;
}

const STOPWORDS = new Set(
  "a an and are as at be been but by can could did do does for from had has have how i if in into is it its just like me my no not of on or our so that the their them then there these they this to too us very was we were what when where which who why will with would you your really also about because more some than".split(
    " ",
  ),
);

/** Short answers earn a follow-up: light probing below 12 words, deep probing below 25. */
export const SHORT_ANSWER_WORDS: Record<Probe, number> = { none: 0, light: 12, deep: 25 };

// The local provider's follow-ups in the languages the participant page speaks (src/ui/participant/i18n.ts):
// [about the anchor word, without one] for the first follow-up, then the same for the second.
const FOLLOW_UPS: Record<string, [[string, string], [string, string]]> = {
  en: [[`You mentioned "{a}". Could you tell me more about that?`, "Could you tell me a bit more about that?"], [`What makes "{a}" matter to you? An example would help.`, "Could you give me a concrete example?"]],
  es: [["Mencionaste «{a}». ¿Podrías contarme más sobre eso?", "¿Podrías contarme un poco más sobre eso?"], ["¿Por qué es importante «{a}» para ti? Un ejemplo ayudaría.", "¿Podrías darme un ejemplo concreto?"]],
  fr: [["Vous avez mentionné « {a} ». Pourriez-vous m'en dire plus ?", "Pourriez-vous m'en dire un peu plus ?"], ["Pourquoi « {a} » compte-t-il pour vous ? Un exemple aiderait.", "Pourriez-vous me donner un exemple concret ?"]],
  de: [["Sie haben „{a}“ erwähnt. Können Sie mir mehr darüber erzählen?", "Können Sie mir etwas mehr darüber erzählen?"], ["Warum ist „{a}“ für Sie wichtig? Ein Beispiel würde helfen.", "Können Sie mir ein konkretes Beispiel nennen?"]],
  pt: [[`Você mencionou "{a}". Pode me contar mais sobre isso?`, "Pode me contar um pouco mais sobre isso?"], [`Por que "{a}" é importante para você? Um exemplo ajudaria.`, "Pode me dar um exemplo concreto?"]],
  ja: [["「{a}」とおっしゃいましたね。もう少し詳しく教えていただけますか？", "もう少し詳しく教えていただけますか？"], ["「{a}」があなたにとって大切なのはなぜですか？具体的な例があると助かります。", "具体的な例を教えていただけますか？"]],
  zh: [["您提到了“{a}”。能再多说一些吗？", "能再多说一些吗？"], ["为什么“{a}”对您很重要？举个例子会很有帮助。", "能举一个具体的例子吗？"]],
  ar: [["ذكرتَ «{a}». هل يمكنك أن تخبرني المزيد عن ذلك؟", "هل يمكنك أن تخبرني المزيد عن ذلك؟"], ["لماذا يهمّك «{a}»؟ سيساعدنا مثال.", "هل يمكنك أن تعطيني مثالًا محددًا؟"]],
  hi: [[`आपने "{a}" का ज़िक्र किया। क्या आप इसके बारे में और बता सकते हैं?`, "क्या आप इसके बारे में थोड़ा और बता सकते हैं?"], [`"{a}" आपके लिए क्यों मायने रखता है? एक उदाहरण से मदद मिलेगी।`, "क्या आप कोई ठोस उदाहरण दे सकते हैं?"]],
  it: [["Hai menzionato «{a}». Potresti dirmi qualcosa di più?", "Potresti dirmi qualcosa di più al riguardo?"], ["Perché «{a}» è importante per te? Un esempio sarebbe utile.", "Potresti farmi un esempio concreto?"]],
  nl: [["Je noemde ‘{a}’. Kun je daar meer over vertellen?", "Kun je daar iets meer over vertellen?"], ["Waarom is ‘{a}’ belangrijk voor je? Een voorbeeld zou helpen.", "Kun je een concreet voorbeeld geven?"]],
  ru: [["Вы упомянули «{a}». Не могли бы вы рассказать об этом подробнее?", "Не могли бы вы рассказать об этом чуть подробнее?"], ["Почему для вас важно то, что вы назвали «{a}»? Пример очень помог бы.", "Не могли бы вы привести конкретный пример?"]],
  ko: [["‘{a}’에 대해 말씀하셨는데요. 좀 더 자세히 말씀해 주시겠어요?", "그 부분을 조금 더 자세히 말씀해 주시겠어요?"], ["‘{a}’의 어떤 점이 중요하다고 느끼시나요? 예를 하나 들어 주시면 도움이 됩니다.", "구체적인 예를 하나 들어 주시겠어요?"]],
  tr: [["“{a}” dediniz. Bunu biraz daha anlatabilir misiniz?", "Bunu biraz daha anlatabilir misiniz?"], ["“{a}” sizin için neden önemli? Bir örnek vermeniz yardımcı olur.", "Somut bir örnek verebilir misiniz?"]],
  pl: [["Padło słowo „{a}”. Czy możesz powiedzieć o tym coś więcej?", "Czy możesz powiedzieć o tym trochę więcej?"], ["Dlaczego kwestia „{a}” jest dla Ciebie ważna? Przykład bardzo by pomógł.", "Czy możesz podać konkretny przykład?"]],
  id: [[`Anda menyebut "{a}". Bisakah Anda menceritakan lebih lanjut?`, "Bisakah Anda menceritakan sedikit lebih banyak tentang hal itu?"], [`Mengapa "{a}" penting bagi Anda? Sebuah contoh akan sangat membantu.`, "Bisakah Anda memberikan contoh yang konkret?"]],
};

/**
 * Deterministic: the same answer always gets the same follow-up. It probes short answers and
 * anchors the question on the answer's most telling word, so it reads like a follow-up, in the
 * interview's language when we have its phrasing (English otherwise).
 */
export class LocalFollowUpProvider implements FollowUpProvider {
  readonly name = "local";
  async followUp({ answer, probe, followUpsAsked, language }: FollowUpInput): Promise<string | null> {
    const all = words(answer);
    if (all.length >= SHORT_ANSWER_WORDS[probe]) return null;
    // Han characters carry the content of Chinese and Japanese: a word of two of them is telling.
    const telling = (w: string) => (/\p{Script=Han}/u.test(w) ? w.length > 1 : w.length > 2 && !STOPWORDS.has(w));
    const content = all.filter(telling);
    const han = (w: string) => (/\p{Script=Han}/u.test(w) ? 1 : 0);
    const anchor = content.sort((a, b) => han(b) - han(a) || b.length - a.length || a.localeCompare(b))[0];
    const phrasing = FOLLOW_UPS[primaryLanguage(language)] ?? FOLLOW_UPS.en!;
    const [about, plain] = phrasing[followUpsAsked === 0 ? 0 : 1];
    return anchor ? about.replace("{a}", anchor) : plain;
  }
}

export const FOLLOW_UP_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";

const SYSTEM = [
  "You are a careful qualitative research interviewer.",
  "Given an interview question and the participant's answer, decide whether one short, neutral, non-leading follow-up question would draw out useful detail.",
  "Reply with the follow-up question only, in the participant's language, at most 25 words.",
  "If the answer is already specific and complete, reply with exactly NONE.",
].join(" ");

export class WorkersAIFollowUpProvider implements FollowUpProvider {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai, private readonly model = FOLLOW_UP_MODEL) {}
  async followUp(input: FollowUpInput, signal?: AbortSignal): Promise<string | null> {
    const workersai = createWorkersAI({ binding: this.ai });
    const depth = input.probe === "deep" ? "Probe for reasons and concrete examples." : "Only ask if the answer is vague or very short.";
    const { text } = await generateText({
      model: workersai(this.model),
      system: `${SYSTEM} ${depth}`,
      prompt: `${input.language ? `Interview language: ${input.language}\n` : ""}Question: ${input.question}\nAnswer: ${input.answer}\nFollow-ups already asked for this question: ${input.followUpsAsked}`,
      maxOutputTokens: 80,
      temperature: 0.2,
      abortSignal: signal,
    });
    const cleaned = text.trim().replace(/^["']|["']$/g, "").trim();
    if (!cleaned || /^none\.?$/i.test(cleaned)) return null;
    return cleaned.slice(0, 300);
  }
}

export interface AiEnv {
  AI_MODE?: string;
  AI?: Ai;
}

export function followUpProvider(env: AiEnv): FollowUpProvider {
  if (env.AI_MODE === "local" || !env.AI) return new LocalFollowUpProvider();
  return new WorkersAIFollowUpProvider(env.AI);
}
