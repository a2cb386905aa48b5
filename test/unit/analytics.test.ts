// The pure parts of analytics: what a finished session folds into its campaign, the duration
// summary, answer clustering and the offline embedding; with fast-check properties.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addTo, assign, cosine, keywords, labelOf, MAX_CLUSTERS, newCluster, type ClusterState } from "../../src/ai/clusters";
import { LocalEmbedder } from "../../src/ai/embeddings";
import { LocalSummarizer } from "../../src/ai/summary";
import { words } from "../../src/ai/words";
import { durationSummary, indexFold, sessionAnalytics, sessionFold, type AnswerRow } from "../../src/db/analytics";
import { initialState } from "../../src/objects/machine";
import type { Segment } from "../../src/objects/protocol";
import type { SessionEvent } from "../../src/objects/store";
import { endedFacts, type SessionMeta } from "../../src/objects/view";

/** An interview as the session object writes it: questions in order, follow-ups after answers, stopping anywhere. */
const interviewArb = fc
  .record({
    total: fc.integer({ min: 1, max: 8 }),
    steps: fc.array(fc.record({ answered: fc.boolean(), followUps: fc.integer({ min: 0, max: 2 }) }), { maxLength: 8 }),
    abandoned: fc.boolean(),
  })
  .map(({ total, steps, abandoned }) => {
    const segments: Segment[] = [];
    let seq = 0;
    const seg = (speaker: Segment["speaker"], questionIndex: number, followUp: boolean): Segment => ({ seq: ++seq, speaker, text: `${speaker} ${questionIndex}`, questionIndex, followUp, startMs: seq * 1000, endMs: seq * 1000 + 500 });
    let q = 0;
    for (const step of steps.slice(0, total)) {
      segments.push(seg("ai", q, false));
      if (!step.answered) break; // the participant leaves on this question
      segments.push(seg("participant", q, false));
      for (let f = 0; f < step.followUps; f++) segments.push(seg("ai", q, true), seg("participant", q, true));
      q++;
    }
    return { total, segments, status: abandoned ? ("abandoned" as const) : ("completed" as const), last: segments.length ? segments[segments.length - 1]!.questionIndex : null };
  });

const base = (status: "completed" | "abandoned", declined = false) => ({ campaignId: "cmp_x", orgId: "org_x", status, declined, duration: 0 });

describe("sessionFold", () => {
  it("a golden interview with follow-ups counts each main question once", () => {
    const s = (speaker: Segment["speaker"], questionIndex: number, followUp = false, seq = 0): Segment => ({ seq, speaker, text: "x", questionIndex, followUp, startMs: 0, endMs: 0 });
    const segments = [s("ai", 0), s("participant", 0), s("ai", 0, true), s("participant", 0, true), s("ai", 1), s("participant", 1), s("ai", 2)];
    expect(sessionFold(base("abandoned"), segments, 2)).toMatchObject({ reached: [0, 1, 2], answered: [0, 1], dropOff: 2 });
    expect(sessionFold(base("completed"), segments.slice(0, 6), 1)).toMatchObject({ reached: [0, 1], answered: [0, 1], dropOff: null });
    expect(sessionFold(base("completed"), [], null)).toMatchObject({ reached: [], answered: [], dropOff: null });
  });

  it("folds the same from the text-free turns the session object hands the queue consumer", () => {
    const meta = { id: "ses_x", orgId: "org_x", campaignId: "cmp_x" } as SessionMeta;
    const state = initialState({ questions: [{ text: "Q", probe: "none" }], consentRequired: false, now: 0 });
    fc.assert(
      fc.property(interviewArb, ({ segments, status, last }) => {
        const facts = endedFacts(meta, state, segments, 0);
        expect(facts.turns.every((t) => !("text" in t))).toBe(true);
        expect(sessionFold(base(status), facts.turns, last)).toEqual(sessionFold(base(status), segments, last));
      }),
    );
  });

  it("reads the overall sentiment from clear answers only", () => {
    const meta = { id: "ses_x", orgId: "org_x", campaignId: "cmp_y" } as SessionMeta;
    const state = initialState({ questions: [{ text: "Q", probe: "none" }], consentRequired: false, now: 0 });
    const speech = (lowConfidence: boolean) => ({ spoken: true as const, confidence: lowConfidence ? 0.2 : 0.9, lowConfidence, language: "en", untranscribedReason: null });
    const s = (speaker: Segment["speaker"], text: string, extra: Partial<Segment> = {}): Segment => ({ seq: 0, speaker, text, questionIndex: 0, followUp: false, startMs: 0, endMs: 0, ...extra });
    const facts = endedFacts(meta, state, [s("ai", "How was it?"), s("participant", "Great, thanks."), s("participant", "   "), s("participant", "mumbled words", { speech: speech(true) }), s("participant", "Clear speech", { speech: speech(false) })], 0);
    expect(facts).toMatchObject({ campaignId: "cmp_y", duration: 0, answers: ["Great, thanks.", "Clear speech"] });
    expect(facts.turns).toHaveLength(5);
  });

  it("funnel counts never increase down the questions, answered ≤ reached, and drop-offs add up", () => {
    fc.assert(
      fc.property(fc.array(interviewArb, { minLength: 1, maxLength: 30 }), (interviews) => {
        const total = 8;
        const reached = new Array(total).fill(0);
        const answered = new Array(total).fill(0);
        const dropped = new Array(total).fill(0);
        for (const i of interviews) {
          const f = sessionFold(base(i.status), i.segments, i.last);
          // The same statements as foldSession: +1 per listed question.
          for (const q of f.reached) reached[q]++;
          for (const q of f.answered) answered[q]++;
          if (f.dropOff !== null) dropped[f.dropOff]++;
          expect(f.answered.every((q) => f.reached.includes(q))).toBe(true);
        }
        for (let q = 0; q < total; q++) {
          expect(answered[q]).toBeLessThanOrEqual(reached[q]);
          if (q > 0) {
            expect(reached[q]).toBeLessThanOrEqual(reached[q - 1]);
            expect(answered[q]).toBeLessThanOrEqual(answered[q - 1]);
          }
        }
        // Every abandoned session drops out at exactly one question.
        expect(dropped.reduce((a, b) => a + b, 0)).toBe(interviews.filter((i) => i.status === "abandoned" && i.segments.length > 0).length);
      }),
    );
  });
});

