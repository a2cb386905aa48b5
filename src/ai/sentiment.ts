// Three-way sentiment behind a small interface: a lexicon (AFINN through `sentiment`) locally,
// Workers AI in production: an English text classifier for English, an LLM for other languages.
import { generateText } from "ai";
import Sentiment from "sentiment";
import { createWorkersAI } from "workers-ai-provider";
import { z } from "zod";
import { looksEnglish } from "./language";
import { jsonReply } from "./llm-json";
import { isEnglishTag } from "../shared/language-tag";

export type Label = "positive" | "neutral" | "negative";
export interface SentimentResult {
  label: Label;
  /** -1 (most negative) … 1 (most positive). */
  score: number;
}

export interface SentimentProvider {
  readonly name: string;
  classify(text: string): Promise<SentimentResult>;
}

const lexicon = new Sentiment();
/** Comparative AFINN score (per word) beyond which a text is not neutral. */
const NEUTRAL_BAND = 0.05;

export class LocalSentimentProvider implements SentimentProvider {
  readonly name = "local";
  async classify(text: string): Promise<SentimentResult> {
    const r = lexicon.analyze(text);
    const score = Math.max(-1, Math.min(1, r.comparative / 2));
    const label: Label = r.comparative > NEUTRAL_BAND ? "positive" : r.comparative < -NEUTRAL_BAND ? "negative" : "neutral";
    return { label, score: Math.round(score * 1000) / 1000 };
  }
}

export const SENTIMENT_MODEL = "@cf/huggingface/distilbert-sst-2-int8";

/** distilbert-sst-2 is two-way; a low-confidence winner is read as neutral. */
export class WorkersAISentimentProvider implements SentimentProvider {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai) {}
  async classify(text: string): Promise<SentimentResult> {
    const out = (await this.ai.run(SENTIMENT_MODEL as Parameters<Ai["run"]>[0], { text: text.slice(0, 2000) } as never)) as unknown;
    const scores = Array.isArray(out) ? (out as { label?: string; score?: number }[]) : [];
    const pos = scores.find((s) => s.label === "POSITIVE")?.score ?? 0;
    const neg = scores.find((s) => s.label === "NEGATIVE")?.score ?? 0;
    const score = Math.round((pos - neg) * 1000) / 1000;
    const label: Label = Math.abs(score) < 0.3 ? "neutral" : score > 0 ? "positive" : "negative";
    return { label, score };
  }
}

export const MULTILINGUAL_SENTIMENT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";
const LlmSentiment = z.object({ label: z.enum(["positive", "neutral", "negative"]), score: z.number().min(-1).max(1) });

/**
 * Any language, through a multilingual LLM: distilbert-sst-2 was trained on English film reviews
 * and labels Japanese or Arabic text at random. A reply that is not the JSON asked for falls back
 * to the lexicon (neutral for words it does not know), as the answer analyser does.
 */
export class WorkersAILlmSentimentProvider implements SentimentProvider {
  readonly name = "workers-ai-llm";
  constructor(private readonly ai: Ai, private readonly language: string | null) {}
  async classify(text: string): Promise<SentimentResult> {
    const { text: reply } = await generateText({
      model: createWorkersAI({ binding: this.ai })(MULTILINGUAL_SENTIMENT_MODEL),
      system:
        'You rate the sentiment of one interview answer, in whatever language it is written. Reply with JSON only: {"label": "positive" | "neutral" | "negative", "score": number from -1 (most negative) to 1 (most positive)}.',
      prompt: `${this.language ? `Language: ${this.language}\n` : ""}Answer: ${text.slice(0, 2000)}`,
      maxOutputTokens: 40,
      temperature: 0,
    });
    const parsed = jsonReply(reply, LlmSentiment);
    if (!parsed) return new LocalSentimentProvider().classify(text);
    return { label: parsed.label, score: Math.round(parsed.score * 1000) / 1000 };
  }
}

/** Whether the English classifier can read `text`: an English interview, or (language unknown) a text that reads as English. */
export function englishClassifierFits(language: string | null | undefined, text: string): boolean {
  if (language) return isEnglishTag(language);
  return looksEnglish(text);
}

/** The provider for an interview in `language` (BCP 47, or null when the campaign names none). */
export function sentimentProvider(env: { AI_MODE?: string; AI?: Ai }, language: string | null = null): SentimentProvider {
  if (env.AI_MODE === "local" || !env.AI) return new LocalSentimentProvider();
  const english = new WorkersAISentimentProvider(env.AI);
  const any = new WorkersAILlmSentimentProvider(env.AI, language);
  return { name: "workers-ai", classify: (text) => (englishClassifierFits(language, text) ? english : any).classify(text) };
}

/**
 * The overall label of several answers: the label most of them have, as a reader counting them
 * would say; a tie goes to the sign of their mean score, with the same neutral band. (The mean
 * alone called one glowing answer beside two mildly negative ones "positive".)
 */
export function overall(results: Pick<SentimentResult, "label" | "score">[]): Label | null {
  if (results.length === 0) return null;
  const counts = { positive: 0, neutral: 0, negative: 0 };
  for (const r of results) counts[r.label] += 1;
  const most = Math.max(counts.positive, counts.neutral, counts.negative);
  const leaders = (Object.keys(counts) as Label[]).filter((l) => counts[l] === most);
  if (leaders.length === 1) return leaders[0]!;
  const mean = results.reduce((a, r) => a + r.score, 0) / results.length;
  return mean > 0.025 ? "positive" : mean < -0.025 ? "negative" : "neutral";
}
