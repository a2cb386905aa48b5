// `npm run dev`: local D1 migrations, the UI bundle, `wrangler dev` (workerd with local D1, R2,
// Queues and Durable Objects), then a seeded demo org whose sign-in, API key and invite link it prints.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemo } from "./demo-seed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 8787);
const inspectorPort = Number(process.env.INSPECTOR_PORT ?? 9329);
const base = `http://127.0.0.1:${port}`;
const demoFile = join(root, ".wrangler", "demo.json");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(" ")} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function devVars() {
  const file = join(root, ".dev.vars");
  if (!existsSync(file)) {
    copyFileSync(join(root, ".dev.vars.example"), file);
    console.log("Created .dev.vars from .dev.vars.example");
  }
  const parse = (text) => {
    const out = {};
    for (const line of text.split("\n")) {
      const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
      if (m) out[m[1]] = m[2].replace(/^"|"$/g, "");
    }
    return out;
  };
  const vars = parse(readFileSync(file, "utf8"));
  // Settings added since this .dev.vars was made (AUDIO_KEK, …) are appended with their example values.
  const example = parse(readFileSync(join(root, ".dev.vars.example"), "utf8"));
  const missing = Object.keys(example).filter((k) => !(k in vars));
  if (missing.length) {
    appendFileSync(file, `\n${missing.map((k) => `${k}=${example[k]}`).join("\n")}\n`);
    console.log(`Added ${missing.join(", ")} to .dev.vars from .dev.vars.example`);
    for (const k of missing) vars[k] = example[k];
  }
  return vars;
}

async function api(method, path, { token, body } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, json };
}

async function waitForServer(child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the server did not answer on ${base} within 60 s`);
}


async function seed(vars) {
  const saved = existsSync(demoFile) ? JSON.parse(readFileSync(demoFile, "utf8")) : null;
  const { demo, invites } = await seedDemo(api, vars.OPERATOR_TOKEN, saved);
  mkdirSync(dirname(demoFile), { recursive: true });
  writeFileSync(demoFile, JSON.stringify(demo, null, 2));
  return { ...demo, inviteUrl: invites.text.url, inviteToken: invites.text.token, voiceInviteUrl: invites.voice.url };
}

const vars = devVars();
if (existsSync(join(root, "scripts", "build-ui.mjs"))) run(process.execPath, [join(root, "scripts", "build-ui.mjs")]);
run(wrangler, ["d1", "migrations", "apply", "DB", "--local"]);

const child = spawn(wrangler, ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--var", `PUBLIC_URL:${base}`], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit"],
  env: process.env,
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));

try {
  await waitForServer(child);
  const demo = await seed(vars);
  console.log(`
┌────────────────────────────────────────────────────────────────────────────
│ InterviewRelay is running at ${base}
│
│ Dashboard sign-in   ${base}/            ${demo.email} / ${demo.password}
│ API key (owner)     ${demo.apiKey}
│ Demo campaign       ${demo.campaignId}
│ Participant invite  ${demo.inviteUrl}
│ Voice interview     ${demo.voiceInviteUrl}   (Chrome: allow the microphone)
│ API docs            ${base}/docs   (OpenAPI: ${base}/v1/openapi.json)
│
│ Try: curl -H "Authorization: Bearer ${demo.apiKey}" ${base}/v1/campaigns/${demo.campaignId}/sessions
│ Drive an interview from a terminal: npm run demo:interview -- ${demo.inviteToken}
└────────────────────────────────────────────────────────────────────────────
`);
} catch (err) {
  console.error(String(err));
  child.kill("SIGTERM");
  process.exit(1);
}
