// Starting and stopping `wrangler dev --local` for one bench group: free ports on 127.0.0.1, a fresh
// persist dir, its own process group (killed as a group at the end, even on failure).
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT, RESULTS_DIR } from "./paths.mjs";

const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const live = new Set();
const tempDirs = new Set();

/** A port nobody listens on right now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function freshDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `irbench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

/**
 * wrangler dev's local trace collector (X_LOCAL_OBSERVABILITY, on by default, behind the local
 * explorer's traces view) streams every invocation's spans to a collector object that runs on the
 * same workerd thread as the app and writes them to SQLite. It is a dev tool that production does
 * not run inside the app's thread, so the bench turns it off for product and baseline alike unless
 * the caller set the variable (`npm run bench -- --local-traces` keeps wrangler's default).
 */
const traceSetting = () => process.env.X_LOCAL_OBSERVABILITY ?? "false";
export const localTraces = () => traceSetting() !== "false";
const wranglerEnv = () => ({ ...process.env, X_LOCAL_OBSERVABILITY: traceSetting(), WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "1" });

/** Runs a wrangler subcommand to completion; rejects with its output on failure. */
export function wrangler(args, { cwd = ROOT, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(WRANGLER, args, { cwd, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${code}):\n${out.slice(-3000)}`));
    });
  });
}

export const applyMigrations = (persistTo, config) => wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, ...(config ? ["--config", config] : [])]);

export async function d1Execute(persistTo, { file, command, json = false, config }) {
  const args = ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--yes"];
  if (config) args.push("--config", config);
  if (file) args.push("--file", file);
  if (command) args.push("--command", command);
  if (json) args.push("--json");
  const out = await wrangler(args);
  if (!json) return out;
  const start = out.indexOf("[");
  return JSON.parse(out.slice(start));
}

function killGroup(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Starts `wrangler dev --local` and waits until /healthz answers.
 * Returns { base, port, persistTo, stop() }.
 */
export async function startDev({ label, config, persistTo, vars = {}, cwd = ROOT }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  persistTo ??= freshDir(label);
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistTo, "--log-level", process.env.BENCH_LOG_LEVEL ?? "warn"];
  if (config) args.push("--config", config);
  const base = `http://127.0.0.1:${port}`;
  for (const [k, v] of Object.entries(typeof vars === "function" ? vars(base) : vars)) args.push("--var", `${k}:${v}`);
  const log = createWriteStream(join(RESULTS_DIR, `wrangler-${label}.log`));
  const child = spawn(WRANGLER, args, { cwd, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const started = Date.now();
  const deadline = started + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev (${label}) exited with code ${child.exitCode}; see bench/results/wrangler-${label}.log`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child, "SIGKILL");
      throw new Error(`wrangler dev (${label}) did not answer on ${base} within 90 s`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const startupMs = Date.now() - started;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return void live.delete(child);
    const exited = new Promise((r) => child.once("exit", r));
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    live.delete(child);
  };
  return { label, base, port, inspectorPort, persistTo, pid: child.pid, startupMs, stop };
}

/** Last resort: kills every process group this module started (also called on exit and signals). */
export function killAll() {
  for (const child of live) killGroup(child, "SIGKILL");
  live.clear();
}

export function removeTempDirs() {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

/** Resident memory (MiB) of every process in a process group, from /proc (Linux only; null elsewhere). */
export function groupRssMb(pgid) {
  try {
    let kb = 0;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[2]) !== pgid) continue;
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) kb += Number(m[1]);
      } catch {
        // the process went away
      }
    }
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}

/**
 * Bundles the product once (`wrangler deploy --dry-run --outdir`) and writes a copy of its
 * wrangler.toml next to the bundle, pointing at it with no_bundle. `wrangler dev` on that copy
 * never rebuilds: edits to src/ (or .dev.vars) during a run would otherwise reload the Worker and
 * drop every WebSocket mid-benchmark. Everything else in the config (bindings, D1 id, assets,
 * migrations) is the product's own.
 *
 * `ref` (a git ref such as HEAD) benches that commit instead of the working tree: it is exported
 * with `git archive` into a temp dir (sharing node_modules), so others' unfinished edits in the
 * working tree cannot break or skew the run. The repository itself is only read.
 */
export async function bundleApp({ ref } = {}) {
  let source = ROOT;
  if (ref) {
    source = freshDir("source");
    await new Promise((resolveP, reject) => {
      const git = spawn("sh", ["-c", 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', "sh", ROOT, ref, source], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      git.stderr.on("data", (d) => (err += d));
      git.on("exit", (code) => (code === 0 ? resolveP() : reject(new Error(`git archive ${ref} failed: ${err}`))));
    });
    symlinkSync(join(ROOT, "node_modules"), join(source, "node_modules"));
  }
  const dir = freshDir("bundle");
  let toml = readFileSync(join(source, "wrangler.toml"), "utf8");
  // An assets directory that is not in the commit (built output, untracked) would stop wrangler.
  const assets = /^\s*directory\s*=\s*"([^"]*)"/m.exec(toml)?.[1];
  if (assets) mkdirSync(resolve(source, assets), { recursive: true });
  await wrangler(["deploy", "--dry-run", "--outdir", dir], { cwd: source });
  toml = stripTable(toml, "build");
  toml = toml.replace(/^main\s*=.*$/m, 'main = "index.js"\nno_bundle = true');
  toml = toml.replace(/^(\s*directory\s*=\s*)"([^"]*)"/m, (_, k, v) => `${k}${JSON.stringify(resolve(source, v))}`);
  toml = toml.replace(/^(\s*migrations_dir\s*=\s*)"([^"]*)"/m, (_, k, v) => `${k}${JSON.stringify(resolve(source, v))}`);
  const config = join(dir, "wrangler.toml");
  writeFileSync(config, `# Generated by bench/lib/server.mjs from ${join(source, "wrangler.toml")}${ref ? ` (git ${ref})` : ""}: the product, pre-bundled.\n${toml}`);
  return { dir, config, source: ref ? `git ${ref}` : "working tree" };
}

function stripTable(toml, name) {
  const out = [];
  let skipping = false;
  for (const line of toml.split("\n")) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) skipping = header[1].trim() === name;
    if (!skipping) out.push(line);
  }
  return out.join("\n");
}

/**
 * CPU time (ms, user + system) used so far by the processes of a process group, by command name
 * (`workerd` is the runtime; `node` is wrangler and its local proxy). Linux /proc only; null elsewhere.
 * Differences taken around a measured window give the server's CPU cost per operation.
 */
export function groupCpuMs(pgid) {
  try {
    const TICK_MS = 10; // USER_HZ is 100 on Linux
    const byCommand = {};
    let total = 0;
    for (const { comm, fields } of groupProcesses(pgid)) {
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      byCommand[comm] = (byCommand[comm] ?? 0) + ms;
      total += ms;
    }
    return { total, byCommand };
  } catch {
    return null;
  }
}

/** The processes of a process group, from /proc: pid, command name and the stat fields after it. Linux only. */
export function groupProcesses(pgid) {
  const out = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) out.push({ pid, comm, fields });
    } catch {
      // the process went away
    }
  }
  return out;
}

export function cpuDelta(before, after) {
  if (!before || !after) return null;
  const byCommand = {};
  for (const k of Object.keys(after.byCommand)) byCommand[k] = after.byCommand[k] - (before.byCommand[k] ?? 0);
  return { total: after.total - before.total, byCommand };
}
