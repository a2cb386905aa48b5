// Starts the real local server (`wrangler dev --local`: workerd with local D1, R2, Queues and
// Durable Objects) on free ports of 127.0.0.1 with a fresh persistence directory, and gives tests
// small HTTP and WebSocket clients whose every wait is bounded and fails with a clear message.
//
// Configuration is the test's own: the values go in a temporary env file passed with `--env-file`
// (which stops wrangler from reading the project's .dev.vars at all) and again as `--var KEY:VALUE`
// (which wins over any env file), so a developer's .dev.vars cannot change what the tests see.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { jsonOrNull } from "../../helpers/json";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const HOST = "127.0.0.1";
const LOG_LIMIT = 256 * 1024;

/** Node ≥ 22 (wrangler refuses older): this process's when it qualifies, else the project's own. */
export function nodeBinary(): string {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  const local = join(ROOT, "node_modules", ".bin", "node");
  if (existsSync(local)) return local;
  throw new Error(`wrangler needs Node >= 22 but this is ${process.version}; run the suite with npx/npm so node_modules/.bin/node is used`);
}

/** A port the OS reports free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error("the OS gave no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartOptions {
  /** Worker variables; OPERATOR_TOKEN and AI_MODE get test defaults. PUBLIC_URL is set to the server's base. */
  vars?: Record<string, string>;
  /** How long to wait for GET /healthz (default 90 s). */
  readyTimeoutMs?: number;
}

export interface TestServer {
  base: string;
  wsBase: string;
  port: number;
  vars: Record<string, string>;
  /** The local state directory (D1, R2, Durable Objects), for `wrangler d1 execute --persist-to`. */
  persistTo: string;
  /** The last part of wrangler's combined output, for failure messages. */
  logs(): string;
  /** How often wrangler has reloaded the Worker since it started (it rebuilds when src/ changes; open sockets drop). */
  reloads(): number;
  stop(): Promise<void>;
}