describe("declined sessions", () => {
  it("a participant who withdrew consent at the first question reached nothing and dropped out nowhere", () => {
    const turns = [{ speaker: "ai" as const, questionIndex: 0, followUp: false }];
    expect(sessionFold(base("abandoned"), turns, 0)).toMatchObject({ reached: [0], answered: [], dropOff: 0 });
    expect(sessionFold(base("abandoned", true), turns, 0)).toMatchObject({ declined: true, reached: [], answered: [], dropOff: null });
  });

  it("the session object and its index row agree on who declined", () => {
    const meta = { id: "ses_x", orgId: "org_x", campaignId: "cmp_x" } as SessionMeta;
    const s0 = initialState({ questions: [{ text: "Q", probe: "none" }], consentRequired: true, now: 0 });
    const declined = { ...s0, status: "abandoned" as const, consent: { granted: false, at: 1 }, endReason: "consent_declined" };
    expect(endedFacts(meta, declined, [], 0).declined).toBe(true);
    expect(endedFacts(meta, { ...declined, questionsAnswered: 1, endReason: "consent_withdrawn" }, [], 0).declined).toBe(false);
    expect(endedFacts(meta, { ...s0, status: "abandoned", endReason: "heartbeat_timeout" }, [], 0).declined).toBe(false);
    expect(indexFold({ status: "abandoned", duration: 3, questions_answered: 0, last_question_index: 0, consent_granted: 0 })).toMatchObject({ declined: true, reached: [], dropOff: null });
    expect(indexFold({ status: "abandoned", duration: 3, questions_answered: 0, last_question_index: 0, consent_granted: 1 })).toMatchObject({ declined: false, reached: [0], dropOff: 0 });
  });

  it("a session's fold from its index row is its fold from the transcript (the date-range figures)", () => {
    fc.assert(
      fc.property(interviewArb, ({ segments, status }) => {
        const main = segments.filter((g) => !g.followUp);
        const asked = main.filter((g) => g.speaker === "ai").map((g) => g.questionIndex);
        const last = asked.length ? Math.max(...asked) : null;
        const row = { status, duration: 7, questions_answered: main.filter((g) => g.speaker === "participant").length, last_question_index: last, consent_granted: null };
        const { campaignId: _c, orgId: _o, ...fromTranscript } = sessionFold({ ...base(status), duration: 7 }, segments, last);
        expect(indexFold(row)).toEqual(fromTranscript);
      }),
    );
  });
});

