// `npm run bench`: performance figures for InterviewRelay next to a bare Worker + Durable Object
// baseline measured in the same run, on the same workerd. Benchmarks, not tests: they print figures
// and targets and write bench/results/latest.json; the exit code is non-zero only if a group crashed.
//
// Every group gets a fresh `wrangler dev --local` (own ports, own persist dir, own process group),
// because a long-running wrangler dev slows down and grows under load.
//
// Options: --only=echo,answers,paced,newobj,joins,listing,policy,analytics,privacy,voice   --quick (smaller sizes, for trying it out)
//          --ref=<git ref>  bench that commit (exported with git archive) instead of the working tree
//          --report         print the report of bench/results/latest.json again, run nothing
//          --local-traces   keep wrangler dev's local trace collector on (off by default: see server.mjs)
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { OPERATOR_TOKEN, api, createInvites, createOrgAndCampaign, questions } from "./lib/api.mjs";
import { insertInvitesDirect, insertOrgDirect, localD1File } from "./lib/seed.mjs";
import { analyticsBench } from "./lib/analytics.mjs";
import { answersBench } from "./lib/answers.mjs";
import { echoBench, newObjectBench, poolEcho } from "./lib/baseline.mjs";
import { joinsBench } from "./lib/joins.mjs";
import { listingBench } from "./lib/listing.mjs";
import { voiceBench } from "./lib/voice.mjs";
import { POLICY_CONFIG, policyBench } from "./lib/policy.mjs";
import { privacyBench } from "./lib/privacy.mjs";
import { BENCH_DIR, RESULTS_DIR, ROOT } from "./lib/paths.mjs";
import { applyMigrations, bundleApp, cpuDelta, freshDir, groupCpuMs, groupRssMb, killAll, localTraces, removeTempDirs, startDev } from "./lib/server.mjs";
import { printReport } from "./lib/report.mjs";

if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`bench needs Node 22 (wrangler and node:sqlite do); this is ${process.version}. Run it as \`npm run bench\`.`);
  process.exit(1);
}
// node:sqlite (seeding and the SQL analysis) is flagged experimental in Node 22: one warning is noise.
const emitWarning = process.emitWarning;
process.emitWarning = (w, ...rest) => (String(w).includes("SQLite") ? undefined : emitWarning.call(process, w, ...rest));

const args = process.argv.slice(2);
if (args.includes("--report")) {
  const saved = JSON.parse(readFileSync(join(RESULTS_DIR, "latest.json"), "utf8"));
  printReport(saved, console.log);
  process.exit(0);
}
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const quick = args.includes("--quick");
const ref = args.find((a) => a.startsWith("--ref="))?.slice(6);
const want = (g) => !only || only.includes(g);
if (args.includes("--local-traces")) process.env.X_LOCAL_OBSERVABILITY = "true";

const SIZES = quick
  ? { clients: 30, echoMs: 4000, answersMs: 8000, sessionsEach: 1, newobjMs: 3000, joins: 100, sessions: 20_000, pacedMs: 8000, voice: { participants: 20, answers: 2, answerSeconds: 4, longSeconds: 60 } }
  : { clients: 100, echoMs: 8000, answersMs: 20_000, sessionsEach: 1, newobjMs: 8000, joins: 600, sessions: 100_000, pacedMs: 20_000, voice: { participants: 50, answers: 3, answerSeconds: 6, longSeconds: 180 } };
/**
 * The paced scenario: each of the 100 participants (and each echo client) answers about once a
 * second (0.5–1.5 s of thought after each question or echo, the first one included), 30× faster than people do: what the
 * answer path costs when the machine is not saturated, next to the echo at the same pace.
 */
const PACED_THINK_MS = 1000;

const BASELINE_CONFIG = join(BENCH_DIR, "baseline", "wrangler.toml");
const appVars = (base) => ({
  OPERATOR_TOKEN,
  AI_MODE: "local",
  PUBLIC_URL: base,
  // The default (60 joins a minute per address) is right for production and would refuse a
  // benchmark that joins hundreds of sessions from 127.0.0.1.
  RATE_LIMIT_JOIN_PER_MINUTE: "1000000",
  // Bulk exports sign their download links (the privacy group downloads one).
  EXPORT_SIGNING_KEY: "bench-export-signing-key",
});

const log = (...a) => console.log(...a);
const cleanup = () => killAll();
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    removeTempDirs();
    process.exit(130);
  });
}

