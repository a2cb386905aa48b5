// The Workers AI providers, with the AI binding stubbed: model ids, payloads and parsing.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FOLLOW_UP_MODEL, LocalFollowUpProvider, WorkersAIFollowUpProvider, followUpProvider } from "../../src/ai/followup";
import { LocalSentimentProvider, SENTIMENT_MODEL, WorkersAISentimentProvider, overall, sentimentProvider } from "../../src/ai/sentiment";

afterEach(() => vi.restoreAllMocks());

describe("follow-up providers", () => {
  it("Workers AI: asks the LLM with the question and answer and returns its follow-up", async () => {
    const run = vi.spyOn(env.AI, "run").mockResolvedValue({ response: "What made the price feel high to you?" } as never);
    const p = new WorkersAIFollowUpProvider(env.AI);
    const text = await p.followUp({ question: "What almost stopped you?", answer: "The price.", probe: "deep", followUpsAsked: 0 });
    expect(text).toBe("What made the price feel high to you?");
    expect(run).toHaveBeenCalledTimes(1);
    const [model, inputs] = run.mock.calls[0]!;
    expect(model).toBe(FOLLOW_UP_MODEL);
    const messages = (inputs as { messages: { role: string; content: string }[] }).messages;
    expect(messages[0]).toMatchObject({ role: "system" });
    expect(messages[0]!.content).toContain("Probe for reasons");
    expect(messages.at(-1)!.content).toContain("Question: What almost stopped you?");
    expect(messages.at(-1)!.content).toContain("Answer: The price.");
  });

  it("Workers AI: NONE means move on", async () => {
    vi.spyOn(env.AI, "run").mockResolvedValue({ response: "NONE" } as never);
    const p = new WorkersAIFollowUpProvider(env.AI);
    expect(await p.followUp({ question: "Q", answer: "A long and specific answer.", probe: "light", followUpsAsked: 0 })).toBeNull();
  });

  it("local: probes short answers deterministically and lets full answers pass", async () => {
    const p = new LocalFollowUpProvider();
    const short = { question: "Q", answer: "Mostly the onboarding emails.", probe: "light" as const, followUpsAsked: 0 };
    const first = await p.followUp(short);
    expect(first).toBe(await p.followUp(short));
    expect(first).toContain("onboarding");
    const long = "I signed up because a colleague showed me how quickly she could set up a study and share the results with the whole team";
    expect(await p.followUp({ ...short, answer: long })).toBeNull();
    expect(await p.followUp({ ...short, probe: "none" })).toBeNull();
  });

  it("AI_MODE selects the provider", () => {
    expect(followUpProvider({ AI_MODE: "local", AI: env.AI }).name).toBe("local");
    expect(followUpProvider({ AI_MODE: "workers-ai", AI: env.AI }).name).toBe("workers-ai");
  });
});

describe("sentiment providers", () => {
  it("Workers AI: sends the text to the classifier and maps its two labels to three", async () => {
    const run = vi.spyOn(env.AI, "run").mockResolvedValue([
      { label: "NEGATIVE", score: 0.05 },
      { label: "POSITIVE", score: 0.95 },
    ] as never);
    const r = await new WorkersAISentimentProvider(env.AI).classify("I love how fast it is");
    expect(run).toHaveBeenCalledWith(SENTIMENT_MODEL, { text: "I love how fast it is" });
    expect(r).toEqual({ label: "positive", score: 0.9 });
    run.mockResolvedValue([
      { label: "NEGATIVE", score: 0.55 },
      { label: "POSITIVE", score: 0.45 },
    ] as never);
    expect((await new WorkersAISentimentProvider(env.AI).classify("It is a tool")).label).toBe("neutral");
  });

  it("local: lexicon labels and the overall label of several answers", async () => {
    const p = new LocalSentimentProvider();
    expect((await p.classify("I love it, it is wonderful and fast")).label).toBe("positive");
    expect((await p.classify("It was terrible, slow and broken")).label).toBe("negative");
    expect((await p.classify("We use it on Mondays")).label).toBe("neutral");
    expect(overall([])).toBeNull();
    expect(overall([{ label: "positive", score: 0.4 }, { label: "neutral", score: 0 }])).toBe("positive");
    expect(sentimentProvider({ AI_MODE: "local" }).name).toBe("local");
  });
});