describe("durationSummary", () => {
  it("golden: an exact median and one-minute bars with the empty ones kept", () => {
    expect(durationSummary([{ bucket: 30, count: 1 }, { bucket: 90, count: 2 }, { bucket: 200, count: 1 }])).toEqual({
      median: 90,
      histogram: [
        { from: 0, to: 60, count: 1 },
        { from: 60, to: 120, count: 2 },
        { from: 120, to: 180, count: 0 },
        { from: 180, to: 240, count: 1 },
      ],
    });
    expect(durationSummary([{ bucket: 10, count: 1 }, { bucket: 20, count: 1 }]).median).toBe(15);
    expect(durationSummary([])).toEqual({ median: 0, histogram: [] });
    // An hour-long outlier widens the bars instead of drawing sixty of them.
    expect(durationSummary([{ bucket: 100, count: 5 }, { bucket: 3599, count: 1 }]).histogram).toHaveLength(12);
  });

  it("the histogram sums to the sessions, has at most 12 contiguous bars, and the median is the sorted middle", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 300 }), (durations) => {
        const counts = new Map<number, number>();
        for (const d of durations) counts.set(d, (counts.get(d) ?? 0) + 1);
        const r = durationSummary([...counts].map(([bucket, count]) => ({ bucket, count })));
        expect(r.histogram.reduce((a, b) => a + b.count, 0)).toBe(durations.length);
        expect(r.histogram.length).toBeLessThanOrEqual(12);
        r.histogram.forEach((b, i) => expect(b.from).toBe(i === 0 ? 0 : r.histogram[i - 1]!.to));
        const sorted = [...durations].sort((a, b) => a - b);
        const n = sorted.length;
        expect(r.median).toBe(n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2);
      }),
    );
  });
});

describe("sessionAnalytics", () => {
  it("the sentiment distribution sums to the answers analysed and the engagement score stays within 0-100", () => {
    const label = fc.constantFrom("positive" as const, "neutral" as const, "negative" as const, null);
    const row = fc.record({ label, score: fc.double({ min: -1, max: 1, noNaN: true }), engagement: fc.option(fc.double({ min: 0, max: 1, noNaN: true })), q: fc.integer({ min: 0, max: 4 }) });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
        const answers: AnswerRow[] = rows.map((r, i) => ({ answer_id: `a${i}`, question_index: r.q, follow_up: 0, word_count: 5, sentiment_label: r.label, sentiment_score: r.label ? r.score : null, themes: "[]", relevance: 0.5, engagement: r.engagement, low_confidence: 0 }));
        const a = sessionAnalytics({ status: "completed", duration: 10, totalQuestions: 5, questionsAnswered: 5, pauseCount: 0, lastQuestionIndex: 4 }, [], [], answers);
        const d = a.sentiment.distribution;
        expect(d.positive + d.neutral + d.negative).toBe(rows.filter((r) => r.label !== null).length);
        expect(a.engagementScore).toBeGreaterThanOrEqual(0);
        expect(a.engagementScore).toBeLessThanOrEqual(100);
        expect(a.sentiment.overall === null).toBe(rows.every((r) => r.label === null));
        // A label most answers have is the overall one.
        const n = (l: string) => rows.filter((r) => r.label === l).length;
        for (const l of ["positive", "neutral", "negative"] as const) if (n(l) > Math.max(...["positive", "neutral", "negative"].filter((o) => o !== l).map(n))) expect(a.sentiment.overall).toBe(l);
      }),
    );
  });

  it("the overall tone is what most answers say, not the mean pulled by one strong answer", () => {
    const rows: AnswerRow[] = [
      ["positive", 0.95],
      ["negative", -0.1],
      ["negative", -0.15],
    ].map(([label, score], i) => ({ answer_id: `a${i}`, question_index: i, follow_up: 0, word_count: 5, sentiment_label: label as "positive" | "negative", sentiment_score: score as number, themes: "[]", relevance: 0.5, engagement: 0.5, low_confidence: 0 }));
    const facts = { status: "completed", duration: 10, totalQuestions: 3, questionsAnswered: 3, pauseCount: 0, lastQuestionIndex: 2 };
    expect(sessionAnalytics(facts, [], [], rows).sentiment.overall).toBe("negative");
    // A tie goes to the sign of the mean.
    expect(sessionAnalytics(facts, [], [], rows.slice(0, 2)).sentiment.overall).toBe("positive");
  });
});

