// Group "listing": GET /v1/campaigns/{id}/sessions with filters over 100,000 sessions of one campaign.
//
// 1. Into a freshly migrated local D1 file, with no server running (seed.mjs): an org, its API key and
//    a campaign (as the API writes them), then 100k session rows. (The fallback, if the file cannot be
//    found, makes the org through the API and runs a SQL file with `wrangler d1 execute`.)
// 3. A fresh server answers the filter combinations and cursor walks; the client times every page on
//    127.0.0.1 (an upper bound for the time inside the Worker) and reads the Worker's own time on
//    each page from its Server-Timing header (app;dur=…: from the request reaching the app to its
//    response, on this machine's real clock, since local workerd's clock also runs during computation).
// 4. With the server stopped, the same SQL the route runs (a replica of filterSql + keysetPage) is timed
//    directly in SQLite on a copy of the file and its EXPLAIN QUERY PLAN read, so the page time splits
//    into "SQL" and "everything else"; for combinations over target, the plan is read through
//    `wrangler d1 execute` as well, and candidate indexes are tried on the copy (never on the product).
import { join } from "node:path";
import { cpSync } from "node:fs";
import { api, createOrgAndCampaign, questions } from "./api.mjs";
import { insertOrgDirect, insertSessionsDirect, localD1File, seedSpan, writeSessionsSql } from "./seed.mjs";
import { d1Execute, freshDir, startDev } from "./server.mjs";
import { now, perOp, summarize } from "./stats.mjs";

export const TARGET_P95_MS = 20;
// First pages timed per filter. With 20, a p95 fell between the two slowest pages, so two stalls
// of the local runtime (about one page in 70 takes 15-30 ms, the D1 call stalling) failed a filter.
const FIRST_PAGES = 60;
const DAY = 86_400_000;
const iso = (t) => new Date(t).toISOString();

/** The filter combinations timed (first page unless `walk` pages are followed by cursor). */
export function combos(span) {
  const ago = (d) => iso(span.last - d * DAY);
  return [
    { name: "no filter", query: "" },
    { name: "status=completed&minDuration=900", query: "status=completed&minDuration=900", walk: 15 },
    { name: "language=de", query: "language=de" },
    { name: "flagged=true", query: "flagged=true", walk: 10 },
    { name: "from/to, last 30-60 days", query: `from=${ago(60)}&to=${ago(30)}` },
    { name: "from/to, 165-175 days ago", query: `from=${ago(175)}&to=${ago(165)}` },
    { name: "status=completed,abandoned&minCompletion=50", query: "status=completed,abandoned&minCompletion=50" },
    { name: "status=abandoned&language=ja&maxCompletion=30", query: "status=abandoned&language=ja&maxCompletion=30" },
    { name: "sentiment=negative&flagged=true", query: "sentiment=negative&flagged=true" },
    { name: "minDuration=1800&maxDuration=2400&language=fr", query: "minDuration=1800&maxDuration=2400&language=fr" },
    { name: "no filter, cursor walk", query: "", walk: 15, walkOnly: true },
  ];
}

/** The SQL GET /v1/campaigns/{id}/sessions runs (src/db/sessions.ts filterSql + src/db/cursor.ts keysetPage), first page. */
export function routeSql(campaignId, query, limit = 50) {
  const p = new URLSearchParams(query);
  const parts = [];
  const binds = [campaignId];
  const add = (sql, ...v) => {
    parts.push(sql);
    binds.push(...v);
  };
  const status = p.get("status")?.split(",");
  if (status) add(`status IN (${status.map(() => "?").join(", ")})`, ...status);
  if (p.get("from")) add("started_at >= ?", Date.parse(p.get("from")));
  // As src/db/sessions.ts's filterSql: a session is created before it starts, so `to` bounds created_at too.
  if (p.get("to")) add("started_at <= ? AND created_at <= ?", Date.parse(p.get("to")), Date.parse(p.get("to")));
  if (p.get("minDuration")) add("duration >= ?", Number(p.get("minDuration")));
  if (p.get("maxDuration")) add("duration <= ?", Number(p.get("maxDuration")));
  if (p.get("minCompletion")) add("completion >= ?", Number(p.get("minCompletion")));
  if (p.get("maxCompletion")) add("completion <= ?", Number(p.get("maxCompletion")));
  // As filterSql: equality on the primary subtag (LANGUAGE_PRIMARY_SQL in src/db/schema.ts, the
  // expression of the language index, spelled identically) and the tag or its subtags.
  const language = p.get("language");
  if (language) add("substr(language, 1, instr(language || '-', '-') - 1) = ? AND (language = ? OR (language >= ? AND language < ?))", language.split("-")[0], language, `${language}-`, `${language}.`);
  const sentiment = p.get("sentiment")?.split(",");
  if (sentiment) add(`sentiment IN (${sentiment.map(() => "?").join(", ")})`, ...sentiment);
  if (p.get("flagged")) add("flagged = ?", p.get("flagged") === "true" ? 1 : 0);
  binds.push(limit + 1);
  const sql = `SELECT * FROM sessions WHERE campaign_id = ?${parts.map((x) => ` AND ${x}`).join("")} ORDER BY created_at DESC, id DESC LIMIT ?`;
  return { sql, binds };
}

