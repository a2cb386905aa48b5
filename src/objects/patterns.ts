// The response patterns of one campaign, kept in its CampaignLive object's storage: one object
// per campaign serialises the read-modify-write of cluster centroids that D1 alone would race on.
// Every answer is folded once (its membership row is the idempotency record); erasure removes
// the participant's quotes and keeps the anonymous counts.
import { addTo, assign, labelOf, MAX_CLUSTERS, newCluster, type ClusterState } from "../ai/clusters";
import { z } from "zod";
import { parseJson } from "../shared/json";

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

export class PatternStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS pattern_clusters (
      model TEXT NOT NULL, question_index INTEGER NOT NULL, id INTEGER NOT NULL, count INTEGER NOT NULL, centroid TEXT NOT NULL, terms TEXT NOT NULL,
      PRIMARY KEY (model, question_index, id))`);
    sql.exec(`CREATE TABLE IF NOT EXISTS pattern_members (
      session_id TEXT NOT NULL, answer_id TEXT NOT NULL, model TEXT NOT NULL, question_index INTEGER NOT NULL, cluster_id INTEGER NOT NULL, quote TEXT,
      PRIMARY KEY (session_id, answer_id, model))`);
    sql.exec("CREATE INDEX IF NOT EXISTS pattern_members_cluster ON pattern_members (model, question_index, cluster_id) WHERE quote IS NOT NULL");
  }

  private clusters(model: string, questionIndex: number): ClusterState[] {
    return this.sql
      .exec<Row>("SELECT id, count, centroid, terms FROM pattern_clusters WHERE model = ? AND question_index = ? ORDER BY id", model, questionIndex)
      .toArray()
      .map((r) => ({ id: Number(r.id), count: Number(r.count), centroid: parseJson(Numbers, String(r.centroid)), terms: parseJson(Terms, String(r.terms)) }));
  }

  /** Folds one answer into its question's clusters; false when it was folded before. */
  fold(a: PatternAnswer): boolean {
    const seen = this.sql.exec("SELECT 1 FROM pattern_members WHERE session_id = ? AND answer_id = ? AND model = ?", a.sessionId, a.answerId, a.model).toArray();
    if (seen.length) return false;
    const existing = this.clusters(a.model, a.questionIndex);
    const where = assign(existing, a.vector, a.threshold, MAX_CLUSTERS);
    const next = where.kind === "join" ? addTo(existing.find((c) => c.id === where.id)!, a.vector, a.terms) : newCluster(Math.max(-1, ...existing.map((c) => c.id)) + 1, a.vector, a.terms);
    const examples = Number(
      this.sql.exec<Row>("SELECT COUNT(*) AS n FROM pattern_members WHERE model = ? AND question_index = ? AND cluster_id = ? AND quote IS NOT NULL", a.model, a.questionIndex, next.id).one().n,
    );
    // Both writes run in the object's implicit transaction (no await between them).
    this.sql.exec(
      "INSERT INTO pattern_clusters (model, question_index, id, count, centroid, terms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(model, question_index, id) DO UPDATE SET count = excluded.count, centroid = excluded.centroid, terms = excluded.terms",
      a.model,
      a.questionIndex,
      next.id,
      next.count,
      JSON.stringify(next.centroid.map((x) => Math.round(x * 1e6) / 1e6)),
      JSON.stringify(next.terms),
    );
    this.sql.exec(
      "INSERT INTO pattern_members (session_id, answer_id, model, question_index, cluster_id, quote) VALUES (?, ?, ?, ?, ?, ?)",
      a.sessionId,
      a.answerId,
      a.model,
      a.questionIndex,
      next.id,
      examples < EXAMPLES_PER_CLUSTER && a.quote ? a.quote : null,
    );
    return true;
  }

  /** Each question's clusters in one vector space, largest first, with their example quotes. */
  read(model: string, totalQuestions: number, perQuestion = 5): { questionIndex: number; clusters: PatternCluster[] }[] {
    const rows = this.sql.exec<Row>("SELECT question_index, id, count, terms FROM pattern_clusters WHERE model = ? ORDER BY question_index, count DESC, id", model).toArray();
    const quotes = this.sql
      .exec<Row>("SELECT question_index, cluster_id, quote FROM pattern_members WHERE model = ? AND quote IS NOT NULL ORDER BY rowid", model)
      .toArray();
    const examples = new Map<string, string[]>();
    for (const q of quotes) {
      const k = `${q.question_index}:${q.cluster_id}`;
      examples.set(k, [...(examples.get(k) ?? []), String(q.quote)]);
    }
    return Array.from({ length: totalQuestions }, (_, qi) => ({
      questionIndex: qi,
      clusters: rows
        .filter((r) => Number(r.question_index) === qi)
        .slice(0, perQuestion)
        .map((r) => ({
          label: labelOf(parseJson(Terms, String(r.terms)), Number(r.count)),
          count: Number(r.count),
          examples: (examples.get(`${qi}:${r.id}`) ?? []).slice(0, EXAMPLES_PER_CLUSTER),
        })),
    }));
  }

  /** The session's quotes leave the clusters; its answers still count (anonymously). */
  forget(sessionId: string): void {
    this.sql.exec("UPDATE pattern_members SET quote = NULL WHERE session_id = ?", sessionId);
  }
}
