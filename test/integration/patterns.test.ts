// Response patterns in production (the Workers AI embedding model, binding stubbed) and the
// campaign aggregates' invariants on the real D1 statements, with fast-check.
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { keywords } from "../../src/ai/clusters";
import { EMBEDDING_MODEL, embedder, LocalEmbedder, spacesOf, WorkersAIEmbedder } from "../../src/ai/embeddings";
import { campaignAnalytics, foldAnswers, foldOnce, foldSession, quoteOf, type AnswerFold } from "../../src/db/analytics";
import { unique } from "../helpers/api";
import { RANGE_IDS_PER_STATEMENT } from "../../src/objects/patterns";

afterEach(() => vi.restoreAllMocks());

describe("Workers AI embeddings", () => {
  it("sends the answers to bge-m3 (multilingual) in one call and returns unit vectors", async () => {
    const run = vi.spyOn(env.AI, "run").mockResolvedValue({ shape: [2, 3], data: [[3, 4, 0], [0, 0, 2]] } as never);
    const e = embedder({ AI_MODE: "workers-ai", AI: env.AI });
    expect(e).toBeInstanceOf(WorkersAIEmbedder);
    expect(e.model).toBe("@cf/baai/bge-m3");
    const out = await e.embed(["The price is too high", "Loading is slow"]);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledWith(EMBEDDING_MODEL, { text: ["The price is too high", "Loading is slow"] });
    expect(out).toEqual([[0.6, 0.8, 0], [0, 0, 1]]);
  });

  it("an answer the model did not embed is an error (the queue retries), never a made-up vector", async () => {
    vi.spyOn(env.AI, "run").mockResolvedValue({ shape: [1, 3], data: [[1, 0, 0]] } as never);
    await expect(new WorkersAIEmbedder(env.AI).embed(["a", "b"])).rejects.toThrow(/expected 2 embeddings/);
    vi.spyOn(env.AI, "run").mockResolvedValue({ response: "not embeddings" } as never);
    await expect(new WorkersAIEmbedder(env.AI).embed(["a"])).rejects.toThrow();
  });

  it("the campaign's object clusters the model's vectors at its threshold, once per answer", async () => {
    const campaignId = `cmp_${unique("x").replace(/[^a-z0-9]/g, "")}`;
    const hub = env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(campaignId));
    const vectors: Record<string, number[]> = {
      "Too expensive for us": [1, 0, 0],
      "The price is far too high": [0.95, 0.31, 0],
      "Pages load slowly": [0, 0.2, 0.98],
    };
    const run = vi.spyOn(env.AI, "run").mockImplementation((async (_model: string, input: { text: string[] }) => ({ shape: [1, 3], data: input.text.map((t) => vectors[t]!) })) as never);
    const e = new WorkersAIEmbedder(env.AI);
    for (const [i, text] of Object.keys(vectors).entries()) {
      const [vector] = await e.embed([text]);
      const fold = { sessionId: `ses_${i}`, answerId: "a0", questionIndex: 0, model: e.model, threshold: e.threshold, vector: vector!, terms: text.toLowerCase().split(" "), quote: text };
      expect(await hub.foldPattern(fold)).toBe(true);
      expect(await hub.foldPattern(fold)).toBe(false); // a redelivered job changes nothing
    }
    expect(run).toHaveBeenCalledTimes(3);
    const [q0] = await hub.patterns([EMBEDDING_MODEL], 1);
    expect(q0!.clusters.map((c) => [c.count, c.examples])).toEqual([
      [2, ["Too expensive for us", "The price is far too high"]],
      [1, ["Pages load slowly"]],
    ]);
    // Another vector space (the local one) does not see these clusters.
    expect((await hub.patterns(["local-hashed-terms-v1"], 1))[0]!.clusters).toEqual([]);
  });

  it("a date range's sessions are read in batches: members and example quotes from every batch, in the order given", async () => {
    const hub = env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(`cmp_${unique("r").replace(/[^a-z0-9]/g, "")}`));
    const fold = (sessionId: string, quote: string, vector: number[]) =>
      hub.foldPattern({ sessionId, answerId: "a0", questionIndex: 0, model: "range-test-v1", threshold: 0.8, vector, terms: quote.toLowerCase().split(" "), quote });
    await fold("ses_first", "Too expensive for us", [1, 0, 0]);
    await fold("ses_outside", "The price is too high", [0.97, 0.24, 0]);
    await fold("ses_last", "Far too pricey", [0.95, 0.31, 0]);
    // The two range sessions sit in different batches, with the out-of-range one left out.
    const filler = Array.from({ length: RANGE_IDS_PER_STATEMENT + 5 }, (_, i) => `ses_none${i}`);
    const [q0] = await hub.patterns(["range-test-v1"], 1, ["ses_first", ...filler, "ses_last"]);
    expect(q0!.clusters.map((c) => [c.count, c.examples])).toEqual([[2, ["Too expensive for us", "Far too pricey"]]]);
    const [all] = await hub.patterns(["range-test-v1"], 1);
    expect(all!.clusters.map((c) => c.count)).toEqual([3]);
  });

  it("after a change of embedding model, each question shows its old clusters until the new model has some", async () => {
    const campaignId = `cmp_${unique("m").replace(/[^a-z0-9]/g, "")}`;
    const hub = env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(campaignId));
    const old = "@cf/baai/bge-base-en-v1.5";
    const fold = (model: string, questionIndex: number, sessionId: string, quote: string) =>
      hub.foldPattern({ sessionId, answerId: "a0", questionIndex, model, threshold: 0.8, vector: [1, 0, 0], terms: ["price"], quote });
    await fold(old, 0, "ses_old0", "Old answer to the first question");
    await fold(old, 1, "ses_old1", "Old answer to the second question");
    await fold(EMBEDDING_MODEL, 1, "ses_new1", "New answer to the second question");
    const [q0, q1] = await hub.patterns(spacesOf(new WorkersAIEmbedder(env.AI)), 2);
    expect(q0!.clusters.flatMap((c) => c.examples)).toEqual(["Old answer to the first question"]);
    expect(q1!.clusters.flatMap((c) => c.examples)).toEqual(["New answer to the second question"]);
  });

  it("an object evicted between answers, or given them in batches, clusters them exactly as one that stayed in memory, quotes and erasures included", async () => {
    const e = new LocalEmbedder();
    const topics = ["The price is too high", "Exports lose the formatting", "Support answered quickly", "The calendar sync is slow"];
    const texts = Array.from({ length: 36 }, (_, i) => `${topics[(i * 7) % 4]} (answer ${i})`);
    const vectors = await e.embed(texts);
    const hubs = ["kept", "evicted", "batched"].map((k) => env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(unique(`cmp_${k}`))));
    const folds = texts.map((text, i) => ({ sessionId: `ses_${i % 12}`, answerId: `a${i}`, questionIndex: i % 2, model: e.model, threshold: e.threshold, vector: vectors[i]!, terms: keywords(text), quote: text }));
    for (const [i, fold] of folds.entries()) {
      for (const hub of hubs.slice(0, 2)) expect(await hub.foldPattern(fold)).toBe(true);
      if (i % 5 === 4) await evictDurableObject(hubs[1]!);
      // A session's data deleted midway: its quotes go, and later answers may take their place.
      if (i === 20) for (const hub of hubs.slice(0, 2)) await hub.forget("ses_3");
    }
    // Batches of seven (one answer sent twice: the copy changes nothing), the same erasure after answer 20.
    for (let at = 0; at < folds.length; at += 7) {
      const batch = folds.slice(at, at + 7);
      const copy = at === 7 ? [batch[0]!] : [];
      expect(await hubs[2]!.foldPatterns([...batch, ...copy])).toEqual([...batch.map(() => true), ...copy.map(() => false)]);
      if (at + 7 === 21) await hubs[2]!.forget("ses_3");
    }
    const [kept, evicted, batched] = await Promise.all(hubs.map((hub) => hub.patterns([e.model], 2)));
    expect(evicted).toEqual(kept);
    expect(batched).toEqual(kept);
    const clusters = kept!.flatMap((q) => q.clusters);
    expect(clusters.reduce((n, c) => n + c.count, 0)).toBe(texts.length);
    const quotes = clusters.flatMap((c) => c.examples);
    expect(clusters.every((c) => c.examples.length <= 3)).toBe(true);
    // ses_3's answers 3 and 15 were forgotten; its answer 27 came after.
    expect(quotes.filter((q) => /\(answer (3|15)\)$/.test(q))).toEqual([]);
    expect(quotes.length).toBeGreaterThan(6);
  });
});

