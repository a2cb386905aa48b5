// The printed report: one table of targets with PASS/FAIL, then the details behind each row.
import { TARGET_P95_MS } from "./listing.mjs";
import { printVoiceDetails, voiceVerdicts } from "./voice.mjs";

const f = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toFixed(d));
const lat = (s) => (s ? `${f(s.p50)} / ${f(s.p95)} / ${f(s.p99)}` : "—");

function table(rows, log) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join(" │ ");
  log(line(rows[0]));
  log(widths.map((w) => "─".repeat(w)).join("─┼─"));
  for (const r of rows.slice(1)) log(line(r));
}

/** Prints the report; returns the verdicts ({id, metric, value, target, result}) for the JSON. */
export function printReport(results, log) {
  const g = results.groups;
  const verdicts = [];
  const verdict = (id, metric, value, target, pass, note = "") => {
    const result = pass === null ? "NOT PROVEN" : pass ? "PASS" : "FAIL";
    verdicts.push({ id, metric, value, target, result, note });
  };
  const missing = (x) => !x || x.error;

  // 1. Answers vs echo.
  if (!missing(g.answers) && !missing(g.echo)) {
    const ratio = g.answers.ack.p99 / g.echo.rtt.p99;
    // Beside them, the floor for any ack given only once the answer is stored: the same echo,
    // storing one SQLite row per message before it answers.
    const w = missing(g.echoWrite) ? null : g.echoWrite;
    verdict("1a", "answer→ack p99 vs echo p99", `${f(g.answers.ack.p99)} ms vs ${f(g.echo.rtt.p99)} ms (${f(ratio, 1)}×)`, "≤ 2×", ratio <= 2, w ? `floor: an echo that stores one row per message has ack p99 ${f(w.rtt.p99)} ms (${f(w.rtt.p99 / g.echo.rtt.p99, 1)}× the echo's)` : "");
    const tput = g.answers.perSecond / g.echo.perSecond;
    verdict("1b", "answers/s vs echo messages/s", `${f(g.answers.perSecond)} vs ${f(g.echo.perSecond)} (${f(tput, 3)}×)`, "≥ 0.5×", tput >= 0.5, w ? `floor: an echo that stores one row per message makes ${f(w.perSecond)}/s (${f(w.perSecond / g.echo.perSecond, 3)}× the echo's)` : "");
  } else if (g.answers || g.echo) verdict("1", "answers vs echo", "group failed", "", false, g.answers?.error ?? g.echo?.error ?? "not run");
  // 1c. The same at a pace the machine is not saturated by (each client about once a second).
  if (!missing(g.pacedAnswers) && !missing(g.pacedEcho)) {
    const a = g.pacedAnswers;
    const e = g.pacedEcho;
    const ratio = a.ack.p99 / e.rtt.p99;
    const tput = a.perSecond / e.perSecond;
    verdict(
      "1c",
      `paced (~${e.thinkMs} ms think): ack p99 vs echo p99; rate vs echo`,
      `${f(a.ack.p99)} vs ${f(e.rtt.p99)} ms (${f(ratio, 1)}×); ${f(a.perSecond)} vs ${f(e.perSecond)}/s (${f(tput, 2)}×); watcher p99 ${f(a.watch.latency.p99)} ms`,
      "≤ 2×; ≥ 0.5×; ≤ 50 ms",
      ratio <= 2 && tput >= 0.5 && a.watch.latency.p99 <= 50,
      `server CPU per answer ${f(a.serverCpuMsPerAnswer?.total, 2)} ms vs ${f(e.serverCpuMsPerMessage?.total, 2)} ms per echo` +
        (missing(g.pacedEchoWrite) ? "" : `; floor: an echo that stores one row per message, same pace, has ack p99 ${f(g.pacedEchoWrite.rtt.p99)} ms (${f(g.pacedEchoWrite.rtt.p99 / e.rtt.p99, 1)}× the echo's)`),
    );
  } else if (g.pacedAnswers || g.pacedEcho) verdict("1c", "paced answers vs echo", "group failed", "", false, g.pacedAnswers?.error ?? g.pacedEcho?.error ?? "not run");
  // 2. Watchers.
  if (!missing(g.answers)) {
    const w = g.answers.watch;
    const complete = w.received === w.expected;
    verdict("2", "answer→watcher segment p99", `${f(w.latency.p99)} ms (${w.received}/${w.expected} segments)`, "≤ 50 ms", w.latency.p99 <= 50 && complete, complete ? "" : "segments missing");
  }
  // 3. Joins vs new objects.
  if (!missing(g.joins) && !missing(g.newobj)) {
    const ratio = g.joins.perSecond / g.newobj.perSecond;
    // Beside it, the floor for creating anything durable: a new object that stores one row.
    const stored = missing(g.newobjWrite) ? "" : `a new object storing one row: ${f(g.newobjWrite.perSecond)}/s (${f(g.newobjWrite.perSecond / g.newobj.perSecond, 2)}× a bare one; joins ${f(g.joins.perSecond / g.newobjWrite.perSecond, 2)}× it)`;
    verdict("3", "joins/s vs new objects/s (concurrency 20)", `${f(g.joins.perSecond)} vs ${f(g.newobj.perSecond)} (${f(ratio, 2)}×)`, "≥ 0.5×", ratio >= 0.5, stored);
  } else if (g.joins || g.newobj) verdict("3", "joins vs new objects", "group failed", "", false, g.joins?.error ?? g.newobj?.error ?? "not run");
  // 4. Listing. Client round trips are an upper bound for the time inside the Worker. Two
  // contention-proof lower views: the SQL alone (SQLite on a copy of the file) and the Worker's own
  // CPU per page (workerd CPU per page minus the same run's /healthz CPU per request, which is the
  // local runtime's fixed cost per HTTP request; a mean, not a percentile).
  if (!missing(g.listing)) {
    const L = g.listing;
    const floorCpu = Object.values(L.reference)[0]?.serverCpuMsPerRequest?.workerd ?? 0;
    const ownCpu = (c) => (c.serverCpuMsPerPage?.workerd ?? 0) - floorCpu;
    const worst = L.combos.reduce((a, b) => (b.all.p95 > a.all.p95 ? b : a));
    const sqlWorst = Object.entries(L.sql?.perCombo ?? {}).reduce((a, [name, v]) => (v.sqlMs.p95 > (a?.p95 ?? -1) ? { name, p95: v.sqlMs.p95 } : a), null);
    const cpuWorst = L.combos.reduce((a, b) => (ownCpu(b) > ownCpu(a) ? b : a));
    const upperOk = worst.all.p95 <= TARGET_P95_MS;
    const lowerFail = (sqlWorst?.p95 ?? 0) > TARGET_P95_MS || ownCpu(cpuWorst) > TARGET_P95_MS;
    // The Worker's own time per page (Server-Timing), when it reports it: the target's measure.
    const timed = L.combos.filter((c) => c.inside);
    const insideWorst = timed.length === L.combos.length ? timed.reduce((a, b) => (b.inside.p95 > a.inside.p95 ? b : a)) : null;
    verdict(
      "4",
      `list page p95, ${L.sessions.toLocaleString("en")} sessions (worst filter)`,
      `${insideWorst ? `inside the Worker ${f(insideWorst.inside.p95)} ms [${insideWorst.name}]${L.insideAllPages ? ` (all ${L.insideAllPages.n} pages pooled: ${f(L.insideAllPages.p95)} ms)` : ""}; ` : ""}client ≤ ${f(worst.all.p95)} ms [${worst.name}]; SQL alone ${f(sqlWorst?.p95)} ms [${sqlWorst?.name ?? "—"}]; Worker CPU ≈ ${f(ownCpu(cpuWorst))} ms/page [${cpuWorst.name}]`,
      `p95 ≤ ${TARGET_P95_MS} ms inside the Worker`,
      insideWorst ? insideWorst.inside.p95 <= TARGET_P95_MS : upperOk ? true : lowerFail ? false : null,
      insideWorst
        ? "judged on the Worker's Server-Timing (request in to response out, every filter's pages); the client round trip adds local dev's HTTP handling (see /healthz)"
        : upperOk
          ? "the upper bound (client round trip) passes"
          : lowerFail
            ? "the SQL alone, or the Worker's own CPU alone, is over the budget for at least one filter"
            : "client round trips (the upper bound) are over, but the SQL and the Worker's own CPU are under: not proven either way on this machine",
    );
  } else if (g.listing) verdict("4", "listing", "group failed", "", false, g.listing.error);
  if (!missing(g.policy)) {
    const p = g.policy;
    verdict(
      "5",
      "policy check + audit append, added median",
      `${f(p.medianAddedMs, 2)} ms (with ${f(p.with.p50, 2)} / bypassed ${f(p.bypass.p50, 2)} ms p50, ${p.requests} pairs; ${p.auditRowsSeen} audit rows seen)`,
      "≤ 1 ms",
      p.pass,
      p.cpuPerRequest ? `server CPU per request with ${f(p.cpuPerRequest.with, 2)} / bypassed ${f(p.cpuPerRequest.bypass, 2)} ms: ${f(p.cpuAddedMs, 2)} ms added, audit appends included` : "",
    );
  } else if (g.policy) verdict("5", "policy + audit", "group failed", "", false, g.policy.error);

  voiceVerdicts(g.voice, verdict);

  log("\n══════════════════════════════════════ InterviewRelay bench ══════════════════════════════════════");
  log(`product: ${results.source ?? "—"}; baseline: bench/baseline (bare Worker + Durable Object), same run`);
  log(`machine: ${results.machine.cpus} CPUs, load average at start ${f(results.machine.loadAvg1mAtStart, 2)}; ${results.machine.quick ? "QUICK sizes (not the reference run)" : "full sizes"}; wrangler's local trace collector ${results.machine.localTraces ? "ON (--local-traces)" : "off (X_LOCAL_OBSERVABILITY=false, product and baseline alike)"}; runtime ${f(results.runtimeSeconds, 0)} s`);
  log("");
  table([["#", "target", "measured", "wanted", "result"], ...verdicts.map((v) => [v.id, v.metric, v.value, v.target, v.result])], log);
  for (const v of verdicts.filter((x) => x.note)) log(`  ${v.id}: ${v.note}`);

  log("\nDetails (latencies p50 / p95 / p99 in ms; server CPU = user+system of wrangler's process group per operation)");
  const rows = [["group", "ops", "per second", "latency p50/p95/p99", "server CPU ms/op", "load at start"]];
  const cpuOf = (c) => (c ? `${f(c.workerd ?? c.total, 2)} workerd, ${f(c.total, 2)} all` : "—");
  if (!missing(g.echo)) rows.push([`baseline echo (${g.echo.clients} clients)`, g.echo.messages, f(g.echo.perSecond), lat(g.echo.rtt), cpuOf(g.echo.serverCpuMsPerMessage), f(g.echo.loadAvg1mAtStart, 2)]);
  if (!missing(g.echoWrite)) rows.push([`baseline echo + 1 SQLite write (info)`, g.echoWrite.messages, f(g.echoWrite.perSecond), lat(g.echoWrite.rtt), cpuOf(g.echoWrite.serverCpuMsPerMessage), f(g.echoWrite.loadAvg1mAtStart, 2)]);
  if (!missing(g.pacedEcho)) rows.push([`baseline echo, paced (${g.pacedEcho.clients} clients)`, g.pacedEcho.messages, f(g.pacedEcho.perSecond), lat(g.pacedEcho.rtt), cpuOf(g.pacedEcho.serverCpuMsPerMessage), f(g.pacedEcho.loadAvg1mAtStart, 2)]);
  if (!missing(g.pacedEchoWrite)) rows.push([`baseline echo + 1 SQLite write, paced (info)`, g.pacedEchoWrite.messages, f(g.pacedEchoWrite.perSecond), lat(g.pacedEchoWrite.rtt), cpuOf(g.pacedEchoWrite.serverCpuMsPerMessage), f(g.pacedEchoWrite.loadAvg1mAtStart, 2)]);
  if (!missing(g.answers)) {
    const a = g.answers;
    rows.push([`answers (${a.participants} participants) →ack`, a.answers, f(a.perSecond), lat(a.ack), cpuOf(a.serverCpuMsPerAnswer), f(a.loadAvg1mAtStart, 2)]);
    rows.push([`  →session watcher (${a.watch.sessionsWatched} sessions)`, `${a.watch.received}/${a.watch.expected}`, "", lat(a.watch.latency), "", ""]);
    rows.push([`  →campaign watcher (info)`, `${a.watch.campaign.received}/${a.watch.campaign.expected}`, "", lat(a.watch.campaign.latency), "", ""]);
  }
  if (!missing(g.newobj)) rows.push([`baseline new object (conc ${g.newobj.concurrency})`, g.newobj.created, f(g.newobj.perSecond), lat(g.newobj.latency), cpuOf(g.newobj.serverCpuMsPerCreate), f(g.newobj.loadAvg1mAtStart, 2)]);
  if (!missing(g.newobjWrite)) rows.push([`baseline new object + 1 SQLite row (info)`, g.newobjWrite.created, f(g.newobjWrite.perSecond), lat(g.newobjWrite.latency), cpuOf(g.newobjWrite.serverCpuMsPerCreate), f(g.newobjWrite.loadAvg1mAtStart, 2)]);
  if (!missing(g.joins)) rows.push([`POST /v1/join (conc ${g.joins.concurrency})`, g.joins.joins, f(g.joins.perSecond), lat(g.joins.latency), cpuOf(g.joins.serverCpuMsPerJoin), f(g.joins.loadAvg1mAtStart, 2)]);
  if (rows.length > 1) table(rows, log);
  if (!missing(g.answers)) {
    const a = g.answers;
    log(`answers: throughput over ${f(a.steadySeconds)} s with all ${a.participants} participants busy (${f(a.overallPerSecond)}/s over the whole ${f(a.seconds)} s); ${a.sessions} sessions, ${a.completedSessions} completed; ${a.errorCount} error frames${a.errorCount ? ` (${a.errors.slice(0, 3).join("; ")})` : ""}; D1 index counted every answer ${f(a.mirror.catchUpSecondsAfterRun, 1)} s after the run (${a.mirror.answersInIndex}/${a.mirror.expected})`);
  }
  if (!missing(g.listing)) {
    const L = g.listing;
    log(`\nListing: ${L.sessions.toLocaleString("en")} sessions seeded by ${L.seedMethod} in ${f(L.seedSeconds)} s; Server-Timing header: ${L.serverTiming ?? "absent"}`);
    if (L.authInside) log(`  of the time inside the Worker, authentication (API key lookup) took ${lat(L.authInside)} ms (p50/p95/p99, every page)`);
    for (const [name, s] of Object.entries(L.reference)) log(`  reference ${name}: client ${lat(s)} ms; workerd CPU ${f(s.serverCpuMsPerRequest?.workerd, 2)} ms/request`);
    const floorCpu = Object.values(L.reference)[0]?.serverCpuMsPerRequest?.workerd ?? 0;
    const lr = [["filter", "rows/page", "inside Worker p50/p95/p99", "client p50/p95/p99 (all pages)", "cursor walk p95", "Worker CPU ms/page*", "SQL p50/p95", "matching", "plan"]];
    for (const c of L.combos) {
      const sql = L.sql?.perCombo?.[c.name];
      lr.push([
        c.name,
        c.walkOnly ? "50" : c.rowsOnFirstPage,
        lat(c.inside),
        lat(c.all),
        c.cursorWalk ? `${f(c.cursorWalk.p95)} (${c.cursorWalk.pages} pages)` : "—",
        f((c.serverCpuMsPerPage?.workerd ?? NaN) - floorCpu, 1),
        sql ? `${f(sql.sqlMs.p50, 2)} / ${f(sql.sqlMs.p95, 2)}` : "—",
        sql?.matchingRows ?? "—",
        sql ? sql.plan.join("; ").replace(/^SEARCH sessions USING /, "").slice(0, 70) : "",
      ]);
    }
    table(lr, log);
    log(`  * workerd CPU per page minus /healthz's ${f(floorCpu, 2)} ms per request (the local runtime's fixed cost per HTTP request)`);
    if (L.sql?.candidates) {
      log(`\nCandidate indexes on a copy (SQL p50/p95 ms for the filters whose SQL alone is over ${TARGET_P95_MS / 4} ms):`);
      const names = Object.keys(L.sql.candidates[0].effect);
      const cr = [["index", ...names]];
      for (const c of L.sql.candidates) cr.push([c.index.replace(/^CREATE INDEX \S+ ON /, ""), ...names.map((n) => `${f(c.effect[n].sqlMs.p50, 2)} / ${f(c.effect[n].sqlMs.p95, 2)}${c.effect[n].usesIndex ? " ✓" : ""}`)]);
      cr.push(["(as measured, no new index)", ...names.map((n) => `${f(L.sql.perCombo[n].sqlMs.p50, 2)} / ${f(L.sql.perCombo[n].sqlMs.p95, 2)}`)]);
      cr.push(["all four together", ...names.map((n) => `${f(L.sql.allCandidates[n].sqlMs.p50, 2)} / ${f(L.sql.allCandidates[n].sqlMs.p95, 2)}`)]);
      table(cr, log);
      log("  ✓ = the plan uses that index. D1's own plans for these filters (wrangler d1 execute):");
      for (const [n, p] of Object.entries(L.sql.d1Plans ?? {})) log(`    ${n}: ${Array.isArray(p) ? p.join("; ") : p}`);
      if (L.sql.analyzed) {
        log("  all four candidate indexes + ANALYZE (statistics), every filter: SQL p50/p95 ms, index chosen:");
        for (const [n, e] of Object.entries(L.sql.analyzed)) log(`    ${n.padEnd(48)} ${f(L.sql.perCombo[n].sqlMs.p50, 2)} / ${f(L.sql.perCombo[n].sqlMs.p95, 2)} → ${f(e.sqlMs.p50, 2)} / ${f(e.sqlMs.p95, 2)}   ${e.plan.join("; ").replace(/^SEARCH sessions USING /, "")}`);
      }
    }
  }
  printVoiceDetails(g.voice, log, f);
  const failed = Object.entries(g).filter(([, v]) => v?.error);
  for (const [name, v] of failed) log(`\n✗ group ${name} failed: ${v.error}`);
  return verdicts;
}
