// The Workers AI providers, with the AI binding stubbed: model ids, payloads and parsing.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FOLLOW_UP_MODEL, LocalFollowUpProvider, WorkersAIFollowUpProvider, followUpProvider } from "../../src/ai/followup";
import { LocalSentimentProvider, MULTILINGUAL_SENTIMENT_MODEL, SENTIMENT_MODEL, WorkersAISentimentProvider, overall, sentimentProvider } from "../../src/ai/sentiment";

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

  it("Workers AI: tells the LLM the interview's language", async () => {
    const run = vi.spyOn(env.AI, "run").mockResolvedValue({ response: "¿Qué hizo que el precio te pareciera alto?" } as never);
    const p = new WorkersAIFollowUpProvider(env.AI);
    expect(await p.followUp({ question: "¿Qué casi te detuvo?", answer: "El precio.", probe: "deep", followUpsAsked: 0, language: "es-MX" })).toBe("¿Qué hizo que el precio te pareciera alto?");
    const messages = (run.mock.calls[0]![1] as { messages: { content: string }[] }).messages;
    expect(messages.at(-1)!.content).toContain("Interview language: es-MX");
  });

  it("local: follows up in the interview's language, and counts words in Japanese and Chinese (inside workerd's ICU)", async () => {
    const p = new LocalFollowUpProvider();
    const es = await p.followUp({ question: "Q", answer: "Sobre todo los correos de bienvenida.", probe: "light", followUpsAsked: 0, language: "es" });
    expect(es).toBe("Mencionaste «bienvenida». ¿Podrías contarme más sobre eso?");
    const ja = await p.followUp({ question: "Q", answer: "請求書です。", probe: "light", followUpsAsked: 0, language: "ja" });
    expect(ja).toMatch(/^「請求書?」とおっしゃいましたね。もう少し詳しく教えていただけますか？$/); // ICU splits 請求|書 or not
    // Without spaces a sentence used to count as one word, so every Japanese answer was "short".
    const longJa = "友人に勧められて登録しましたが、請求書がとても分かりにくく、住所を二回も入力しなければならなかったので、次からはもっと簡単にしてほしいです。";
    expect(await p.followUp({ question: "Q", answer: longJa, probe: "light", followUpsAsked: 0, language: "ja" })).toBeNull();
    expect(await p.followUp({ question: "Q", answer: "发票很难找。", probe: "light", followUpsAsked: 1, language: "zh-CN" })).toMatch(/^为什么“发票”对您很重要？/);
    // Each language quotes the answer's word its own way.
    expect(await p.followUp({ question: "Q", answer: "Приветственные письма.", probe: "light", followUpsAsked: 0, language: "ru-RU" })).toBe("Вы упомянули «приветственные». Не могли бы вы рассказать об этом подробнее?");
    expect(await p.followUp({ question: "Q", answer: "Głównie maile powitalne.", probe: "light", followUpsAsked: 1, language: "pl" })).toMatch(/^Dlaczego kwestia „powitalne” jest dla Ciebie ważna\?/);
    expect(await p.followUp({ question: "Q", answer: "온보딩 과정.", probe: "light", followUpsAsked: 0, language: "ko" })).toBe("‘온보딩’에 대해 말씀하셨는데요. 좀 더 자세히 말씀해 주시겠어요?");
    // A language we have no phrasing for gets English.
    expect(await p.followUp({ question: "Q", answer: "Bei gusto.", probe: "light", followUpsAsked: 0, language: "tl" })).toBe('You mentioned "gusto". Could you tell me more about that?');
  });

  it("AI_MODE selects the provider", () => {
    expect(followUpProvider({ AI_MODE: "local", AI: env.AI }).name).toBe("local");
    expect(followUpProvider({ AI_MODE: "workers-ai", AI: env.AI }).name).toBe("workers-ai");
  });
});

