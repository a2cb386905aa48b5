// Where an answer's cost goes: the answers benchmark against patched copies of the product's bundle,
// each with one per-answer side effect switched off. Never touches src/: the patches apply to a
// bundled copy in a temp dir. Not part of `npm run bench` (about 4 minutes); run it as
//
//   PATH=$PWD/node_modules/.bin:$PATH node bench/experiments/answer-cost.mjs [--ref=HEAD] [--participants=40] [--think=1000] [--joins=600]
//
// --think paces the participants (about one answer per second each, as the bench's paced group);
// --joins times that many POST /v1/join at concurrency 20 instead of answering. CPU is read 3 s
// after the last ack or join, so the queue consumer's trailing work counts.
//
// Variants (strings in the bundle; a variant whose string is gone from the code fails loudly):
//   none      the product as is
//   nohub     no RPC to the campaign's CampaignLive object (publish() still sends to session watchers)
//   nomirror  no D1 upsert of the session index row after each transition
//   noqueue   outbox messages are dropped instead of sent (no answer analysis, no webhooks: the
//             queue consumer's share of an answer's cost)
//   nozod     client frames are JSON.parse'd but not validated with zod
//   noobs     wrangler.toml without [observability] (the baseline Worker has none; the local trace
//             collector does not depend on it, see X_LOCAL_OBSERVABILITY)
//   nolimit   join without its rate-limiter call (for --joins)
//   nodeadline no alarm reads or writes
//   nopatterns the consumer's batched analyses skip the response patterns (embedding + the hub's centroid update)
//   nofolds   the consumer's batched analyses skip their D1 transaction (analysis rows, aggregates, idempotency marks)
//   batch10, batch20, batch50  the AI queue's consumer takes batches of at most that many
//   slow10    the mirror's progress writes and answer analyses coalesced over 10 s instead of 2 s
//   noended   the consumer skips session.ended (the session's overall sentiment and the campaign's fold)
//   queue5, queue10  answer analyses coalesced over 5 s or 10 s (the mirror's progress writes still 2 s)
//   seqctx    the consumer reads a batch's answers from their sessions one session at a time
//   noanalyze batched answer analyses are acknowledged undone (no session reads, analysis, D1 or patterns)
//   nosettle  the settle timer never commits (a flush's successes wait for the next transition)
//   mirror10  only the mirror's progress writes coalesced over 10 s (analyses still 2 s)
// --questions=N: answers per participant (default 10; 40 gives steadier figures).
// --strace: for 3 s of each measured run, count workerd's fsync/fdatasync calls per answer, by file
// (needs strace and ptrace rights over your own processes).
// --variants=none,nozod,... picks and orders them (default below).
// wrangler's local trace collector is off unless X_LOCAL_OBSERVABILITY=true (bench/lib/server.mjs).
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { api, questions } from "../lib/api.mjs";
import { Participant } from "../lib/participant.mjs";
import { insertInvitesDirect, insertOrgDirect, localD1File } from "../lib/seed.mjs";
import { applyMigrations, bundleApp, cpuDelta, freshDir, groupCpuMs, groupProcesses, killAll, localTraces, removeTempDirs, startDev } from "../lib/server.mjs";
import { perOp, pool, summarize } from "../lib/stats.mjs";