describe("answer length in scripts without spaces", () => {
  const JA = ["請求書の画面がとても分かりにくくて、毎月探すのに時間がかかります。", "サポートの人はとても親切で、すぐに問題を解決してくれました。", "料金が少し高いので、小さいチームには向いていないと思います。"];
  const ZH = ["发票页面很难找到，每个月都要花很多时间。", "客服人员非常友好，很快就解决了我们的问题。"];
  const facts = (n: number) => ({ status: "completed", duration: 60, totalQuestions: n, questionsAnswered: n, pauseCount: 0, lastQuestionIndex: n - 1 });
  const interview = (answers: string[]) => {
    const segments: Segment[] = answers.flatMap((text, i) => [
      { seq: 2 * i + 1, speaker: "ai" as const, text: `Question ${i + 1}?`, questionIndex: i, followUp: false, startMs: i * 10_000, endMs: i * 10_000 + 1000 },
      { seq: 2 * i + 2, speaker: "participant" as const, text, questionIndex: i, followUp: false, startMs: i * 10_000 + 2000, endMs: i * 10_000 + 9000 },
    ]);
    const rows: AnswerRow[] = answers.map((text, i) => ({ answer_id: `a${i}`, question_index: i, follow_up: 0, word_count: words(text).length, sentiment_label: "neutral", sentiment_score: 0, themes: "[]", relevance: 0.5, engagement: 0.5 - i / 10, low_confidence: 0 }));
    return sessionAnalytics(facts(answers.length), segments, [], rows);
  };

  it("the average answer length agrees with each answer's word count, and their answers can be quoted", () => {
    for (const answers of [JA, ZH]) {
      const a = interview(answers);
      const counts = a.answers.map((x) => x.wordCount);
      expect(counts.every((n) => n >= 8)).toBe(true);
      // Before: each answer was one "word" (no spaces), so the average was 1 and nothing was quotable.
      expect(a.averageResponseLength).toBe(Math.round((counts.reduce((x, y) => x + y, 0) / counts.length) * 10) / 10);
      expect(a.quotes.map((q) => q.questionIndex)).toEqual(answers.map((_, i) => i));
    }
  });

  it("the offline summary gives the longest answer's length in words", async () => {
    const summary = await new LocalSummarizer().summarize({ answers: JA.map((answer) => ({ question: "Q?", answer })), overall: "neutral", themes: [] });
    const longest = Math.max(...JA.map((t) => words(t).length));
    expect(longest).toBeGreaterThan(8);
    expect(summary).toContain(`Longest answer: ${longest} words.`);
    const zh = await new LocalSummarizer().summarize({ answers: ZH.map((answer) => ({ question: "Q?", answer })), overall: null, themes: [] });
    expect(zh).toContain(`Longest answer: ${Math.max(...ZH.map((t) => words(t).length))} words.`);
  });
});

describe("time per question", () => {
  it("leaves out the pauses within a question, as the session's duration does", () => {
    const facts = { status: "completed", duration: 12, totalQuestions: 2, questionsAnswered: 2, pauseCount: 1, lastQuestionIndex: 1 };
    const t0 = 1_700_000_000_000;
    const segments: Segment[] = [
      { seq: 1, speaker: "ai", text: "Q1?", questionIndex: 0, followUp: false, startMs: 0, endMs: 0 },
      { seq: 2, speaker: "participant", text: "Fine.", questionIndex: 0, followUp: false, startMs: 1000, endMs: 3000 },
      { seq: 3, speaker: "ai", text: "Q2?", questionIndex: 1, followUp: false, startMs: 3000, endMs: 3000 },
      { seq: 4, speaker: "participant", text: "After a break.", questionIndex: 1, followUp: false, startMs: 4000, endMs: 20_000 },
    ];
    // Paused 5–13 s into the interview (the team took the pause over meanwhile), during question 2.
    const events: SessionEvent[] = [
      { at: t0, name: "started", data: null },
      { at: t0 + 5000, name: "paused", data: { by: "participant", reason: null } },
      { at: t0 + 7000, name: "paused", data: { by: "admin", reason: null } },
      { at: t0 + 13_000, name: "resumed", data: { by: "admin" } },
    ];
    const a = sessionAnalytics(facts, segments, events, []);
    expect(a.timePerQuestion).toEqual([
      { questionIndex: 0, seconds: 3 },
      { questionIndex: 1, seconds: 9 },
    ]);
  });
});

describe("spoken answers without a transcript", () => {
  it("stay out of the average answer length instead of counting as zero words", () => {
    const facts = { status: "completed", duration: 60, totalQuestions: 2, questionsAnswered: 2, pauseCount: 0, lastQuestionIndex: 1 };
    const speech = { spoken: true as const, confidence: null, lowConfidence: false, language: null, untranscribedReason: "no browser transcript" };
    const segments: Segment[] = [
      { seq: 1, speaker: "ai", text: "Q1?", questionIndex: 0, followUp: false, startMs: 0, endMs: 0 },
      { seq: 2, speaker: "participant", text: "The export saves my team a whole afternoon every week", questionIndex: 0, followUp: false, startMs: 1000, endMs: 5000 },
      { seq: 3, speaker: "ai", text: "Q2?", questionIndex: 1, followUp: false, startMs: 6000, endMs: 6000 },
      { seq: 4, speaker: "participant", text: "", questionIndex: 1, followUp: false, startMs: 7000, endMs: 29_000, speech } as Segment,
    ];
    const a = sessionAnalytics(facts, segments, [], []);
    expect(a.averageResponseLength).toBe(10);
  });
});

