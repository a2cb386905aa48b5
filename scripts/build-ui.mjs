// Bundles the Preact + htm UIs with esbuild into public/app/ (served as static assets).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "public", "app");
mkdirSync(out, { recursive: true });

// The AudioWorklet processor is its own file: the CSP (script-src 'self') rules out blob: modules.
const entries = { participant: "src/ui/participant/main.ts", "pcm-worklet": "src/ui/participant/pcm-worklet.ts" };
try {
  if (statSync(join(root, "src/ui/dashboard/main.ts")).isFile()) entries.dashboard = "src/ui/dashboard/main.ts";
} catch {
  // no dashboard yet
}

await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(root, v)])),
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(join(root, "src/ui/shared/styles.css"), join(out, "styles.css"));
// Budgets (issue 4): the dashboard's JavaScript at most 100 KB gzipped.
const BUDGET_GZ = { "dashboard.js": 100 * 1024 };
let over = false;
for (const f of readdirSync(out).sort()) {
  const bytes = readFileSync(join(out, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const budget = BUDGET_GZ[f];
  if (budget && gz > budget) over = true;
  console.log(`public/app/${f.padEnd(16)} ${(bytes.length / 1024).toFixed(1).padStart(7)} KiB  ${(gz / 1024).toFixed(1).padStart(6)} KiB gzipped${budget ? `  (budget ${budget / 1024} KiB: ${gz > budget ? "OVER" : "ok"})` : ""}`);
}
if (over) {
  console.error("a bundle is over its gzipped size budget");
  process.exit(1);
}