const PATCHES = {
  nozod: [["const parsed = ClientFrame.safeParse(data);", "const parsed = { success: true, data };"]],
  nohub: [["hub.stub.publishMany(bodies, views).then(", "Promise.resolve({ watchers: 1, epoch: 0 }).then("]],
  nomirror: [["mark && this.mirrorWriter.write(", "mark && (async () => {})("]],
  noqueue: [["due.length > 0 && this.queue().sendBatch(", "due.length > 0 && (async () => {})("]],
  nolimit: [['rateLimit(c, "join"),', "Promise.resolve(),"]],
  slow10: [["var MIRROR_COALESCE_MS = 2e3;", "var MIRROR_COALESCE_MS = 1e4;"]],
  noended: [["const r = await env.SESSION.get(env.SESSION.idFromName(m.sessionId)).transcript();", "return;"]],
  mirror10: [["var MIRROR_COALESCE_MS = 2e3;", "var MIRROR_COALESCE_MS = 1e4;"], ["var QUEUE_COALESCE_MS = MIRROR_COALESCE_MS;", "var QUEUE_COALESCE_MS = 2e3;"]],
  nopatterns: [["await foldPatterns(env, prepared);", "void prepared;"]],
  nofolds: [["await env.DB.batch(stmts);", "void stmts;"]],
  queue5: [["var QUEUE_COALESCE_MS = MIRROR_COALESCE_MS;", "var QUEUE_COALESCE_MS = 5e3;"]],
  queue10: [["var QUEUE_COALESCE_MS = MIRROR_COALESCE_MS;", "var QUEUE_COALESCE_MS = 1e4;"]],
  seqctx: [
    ["  await Promise.all(\n    [...bySession].map(async ([sessionId, answerIds]) => {\n      const r = await stub(env, sessionId).answerContexts(answerIds);", "  for (const [sessionId, answerIds] of bySession) await (async () => {\n      const r = await stub(env, sessionId).answerContexts(answerIds);"],
    ["    })\n  );\n  return Promise.all(items.map(", "    })();\n  return Promise.all(items.map("],
  ],
  noanalyze: [["  const prepared = await prepareAnalyses(env, items);", "  return true;"]],
  nosettle: [["      this.store.settle();", "      void 0;"]],
  nodeadline: [["const stored = await this.ctx.storage.getAlarm();", "const stored = null;"], ["await this.ctx.storage.setAlarm(at);", "void at;"]],
};
const args = process.argv.slice(2);
const VARIANTS = args.find((a) => a.startsWith("--variants="))?.slice(11).split(",") ?? ["none", "noqueue", "nohub", "nomirror", "noqueue+nohub+nomirror", "none"];
const ref = args.find((a) => a.startsWith("--ref="))?.slice(6);
const participants = Number(args.find((a) => a.startsWith("--participants="))?.slice(15) ?? 40);
/** --think=1000: each participant answers about this long after each question (the bench's paced scenario). */
const thinkMs = Number(args.find((a) => a.startsWith("--think="))?.slice(8) ?? 0);
/** --joins=600: time that many POST /v1/join at concurrency 20 per variant instead of answering. */
/** --timeline: ack latency per second of the run. */
const timeline = args.includes("--timeline");
/** --stalls: the slowest 2% of acks by send time (a stall of the shared thread shows as a cluster). */
const stalls = args.includes("--stalls");
const straceOn = args.includes("--strace");
/** --questions=30: answers per participant (longer runs, steadier figures). */
const questionCount = Number(args.find((a) => a.startsWith("--questions="))?.slice(12) ?? 10);
const joins = Number(args.find((a) => a.startsWith("--joins="))?.slice(8) ?? 0);
const vars = (base) => ({ OPERATOR_TOKEN: "bench-operator-token", AI_MODE: "local", PUBLIC_URL: base, RATE_LIMIT_JOIN_PER_MINUTE: "1000000" });

