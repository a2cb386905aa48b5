// Group "analytics": (1) GET /v1/campaigns/{id}/analytics over a campaign of 10,000 finished
// sessions, answered from the incrementally kept aggregates (target p95 ≤ 100 ms); (2) how soon a
// session's analytics are ready after it ends, with the local AI providers (target ≤ 5 s).
//
// Seeding, into a freshly migrated local D1 file with no server running: an org, its key and a
// campaign of 10 questions (seed.mjs), 10,000 session index rows (seed.mjs), and the campaign's
// aggregates folded from exactly those rows the way the queue consumer folds a finished session
// (src/db/analytics.ts foldSession: totals, per-second durations, funnel) plus per-question
// sentiment and themes. Then real interviews run over the participant socket on the same campaign
// (their answers reach the response patterns too), and the campaign view is timed afterwards.
import { cpSync } from "node:fs";
import { api, questions } from "./api.mjs";
import { insertInvitesDirect, insertOrgDirect, insertSessionsDirect, localD1File, rng } from "./seed.mjs";
import { freshDir, startDev } from "./server.mjs";
import { now, perOp, sleep, summarize } from "./stats.mjs";
import { openSocket, wsUrl } from "./wsutil.mjs";

export const CAMPAIGN_TARGET_P95_MS = 100;
export const READY_TARGET_MS = 5000;
const QUESTIONS = 10;
const THEMES = ["pricing", "usability", "performance", "reliability", "support", "onboarding", "features", "collaboration", "trust"];
const ANSWERS = [
  "The price went up again and the plan costs too much for a small team like ours.",
  "Setup was quick and the interface is simple, I found everything without help.",
  "Reports load slowly in the afternoon and the dashboard feels laggy on big campaigns.",
  "Support answered within minutes and fixed the export bug the same day, very helpful.",
  "We share results with clients every Friday and the whole team works in it together.",
  "I worry a little about where the data is stored and who can see the recordings.",
];

/** The campaign's aggregates from its seeded session rows, as foldSession + foldAnswers would have written them. */
async function foldSeeded(sqliteFile, { orgId, campaignId }) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(sqliteFile);
  const r = rng(7);
  try {
    const rows = db.prepare("SELECT status, duration, questions_answered, last_question_index FROM sessions WHERE campaign_id = ? AND status IN ('completed', 'abandoned')").all(campaignId);
    const q = Array.from({ length: QUESTIONS }, () => ({ reached: 0, answered: 0, dropped: 0, positive: 0, neutral: 0, negative: 0 }));
    const buckets = new Map();
    const themes = new Map();
    let completed = 0;
    let durationSum = 0;
    for (const s of rows) {
      if (s.status === "completed") completed++;
      durationSum += s.duration;
      buckets.set(s.duration, (buckets.get(s.duration) ?? 0) + 1);
      const answered = Math.min(QUESTIONS, s.questions_answered);
      const lastReached = s.status === "completed" ? answered - 1 : Math.min(QUESTIONS - 1, Math.max(answered, s.last_question_index ?? 0));
      for (let i = 0; i <= lastReached; i++) q[i].reached++;
      for (let i = 0; i < answered; i++) {
        q[i].answered++;
        const x = r();
        q[i][x < 0.45 ? "positive" : x < 0.8 ? "neutral" : "negative"]++;
        if (r() < 0.6) {
          const t = THEMES[Math.floor(r() * r() * THEMES.length)];
          themes.set(t, (themes.get(t) ?? 0) + 1);
        }
      }
      if (s.status === "abandoned" && answered <= lastReached) q[lastReached].dropped++;
    }
    db.exec("BEGIN");
    db.prepare("INSERT INTO campaign_stats (campaign_id, org_id, total, completed, abandoned, duration_sum, duration_count) VALUES (?, ?, ?, ?, ?, ?, ?)").run(campaignId, orgId, rows.length, completed, rows.length - completed, durationSum, rows.length);
    const bucket = db.prepare("INSERT INTO campaign_duration_buckets (campaign_id, bucket, count) VALUES (?, ?, ?)");
    for (const [b, n] of buckets) bucket.run(campaignId, b, n);
    const qs = db.prepare("INSERT INTO campaign_question_stats (campaign_id, question_index, reached, answered, dropped, positive, neutral, negative) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q.forEach((x, i) => qs.run(campaignId, i, x.reached, x.answered, x.dropped, x.positive, x.neutral, x.negative));
    const th = db.prepare("INSERT INTO campaign_theme_stats (campaign_id, question_index, theme, count, examples) VALUES (?, -1, ?, ?, ?)");
    for (const [t, n] of themes) th.run(campaignId, t, n, JSON.stringify(ANSWERS.slice(0, 3)));
    db.exec("COMMIT");
    return { sessions: rows.length, durationBuckets: buckets.size, themes: themes.size };
  } finally {
    db.close();
  }
}