describe("campaign aggregates on D1", () => {
  it("for any set of finished sessions, the funnel never grows down the questions and every distribution sums to its total", async () => {
    const session = fc.record({
      status: fc.constantFrom("completed" as const, "abandoned" as const),
      duration: fc.integer({ min: 0, max: 5000 }),
      lastReached: fc.integer({ min: -1, max: 4 }),
      answeredLast: fc.boolean(),
      labels: fc.array(fc.constantFrom("positive" as const, "neutral" as const, "negative" as const), { minLength: 5, maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(session, { minLength: 1, maxLength: 10 }), async (sessions) => {
        const campaignId = `cmp_${unique("p").replace(/[^a-z0-9]/g, "")}`;
        let answers = 0;
        for (const [i, s] of sessions.entries()) {
          const reached = Array.from({ length: s.lastReached + 1 }, (_, q) => q);
          const answered = reached.filter((q) => q < s.lastReached || s.answeredLast);
          const dropOff = s.status === "abandoned" && answered.length < reached.length ? s.lastReached : null;
          await foldOnce(env.DB, `prop.session:${campaignId}:${i}`, foldSession(env.DB, { campaignId, orgId: "org_prop", status: s.status, declined: false, duration: s.duration, reached, answered, dropOff }));
          for (const q of answered) {
            answers++;
            await foldOnce(env.DB, `prop.answer:${campaignId}:${i}:${q}`, foldAnswers(env.DB, [{ campaignId, questionIndex: q, followUp: false, label: s.labels[q]!, themes: [], text: "x" }]));
          }
        }
        const a = await campaignAnalytics(env.DB, campaignId, 5, []);
        expect(a.sessions.total).toBe(sessions.length);
        expect(a.sessions.completed + a.sessions.abandoned).toBe(sessions.length);
        expect(a.duration.histogram.reduce((n, b) => n + b.count, 0)).toBe(sessions.length);
        expect(a.sentimentTrend.reduce((n, q) => n + q.positive + q.neutral + q.negative, 0)).toBe(answers);
        for (let q = 0; q < 5; q++) {
          const f = a.funnel[q]!;
          expect(f.answered).toBeLessThanOrEqual(f.reached);
          expect(f.answered + f.dropped).toBeLessThanOrEqual(f.reached);
          if (q > 0) expect(f.reached).toBeLessThanOrEqual(a.funnel[q - 1]!.reached);
          const t = a.sentimentTrend[q]!;
          expect(t.positive + t.neutral + t.negative).toBe(f.answered);
        }
        const mean = sessions.reduce((n, s) => n + s.duration, 0) / sessions.length;
        expect(a.duration.mean).toBe(Math.round(mean * 10) / 10);
      }),
      { numRuns: 12 },
    );
  }, 60_000);

  it("answers folded in batches of any size leave the same counts and quotes as one at a time", async () => {
    const answer = fc.record({
      questionIndex: fc.integer({ min: 0, max: 2 }),
      followUp: fc.boolean(),
      label: fc.constantFrom("positive" as const, "neutral" as const, "negative" as const, null),
      themes: fc.uniqueArray(fc.constantFrom("price", "speed", "support", "design"), { maxLength: 3 }),
      text: fc.string({ minLength: 1, maxLength: 30 }),
    });
    const rows = async (campaignId: string) => ({
      questions: (await env.DB.prepare("SELECT question_index, positive, neutral, negative, reached FROM campaign_question_stats WHERE campaign_id = ? ORDER BY question_index").bind(campaignId).all()).results,
      themes: (await env.DB.prepare("SELECT question_index, theme, count, examples FROM campaign_theme_stats WHERE campaign_id = ? ORDER BY question_index, theme").bind(campaignId).all()).results,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 25 }), async (answers, sizes) => {
        const [one, batched] = [`cmp_${unique("o").replace(/[^a-z0-9]/g, "")}`, `cmp_${unique("b").replace(/[^a-z0-9]/g, "")}`];
        const of = (campaignId: string, list: typeof answers): AnswerFold[] => list.map((a) => ({ ...a, campaignId }));
        for (const a of of(one, answers)) {
          const stmts = foldAnswers(env.DB, [a]);
          if (stmts.length) await env.DB.batch(stmts);
        }
        // Batches of the given sizes, in order: later batches merge into rows earlier ones made.
        for (let at = 0, i = 0; at < answers.length; at += sizes[i % sizes.length]!, i++) {
          const stmts = foldAnswers(env.DB, of(batched, answers.slice(at, at + sizes[i % sizes.length]!)));
          if (stmts.length) await env.DB.batch(stmts);
        }
        const [a, b] = [await rows(one), await rows(batched)];
        expect(b).toEqual(a);
        // And the counts are those of the answers themselves: sentiment of main answers, themes of all.
        const labelled = answers.filter((x) => x.label !== null && !x.followUp).length;
        expect(b.questions.reduce((n, q) => n + Number(q.positive) + Number(q.neutral) + Number(q.negative), 0)).toBe(labelled);
        for (const t of b.themes.filter((t) => t.question_index === -1)) {
          const having = answers.filter((x) => (x.themes as string[]).includes(String(t.theme)));
          expect(t.count).toBe(having.length);
          expect(JSON.parse(String(t.examples))).toEqual(having.slice(0, 3).map((x) => quoteOf(x.text)));
        }
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
