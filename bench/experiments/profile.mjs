// A CPU profile of the Worker's isolate (the Worker, its Durable Objects and its queue consumer)
// while participants answer, taken through wrangler dev's inspector; prints the functions with the
// most self time, grouped. Not part of `npm run bench`. Run it as
//
//   PATH=$PWD/node_modules/.bin:$PATH node bench/experiments/profile.mjs [--ref=HEAD] [--participants=40] [--top=45] [--think=1000]
import { mkdirSync, cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { api, questions } from "../lib/api.mjs";
import { Participant } from "../lib/participant.mjs";
import { RESULTS_DIR } from "../lib/paths.mjs";
import { insertInvitesDirect, insertOrgDirect, localD1File } from "../lib/seed.mjs";
import { applyMigrations, bundleApp, freshDir, killAll, removeTempDirs, startDev } from "../lib/server.mjs";
import { pool } from "../lib/stats.mjs";

const args = process.argv.slice(2);
const arg = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const participants = Number(arg("participants", 40));
const top = Number(arg("top", 45));
/** --think=1000: each participant answers about this long after each question (the bench's paced scenario). */
const thinkMs = Number(arg("think", 0));
/** --joins=300: profile that many POST /v1/join (concurrency 20) instead of answering. */
const joins = Number(arg("joins", 0));

/** A minimal DevTools protocol client. */
async function inspector(port) {
  let targets = [];
  for (let i = 0; i < 50 && targets.length === 0; i++) {
    targets = await fetch(`http://127.0.0.1:${port}/json`).then((r) => r.json()).catch(() => []);
    if (!targets.length) await new Promise((r) => setTimeout(r, 200));
  }
  if (!targets.length) throw new Error("no inspector target");
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let id = 0;
  const waiting = new Map();
  ws.on("message", (d) => {
    const m = JSON.parse(String(d));
    if (m.id && waiting.has(m.id)) (waiting.get(m.id)(m), waiting.delete(m.id));
  });
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { call, close: () => ws.close(), target: targets[0].title ?? targets[0].url };
}

process.on("exit", killAll);
try {
  const app = await bundleApp({ ref: arg("ref", undefined) });
  const persistTo = freshDir("profile-state");
  mkdirSync(persistTo, { recursive: true });
  await applyMigrations(persistTo, app.config);
  const file = localD1File(persistTo);
  const setup = await insertOrgDirect(file, { questions: questions(10, "none") });
  const tokens = await insertInvitesDirect(file, { ...setup, count: participants + 5 + Math.max(joins, participants) });
  const s = await startDev({ label: "profile", persistTo, config: app.config, vars: (base) => ({ OPERATOR_TOKEN: "bench-operator-token", AI_MODE: "local", PUBLIC_URL: base, RATE_LIMIT_JOIN_PER_MINUTE: "1000000" }) });
  try {
    // Joins and handshakes happen before the profiler starts: only answering is profiled.
    const prepare = (from, n) =>
      pool(n, 10, async (i) => {
        const joined = await api(s.base, "POST", "/v1/join", { body: { token: tokens[from + i] } });
        const p = new Participant(s.base, joined.json, { onAck: () => {}, sentAt: new Map(), thinkMs });
        await p.ready();
        return p;
      });
    const run = async (ps) => {
      await Promise.all(ps.map((p) => p.run()));
      ps.forEach((p) => p.ws.terminate());
    };
    await run(await prepare(participants, 5));
    const measured = joins ? null : await prepare(0, participants);
    const ins = await inspector(s.inspectorPort);
    await ins.call("Profiler.enable");
    await ins.call("Profiler.setSamplingInterval", { interval: 200 });
    await ins.call("Profiler.start");
    const t0 = performance.now();
    if (measured) await run(measured);
    else await pool(joins, 20, (i) => api(s.base, "POST", "/v1/join", { body: { token: tokens[participants + 5 + i] } }));
    await new Promise((r) => setTimeout(r, 3000)); // let the queue consumer finish
    const { result } = await ins.call("Profiler.stop");
    ins.close();
    const prof = result.profile;
    writeFileSync(join(RESULTS_DIR, "profile.cpuprofile"), JSON.stringify(prof));
    const dt = prof.timeDeltas;
    const self = new Map();
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const total = new Map();
    let sum = 0;
    prof.samples.forEach((id, i) => {
      const ms = (dt[i] ?? 0) / 1000;
      sum += ms;
      const n = byId.get(id);
      const f = n.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + ms);
      // inclusive time per function (counted once per sample)
      const seen = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur).callFrame;
        const k = `${cf.functionName || "(anonymous)"} ${cf.url.split("/").pop()}:${cf.lineNumber + 1}`;
        if (seen.has(k)) continue;
        seen.add(k);
        total.set(k, (total.get(k) ?? 0) + ms);
      }
    });
    const answers = joins || participants * 10; // operations: answers, or joins with --joins
    console.log(`profiled ${((performance.now() - t0) / 1000).toFixed(1)} s, ${answers} answers; sampled ${sum.toFixed(0)} ms (incl. idle)`);
    const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
    console.log(`busy in the isolate: ${(sum - idle).toFixed(0)} ms = ${((sum - idle) / answers).toFixed(2)} ms/answer\n`);
    console.log("SELF");
    for (const [k, v] of [...self].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${v.toFixed(0).padStart(7)} ms  ${(v / answers).toFixed(3)} ms/ans  ${k}`);
    console.log("\nINCLUSIVE");
    for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${v.toFixed(0).padStart(7)} ms  ${(v / answers).toFixed(3)} ms/ans  ${k}`);
  } finally {
    await s.stop();
  }
} finally {
  killAll();
  removeTempDirs();
}
