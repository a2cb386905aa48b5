// Three-way sentiment behind a small interface: a lexicon (AFINN through `sentiment`) locally,
// a Workers AI text classifier in production.
import Sentiment from "sentiment";

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

export function sentimentProvider(env: { AI_MODE?: string; AI?: Ai }): SentimentProvider {
  if (env.AI_MODE === "local" || !env.AI) return new LocalSentimentProvider();
  return new WorkersAISentimentProvider(env.AI);
}

/** The overall label of several answers: the sign of their mean score, with the same neutral band. */
export function overall(results: SentimentResult[]): Label | null {
  if (results.length === 0) return null;
  const mean = results.reduce((a, r) => a + r.score, 0) / results.length;
  return mean > 0.025 ? "positive" : mean < -0.025 ? "negative" : "neutral";
}
