// The session page's per-answer sentiment goes beside the right transcript line.
import { describe, expect, it } from "vitest";
import { matchInsights, type AnswerInsight } from "../../src/ui/dashboard/screens/answer-insights";
import type { Segment } from "../../src/ui/dashboard/types";

const seg = (seq: number, speaker: "ai" | "participant", questionIndex: number, followUp = false): Segment => ({ seq, speaker, text: `line ${seq}`, questionIndex, followUp, startMs: seq, endMs: seq + 1 });
const insight = (answerId: string, questionIndex: number, followUp: boolean, label: "positive" | "neutral" | "negative"): AnswerInsight => ({ answerId, questionIndex, followUp, sentiment: { label, score: 0 }, themes: [] });

describe("per-answer insight on transcript lines", () => {
  it("pairs answers, follow-ups included, with their lines in speaking order", () => {
    const segments = [seg(1, "ai", 0), seg(2, "participant", 0), seg(3, "ai", 0, true), seg(4, "participant", 0, true), seg(5, "ai", 0, true), seg(6, "participant", 0, true), seg(7, "ai", 1), seg(8, "participant", 1)];
    // As the analytics route orders them: by question, follow-ups after, then in analysis order.
    const answers = [insight("a", 0, false, "positive"), insight("b", 0, true, "negative"), insight("c", 0, true, "neutral"), insight("d", 1, false, "negative")];
    const m = matchInsights(segments, answers);
    expect([...m].map(([seq, a]) => [seq, a.answerId])).toEqual([
      [2, "a"],
      [4, "b"],
      [6, "c"],
      [8, "d"],
    ]);
  });

  it("leaves a line without insight while its analysis has not arrived", () => {
    const m = matchInsights([seg(1, "ai", 0), seg(2, "participant", 0), seg(3, "ai", 1), seg(4, "participant", 1)], [insight("a", 0, false, "positive")]);
    expect(m.get(2)?.answerId).toBe("a");
    expect(m.has(4)).toBe(false);
  });
});
