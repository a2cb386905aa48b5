// One object per campaign: fans out its sessions' live frames to everyone watching the campaign,
// and remembers the active sessions so a new watcher starts from a snapshot. It also keeps the
// campaign's response patterns (patterns.ts), whose centroid updates must not interleave.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { PatternStore, type PatternAnswer, type PatternCluster } from "./patterns";
import { PING, PONG } from "./protocol";
import { admitWatcher, closeWatchersOf, openWatchersOf, watcherMessage, watcherTags } from "./sockets";
import type { SessionView } from "./view";

type Row = Record<string, SqlStorageValue>;

/**
 * What a publish found: how many watchers got it, and the watch epoch (how many times the
 * campaign went from no watcher to one). A session told `watchers: 0` stops sending the frames only
 * watchers would see, until the hub calls it back with a newer epoch.
 */
export interface Reach {
  watchers: number;
  epoch: number;
}

/** How long progress within a status may stay in the hub's memory before it is stored. */
export const PROGRESS_WRITE_MS = 2_000;
/** Views per statement when progress is stored (each is about 1 KB; SQLite takes strings up to 2 MB). */
const PROGRESS_WRITE_BATCH = 200;

export class CampaignLive extends DurableObject<Env> {
  private readonly patternStore: PatternStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.patternStore = new PatternStore(ctx.storage);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS active (session_id TEXT PRIMARY KEY, view TEXT NOT NULL, updated_at INTEGER NOT NULL)");
    // The epoch survives eviction: a session may know an epoch from before, and must see a newer one.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS watch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL)");
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private epochCache: number | null = null;

  private epoch(): number {
    return (this.epochCache ??= Number(this.ctx.storage.sql.exec<Row>("SELECT epoch FROM watch").toArray()[0]?.epoch ?? 0));
  }

