// Response patterns: answers to one question grouped by similarity, one answer at a time
// (leader clustering over unit vectors). Pure: the campaign's object keeps the clusters and
// calls these; the vectors come from an Embedder (Workers AI or the local hashed terms).

import { UNSPACED, words } from "./words";

export interface ClusterState {
  id: number;
  count: number;
  /** The running mean of its members' unit vectors. */
  centroid: number[];
  /** In how many member answers each keyword occurs (the most frequent 40 kept, first seen first among equals). */
  terms: Record<string, number>;
}

export type Assignment = { kind: "join"; id: number; similarity: number } | { kind: "new" };

/** Most clusters kept per question; later answers join the nearest one. */
export const MAX_CLUSTERS = 6;
const MAX_TERMS = 40;

const STOP = new Set(
  ("the a an and or but to of in on at for with is was are were it its this that these those i we you they he she my our your their me us them " +
    "be been being have has had do did does not no so just very really also too than then there here what which who when where why how " +
    "would could should can will about from into out up down over more most some any all much many one thing things like get got use used using " +
    "because if as by im i'm it's don't dont didn't isn't").split(" "),
);

// Frequent Chinese and Japanese words that say nothing about the topic (pronouns, connectives,
// "think", "very", "this time"...): without them a cluster's label is its answers' filler.
const STOP_CJK = new Set(
  ("我们 你们 他们 她们 我的 你的 觉得 认为 因为 所以 但是 可是 不过 然后 还是 就是 没有 什么 这个 那个 这些 那些 一个 一些 非常 特别 比较 真的 已经 如果 时候 可以 应该 可能 需要 知道 现在 其实 还有 " +
    "私 自分 今回 場合 本当 思い 感じ 特に 少し 全部 一番 時間 今日 最初 最後 以外 以上").split(" "),
);

// In Chinese and Japanese the content words carry Han or katakana; hiragana-only words are mostly particles.
const CONTENT_UNSPACED = /[\p{Script=Han}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** The words of an answer that carry meaning: lower case, stop words out, plural -s folded. */
export function keywords(text: string): string[] {
  const out: string[] = [];
  for (const raw of words(text)) {
    if (UNSPACED.test(raw)) {
      // Chinese, Japanese, Thai: ICU's dictionary words; two characters already make a word.
      if (raw.length >= 2 && CONTENT_UNSPACED.test(raw) && !STOP_CJK.has(raw)) out.push(raw);
      continue;
    }
    const w = raw.replace(/'s?$/, "");
    if (w.length < 3 || STOP.has(w) || /^\d+$/.test(w)) continue;
    out.push(w.length > 4 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w);
  }
  return out;
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Where a new answer goes: the most similar cluster if it is similar enough, a new cluster while
 * the question has fewer than `max`, otherwise the most similar cluster anyway.
 */
export function assign(clusters: Pick<ClusterState, "id" | "centroid">[], v: number[], threshold: number, max = MAX_CLUSTERS): Assignment {
  let best: { id: number; similarity: number } | null = null;
  for (const c of clusters) {
    const similarity = cosine(c.centroid, v);
    if (!best || similarity > best.similarity || (similarity === best.similarity && c.id < best.id)) best = { id: c.id, similarity };
  }
  if (best && (best.similarity >= threshold || clusters.length >= max)) return { kind: "join", ...best };
  return { kind: "new" };
}

function countTerms(into: Record<string, number>, terms: string[]): Record<string, number> {
  const next = { ...into };
  for (const t of new Set(terms)) next[t] = (next[t] ?? 0) + 1;
  // A stable sort: among equals, the words seen first (an answer's themes, then its words in order) lead.
  const kept = Object.entries(next).sort((a, b) => b[1] - a[1]).slice(0, MAX_TERMS);
  return Object.fromEntries(kept);
}

export function newCluster(id: number, v: number[], terms: string[]): ClusterState {
  return { id, count: 1, centroid: [...v], terms: countTerms({}, terms) };
}

/** The cluster with one more member: its centroid moves toward the answer by 1/(n+1). */
export function addTo(c: ClusterState, v: number[], terms: string[]): ClusterState {
  const n = c.count + 1;
  return { id: c.id, count: n, centroid: c.centroid.map((x, i) => x + ((v[i] ?? 0) - x) / n), terms: countTerms(c.terms, terms) };
}

/**
 * A readable name: up to three words shared by at least a third of its answers (the most
 * shared first), at least its most shared word, or "other" when its answers had none.
 */
export function labelOf(terms: Record<string, number>, count: number): string {
  const ranked = Object.entries(terms).sort((a, b) => b[1] - a[1]);
  const shared = ranked.filter(([, n], i) => i === 0 || n >= Math.max(2, Math.ceil(count / 3))).slice(0, 3);
  return shared.length ? shared.map(([t]) => t).join(" · ") : "other";
}
