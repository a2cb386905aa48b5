// Follow-up questions behind a small interface: a deterministic local provider for dev and tests,
// and Workers AI (an LLM through workers-ai-provider) in production.
import { generateText } from "ai";
import { createWorkersAI } from "workers-ai-provider";
import type { Probe } from "../objects/machine";

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

export const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];

/** Short answers earn a follow-up: light probing below 12 words, deep probing below 25. */
export const SHORT_ANSWER_WORDS: Record<Probe, number> = { none: 0, light: 12, deep: 25 };

/**
 * Deterministic: the same answer always gets the same follow-up. It probes short answers and
 * anchors the question on the answer's most telling word, so it reads like a follow-up.
 */
export class LocalFollowUpProvider implements FollowUpProvider {
  readonly name = "local";
  async followUp({ answer, probe, followUpsAsked }: FollowUpInput): Promise<string | null> {
    const all = words(answer);
    if (all.length >= SHORT_ANSWER_WORDS[probe]) return null;
    const content = all.filter((w) => w.length > 2 && !STOPWORDS.has(w));
    const anchor = content.sort((a, b) => b.length - a.length || a.localeCompare(b))[0];
    if (followUpsAsked === 0) {
      return anchor ? `You mentioned "${anchor}". Could you tell me more about that?` : "Could you tell me a bit more about that?";
    }
    return anchor ? `What makes "${anchor}" matter to you? An example would help.` : "Could you give me a concrete example?";
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
      prompt: `Question: ${input.question}\nAnswer: ${input.answer}\nFollow-ups already asked for this question: ${input.followUpsAsked}`,
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