/** One interview over the participant socket, all questions answered; returns the session id and when `ended` arrived. */
async function interview(base, token, n) {
  const j = await api(base, "POST", "/v1/join", { body: { token } });
  if (j.status !== 201) throw new Error(`join: ${j.status} ${j.text.slice(0, 300)}`);
  const frames = [];
  let wake = () => {};
  const ws = await openSocket(wsUrl(base, `/v1/sessions/${j.json.sessionId}/connect?token=${encodeURIComponent(j.json.participantToken)}`), {
    onMessage: (d) => {
      frames.push(JSON.parse(d.toString()));
      wake();
    },
  });
  const next = async (pred, what) => {
    const deadline = Date.now() + 20_000;
    for (let seen = 0; ; ) {
      for (; seen < frames.length; seen++) if (pred(frames[seen])) return frames[seen];
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => ((wake = r), setTimeout(r, 200)));
    }
  };
  try {
    ws.send(JSON.stringify({ type: "hello" }));
    ws.send(JSON.stringify({ type: "consent", granted: true }));
    ws.send(JSON.stringify({ type: "start" }));
    for (let i = 0; i < QUESTIONS; i++) {
      await next((f) => f.type === "question" && f.index === i && !f.followUp, `question ${i}`);
      ws.send(JSON.stringify({ type: "answer", id: `a${i}`, text: ANSWERS[(i + n) % ANSWERS.length] }));
      await next((f) => f.type === "ack" && f.id === `a${i}`, `ack ${i}`);
    }
    await next((f) => f.type === "ended", "ended");
    return { sessionId: j.json.sessionId, endedAt: now() };
  } finally {
    ws.terminate();
  }
}

