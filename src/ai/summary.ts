// A short summary of one interview behind a small interface: an LLM in production, a summary
// of the figures offline (counts, tone, topics, the longest answer's length).
import { generateText } from "ai";
import { createWorkersAI } from "workers-ai-provider";
import { counted } from "../shared/plural";
import { words } from "./words";

export interface SummaryInput {
  answers: { question: string; answer: string }[];
  overall: "positive" | "neutral" | "negative" | null;
  themes: string[];
}

export interface Summarizer {
  readonly name: string;
  summarize(input: SummaryInput): Promise<string | null>;
}

export class LocalSummarizer implements Summarizer {
  readonly name = "local";
  async summarize({ answers, overall, themes }: SummaryInput): Promise<string | null> {
    const said = answers.filter((a) => a.answer.trim());
    if (!said.length) return null;
    // The summary is about the interview, not a copy of it: no participant's (or question's) words
    // verbatim; the analytics carry quotes separately, and only to roles that may read transcripts.
    // Words as the analytics count them (ICU word breaking), so Japanese or Thai answers are not one word.
    const longest = Math.max(...said.map((a) => words(a.answer).length));
    const tone = overall ? `Overall tone: ${overall}.` : "";
    const topics = themes.length ? `Topics: ${themes.slice(0, 4).join(", ")}.` : "";
    const most = `Longest answer: ${counted(longest, "word")}.`;
    return [`${counted(said.length, "answer")}.`, tone, topics, most].filter(Boolean).join(" ");
  }
}

export const SUMMARY_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";

export class WorkersAISummarizer implements Summarizer {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai) {}
  async summarize({ answers }: SummaryInput): Promise<string | null> {
    if (!answers.some((a) => a.answer.trim())) return null;
    const { text } = await generateText({
      model: createWorkersAI({ binding: this.ai })(SUMMARY_MODEL),
      system: "Summarise this research interview for the research team in at most three neutral sentences. Do not invent anything the participant did not say.",
      prompt: answers.map((a) => `Q: ${a.question}\nA: ${a.answer}`).join("\n\n").slice(0, 12_000),
      maxOutputTokens: 160,
      temperature: 0.2,
    });
    return text.trim() || null;
  }
}

export function summarizer(env: { AI_MODE?: string; AI?: Ai }): Summarizer {
  if (env.AI_MODE === "local" || !env.AI) return new LocalSummarizer();
  return new WorkersAISummarizer(env.AI);
}