describe("sentiment providers", () => {
  it("Workers AI: answers the English classifier cannot read go to a multilingual LLM", async () => {
    const run = vi.spyOn(env.AI, "run").mockImplementation((async (model: string) =>
      model === SENTIMENT_MODEL ? [{ label: "POSITIVE", score: 0.9 }, { label: "NEGATIVE", score: 0.1 }] : { response: '{"label": "negative", "score": -0.72}' }) as never);
    // A Japanese interview, an Arabic answer with no language set: the LLM, told the language when known.
    expect(await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, "ja").classify("請求書が分かりにくくて本当に困りました。")).toEqual({ label: "negative", score: -0.72 });
    expect(run.mock.calls.at(-1)![0]).toBe(MULTILINGUAL_SENTIMENT_MODEL);
    const prompt = (run.mock.calls.at(-1)![1] as { messages: { content: string }[] }).messages.at(-1)!.content;
    expect(prompt).toContain("Language: ja");
    expect(prompt).toContain("請求書が分かりにくくて");
    await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, null).classify("كانت الفواتير صعبة");
    expect(run.mock.calls.at(-1)![0]).toBe(MULTILINGUAL_SENTIMENT_MODEL);
    // English, by language or (none given) by its letters: the classifier, as before.
    expect(await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, "en-GB").classify("Lovely")).toEqual({ label: "positive", score: 0.8 });
    expect(run.mock.calls.at(-1)![0]).toBe(SENTIMENT_MODEL);
    await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, null).classify("I loved how quick the checkout was");
    expect(run.mock.calls.at(-1)![0]).toBe(SENTIMENT_MODEL);
    // Latin letters are not enough: a Spanish answer with no language named is not English.
    await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, null).classify("Me encantó lo rápido que fue el pago");
    expect(run.mock.calls.at(-1)![0]).toBe(MULTILINGUAL_SENTIMENT_MODEL);
    // A reply that is not the JSON asked for falls back to the lexicon instead of inventing a label.
    run.mockResolvedValue({ response: "I think it is rather negative" } as never);
    expect(await sentimentProvider({ AI_MODE: "workers-ai", AI: env.AI }, "es").classify("Me encanta")).toEqual(await new LocalSentimentProvider().classify("Me encanta"));
  });

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