process.on("exit", killAll);
try {
  const app = await bundleApp({ ref });
  const migrated = freshDir("migrated");
  await applyMigrations(migrated, app.config);
  const code = readFileSync(join(app.dir, "index.js"), "utf8");
  console.log(`product: ${app.source}; ${participants} participants × ${questionCount} answers per variant; wrangler's local trace collector ${localTraces() ? "on" : "off"} (X_LOCAL_OBSERVABILITY)\n`);
  for (const variant of VARIANTS) {
    const dir = freshDir(`ab-${variant}`);
    cpSync(app.dir, dir, { recursive: true });
    let patched = code;
    for (const name of variant.split("+")) {
      for (const [from, to] of PATCHES[name] ?? []) {
        if (!patched.includes(from)) throw new Error(`variant ${name}: "${from}" is not in the bundle any more`);
        patched = patched.split(from).join(to);
      }
    }
    writeFileSync(join(dir, "index.js"), patched);
    let toml = readFileSync(app.config, "utf8");
    if (variant.split("+").includes("noobs")) toml = toml.replace(/^\[observability\][^[]*/m, "");
    for (const size of [10, 20, 50]) if (variant.split("+").includes(`batch${size}`)) toml = toml.replace(/max_batch_size = \d+\nmax_batch_timeout = 1\nmax_retries = 5/, `max_batch_size = ${size}\nmax_batch_timeout = 1\nmax_retries = 5`);
    writeFileSync(join(dir, "wrangler.toml"), toml);
    const persistTo = freshDir(`ab-${variant}-state`);
    mkdirSync(persistTo, { recursive: true });
    cpSync(migrated, persistTo, { recursive: true });
    const file = localD1File(persistTo);
    const setup = await insertOrgDirect(file, { questions: questions(questionCount, "none") });
    const tokens = await insertInvitesDirect(file, { ...setup, count: participants + 5 + joins + 40 });
    const s = await startDev({ label: `ab-${variant}`, persistTo, config: join(dir, "wrangler.toml"), vars });
    try {
      const check = await api(s.base, "GET", `/v1/campaigns/${setup.campaignId}`, { token: setup.key });
      if (check.status !== 200) throw new Error(`seeded campaign not usable: ${check.status}`);
      const run = async (from, n) => {
        const sentAt = new Map();
        const acks = [];
        const ackAt = [];
        const ps = await pool(n, 10, async (i) => {
          const joined = await api(s.base, "POST", "/v1/join", { body: { token: tokens[from + i] } });
          const p = new Participant(s.base, joined.json, { onAck: (ms) => (acks.push(ms), ackAt.push(performance.now())), sentAt, thinkMs });
          await p.ready();
          return p;
        });
        const before = groupCpuMs(s.pid);
        const t0 = performance.now();
        const traced = straceOn ? straceSyncs(s.pid, 1000, 3000, () => acks.length) : null;
        await Promise.all(ps.map((p) => p.run()));
        if (traced) console.log(await traced);
        const seconds = (performance.now() - t0) / 1000;
        // The queue consumer finishes the run's analyses after the last ack: its CPU counts too.
        await new Promise((r) => setTimeout(r, 3000));
        const cpu = perOp(cpuDelta(before, groupCpuMs(s.pid)), acks.length);
        ps.forEach((p) => p.ws.terminate());
        if (timeline) {
          // Ack latency by second of the run: where the tail comes from.
          const buckets = new Map();
          acks.forEach((ms, i) => {
            const b = Math.floor((ackAt[i] - t0) / 1000);
            buckets.set(b, [...(buckets.get(b) ?? []), ms]);
          });
          for (const [b, v] of [...buckets].sort((x, y) => x[0] - y[0])) {
            const q = summarize(v);
            console.log(`  second ${String(b).padStart(2)}: ${String(v.length).padStart(4)} acks  p50 ${q.p50.toFixed(0).padStart(4)}  p99 ${q.p99.toFixed(0).padStart(5)}  max ${q.max.toFixed(0).padStart(5)} ms`);
          }
        }
        if (stalls) {
          // The slowest 2% of acks by when their answer was sent: one stall holds many at once.
          const slow = acks.map((ms, i) => ({ ms, sent: ackAt[i] - ms - t0 })).sort((a, b) => b.ms - a.ms).slice(0, Math.ceil(acks.length / 50));
          slow.sort((a, b) => a.sent - b.sent);
          console.log("  slowest acks (sent at s: ms): " + slow.map((x) => `${(x.sent / 1000).toFixed(2)}:${x.ms.toFixed(0)}`).join(" "));
        }
        return { perSecond: acks.length / seconds, ack: summarize(acks), cpu };
      };
      if (joins) {
        const open = (i) => api(s.base, "POST", "/v1/join", { body: { token: tokens[participants + 5 + i] } }).then((r) => {
          if (r.status !== 201) throw new Error(`join: ${r.status} ${r.text.slice(0, 200)}`);
        });
        await pool(40, 20, open); // warm-up
        const before = groupCpuMs(s.pid);
        const t0 = performance.now();
        let joined = 0;
        const traced = straceOn ? straceSyncs(s.pid, 1000, 3000, () => joined) : null;
        await pool(joins, 20, (i) => open(40 + i).then(() => void (joined += 1)));
        const seconds = (performance.now() - t0) / 1000;
        if (traced) console.log((await traced).replaceAll("answer", "join"));
        await new Promise((r) => setTimeout(r, 3000)); // the consumer's session.created work
        const cpu = perOp(cpuDelta(before, groupCpuMs(s.pid)), joins);
        console.log(`${variant.padEnd(24)} ${(joins / seconds).toFixed(1).padStart(7)} joins/s   workerd CPU ${String(cpu.workerd ?? "?").padStart(5)} ms/join   load ${loadavg()[0].toFixed(1)}`);
        continue;
      }
      await run(participants, 5); // warm-up
      const r = await run(0, participants);
      console.log(
        `${variant.padEnd(24)} ${r.perSecond.toFixed(1).padStart(7)} answers/s   ack p50/p99 ${r.ack.p50.toFixed(0).padStart(5)} / ${r.ack.p99.toFixed(0).padStart(5)} ms   workerd CPU ${String(r.cpu.workerd ?? "?").padStart(5)} ms/answer   load ${loadavg()[0].toFixed(1)}`,
      );
    } finally {
      await s.stop();
    }
  }
} finally {
  killAll();
  removeTempDirs();
}

/** Traces workerd's syncs for `ms` after `delay`, and reports them per answer acked meanwhile, grouped by file. */
async function straceSyncs(pgid, delay, ms, acked) {
  await new Promise((r) => setTimeout(r, delay));
  const pids = groupProcesses(pgid).filter((p) => p.comm === "workerd").map((p) => p.pid);
  const from = acked();
  const tr = spawn("strace", ["-f", "-y", "-e", "trace=fsync,fdatasync", ...pids.flatMap((p) => ["-p", p])], { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  tr.stderr.on("data", (d) => (out += d));
  await new Promise((r) => setTimeout(r, ms));
  const answers = acked() - from;
  tr.kill("SIGINT");
  await new Promise((r) => tr.on("close", r));
  const byFile = new Map();
  for (const m of out.matchAll(/(fsync|fdatasync)\(\d+<([^>]*)>/g)) {
    const file = m[2].replace(/[0-9a-f]{64}/g, "<id>").replace(/^.*\/(v3|ab-[^/]*)\//, "");
    byFile.set(`${m[1]} ${file}`, (byFile.get(`${m[1]} ${file}`) ?? 0) + 1);
  }
  const total = [...byFile.values()].reduce((a, b) => a + b, 0);
  const lines = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([f, n]) => `    ${(n / Math.max(answers, 1)).toFixed(2)}/answer  ${f}`);
  return `  strace: ${total} syncs over ${answers} answers (${(total / Math.max(answers, 1)).toFixed(2)}/answer)\n${lines.join("\n")}`;
}
