// The cron sweep: alarms can be lost (local restarts, failover), so sessions whose deadline has
// passed according to the D1 index are poked; each object re-checks from its own storage.
import type { Env } from "../env";

const SWEEP_BATCH = 200;

export async function sweepOverdueSessions(env: Env, now = Date.now()): Promise<number> {
  const rows = await env.DB.prepare(
    "SELECT id FROM sessions WHERE status IN ('created', 'in_progress', 'paused') AND deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at LIMIT ?",
  )
    .bind(now, SWEEP_BATCH)
    .all<{ id: string }>();
  const results = await Promise.allSettled(rows.results.map((r) => env.SESSION.get(env.SESSION.idFromName(r.id)).poke()));
  for (const r of results) if (r.status === "rejected") console.warn("sweep poke failed", String(r.reason));
  return rows.results.length;
}
