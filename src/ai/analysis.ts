// Per-answer insight behind a small interface: key themes and relevance to the question (an LLM
// through workers-ai-provider in production, keyword rules offline), plus response quality.
import { generateText } from "ai";
import { createWorkersAI } from "workers-ai-provider";
import { z } from "zod";
import { jsonReply } from "./llm-json";
import { words } from "./words";
import type { SentimentResult } from "./sentiment";

export interface ThemeResult {
  themes: string[];
  relevance: number; // 0..1
}

export interface AnswerAnalyzer {
  readonly name: string;
  analyze(question: string, answer: string): Promise<ThemeResult>;
}

/** A small research taxonomy: a theme is present when one of its cue words is. */
export const THEME_CUES: Record<string, string[]> = {
  pricing: ["price", "pricing", "cost", "costs", "expensive", "cheap", "pay", "paid", "plan", "subscription", "money", "budget"],
  usability: ["easy", "hard", "confusing", "intuitive", "simple", "complicated", "clunky", "usable", "navigate", "interface", "ui"],
  performance: ["slow", "fast", "speed", "lag", "laggy", "quick", "loading", "performance", "wait"],
  reliability: ["bug", "bugs", "crash", "crashed", "broken", "error", "errors", "reliable", "outage", "down"],
  support: ["support", "help", "helpful", "service", "response", "answered", "agent"],
  onboarding: ["onboarding", "setup", "signup", "sign", "started", "tutorial", "learn", "first"],
  features: ["feature", "features", "export", "exports", "search", "integration", "integrations", "report", "reports", "dashboard"],
  collaboration: ["team", "share", "sharing", "colleague", "colleagues", "together", "collaborate", "client", "clients"],
  trust: ["privacy", "secure", "security", "trust", "data", "safe"],
};

const STOP = new Set("the a an and or but to of in on at for with is was are were it this that i we you they my our me us be been have has had do did not so just very really".split(" "));

export class LocalAnswerAnalyzer implements AnswerAnalyzer {
  readonly name = "local";
  async analyze(question: string, answer: string): Promise<ThemeResult> {
    const ws = new Set(words(answer));
    const themes = Object.entries(THEME_CUES)
      .filter(([, cues]) => cues.some((c) => ws.has(c)))
      .map(([t]) => t);
    const qWords = words(question).filter((w) => w.length > 3 && !STOP.has(w));
    const overlap = qWords.length ? qWords.filter((w) => ws.has(w)).length / qWords.length : 0;
    // A substantive answer is relevant even without repeating the question's words.
    const substance = Math.min(1, ws.size / 12);
    return { themes, relevance: Math.round(Math.min(1, 0.3 + 0.4 * substance + 0.3 * overlap) * 100) / 100 };
  }
}

export const ANALYSIS_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";
const LlmResult = z.object({ themes: z.array(z.string().min(1).max(40)).max(5), relevance: z.number().min(0).max(1) });

export class WorkersAIAnswerAnalyzer implements AnswerAnalyzer {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai) {}
  async analyze(question: string, answer: string): Promise<ThemeResult> {
    const { text } = await generateText({
      model: createWorkersAI({ binding: this.ai })(ANALYSIS_MODEL),
      system:
        'You label interview answers for a research team. Reply with JSON only: {"themes": [up to 5 short lowercase topic labels], "relevance": number from 0 to 1 for how well the answer addresses the question}.',
      prompt: `Question: ${question}\nAnswer: ${answer}`,
      maxOutputTokens: 120,
      temperature: 0,
    });
    const parsed = jsonReply(text, LlmResult);
    if (!parsed) return new LocalAnswerAnalyzer().analyze(question, answer);
    return { themes: parsed.themes.map((t) => t.toLowerCase()), relevance: parsed.relevance };
  }
}

export function answerAnalyzer(env: { AI_MODE?: string; AI?: Ai }): AnswerAnalyzer {
  if (env.AI_MODE === "local" || !env.AI) return new LocalAnswerAnalyzer();
  return new WorkersAIAnswerAnalyzer(env.AI);
}

/**
 * Engagement, 0..1: a documented composite of length (40%: saturates at 60 words), relevance
 * (40%) and emotional intensity (20%: |sentiment score|).
 */
export function engagement(wordCount: number, relevance: number, sentiment: SentimentResult | null): number {
  const length = Math.min(1, wordCount / 60);
  const intensity = Math.min(1, Math.abs(sentiment?.score ?? 0) * 2);
  return Math.round((0.4 * length + 0.4 * relevance + 0.2 * intensity) * 100) / 100;
}