describe("clusters", () => {
  it("keywords drop stop words and fold plurals", () => {
    expect(keywords("The reports are SLOW and it's loading forever!")).toEqual(["report", "slow", "loading", "forever"]);
  });

  it("keywords of Japanese and Chinese answers are their content words, not whole sentences", () => {
    const ja = keywords("請求書が分かりにくかったです。");
    expect(ja.length).toBeGreaterThan(0);
    expect(ja.every((w) => w.length < 6)).toBe(true); // before: the whole sentence was one keyword
    expect(ja.join("")).toContain("請求");
    expect(ja.some((w) => /^[\p{Script=Hiragana}]+$/u.test(w))).toBe(false); // particles and endings are not keywords
    expect(keywords("发票很难找到").join("|")).toMatch(/发票/);
    // Filler (we, think, because, don't have, what) does not become a cluster's label.
    expect(keywords("我们觉得价格太贵，因为没有什么优惠")).toEqual(["价格", "优惠"]);
    expect(keywords("私は料金が高いと思いましたが、サポートはとても親切でした")).toEqual(["料金", "高い", "サポート", "親切"]);
  });

  it("German and French clusters are labelled by what their answers are about, not by articles", () => {
    const label = (answers: string[]) => {
      const [first, ...rest] = answers.map((a) => keywords(a));
      const cluster = rest.reduce((c, terms) => addTo(c, [1], terms), newCluster(0, [1], first!));
      return labelOf(cluster.terms, cluster.count);
    };
    // Before: "der · die · ist" and "les · est · des".
    expect(label(["Der Preis ist mir zu hoch, und die Rechnung ist unklar.", "Die Rechnung war für uns nicht verständlich, der Preis auch nicht.", "Der Preis ist das Problem, die Rechnung auch."])).toBe("preis · rechnung");
    expect(label(["Le prix est trop élevé et les factures ne sont pas claires.", "Les factures sont difficiles à comprendre, le prix aussi.", "J'ai trouvé l'application trop chère pour nous, le prix des factures aussi."])).toBe("prix · facture");
    expect(keywords("Nous avons trouvé l'application très lente, vraiment.")).toEqual(["trouvé", "application", "lente"]);
    // Clusters folded before the lists existed keep their stored words: the label drops them too.
    expect(labelOf({ der: 3, die: 3, preis: 3, les: 2 }, 3)).toBe("preis");
  });

  it("labels name what a cluster's answers share", () => {
    expect(labelOf({ pricing: 3, price: 2, expensive: 1 }, 3)).toBe("pricing · price");
    expect(labelOf({ slow: 1, laggy: 1 }, 1)).toBe("slow");
    expect(labelOf({}, 2)).toBe("other");
  });

  it("every answer lands in exactly one cluster, never more than the maximum, and similar answers meet", async () => {
    const e = new LocalEmbedder();
    const [a, b, c] = await e.embed(["It costs too much money", "The price is too expensive", "Loading is slow and laggy"]);
    expect(cosine(a!, b!)).toBeGreaterThan(e.threshold);
    expect(cosine(a!, c!)).toBeLessThan(e.threshold);
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }), { maxLength: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (vectors, threshold) => {
        let clusters: ClusterState[] = [];
        for (const v of vectors) {
          const where = assign(clusters, v, threshold);
          if (where.kind === "join") clusters = clusters.map((k) => (k.id === where.id ? addTo(k, v, ["w"]) : k));
          else clusters = [...clusters, newCluster(clusters.length, v, ["w"])];
        }
        expect(clusters.length).toBeLessThanOrEqual(MAX_CLUSTERS);
        expect(clusters.reduce((n, k) => n + k.count, 0)).toBe(vectors.length);
        for (const k of clusters) expect(k.terms.w).toBe(k.count);
      }),
    );
  });

  it("the offline embedding is deterministic and of unit length", async () => {
    const e = new LocalEmbedder();
    const [x] = await e.embed(["Setup was confusing for our team"]);
    const [y] = await e.embed(["Setup was confusing for our team"]);
    expect(x).toEqual(y);
    expect(Math.hypot(...x!)).toBeCloseTo(1, 9);
    expect((await e.embed(["the and of"]))[0]!.every((v) => v === 0)).toBe(true);
  });
});