export async function analyticsBench({ sessions = 10_000, interviews = 8, requests = 200, app, appVars, log, group, migrated }) {
  const persistTo = freshDir("analytics");
  cpSync(migrated, persistTo, { recursive: true });
  const file = localD1File(persistTo);
  if (!file) throw new Error("the local D1 file was not found under the persist dir: the analytics group seeds it directly");
  const seedStarted = now();
  const setup = await insertOrgDirect(file, { questions: questions(QUESTIONS) });
  await insertSessionsDirect(file, { orgId: setup.orgId, campaignId: setup.campaignId, count: Math.round(sessions / 0.82), now: Date.now() });
  const folded = await foldSeeded(file, setup);
  const tokens = await insertInvitesDirect(file, { orgId: setup.orgId, campaignId: setup.campaignId, count: interviews + 2 });
  log(`  seeded ${folded.sessions} finished sessions (of ${Math.round(sessions / 0.82)} rows) and their aggregates (${folded.durationBuckets} duration buckets) in ${((now() - seedStarted) / 1000).toFixed(1)} s`);

  const result = await group("product: campaign analytics from aggregates; session analytics after the end", () => startDev({ label: "analytics", persistTo, config: app.config, vars: appVars }), async (s, cpu) => {
    const get = (p) => api(s.base, "GET", p, { token: setup.key });
    // (2) Sessions ending one after another: from `ended` to the session's analytics complete
    // (every answer analysed) and the session folded into the campaign's totals.
    const ready = [];
    const breakdown = [];
    for (let n = 0; n < interviews; n++) {
      const { sessionId, endedAt } = await interview(s.base, tokens[n], n);
      let answersAt = null;
      for (;;) {
        const a = await get(`/v1/sessions/${sessionId}/analytics`);
        if (answersAt === null && a.status === 200 && a.json.analysed && a.json.answers.length === QUESTIONS && a.json.sentiment.overall) answersAt = now();
        if (answersAt !== null) {
          const c = await get(`/v1/campaigns/${setup.campaignId}/analytics`);
          if (c.json?.sessions?.total === folded.sessions + n + 1) break;
        }
        if (now() - endedAt > 30_000) throw new Error(`session ${sessionId}: analytics not ready 30 s after it ended`);
        await sleep(25);
      }
      const doneAt = now();
      ready.push(doneAt - endedAt);
      breakdown.push({ answersMs: Math.round(answersAt - endedAt), foldedMs: Math.round(doneAt - endedAt) });
    }
    const readyStats = summarize(ready);
    log(`  session analytics ready after the end (${interviews} sessions of ${QUESTIONS} answers): p50 ${readyStats.p50.toFixed(0)} ms, max ${readyStats.max.toFixed(0)} ms  (target ≤ ${READY_TARGET_MS} ms)`);

    // (1) The campaign view over 10,000 finished sessions (plus the interviews above).
    const path = `/v1/campaigns/${setup.campaignId}/analytics`;
    const first = await get(path);
    if (first.status !== 200) throw new Error(`${path}: ${first.status} ${first.text.slice(0, 300)}`);
    const a = first.json;
    const histogramTotal = a.duration.histogram.reduce((n, b) => n + b.count, 0);
    if (a.sessions.total !== folded.sessions + interviews || histogramTotal !== a.sessions.total) throw new Error(`unexpected totals: ${a.sessions.total} sessions, ${histogramTotal} in the histogram`);
    for (let i = 0; i < 20; i++) await get(path);
    const ms = [];
    const cpuBefore = cpu();
    for (let i = 0; i < requests; i++) ms.push((await get(path)).ms);
    const cpuUsed = cpu(cpuBefore);
    const campaignStats = summarize(ms);
    const hz = [];
    for (let i = 0; i < 50; i++) hz.push((await api(s.base, "GET", "/healthz")).ms);
    // A reference on the same server: auth, the campaign row and its script (no analytics).
    const plain = [];
    for (let i = 0; i < 50; i++) plain.push((await get(`/v1/campaigns/${setup.campaignId}`)).ms);
    const plainStats = summarize(plain);
    log(`  GET /v1/campaigns/{id}/analytics over ${a.sessions.total.toLocaleString("en")} sessions: p50 ${campaignStats.p50.toFixed(1)} / p95 ${campaignStats.p95.toFixed(1)} / p99 ${campaignStats.p99.toFixed(1)} ms (target p95 ≤ ${CAMPAIGN_TARGET_P95_MS} ms)`);
    log(`  reference on the same server: GET /healthz p50 ${summarize(hz).p50.toFixed(1)} ms; GET /v1/campaigns/{id} (auth + 2 D1 reads) p50 ${plainStats.p50.toFixed(1)} / p95 ${plainStats.p95.toFixed(1)} ms`);
    log(`  patterns in the answer: ${a.responsePatterns.reduce((n, p) => n + p.clusters.length, 0)} clusters over ${QUESTIONS} questions; ${a.duration.histogram.length} histogram bars; median ${a.duration.median} s`);

    // Informational: a custom report over the same sessions (scans the session index).
    const report = [];
    for (let i = 0; i < 10; i++) report.push((await api(s.base, "POST", "/v1/reports", { token: setup.key, body: { campaignIds: [setup.campaignId], metrics: ["sessions", "completed", "meanDuration"], groupBy: "date" } })).ms);
    const reportStats = summarize(report);
    log(`  POST /v1/reports by date over the same campaign (a scan, informational): p50 ${reportStats.p50.toFixed(1)} ms`);

    const verdicts = [
      { metric: `campaign analytics p95, ${a.sessions.total.toLocaleString("en")} sessions`, value: `${campaignStats.p95.toFixed(1)} ms`, target: `≤ ${CAMPAIGN_TARGET_P95_MS} ms`, result: campaignStats.p95 <= CAMPAIGN_TARGET_P95_MS ? "PASS" : "FAIL" },
      { metric: "session analytics ready after the end (max)", value: `${readyStats.max.toFixed(0)} ms`, target: `≤ ${READY_TARGET_MS} ms`, result: readyStats.max <= READY_TARGET_MS ? "PASS" : "FAIL" },
    ];
    for (const v of verdicts) log(`  ${v.result}  ${v.metric}: ${v.value} (target ${v.target})`);
    return {
      sessions: a.sessions.total,
      campaign: { ...campaignStats, serverCpuMsPerRequest: cpuUsed ? perOp(cpuUsed, requests) : null },
      healthz: summarize(hz),
      campaignRead: plainStats,
      ready: { ...readyStats, perSession: breakdown },
      report: reportStats,
      verdicts,
    };
  });
  // Contention-proof lower view, with the server stopped: the route's four D1 reads, run directly in
  // SQLite on the same file (what the aggregates cost, without HTTP, auth, audit and the runtime).
  if (!result.error) {
    result.sqlAlone = await timeAggregateReads(file, setup.campaignId);
    log(`  the route's D1 reads alone (node:sqlite on the same file, ${result.sqlAlone.n} runs): p50 ${result.sqlAlone.p50} / p95 ${result.sqlAlone.p95} ms`);
  }
  return result;
}

async function timeAggregateReads(sqliteFile, campaignId) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(sqliteFile, { readOnly: true });
  try {
    // The same statements as src/db/analytics.ts campaignAnalytics.
    const stmts = [
      db.prepare("SELECT * FROM campaign_stats WHERE campaign_id = ?"),
      db.prepare("SELECT bucket, count FROM campaign_duration_buckets WHERE campaign_id = ? ORDER BY bucket"),
      db.prepare("SELECT * FROM campaign_question_stats WHERE campaign_id = ? ORDER BY question_index"),
      db.prepare("SELECT question_index, theme, count, examples FROM campaign_theme_stats WHERE campaign_id = ? AND question_index = -1 ORDER BY count DESC, theme LIMIT 10"),
    ];
    const ms = [];
    for (let i = 0; i < 220; i++) {
      const t = now();
      for (const st of stmts) st.all(campaignId);
      if (i >= 20) ms.push(now() - t);
    }
    return summarize(ms);
  } finally {
    db.close();
  }
}