/** Runs one group on a fresh server; the server is stopped (its whole process group) whatever happens. */
async function group(name, start, body) {
  const t0 = Date.now();
  log(`\n▶ ${name}`);
  let server = null;
  try {
    server = await start();
    log(`  wrangler dev ready on ${server.base} in ${(server.startupMs / 1000).toFixed(1)} s`);
    const load = loadavg()[0];
    const cpu = (before) => (before ? cpuDelta(before, groupCpuMs(server.pid)) : groupCpuMs(server.pid));
    const result = await body(server, cpu);
    result.loadAvg1mAtStart = Math.round(load * 100) / 100;
    result.rssMbAfter = groupRssMb(server.pid);
    result.groupSeconds = (Date.now() - t0) / 1000;
    log(`  done in ${result.groupSeconds.toFixed(1)} s (wrangler + workerd RSS after: ${result.rssMbAfter ?? "?"} MiB)`);
    return result;
  } catch (err) {
    log(`  ✗ ${name} failed: ${err?.stack ?? err}`);
    return { error: String(err?.message ?? err), groupSeconds: (Date.now() - t0) / 1000 };
  } finally {
    await server?.stop();
  }
}

let app = null; // the pre-bundled product: { dir, config }
let migrated = null; // a persist dir with the D1 migrations applied, copied for every product server

async function appServer(label, persistTo = freshDir(label)) {
  cpSync(migrated, persistTo, { recursive: true });
  return startDev({ label, persistTo, config: app.config, vars: appVars });
}

/**
 * A product server whose D1 already holds an org, its API key, a campaign of 10 questions (probe
 * none) and `invites` unused invites, written into the local file before start (seconds instead of
 * a minute of API calls on a busy machine; the setup is not what is measured). Falls back to the API.
 */