describe("speech providers", () => {
  it("Workers AI Whisper: sends the answer as base64 WAV and reads text, language and confidence", async () => {
    const { WorkersAISpeechToText, STT_MODEL } = await import("../../src/ai/speech");
    const run = vi.spyOn(env.AI, "run").mockResolvedValue({
      text: " It crashed twice. ",
      transcription_info: { language: "en", language_probability: 0.97 },
      segments: [{ start: 0, end: 1.2, avg_logprob: -0.1, words: [{ word: "It", start: 0, end: 0.2 }] }],
    } as never);
    const pcm = new Uint8Array(3200);
    const t = await new WorkersAISpeechToText(env.AI).transcribe({ pcm, hint: "ignored hint", language: "en-GB" });
    expect(t).toMatchObject({ status: "transcribed", text: "It crashed twice.", language: "en", words: [{ word: "It", startMs: 0, endMs: 200 }] });
    expect(t.status === "transcribed" && t.confidence).toBeCloseTo(Math.exp(-0.1), 3);
    const [model, inputs] = run.mock.calls[0]! as [string, { audio: string; language: string; task: string }];
    expect(model).toBe(STT_MODEL);
    expect(inputs.language).toBe("en");
    expect(inputs.task).toBe("transcribe");
    const wav = Uint8Array.from(atob(inputs.audio), (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(wav.subarray(0, 4))).toBe("RIFF");
    expect(wav.byteLength).toBe(44 + pcm.byteLength);
  });

  it("Workers AI Whisper: silence comes back untranscribed, not empty text", async () => {
    const { WorkersAISpeechToText } = await import("../../src/ai/speech");
    vi.spyOn(env.AI, "run").mockResolvedValue({ text: "" } as never);
    expect(await new WorkersAISpeechToText(env.AI).transcribe({ pcm: new Uint8Array(320), hint: null, language: null })).toEqual({ status: "untranscribed", reason: "no speech detected" });
  });

  it("Workers AI Aura: asks for raw 16 kHz PCM", async () => {
    const { WorkersAITextToSpeech, TTS_MODEL } = await import("../../src/ai/speech");
    const run = vi.spyOn(env.AI, "run").mockResolvedValue(new Uint8Array([1, 0, 2, 0]) as never);
    const pcm = await new WorkersAITextToSpeech(env.AI).synthesize("How did you hear about us?", "en-US");
    expect(Array.from(pcm!)).toEqual([1, 0, 2, 0]);
    expect(run).toHaveBeenCalledWith(TTS_MODEL, { text: "How did you hear about us?", encoding: "linear16", container: "none", sample_rate: 16000 });
    expect(await new WorkersAITextToSpeech(env.AI).synthesize("How did you hear about us, and what did you think?", null)).not.toBeNull();
    // Aura speaks English only: a Spanish question is left to the browser's Spanish voice.
    run.mockClear();
    expect(await new WorkersAITextToSpeech(env.AI).synthesize("¿Cómo nos conociste?", "es")).toBeNull();
    // No language named: the script decides once, so a short English question is voiced like the rest.
    const { spokenLanguage } = await import("../../src/ai/speech");
    const english = ["How did you hear about us?", "What would you change first, and why?", "Anything else?"];
    expect(spokenLanguage(null, english)).toBe("en");
    expect(spokenLanguage(null, ["¿Cómo nos conociste?", "¿Qué cambiarías primero y por qué?"])).toBe("und");
    expect(spokenLanguage("pt-BR", english)).toBe("pt-BR");
    expect(await new WorkersAITextToSpeech(env.AI).synthesize("¿Qué cambiarías primero?", spokenLanguage(null, ["¿Cómo nos conociste?", "¿Qué cambiarías primero y por qué?"]))).toBeNull();
    expect(run).not.toHaveBeenCalled();
    expect(await new WorkersAITextToSpeech(env.AI).synthesize("Anything else?", spokenLanguage(null, english))).not.toBeNull();
  });

  it("local speech-to-text uses the browser's transcript and never invents one", async () => {
    const { LocalSpeechToText } = await import("../../src/ai/speech");
    const loud = new Int16Array(1600).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const stt = new LocalSpeechToText();
    expect(await stt.transcribe({ pcm: new Uint8Array(loud.buffer), hint: "hello there", language: "en" })).toMatchObject({ status: "transcribed", text: "hello there", confidence: 0.9 });
    expect(await stt.transcribe({ pcm: new Uint8Array(loud.buffer), hint: null, language: "en" })).toMatchObject({ status: "untranscribed" });
    expect(await stt.transcribe({ pcm: new Uint8Array(3200), hint: "hello", language: "en" })).toMatchObject({ confidence: 0.2 });
  });
});

describe("answer analysers", () => {
  it("Workers AI: an LLM labels themes and relevance as JSON", async () => {
    const { WorkersAIAnswerAnalyzer, ANALYSIS_MODEL } = await import("../../src/ai/analysis");
    const run = vi.spyOn(env.AI, "run").mockResolvedValue({ response: 'Sure: {"themes": ["Pricing", "support"], "relevance": 0.8}' } as never);
    const r = await new WorkersAIAnswerAnalyzer(env.AI).analyze("What almost stopped you?", "The price, and slow support replies.");
    expect(r).toEqual({ themes: ["pricing", "support"], relevance: 0.8 });
    expect(run.mock.calls[0]![0]).toBe(ANALYSIS_MODEL);
  });

  it("local: keyword themes and a relevance that rewards substance", async () => {
    const { LocalAnswerAnalyzer, engagement } = await import("../../src/ai/analysis");
    const a = new LocalAnswerAnalyzer();
    const r = await a.analyze("What almost stopped you from signing up?", "The price looked expensive and the setup was confusing at first.");
    expect(r.themes).toEqual(["pricing", "usability", "onboarding"]);
    expect(r.relevance).toBeGreaterThan(0.5);
    expect((await a.analyze("Why?", "ok")).relevance).toBeLessThan(0.4);
    expect(engagement(60, 1, { label: "positive", score: 0.5 })).toBe(1);
    expect(engagement(0, 0, null)).toBe(0);
  });
});