  /**
   * Progress within a status (answers, the question reached), newest per session, not yet in
   * `active`: a snapshot reads it over the stored views, and it is written there in one commit at
   * most every PROGRESS_WRITE_MS, so that an answer costs the hub no commit of its own and a hub
   * that hibernates or is evicted loses at most that much (the next frame corrects it).
   */
  private progress = new Map<string, SessionView>();
  private progressTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Frames of one session's turn, in order, with the views of its status changes (oldest first)
   * and of its progress within a status (`progress`: omitted by sessions of an older version).
   */
  async publishMany(bodies: string[], views: SessionView[], progress: SessionView[] = []): Promise<Reach> {
    for (const view of views) {
      this.progress.delete(view.id);
      if (view.status === "completed" || view.status === "abandoned") {
        this.ctx.storage.sql.exec("DELETE FROM active WHERE session_id = ?", view.id);
      } else {
        this.ctx.storage.sql.exec(
          "INSERT INTO active (session_id, view, updated_at) VALUES (?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET view = excluded.view, updated_at = excluded.updated_at",
          view.id,
          JSON.stringify(view),
          Date.now(),
        );
      }
    }
    const latest = progress.at(-1);
    if (latest) {
      this.progress.set(latest.id, latest);
      this.progressTimer ??= setTimeout(() => this.writeProgress(), PROGRESS_WRITE_MS);
    }
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      for (const body of bodies) {
        try {
          ws.send(body);
        } catch {
          // closed; the watcher reconnects and gets a fresh snapshot
          break;
        }
      }
    }
    return { watchers: sockets.length, epoch: this.epoch() };
  }

  /** Stores the progress held in memory (only over sessions still listed: an ended one is not brought back). */
  private writeProgress() {
    this.progressTimer = null;
    const views = [...this.progress.values()];
    if (views.length === 0) return;
    try {
      // In batches: SQLite takes a string of at most 2 MB, and a campaign's first watcher may bring
      // the progress of thousands of sessions at once.
      this.ctx.storage.transactionSync(() => {
        for (let i = 0; i < views.length; i += PROGRESS_WRITE_BATCH) {
          this.ctx.storage.sql.exec(
            "UPDATE active SET view = j.value, updated_at = ? FROM (SELECT json_extract(value, '$.id') AS id, value FROM json_each(?)) AS j WHERE active.session_id = j.id",
            Date.now(),
            JSON.stringify(views.slice(i, i + PROGRESS_WRITE_BATCH)),
          );
        }
      });
      // Written, unless a newer view came for a session meanwhile (none can: this ran synchronously).
      for (const v of views) if (this.progress.get(v.id) === v) this.progress.delete(v.id);
    } catch (err) {
      // Still in memory (snapshots read it there): try again later.
      console.warn("campaign live progress not stored; retrying", String(err));
      this.progressTimer = setTimeout(() => this.writeProgress(), PROGRESS_WRITE_MS);
    }
  }


  /**
   * Removes a session from the snapshot and its quotes from the response patterns (its data was
   * deleted), and tells every watcher to drop it: their screens may show its participant's name.
   */
  async forget(sessionId: string): Promise<void> {
    this.progress.delete(sessionId);
    this.ctx.storage.sql.exec("DELETE FROM active WHERE session_id = ?", sessionId);
    this.patternStore.forget(sessionId);
    this.removed(sessionId, "data_deleted");
  }

  /**
   * A session moved to another campaign: it leaves this campaign's live view (its answers stay in
   * this campaign's response patterns, where they were given).
   */
  async moveOut(sessionId: string): Promise<void> {
    this.progress.delete(sessionId);
    this.ctx.storage.sql.exec("DELETE FROM active WHERE session_id = ?", sessionId);
    this.removed(sessionId, "reassigned");
  }

  private removed(sessionId: string, reason: "data_deleted" | "reassigned") {
    const frame = JSON.stringify({ type: "session_removed", sessionId, reason, at: new Date().toISOString() });
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // closed; a reconnecting watcher's snapshot no longer has the session
      }
    }
  }

  /** Removes a session's quotes from the response patterns only (its transcript went; the session stays). */
  async forgetQuotes(sessionId: string): Promise<void> {
    this.patternStore.forget(sessionId);
  }

  /** Folds one analysed answer into its question's response patterns; false if it was already in. */
  async foldPattern(answer: PatternAnswer): Promise<boolean> {
    return this.patternStore.fold(answer);
  }

  /** Several answers, in order, in one call; returns which of them were new. */
  async foldPatterns(answers: PatternAnswer[]): Promise<boolean[]> {
    return this.patternStore.foldMany(answers);
  }

  /**
   * The response patterns of every question from the first of `models` (embedding spaces, newest
   * first) that has clusters for it: after a change of embedding model, a question keeps showing
   * its old patterns until answers embedded by the new model arrive. With `sessionIds`, only those
   * sessions' answers count (a date range; see PatternStore.read).
   */
  async patterns(models: string[], totalQuestions: number, sessionIds?: string[]): Promise<{ questionIndex: number; clusters: PatternCluster[] }[]> {
    let out = Array.from({ length: totalQuestions }, (_, qi) => ({ questionIndex: qi, clusters: [] as PatternCluster[] }));
    for (const model of models) {
      // An older space is read only while some question has nothing in the newer ones.
      if (out.every((q) => q.clusters.length)) break;
      const space = this.patternStore.read(model, totalQuestions, 5, sessionIds);
      out = out.map((q, qi) => (q.clusters.length ? q : space[qi]!));
    }
    return out;
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: { code: "UPGRADE_REQUIRED", message: "expected a WebSocket upgrade" } }, { status: 426 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], watcherTags(request));
    if (this.ctx.getWebSockets().length === 1) this.firstWatcher();
    await admitWatcher(this.ctx, this.env.DB, request, pair[1], () => {
      const sessions = this.ctx.storage.sql
        .exec<Row>("SELECT session_id, view FROM active ORDER BY updated_at DESC LIMIT 500")
        .toArray()
        .map((r) => this.progress.get(String(r.session_id)) ?? (JSON.parse(String(r.view)) as unknown));
      return JSON.stringify({ type: "snapshot", sessions });
    });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * The campaign had no watcher and now has one: a new epoch, and every active session is told, so
   * those that stopped sending (they were told no one watched) send again. A session whose status
   * reaches the hub after this read sees the watcher in its publish's answer instead.
   */
  private firstWatcher() {
    const epoch = this.epoch() + 1;
    this.ctx.storage.sql.exec("INSERT INTO watch (id, epoch) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET epoch = excluded.epoch", epoch);
    this.epochCache = epoch;
    const ids = this.ctx.storage.sql.exec<Row>("SELECT session_id FROM active").toArray().map((r) => String(r.session_id));
    for (const id of ids) {
      this.env.SESSION.get(this.env.SESSION.idFromName(id))
        .campaignWatched(epoch)
        .catch((err: unknown) => console.warn("campaign watcher notice not delivered", { sessionId: id, error: String(err) }));
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    watcherMessage(ws, message);
  }

  /** Closes the live sockets of a principal whose access ended (see src/worker/live-access.ts). */
  async dropWatchers(principalId: string): Promise<number> {
    return closeWatchersOf(this.ctx, principalId);
  }

  /** How many live sockets of the principal are open here (the registry's pruning asks). */
  async watching(principalId: string): Promise<number> {
    return openWatchersOf(this.ctx, principalId);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}