const literal = (v) => (typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
const inline = ({ sql, binds }) => {
  let i = 0;
  return sql.replace(/\?/g, () => literal(binds[i++]));
};

/**
 * Indexes tried on a copy of the database for combinations over target (proposals for the lead).
 * The route orders by (created_at DESC, id DESC): an index whose columns end in created_at, id after
 * the equality columns serves that order with no sort, which is what the planner favours.
 */
export const CANDIDATE_INDEXES = [
  { name: "sessions_campaign_status_created_id_idx", ddl: "CREATE INDEX sessions_campaign_status_created_id_idx ON sessions (campaign_id, status, created_at, id)" },
  { name: "sessions_campaign_started_idx", ddl: "CREATE INDEX sessions_campaign_started_idx ON sessions (campaign_id, started_at)" },
  { name: "sessions_campaign_language_created_id_idx", ddl: "CREATE INDEX sessions_campaign_language_created_id_idx ON sessions (campaign_id, language, created_at, id)" },
  { name: "sessions_campaign_flagged_created_id_idx", ddl: "CREATE INDEX sessions_campaign_flagged_created_id_idx ON sessions (campaign_id, flagged, created_at, id)" },
];

export async function listingBench({ sessions, app, appVars, log, group, appServer, migrated }) {
  const t0 = now();
  const persistTo = freshDir("listing");
  cpSync(migrated, persistTo, { recursive: true });
  const seedStarted = now();
  const nowMs = Date.now();
  const span = seedSpan({ now: nowMs });
  const file = localD1File(persistTo);
  let setup;
  let seedMethod;
  if (file) {
    setup = await insertOrgDirect(file, { questions: questions(10) });
    await insertSessionsDirect(file, { orgId: setup.orgId, campaignId: setup.campaignId, count: sessions, now: nowMs });
    seedMethod = "node:sqlite into the local D1 file";
  } else {
    const s = await appServer("listing-setup", persistTo);
    try {
      setup = await createOrgAndCampaign(s.base, { questionCount: 10, probe: "none" });
    } finally {
      await s.stop();
    }
    const seedOpts = { orgId: setup.orgId, campaignId: setup.campaignId, count: sessions, now: nowMs };
    const sqlFile = join(freshDir("listing-sql"), "sessions.sql");
    writeSessionsSql(sqlFile, seedOpts);
    await d1Execute(persistTo, { file: sqlFile, config: app.config });
    seedMethod = "wrangler d1 execute --file";
  }
  const seedSeconds = (now() - seedStarted) / 1000;
  log(`  seeded ${sessions} sessions (${seedMethod}) in ${seedSeconds.toFixed(1)} s`);

  // 3. Pages, timed by the client.
  const list = combos(span);
  const measured = await group("product: listing with filters", () => startDev({ label: "listing", persistTo, config: app.config, vars: appVars }), async (s, cpu) => {
    const path = (q, cursor) => `/v1/campaigns/${setup.campaignId}/sessions?${q}${q && cursor ? "&" : ""}${cursor ? `cursor=${encodeURIComponent(cursor)}` : ""}`;
    let serverTiming = null;
    const authMs = [];
    const get = async (p) => {
      const r = await api(s.base, "GET", p, { token: setup.key });
      if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.text.slice(0, 300)}`);
      serverTiming ??= r.headers.get("Server-Timing");
      // The Worker's own time on the request (Server-Timing app;dur=…), null if it sends none.
      const dur = /(?:^|,)\s*app;dur=([\d.]+)/.exec(r.headers.get("Server-Timing") ?? "")?.[1];
      r.insideMs = dur === undefined ? null : Number(dur);
      const auth = /(?:^|,)\s*auth;dur=([\d.]+)/.exec(r.headers.get("Server-Timing") ?? "")?.[1];
      if (auth !== undefined) authMs.push(Number(auth));
      return r;
    };
    const check = await api(s.base, "GET", `/v1/campaigns/${setup.campaignId}`, { token: setup.key });
    if (check.status !== 200) throw new Error(`the seeded org/campaign is not usable through the API: ${check.status} ${check.text.slice(0, 300)}`);
    // Warm-up: each combination a few times (caches warm, as on a server in use).
    for (const c of list) for (let i = 0; i < 3; i++) await get(path(c.query));
    const reference = {};
    for (const [name, p] of [["GET /healthz (no auth, no D1)", "/healthz"], ["GET /v1/campaigns/{id} (auth + 2 D1 reads)", `/v1/campaigns/${setup.campaignId}`]]) {
      const ms = [];
      const cpuBefore = cpu();
      for (let i = 0; i < 30; i++) ms.push((await api(s.base, "GET", p, { token: setup.key })).ms);
      const cpuUsed = cpu(cpuBefore);
      reference[name] = { ...summarize(ms), serverCpuMsPerRequest: cpuUsed ? perOp(cpuUsed, ms.length) : null };
    }
    const rows = [];
    const all = [];
    const allInside = [];
    for (const c of list) {
      const ms = [];
      const inside = [];
      let returned = 0;
      let pages = 0;
      const cpuBefore = cpu();
      if (!c.walkOnly) {
        for (let i = 0; i < FIRST_PAGES; i++) {
          const r = await get(path(c.query));
          ms.push(r.ms);
          if (r.insideMs !== null) inside.push(r.insideMs);
          returned = r.json.data.length;
        }
      }
      const walkMs = [];
      if (c.walk) {
        let cursor = null;
        for (let i = 0; i < c.walk; i++) {
          const r = await get(path(c.query, cursor));
          walkMs.push(r.ms);
          if (r.insideMs !== null) inside.push(r.insideMs);
          pages += 1;
          cursor = r.json.nextCursor;
          if (!cursor) break;
        }
      }
      const samples = [...ms, ...walkMs];
      allInside.push(...inside);
      const cpuUsed = cpu(cpuBefore);
      all.push(...samples);
      rows.push({
        name: c.name,
        query: c.query,
        firstPage: ms.length ? summarize(ms) : null,
        rowsOnFirstPage: returned,
        cursorWalk: walkMs.length ? { pages, ...summarize(walkMs) } : null,
        all: summarize(samples),
        // Inside the Worker, as its Server-Timing header reports it (every page of this filter).
        inside: inside.length ? summarize(inside) : null,
        // workerd CPU per page: the Worker, the D1 simulator's SQLite and JSON work, without any waiting.
        serverCpuMsPerPage: cpuUsed ? perOp(cpuUsed, samples.length) : null,
      });
    }
    return { sessions, seedMethod, seedSeconds, serverTiming, reference, combos: rows, allPages: summarize(all), insideAllPages: allInside.length ? summarize(allInside) : null, authInside: authMs.length ? summarize(authMs) : null };
  });
  if (measured.error) return measured;

  // 4. The SQL itself, on a copy of the database (the server is stopped).
  try {
    measured.sql = await sqlAnalysis({ persistTo, app, setup, list, measured, log });
  } catch (err) {
    measured.sql = { error: String(err?.message ?? err) };
    log(`  SQL analysis failed: ${err?.message ?? err}`);
  }
  measured.totalSeconds = (now() - t0) / 1000;
  return measured;
}

async function sqlAnalysis({ persistTo, app, setup, list, measured, log }) {
  const { DatabaseSync } = await import("node:sqlite");
  const original = localD1File(persistTo);
  if (!original) return { error: "local D1 file not found" };
  // VACUUM INTO takes the write-ahead log along (a plain file copy would not).
  const copy = join(freshDir("listing-copy"), "copy.sqlite");
  const source = new DatabaseSync(original, { readOnly: true });
  try {
    source.exec(`VACUUM INTO '${copy.replace(/'/g, "''")}'`);
  } finally {
    source.close();
  }
  const db = new DatabaseSync(copy);
  const timeSql = ({ sql, binds }, n = 15) => {
    const stmt = db.prepare(sql);
    stmt.all(...binds);
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t = now();
      stmt.all(...binds);
      ms.push(now() - t);
    }
    return summarize(ms);
  };
  const plan = ({ sql, binds }) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...binds).map((r) => r.detail);
  try {
    const perCombo = {};
    for (const c of list) {
      if (c.walkOnly) continue;
      const q = routeSql(setup.campaignId, c.query);
      const matching = db.prepare(q.sql.replace("SELECT *", "SELECT count(*) AS n").replace(/ ORDER BY.*$/, "")).get(...q.binds.slice(0, -1)).n;
      perCombo[c.name] = { sqlMs: timeSql(q), matchingRows: matching, plan: plan(q) };
    }
    // Worth an index: over target as the client saw it and SQL alone takes a quarter of the budget.
    const over = measured.combos.filter((r) => !r.name.endsWith("cursor walk") && r.all.p95 > TARGET_P95_MS && perCombo[r.name].sqlMs.p95 > TARGET_P95_MS / 4);
    const out = { engine: `node:sqlite ${db.prepare("SELECT sqlite_version() AS v").get().v} on a copy of the local D1 file`, perCombo, slowSql: over.map((r) => r.name) };
    if (over.length === 0) return out;

    // The plans as D1 reports them, for the combinations over target (one wrangler call).
    const statements = over.map((r) => `EXPLAIN QUERY PLAN ${inline(routeSql(setup.campaignId, r.query))};`).join("\n");
    try {
      const res = await d1Execute(persistTo, { command: statements, json: true, config: app.config });
      out.d1Plans = Object.fromEntries(over.map((r, i) => [r.name, (res[i]?.results ?? []).map((x) => x.detail)]));
    } catch (err) {
      out.d1Plans = { error: String(err?.message ?? err).slice(0, 500) };
    }

    // Candidate indexes, one at a time, on the copy.
    out.candidates = [];
    for (const idx of CANDIDATE_INDEXES) {
      db.exec(idx.ddl);
      const effect = {};
      for (const r of over) {
        const q = routeSql(setup.campaignId, r.query);
        const p = plan(q);
        effect[r.name] = { sqlMs: timeSql(q), usesIndex: p.some((d) => d.includes(idx.name)), plan: p };
      }
      db.exec(`DROP INDEX ${idx.name}`);
      out.candidates.push({ index: idx.ddl, effect });
    }
    // All candidates together, on every combination (does one set fix everything, and break nothing?).
    for (const idx of CANDIDATE_INDEXES) db.exec(idx.ddl);
    out.allCandidates = {};
    for (const c of list) {
      if (c.walkOnly) continue;
      const q = routeSql(setup.campaignId, c.query);
      out.allCandidates[c.name] = { sqlMs: timeSql(q), plan: plan(q) };
    }
    // (The language filter as one index range, and the redundant created_at bound next to `to`,
    // were tried here on copies and are now the route's own SQL, mirrored in routeSql above.)
    for (const idx of CANDIDATE_INDEXES) db.exec(`DROP INDEX ${idx.name}`);

    // With statistics (ANALYZE, which `PRAGMA optimize` runs when it judges it useful; D1 supports
    // both), the planner can weigh a selective index against avoiding the sort.
    for (const idx of CANDIDATE_INDEXES) db.exec(idx.ddl);
    db.exec("ANALYZE");
    out.analyzed = {};
    for (const c of list) {
      if (c.walkOnly) continue;
      const q = routeSql(setup.campaignId, c.query);
      out.analyzed[c.name] = { sqlMs: timeSql(q), plan: plan(q) };
    }
    log(`  SQL analysis: ${over.length} combination(s) over ${TARGET_P95_MS} ms; plans and ${CANDIDATE_INDEXES.length} candidate indexes tried on a copy`);
    return out;
  } finally {
    db.close();
  }
}
