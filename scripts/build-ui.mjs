// Bundles the Preact + htm UIs with esbuild into public/app/ (served as static assets).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "public", "app");
mkdirSync(out, { recursive: true });

const entries = { participant: "src/ui/participant/main.ts" };
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
for (const f of readdirSync(out)) console.log(`public/app/${f}  ${(statSync(join(out, f)).size / 1024).toFixed(1)} KiB`);
