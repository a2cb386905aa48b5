// Per-answer insight (sentiment, themes) beside each transcript line. The session's analytics list
// answers in question order (follow-ups after their question, then in the order analysed); the
// transcript lists them in speaking order, so the k-th answer to a question (or to its follow-ups)
// is the k-th analysed one of that kind.
import { useEffect, useMemo, useState } from "preact/hooks";
import { get } from "../api";
import type { Segment } from "../types";

export interface AnswerInsight {
  answerId: string;
  questionIndex: number;
  followUp: boolean;
  sentiment: { label: "positive" | "neutral" | "negative"; score: number } | null;
  themes: string[];
  lowConfidence?: boolean;
}

const kindOf = (questionIndex: number, followUp: boolean | undefined) => `${questionIndex}:${followUp ? 1 : 0}`;

/** Transcript seq → that answer's insight. */
export function matchInsights(segments: Segment[], answers: AnswerInsight[]): Map<number, AnswerInsight> {
  const pending = new Map<string, AnswerInsight[]>();
  for (const a of answers) {
    const k = kindOf(a.questionIndex, a.followUp);
    pending.set(k, [...(pending.get(k) ?? []), a]);
  }
  const out = new Map<number, AnswerInsight>();
  for (const s of [...segments].sort((a, b) => a.seq - b.seq)) {
    if (s.speaker !== "participant") continue;
    const next = pending.get(kindOf(s.questionIndex, s.followUp))?.shift();
    if (next) out.set(s.seq, next);
  }
  return out;
}

/**
 * Loads the session's per-answer analytics, again whenever an answer is added, and a few more
 * times while some answer's analysis (which follows its transcript through the queue) is missing.
 */
export function useAnswerInsights(sessionId: string, segments: Segment[], enabled: boolean) {
  const [answers, setAnswers] = useState<AnswerInsight[]>([]);
  const answered = segments.filter((s) => s.speaker === "participant").length;
  useEffect(() => {
    if (!enabled || answered === 0) return;
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let tries = 0;
    const load = () =>
      get<{ answers: AnswerInsight[] }>(`/v1/sessions/${encodeURIComponent(sessionId)}/analytics`, ctl.signal).then(
        (a) => {
          setAnswers(a.answers);
          if (a.answers.length < answered && ++tries < 15) timer = setTimeout(load, 2000);
        },
        () => {
          // Insight is optional on this page; the transcript stands without it.
        },
      );
    void load();
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [sessionId, answered, enabled]);
  return useMemo(() => matchInsights(segments, answers), [segments, answers]);
}