/** Runs a command to completion with a time limit; resolves with its output, rejects clearly. */
function runBounded(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    const collect = (b: Buffer) => {
      out = (out + b.toString()).slice(-LOG_LIMIT);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const timer = setTimeout(() => {
      killGroup(child, "SIGKILL");
      reject(new Error(`${what} did not finish within ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${what} could not start: ${String(err)}`));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolveRun(out);
      else reject(new Error(`${what} failed (exit ${code ?? signal}); output:\n${out}`));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole group: wrangler and the workerd it started
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const port = await freePort();
  let inspectorPort = await freePort();
  while (inspectorPort === port) inspectorPort = await freePort();
  const base = `http://${HOST}:${port}`;
  const vars: Record<string, string> = {
    OPERATOR_TOKEN: `e2e-operator-${Math.random().toString(36).slice(2)}`,
    AI_MODE: "local",
    AUDIO_KEK: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
    ...opts.vars,
    PUBLIC_URL: base,
  };
  const dir = await mkdtemp(join(tmpdir(), "interviewrelay-e2e-"));
  const persistTo = join(dir, "state");
  const envFile = join(dir, "test.env");
  await writeFile(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");

  const node = nodeBinary();
  const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Node 22 first on PATH for anything wrangler spawns.
    PATH: `${dirname(node)}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}`,
    // Nothing leaves 127.0.0.1: no metrics or error reports, no npm update check (it runs with
    // the banner), no download of the Request.cf fixture (a built-in placeholder is used).
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    // wrangler dev's local trace collector runs on the app's workerd thread and writes every
    // invocation's spans to SQLite; no test reads them, and on a 2-core CI machine it halves the
    // CPU left for the app (see bench/lib/server.mjs).
    X_LOCAL_OBSERVABILITY: "false",
    WRANGLER_LOG_PATH: join(dir, "wrangler-logs"),
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV; // would leak this process's environment into the Worker

  const cleanupDir = () => rm(dir, { recursive: true, force: true }).catch(() => undefined);
  try {
    await runBounded(node, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], env, 90_000, "wrangler d1 migrations apply");
  } catch (err) {
    await cleanupDir();
    throw err;
  }

  const args = [
    wrangler,
    "dev",
    "--local",
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    "--live-reload=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child = spawn(node, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  let reloads = 0;
  const collect = (b: Buffer) => {
    const text = b.toString();
    reloads += text.split("Reloading local server").length - 1;
    log = (log + text).slice(-LOG_LIMIT);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  let spawnError: Error | null = null;
  child.on("error", (err) => (spawnError = err));
  // A crashed test runner must not leave workerd behind.
  const onExit = () => killGroup(child, "SIGKILL");
  process.once("exit", onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killGroup(child, "SIGTERM");
    if (!(await exited(child, 8_000))) {
      killGroup(child, "SIGKILL");
      await exited(child, 5_000);
    }
    // workerd may outlive wrangler for a moment; the group kill reaches it too.
    killGroup(child, "SIGKILL");
    process.removeListener("exit", onExit);
    await cleanupDir();
  };

  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`wrangler dev could not start: ${String(spawnError)}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before answering GET ${base}/healthz; output:\n${log}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(3_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer GET ${base}/healthz within ${timeoutMs} ms; output:\n${log}`);
    }
    await sleep(250);
  }

  return { base, wsBase: base.replace(/^http/, "ws"), port, vars, persistTo, logs: () => log, reloads: () => reloads, stop };
}

// ---- HTTP ----

export interface ApiResponse {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

export async function api(
  server: Pick<TestServer, "base">,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(`${server.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  const text = await res.text();
  const json = jsonOrNull(text);
  return { status: res.status, json, text, headers: res.headers };
}

/** Fails with the response in the message unless the status is the expected one. */
export function expectStatus(r: ApiResponse, status: number, what: string): any {
  if (r.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${r.status}: ${r.text.slice(0, 2000)}`);
  return r.json;
}

/**
 * A test file's org: its owner (fresh email, "Olivia Owner") with an owner API key, and one more
 * member of `member.role`, both signing in with `password`.
 */
export async function orgWithMember(server: TestServer, opts: { name: string; plan: string; domain: string; password: string; member: { role: string; name: string } }) {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const owner = `owner-${suffix}@${opts.domain}`;
  const memberEmail = `${opts.member.role}-${suffix}@${opts.domain}`;
  const org = expectStatus(
    await api(server, "POST", "/v1/orgs", { key: server.vars.OPERATOR_TOKEN, body: { name: opts.name, plan: opts.plan, owner: { email: owner, name: "Olivia Owner", password: opts.password } } }),
    201,
    "POST /v1/orgs",
  );
  const key = org.apiKey.key as string;
  const member = expectStatus(await api(server, "POST", "/v1/members", { key, body: { email: memberEmail, name: opts.member.name, role: opts.member.role, password: opts.password } }), 201, "POST /v1/members");
  return { key, orgId: org.org.id as string, ownerEmail: owner, memberEmail, memberId: member.id as string };
}

/**
 * A participant of an invite (of a campaign without consent) over the socket: joins, starts and
 * answers each main question, waiting for every ack. Returns the session and its open socket.
 */
export async function answerOverSocket(server: TestServer, inviteToken: string, answers: string[]): Promise<{ sessionId: string; socket: Socket }> {
  const j = expectStatus(await api(server, "POST", "/v1/join", { body: { token: inviteToken } }), 201, "join");
  const p = await Socket.open(`${server.wsBase}/v1/sessions/${j.sessionId}/connect?token=${encodeURIComponent(j.participantToken)}`, "participant");
  p.send({ type: "hello" });
  p.send({ type: "start" });
  for (const [i, text] of answers.entries()) {
    await p.next((f) => f.type === "question" && f.index === i && !f.followUp, `question ${i}`, { timeoutMs: 15_000 });
    p.send({ type: "answer", id: `a${i}`, text });
    await p.next((f) => f.type === "ack" && f.id === `a${i}`, `ack ${i}`, { timeoutMs: 15_000 });
  }
  return { sessionId: j.sessionId as string, socket: p };
}

/** Polls `probe` until it returns a truthy value, or fails after `timeoutMs` describing what it waited for. */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 5_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(everyMs);
  }
}

// ---- WebSockets ----

export interface Received {
  frame: any;
  at: number;
}

/** A JSON WebSocket client (the `ws` package: it can send headers and terminate abruptly). */
export class Socket {
  readonly received: Received[] = [];
  closed: { code: number; reason: string; at: number } | null = null;
  private waiters = new Set<() => void>();
  private pinger: NodeJS.Timeout | null = null;

  private constructor(readonly ws: WebSocket, readonly label: string) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = { type: "__unparsable__", raw: data.toString() };
      }
      this.received.push({ frame, at: Date.now() });
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString(), at: Date.now() };
      this.stopPinging();
      this.wake();
    });
    ws.on("error", () => undefined); // surfaced through `closed`
  }

  /** Opens a socket; rejects with the HTTP status and body when the upgrade is refused. */
  static open(url: string, label: string, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Socket> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolveOpen, reject) => {
      const ws = new WebSocket(url, { headers: opts.headers, handshakeTimeout: timeoutMs });
      const socket = new Socket(ws, label);
      const fail = (err: Error) => {
        clearTimeout(timer);
        try {
          ws.terminate();
        } catch {
          // not open
        }
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`${label}: no WebSocket upgrade within ${timeoutMs} ms (${url})`)), timeoutMs);
      ws.once("open", () => {
        clearTimeout(timer);
        resolveOpen(socket);
      });
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          const err = new Error(`${label}: upgrade refused with HTTP ${res.statusCode}: ${body.slice(0, 500)}`) as Error & { status?: number };
          err.status = res.statusCode;
          fail(err);
        });
      });
      ws.once("error", (err) => fail(new Error(`${label}: ${String(err)}`)));
    });
  }

  get frames(): any[] {
    return this.received.map((r) => r.frame);
  }

  private wake() {
    for (const w of [...this.waiters]) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Sends and resolves once the frame has been handed to the operating system. */
  sendFlushed(frame: unknown): Promise<void> {
    return new Promise((resolveSend, reject) =>
      this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame), (err) => (err ? reject(err) : resolveSend())),
    );
  }

  /** Waits for the first frame at or after index `from` matching `pred`; returns it with its index. */
  async nextWithIndex(pred: (f: any) => boolean, what: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<{ frame: any; index: number; at: number }> {
    const from = opts.from ?? 0;
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.received.length; i++) {
        const r = this.received[i]!;
        if (pred(r.frame)) return { frame: r.frame, index: i, at: r.at };
      }
      if (this.closed && this.closed.at < Date.now() - 50) {
        throw new Error(`${this.label}: socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; frames: ${this.describe(from)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}; frames: ${this.describe(from)}`);
      await new Promise<void>((r) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          r();
        };
        const t = setTimeout(done, Math.min(left, 100));
        this.waiters.add(done);
      });
    }
  }

  async next(pred: (f: any) => boolean, what: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<any> {
    return (await this.nextWithIndex(pred, what, opts)).frame;
  }

  async waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`${this.label}: the server did not close the socket within ${timeoutMs} ms; frames: ${this.describe(0)}`);
      await sleep(20);
    }
    return this.closed;
  }

  /** Sends {"type":"ping"} every `everyMs`, as a browser tab does. */
  startPinging(everyMs = 1_000) {
    this.stopPinging();
    this.pinger = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.send({ type: "ping" });
    }, everyMs);
  }

  stopPinging() {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
  }

  /** Drops the TCP connection without a closing handshake (a crashed tab or lost network). */
  terminate() {
    this.stopPinging();
    this.ws.terminate();
  }

  close() {
    this.stopPinging();
    try {
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
      else this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }

  describe(from = 0): string {
    const s = JSON.stringify(this.frames.slice(from).filter((f) => f?.type !== "pong"));
    return s.length > 4000 ? `${s.slice(0, 4000)}…` : s;
  }
}
