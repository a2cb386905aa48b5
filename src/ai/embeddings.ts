// Sentence embeddings behind a small interface, for response patterns (clusters of similar
// answers): bge-m3 through the Workers AI binding in production, and offline a deterministic
// vector of the answer's own words (hashed) plus the research themes those words cue.
import { z } from "zod";
import { THEME_CUES } from "./analysis";
import { keywords } from "./clusters";
import { staggered } from "../shared/turns";

export interface Embedder {
  /** Names the vector space: clusters are only compared with vectors of the same space. */
  readonly model: string;
  /** Spaces this embedder replaced: their clusters are read until the new space has some. */
  readonly previousModels?: readonly string[];
  /** Cosine similarity from which an answer joins a cluster in this space. */
  readonly threshold: number;
  embed(texts: string[]): Promise<number[][]>;
}

// bge-m3, not bge-base-en: participants answer in their own languages, and a model trained on
// English only cannot tell answers in other languages apart. It takes the same {text: [...]} input and
// returns the same {data} output, with 1,024 dimensions.
export const EMBEDDING_MODEL = "@cf/baai/bge-m3";
const BgeOutput = z.object({ data: z.array(z.array(z.number())).min(1) });

export class WorkersAIEmbedder implements Embedder {
  readonly model = EMBEDDING_MODEL;
  readonly previousModels = ["@cf/baai/bge-base-en-v1.5"];
  // bge vectors of unrelated sentences already sit around 0.5-0.7; paraphrases above 0.8. 0.75 is
  // where bge-m3 starts: nothing reachable from here can measure it, so tune it on real answers.
  readonly threshold = 0.75;
  constructor(private readonly ai: Ai) {}
  async embed(texts: string[]): Promise<number[][]> {
    const out = BgeOutput.parse(await this.ai.run(EMBEDDING_MODEL as Parameters<Ai["run"]>[0], { text: texts.map((t) => t.slice(0, 2000)) } as never));
    if (out.data.length !== texts.length) throw new Error(`expected ${texts.length} embeddings, got ${out.data.length}`);
    return out.data.map(normalise);
  }
}

export const LOCAL_DIMENSIONS = 1024;
const CUE_TO_THEME = new Map(Object.entries(THEME_CUES).flatMap(([theme, cues]) => cues.map((c) => [c, theme] as const)));

/** FNV-1a, 32 bits: the same word always lands in the same dimension. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class LocalEmbedder implements Embedder {
  readonly model = "local-hashed-terms-v1";
  readonly threshold = 0.35;
  async embed(texts: string[]): Promise<number[][]> {
    // One text per turn of the event loop: a batch's vectors are computed on the shared thread.
    return staggered(texts, async (text) => {
      const v = new Array<number>(LOCAL_DIMENSIONS).fill(0);
      // Signed feature hashing: the rare words that share a dimension cancel as often as they add.
      const add = (feature: string, weight: number) => {
        const h = hash(feature);
        v[h % LOCAL_DIMENSIONS]! += h & 0x80000000 ? -weight : weight;
      };
      for (const w of keywords(text)) {
        add(w, 1);
        // A theme's cue words ("price", "expensive") share a dimension, so answers about the
        // same thing meet even in different words; it weighs like two words.
        const theme = CUE_TO_THEME.get(w);
        if (theme) add(`theme:${theme}`, 2);
      }
      return normalise(v);
    });
  }
}

export function normalise(v: number[]): number[] {
  const n = Math.hypot(...v);
  return n > 0 ? v.map((x) => x / n) : v;
}

/** The spaces whose clusters a reader looks in, newest first. */
export const spacesOf = (e: Embedder): string[] => [e.model, ...(e.previousModels ?? [])];

export function embedder(env: { AI_MODE?: string; AI?: Ai }): Embedder {
  if (env.AI_MODE === "local" || !env.AI) return new LocalEmbedder();
  return new WorkersAIEmbedder(env.AI);
}