async function seededAppServer(label, invites) {
  const persistTo = freshDir(label);
  cpSync(migrated, persistTo, { recursive: true });
  const file = localD1File(persistTo);
  let setup = null;
  if (file) {
    setup = await insertOrgDirect(file, { questions: questions(10, "none") });
    setup.tokens = await insertInvitesDirect(file, { orgId: setup.orgId, campaignId: setup.campaignId, count: invites });
  }
  const server = await startDev({ label, persistTo, config: app.config, vars: appVars });
  try {
    if (setup) {
      const check = await api(server.base, "GET", `/v1/campaigns/${setup.campaignId}`, { token: setup.key });
      if (check.status !== 200) throw new Error(`the seeded org/campaign is not usable through the API: ${check.status} ${check.text.slice(0, 300)}`);
    } else {
      setup = await createOrgAndCampaign(server.base, { questionCount: 10, probe: "none" });
      setup.tokens = (await createInvites(server.base, setup.key, setup.campaignId, invites, 8)).tokens;
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return Object.assign(server, { setup });
}

const startedAt = new Date();
const t0 = Date.now();
const results = {
  startedAt: startedAt.toISOString(),
  machine: { cpus: cpus().length, node: process.version, quick, loadAvg1mAtStart: loadavg()[0], localTraces: localTraces() },
  sizes: SIZES,
  groups: {},
};

try {
  let bundleError = null;
  if (["answers", "paced", "joins", "listing", "analytics", "privacy", "voice"].some(want)) {
    const t = Date.now();
    try {
      app = await bundleApp({ ref });
      results.source = app.source;
      migrated = freshDir("migrated");
      await applyMigrations(migrated, app.config);
      log(`Bundled the product and applied its D1 migrations once (${((Date.now() - t) / 1000).toFixed(1)} s): every product group runs this snapshot of the ${app.source}.`);
    } catch (err) {
      // A working tree that does not build (someone mid-edit): the baseline still runs; try --ref=HEAD.
      bundleError = `the product did not bundle (try --ref=HEAD): ${String(err?.message ?? err).slice(0, 1500)}`;
      log(`✗ ${bundleError}`);
    }
  }
  const product = (name, run) => (bundleError ? { error: bundleError } : run());
  // Groups alternate baseline and product, so both see the machine in the same state.
  // The echo baseline runs before and after the answers group; the comparison uses both, pooled.
  const echoRuns = [];
  const echoGroup = async (label) =>
    echoRuns.push(
      await group(`baseline: WebSocket echo (${label})`, () => startDev({ label: `baseline-echo-${label}`, config: BASELINE_CONFIG }), (s, cpu) =>
        echoBench(s.base, { clients: SIZES.clients, durationMs: SIZES.echoMs, cpu }),
      ),
    );
  if (want("echo")) await echoGroup("before");
  if (want("answers")) {
    const invites = SIZES.clients * SIZES.sessionsEach + 10;
    results.groups.answers = await product("answers", () =>
      group("product: participants answering + live watchers", () => seededAppServer("answers", invites), (s, cpu) =>
        answersBench(s.base, s.setup, { participants: SIZES.clients, sessionsEach: SIZES.sessionsEach, windowMs: SIZES.answersMs, warmup: 10, cpu, log }),
      ),
    );
  }
  if (want("echo")) {
    await echoGroup("after");
    results.groups.echo = poolEcho(echoRuns);
    results.groups.echoWrite = await group("baseline: WebSocket echo after one SQLite write (informational)", () => startDev({ label: "baseline-echo-write", config: BASELINE_CONFIG }), (s, cpu) =>
      echoBench(s.base, { clients: SIZES.clients, durationMs: SIZES.echoMs, write: true, cpu }),
    );
  }
  if (want("paced")) {
    const invites = SIZES.clients * 2 + 10;
    results.groups.pacedEcho = await group(`baseline: WebSocket echo, paced (~${PACED_THINK_MS} ms between messages)`, () => startDev({ label: "baseline-echo-paced", config: BASELINE_CONFIG }), (s, cpu) =>
      echoBench(s.base, { clients: SIZES.clients, durationMs: SIZES.pacedMs, thinkMs: PACED_THINK_MS, cpu }),
    );
    // The floor for a durable ack at this pace: the same echo, storing one row before it answers.
    results.groups.pacedEchoWrite = await group(`baseline: WebSocket echo after one SQLite write, paced (informational)`, () => startDev({ label: "baseline-echo-paced-write", config: BASELINE_CONFIG }), (s, cpu) =>
      echoBench(s.base, { clients: SIZES.clients, durationMs: SIZES.pacedMs, thinkMs: PACED_THINK_MS, write: true, cpu }),
    );
    results.groups.pacedAnswers = await product("paced", () =>
      group(`product: participants answering, paced (~${PACED_THINK_MS} ms to answer)`, () => seededAppServer("paced", invites), (s, cpu) =>
        answersBench(s.base, s.setup, { participants: SIZES.clients, sessionsEach: 2, windowMs: SIZES.pacedMs, warmup: 10, thinkMs: PACED_THINK_MS, cpu, log }),
      ),
    );
  }
  if (want("newobj")) {
    results.groups.newobj = await group("baseline: new Durable Object per request", () => startDev({ label: "baseline-newobj", config: BASELINE_CONFIG }), (s, cpu) =>
      newObjectBench(s.base, { concurrency: 20, durationMs: SIZES.newobjMs, cpu }),
    );
    results.groups.newobjWrite = await group("baseline: new Durable Object per request that stores one row (informational)", () => startDev({ label: "baseline-newobj-write", config: BASELINE_CONFIG }), (s, cpu) =>
      newObjectBench(s.base, { concurrency: 20, durationMs: SIZES.newobjMs, write: true, cpu }),
    );
  }
  if (want("joins")) {
    const warmup = 20;
    results.groups.joins = await product("joins", () =>
      group("product: POST /v1/join", () => seededAppServer("joins", SIZES.joins + warmup), (s, cpu) =>
        joinsBench(s.base, s.setup, { concurrency: 20, count: SIZES.joins, warmup, cpu, log }),
      ),
    );
  }
  if (want("listing")) {
    results.groups.listing = await product("listing", () => listingBench({ sessions: SIZES.sessions, app, appVars, log, group, appServer, migrated }));
  }
  if (want("analytics")) {
    results.groups.analytics = await product("analytics", () => analyticsBench({ sessions: quick ? 2000 : 10_000, interviews: quick ? 3 : 8, app, appVars, log, group, migrated }));
  }
  if (want("privacy")) {
    results.groups.privacy = await product("privacy", () =>
      group("product: bulk export of 1,000 sessions to a ZIP, erasure of a participant with 50", () => appServer("privacy"), (s) =>
        privacyBench(s.base, { sessions: quick ? 200 : 1000, erasureSessions: 50, pid: s.pid, log }),
      ),
    );
  }
  if (want("voice")) {
    // Audio needs the key-encryption key (a fresh one per run; nothing outlives the run's persist dir).
    const kek = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    results.groups.voice = await product("voice", () =>
      group("product: voice participants streaming in real time, transcripts to watchers, assembly and MP3", () => {
        const persistTo = freshDir("voice");
        cpSync(migrated, persistTo, { recursive: true });
        return startDev({ label: "voice", persistTo, config: app.config, vars: (base) => ({ ...appVars(base), AUDIO_KEK: kek }) });
      }, (s, cpu) => voiceBench(s.base, { ...SIZES.voice, frameMs: 300, cpu, log })),
    );
  }
  if (want("policy")) {
    // Its own build of the product (bench/policy/worker.ts) with the route pair it compares.
    results.groups.policy = await group(
      "product: the same route with and without policy check + audit append",
      async () => {
        const persistTo = freshDir("policy");
        await applyMigrations(persistTo, POLICY_CONFIG);
        return startDev({ label: "policy", persistTo, config: POLICY_CONFIG, vars: appVars });
      },
      (s) => policyBench(s.base, { requests: quick ? 300 : 1000, log, cpu: () => groupCpuMs(s.pid) }),
    );
  }
} finally {
  killAll();
  removeTempDirs();
}

results.runtimeSeconds = (Date.now() - t0) / 1000;
const verdicts = printReport(results, log);
results.verdicts = verdicts;
writeFileSync(join(RESULTS_DIR, "latest.json"), JSON.stringify(results, null, 2));
log(`\nResults: ${join(RESULTS_DIR, "latest.json").replace(ROOT + "/", "")}   (whole run: ${results.runtimeSeconds.toFixed(0)} s)`);
process.exitCode = Object.values(results.groups).some((g) => g?.error) ? 1 : 0;
