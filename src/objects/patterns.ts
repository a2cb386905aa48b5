// The response patterns of one campaign, kept in its CampaignLive object's storage: one object
// per campaign serialises the read-modify-write of cluster centroids that D1 alone would race on.
// Every answer is folded once (its membership row is the idempotency record); erasure removes
// the participant's quotes and their words from the cluster labels, and keeps the anonymous counts.
import { addTo, assign, labelOf, MAX_CLUSTERS, newCluster, type ClusterState } from "../ai/clusters";
import { z } from "zod";
import { parseJson } from "../shared/json";

/** Session ids per statement when patterns are read for a date range (each id is about 24 bytes in the JSON). */
export const RANGE_IDS_PER_STATEMENT = 20_000;

const batches = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export interface PatternAnswer {
  sessionId: string;
  answerId: string;
  questionIndex: number;
  model: string;
  threshold: number;
  vector: number[];
  terms: string[];
  quote: string;
}

export interface PatternCluster {
  label: string;
  count: number;
  examples: string[];
}

/** Example quotes kept per cluster. */
export const EXAMPLES_PER_CLUSTER = 3;
const Numbers = z.array(z.number());
const Terms = z.record(z.string(), z.number());
type Row = Record<string, SqlStorageValue>;

type Moved = Map<string, { model: string; questionIndex: number; cluster: ClusterState }>;
const questionKey = (model: string, questionIndex: number) => `${model}\n${questionIndex}`;
const clusterKey = (model: string, questionIndex: number, clusterId: number) => `${model}\n${questionIndex}\n${clusterId}`;

