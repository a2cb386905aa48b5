// Speech behind small interfaces: transcription (Whisper in production; the browser's own
// transcript offline, never an invented one) and synthesis of the AI's questions.
import { levels, samplesOf, wavHeader, concat } from "../audio/pcm";
import { looksEnglish } from "./language";
import { isEnglishTag } from "../shared/language-tag";


export interface TranscriptionInput {
  /** 16 kHz mono 16-bit PCM. */
  pcm: Uint8Array;
  /** The browser's own transcript, when it had one: a hint, not the record. */
  hint: string | null;
  language: string | null;
}

export type Transcription =
  | { status: "transcribed"; text: string; language: string | null; confidence: number; words: { word: string; startMs: number; endMs: number }[] }
  | { status: "untranscribed"; reason: string };

export interface SpeechToText {
  readonly name: string;
  transcribe(input: TranscriptionInput): Promise<Transcription>;
}

/** Below this, a transcript is marked low-confidence and not analysed as if it were clear. */
export const LOW_CONFIDENCE = 0.5;

/**
 * Offline there is no speech model: the browser's transcript is used when it sent one, with a
 * confidence from the recording's level (near-silent audio cannot have said much); otherwise
 * the answer is marked untranscribed with the reason.
 */
export class LocalSpeechToText implements SpeechToText {
  readonly name = "local";
  async transcribe({ pcm, hint, language }: TranscriptionInput): Promise<Transcription> {
    const text = hint?.trim();
    if (!text) return { status: "untranscribed", reason: "no speech model offline and no browser transcript was sent" };
    const { rms } = levels(samplesOf(pcm));
    const confidence = rms < 0.003 ? 0.2 : rms < 0.01 ? 0.6 : 0.9;
    return { status: "transcribed", text, language: language?.slice(0, 2) ?? null, confidence, words: [] };
  }
}

export const STT_MODEL = "@cf/openai/whisper-large-v3-turbo";

type WhisperOutput = {
  text?: string;
  transcription_info?: { language?: string; language_probability?: number };
  segments?: { start?: number; end?: number; avg_logprob?: number; words?: { word?: string; start?: number; end?: number }[] }[];
};

export class WorkersAISpeechToText implements SpeechToText {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai) {}
  async transcribe({ pcm, language }: TranscriptionInput): Promise<Transcription> {
    const wav = concat([wavHeader(pcm.byteLength), pcm]);
    let bin = "";
    for (let i = 0; i < wav.length; i += 0x8000) bin += String.fromCharCode(...wav.subarray(i, i + 0x8000));
    const inputs: Record<string, unknown> = { audio: btoa(bin), task: "transcribe", vad_filter: true };
    if (language) inputs.language = language.slice(0, 2);
    const out = (await this.ai.run(STT_MODEL as Parameters<Ai["run"]>[0], inputs as never)) as WhisperOutput;
    const text = out.text?.trim() ?? "";
    if (!text) return { status: "untranscribed", reason: "no speech detected" };
    const segs = out.segments ?? [];
    const logprobs = segs.map((s) => s.avg_logprob).filter((n): n is number => typeof n === "number");
    const confidence = logprobs.length ? Math.exp(logprobs.reduce((a, b) => a + b, 0) / logprobs.length) : (out.transcription_info?.language_probability ?? 0.5);
    const words = segs.flatMap((s) => s.words ?? []).map((w) => ({ word: w.word?.trim() ?? "", startMs: Math.round((w.start ?? 0) * 1000), endMs: Math.round((w.end ?? 0) * 1000) }));
    return { status: "transcribed", text, language: out.transcription_info?.language ?? null, confidence: Math.round(confidence * 1000) / 1000, words };
  }
}

export interface TextToSpeech {
  readonly name: string;
  /** 16 kHz mono 16-bit PCM of the text, or null when this provider cannot speak (the page then uses the browser's voice). */
  synthesize(text: string, language: string | null): Promise<Uint8Array | null>;
}

export class LocalTextToSpeech implements TextToSpeech {
  readonly name = "local";
  async synthesize(): Promise<null> {
    return null;
  }
}

export const TTS_MODEL = "@cf/deepgram/aura-1";

/**
 * The language an interview's questions are spoken in: the campaign's, else (none named) "en" when
 * its script reads as English and "und" otherwise. Decided once for the whole script, so a short
 * question ("Anything else?") is not voiced differently from the rest.
 */
export function spokenLanguage(language: string | null, questions: readonly string[]): string {
  return language ?? (looksEnglish(questions.join("\n")) ? "en" : "und");
}

/**
 * Aura speaks straight into raw 16 kHz PCM, so the AI track is stored and assembled like the
 * participant's. Its voices speak English only: a question in another language gets no server
 * audio, and the page reads it with the browser's own voice for that language instead of an
 * English voice mangling it.
 */
export class WorkersAITextToSpeech implements TextToSpeech {
  readonly name = "workers-ai";
  constructor(private readonly ai: Ai) {}
  async synthesize(text: string, language: string | null): Promise<Uint8Array | null> {
    if (language ? !isEnglishTag(language) : !looksEnglish(text)) return null; // callers pass spokenLanguage()
    const out = (await this.ai.run(TTS_MODEL as Parameters<Ai["run"]>[0], { text, encoding: "linear16", container: "none", sample_rate: 16_000 } as never)) as unknown;
    if (out instanceof ReadableStream) return new Uint8Array(await new Response(out).arrayBuffer());
    if (out instanceof Uint8Array) return out;
    if (out instanceof ArrayBuffer) return new Uint8Array(out);
    return null;
  }
}

export function speechProviders(env: { AI_MODE?: string; AI?: Ai }): { stt: SpeechToText; tts: TextToSpeech } {
  if (env.AI_MODE === "local" || !env.AI) return { stt: new LocalSpeechToText(), tts: new LocalTextToSpeech() };
  return { stt: new WorkersAISpeechToText(env.AI), tts: new WorkersAITextToSpeech(env.AI) };
}