export class PatternStore {
  constructor(private readonly storage: DurableObjectStorage) {
    const sql = storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS pattern_clusters (
      model TEXT NOT NULL, question_index INTEGER NOT NULL, id INTEGER NOT NULL, count INTEGER NOT NULL, centroid TEXT NOT NULL, terms TEXT NOT NULL,
      PRIMARY KEY (model, question_index, id))`);
    sql.exec(`CREATE TABLE IF NOT EXISTS pattern_members (
      session_id TEXT NOT NULL, answer_id TEXT NOT NULL, model TEXT NOT NULL, question_index INTEGER NOT NULL, cluster_id INTEGER NOT NULL, quote TEXT,
      PRIMARY KEY (session_id, answer_id, model))`);
    sql.exec("CREATE INDEX IF NOT EXISTS pattern_members_cluster ON pattern_members (model, question_index, cluster_id) WHERE quote IS NOT NULL");
    // Each member's distinct terms (JSON), so erasure can take its words back out of its cluster's
    // label; '[]' once taken out. Members folded before the column existed have NULL.
    try {
      sql.exec("SELECT terms FROM pattern_members LIMIT 0");
    } catch {
      sql.exec("ALTER TABLE pattern_members ADD COLUMN terms TEXT");
    }
  }

  // The object is single-threaded and every write goes through this class, so the caches change
  // with the rows they mirror (a fold that throws rolls its writes back and drops them). Parsing a
  // question's centroids (1,024 numbers each, locally and with bge-m3) on every answer was most of a fold.
  private readonly clusterCache = new Map<string, ClusterState[]>();
  /** Quotes kept per cluster (model, question, cluster). */
  private readonly exampleCache = new Map<string, number>();

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private clusters(model: string, questionIndex: number): ClusterState[] {
    const key = questionKey(model, questionIndex);
    let cached = this.clusterCache.get(key);
    if (!cached) {
      cached = this.loadClusters(model, questionIndex);
      this.clusterCache.set(key, cached);
    }
    return cached;
  }

  private examples(model: string, questionIndex: number, clusterId: number): number {
    const key = clusterKey(model, questionIndex, clusterId);
    let n = this.exampleCache.get(key);
    if (n === undefined) {
      n = Number(
        this.sql.exec<Row>("SELECT COUNT(*) AS n FROM pattern_members WHERE model = ? AND question_index = ? AND cluster_id = ? AND quote IS NOT NULL", model, questionIndex, clusterId).one().n,
      );
      this.exampleCache.set(key, n);
    }
    return n;
  }

  private loadClusters(model: string, questionIndex: number): ClusterState[] {
    return this.sql
      .exec<Row>("SELECT id, count, centroid, terms FROM pattern_clusters WHERE model = ? AND question_index = ? ORDER BY id", model, questionIndex)
      .toArray()
      .map((r) => ({ id: Number(r.id), count: Number(r.count), centroid: parseJson(Numbers, String(r.centroid)), terms: parseJson(Terms, String(r.terms)) }));
  }

  /** Folds one answer into its question's clusters; false when it was folded before. */
  fold(a: PatternAnswer): boolean {
    return this.foldMany([a])[0]!;
  }

  /**
   * Folds answers in order, in one transaction; for each, false when it was folded before. Each
   * cluster an answer moved is written once at the end (its centroid is kilobytes of JSON), not
   * once per answer. If anything throws, the writes roll back and the caches are dropped.
   */
  foldMany(answers: PatternAnswer[]): boolean[] {
    const moved: Moved = new Map();
    try {
      return this.storage.transactionSync(() => {
        const out = answers.map((a) => this.foldOne(a, moved));
        for (const { model, questionIndex, cluster } of moved.values()) {
          this.sql.exec(
            "INSERT INTO pattern_clusters (model, question_index, id, count, centroid, terms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(model, question_index, id) DO UPDATE SET count = excluded.count, centroid = excluded.centroid, terms = excluded.terms",
            model,
            questionIndex,
            cluster.id,
            cluster.count,
            JSON.stringify(cluster.centroid),
            JSON.stringify(cluster.terms),
          );
        }
        return out;
      });
    } catch (err) {
      this.clusterCache.clear();
      this.exampleCache.clear();
      throw err;
    }
  }

  /** One answer: its membership row now, its cluster's new state in the cache and in `moved`. */
  private foldOne(a: PatternAnswer, moved: Moved): boolean {
    const seen = this.sql.exec("SELECT 1 FROM pattern_members WHERE session_id = ? AND answer_id = ? AND model = ?", a.sessionId, a.answerId, a.model).toArray();
    if (seen.length) return false;
    const existing = this.clusters(a.model, a.questionIndex);
    const where = assign(existing, a.vector, a.threshold, MAX_CLUSTERS);
    const next = where.kind === "join" ? addTo(existing.find((c) => c.id === where.id)!, a.vector, a.terms) : newCluster(Math.max(-1, ...existing.map((c) => c.id)) + 1, a.vector, a.terms);
    // Rounded after every answer, as stored: a cluster moves the same whether or not the object
    // was evicted, and whatever the batches were.
    next.centroid = next.centroid.map((x) => Math.round(x * 1e6) / 1e6);
    const examples = this.examples(a.model, a.questionIndex, next.id);
    const quote = examples < EXAMPLES_PER_CLUSTER && a.quote ? a.quote : null;
    this.sql.exec(
      "INSERT INTO pattern_members (session_id, answer_id, model, question_index, cluster_id, quote, terms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      a.sessionId,
      a.answerId,
      a.model,
      a.questionIndex,
      next.id,
      quote,
      JSON.stringify([...new Set(a.terms)]),
    );
    const key = clusterKey(a.model, a.questionIndex, next.id);
    this.clusterCache.set(questionKey(a.model, a.questionIndex), [...existing.filter((c) => c.id !== next.id), next].sort((x, y) => x.id - y.id));
    if (quote) this.exampleCache.set(key, examples + 1);
    moved.set(key, { model: a.model, questionIndex: a.questionIndex, cluster: next });
    return true;
  }

  /**
   * Each question's clusters in one vector space, largest first, with their example quotes. With
   * `sessionIds` (a date range's sessions), only those sessions' answers count: a cluster's count is
   * its members among them, its examples the quotes it kept of theirs (a cluster keeps the first
   * three it was given), and clusters none of them joined are left out. The label stays the whole
   * cluster's: it names the group, and the group is the same.
   */
  read(model: string, totalQuestions: number, perQuestion = 5, sessionIds?: string[]): { questionIndex: number; clusters: PatternCluster[] }[] {
    const clusters = this.sql.exec<Row>("SELECT question_index, id, count, terms FROM pattern_clusters WHERE model = ? ORDER BY question_index, count DESC, id", model).toArray();
    // A range's sessions go in batches: SQLite takes a string of at most 2 MB (about 85,000 ids).
    const only = sessionIds ? batches(sessionIds, RANGE_IDS_PER_STATEMENT).map((ids) => JSON.stringify(ids)) : null;
    const quotes = only
      ? only
          .flatMap((ids) => this.sql.exec<Row>("SELECT rowid AS r, question_index, cluster_id, quote FROM pattern_members WHERE model = ? AND quote IS NOT NULL AND session_id IN (SELECT value FROM json_each(?))", model, ids).toArray())
          .sort((a, b) => Number(a.r) - Number(b.r))
      : this.sql.exec<Row>("SELECT question_index, cluster_id, quote FROM pattern_members WHERE model = ? AND quote IS NOT NULL ORDER BY rowid", model).toArray();
    const examples = new Map<string, string[]>();
    for (const q of quotes) {
      const k = `${q.question_index}:${q.cluster_id}`;
      examples.set(k, [...(examples.get(k) ?? []), String(q.quote)]);
    }
    let rows = clusters.map((r) => ({ questionIndex: Number(r.question_index), id: Number(r.id), count: Number(r.count), shown: Number(r.count), terms: String(r.terms) }));
    if (only) {
      const members = new Map<string, number>();
      for (const ids of only) {
        for (const m of this.sql.exec<Row>("SELECT question_index, cluster_id, COUNT(*) AS n FROM pattern_members WHERE model = ? AND session_id IN (SELECT value FROM json_each(?)) GROUP BY question_index, cluster_id", model, ids)) {
          const k = `${m.question_index}:${m.cluster_id}`;
          members.set(k, (members.get(k) ?? 0) + Number(m.n));
        }
      }
      rows = rows
        .map((r) => ({ ...r, shown: members.get(`${r.questionIndex}:${r.id}`) ?? 0 }))
        .filter((r) => r.shown > 0)
        .sort((a, b) => a.questionIndex - b.questionIndex || b.shown - a.shown || a.id - b.id);
    }
    return Array.from({ length: totalQuestions }, (_, qi) => ({
      questionIndex: qi,
      clusters: rows
        .filter((r) => r.questionIndex === qi)
        .slice(0, perQuestion)
        .map((r) => ({
          label: labelOf(parseJson(Terms, r.terms), r.count),
          count: r.shown,
          examples: (examples.get(`${qi}:${r.id}`) ?? []).slice(0, EXAMPLES_PER_CLUSTER),
        })),
    }));
  }

  /**
   * The session's quotes and words leave the clusters; its answers still count (anonymously). Each
   * member's terms are taken out of its cluster's term bag, so a word only an erased person used
   * no longer names the cluster. A member folded before terms were kept per member cannot be
   * subtracted exactly: its cluster then drops every word used by a single answer, which is at
   * most all that member alone could have added. Safe to run again (a member's terms go once).
   */
  forget(sessionId: string): void {
    const members = this.sql
      .exec<Row>("SELECT model, question_index, cluster_id, terms FROM pattern_members WHERE session_id = ? AND (terms IS NULL OR terms <> '[]')", sessionId)
      .toArray();
    try {
      this.storage.transactionSync(() => {
        this.sql.exec("UPDATE pattern_members SET quote = NULL WHERE session_id = ?", sessionId);
        const bags = new Map<string, { model: string; questionIndex: number; id: number; terms: Record<string, number> }>();
        for (const m of members) {
          const model = String(m.model);
          const questionIndex = Number(m.question_index);
          const id = Number(m.cluster_id);
          const key = clusterKey(model, questionIndex, id);
          let bag = bags.get(key);
          if (!bag) {
            const row = this.sql.exec<Row>("SELECT terms FROM pattern_clusters WHERE model = ? AND question_index = ? AND id = ?", model, questionIndex, id).toArray()[0];
            if (!row) continue;
            bag = { model, questionIndex, id, terms: parseJson(Terms, String(row.terms)) };
            bags.set(key, bag);
          }
          if (m.terms === null) {
            for (const [t, n] of Object.entries(bag.terms)) if (n <= 1) delete bag.terms[t];
          } else {
            for (const t of parseJson(z.array(z.string()), String(m.terms))) {
              const n = (bag.terms[t] ?? 0) - 1;
              if (n > 0) bag.terms[t] = n;
              else delete bag.terms[t];
            }
          }
        }
        for (const b of bags.values()) {
          this.sql.exec("UPDATE pattern_clusters SET terms = ? WHERE model = ? AND question_index = ? AND id = ?", JSON.stringify(b.terms), b.model, b.questionIndex, b.id);
        }
        this.sql.exec("UPDATE pattern_members SET terms = '[]' WHERE session_id = ?", sessionId);
      });
    } finally {
      this.clusterCache.clear();
      this.exampleCache.clear();
    }
  }
}
