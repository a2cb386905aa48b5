// Bundles the Preact + htm UIs with esbuild into public/app/ (served as static assets).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "public", "app");
rmSync(join(out, "chunks"), { recursive: true, force: true }); // chunk names carry hashes: drop stale ones
mkdirSync(out, { recursive: true });

// The AudioWorklet processor is its own file: the CSP (script-src 'self') rules out blob: modules.
const entries = { "pcm-worklet": "src/ui/participant/pcm-worklet.ts" };
try {
  if (statSync(join(root, "src/ui/dashboard/main.ts")).isFile()) entries.dashboard = "src/ui/dashboard/main.ts";
} catch {
  // no dashboard yet
}

const common = { outdir: out, bundle: true, minify: true, format: "esm", target: "es2022", sourcemap: false, legalComments: "none", logLevel: "warning" };
await build({ ...common, entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(root, v)])) });
// The participant page on its own, split: its non-English catalogs (src/ui/participant/locales/)
// are chunks that only pages in those languages load. Module scripts are always read as UTF-8,
// and escaped CJK and Arabic was twice the size.
await build({ ...common, entryPoints: { participant: join(root, "src/ui/participant/main.ts") }, splitting: true, chunkNames: "chunks/[name]-[hash]", charset: "utf8" });
copyFileSync(join(root, "src/ui/shared/styles.css"), join(out, "styles.css"));
// Budgets (issue 4): the dashboard's JavaScript at most 100 KB gzipped.
const BUDGET_GZ = { "dashboard.js": 100 * 1024 };
let over = false;
const outFiles = readdirSync(out, { recursive: true })
  .map(String)
  .filter((f) => statSync(join(out, f)).isFile())
  .sort();
for (const f of outFiles) {
  const bytes = readFileSync(join(out, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const budget = BUDGET_GZ[f];
  if (budget && gz > budget) over = true;
  console.log(`public/app/${f.padEnd(22)} ${(bytes.length / 1024).toFixed(1).padStart(7)} KiB  ${(gz / 1024).toFixed(1).padStart(6)} KiB gzipped${budget ? `  (budget ${budget / 1024} KiB: ${gz > budget ? "OVER" : "ok"})` : ""}`);
}
if (over) {
  console.error("a bundle is over its gzipped size budget");
  process.exit(1);
}

// The PDF export's fonts (src/worker/pdf-text.ts reads them through the ASSETS binding): Noto faces
// from the pinned @expo-google-fonts packages, under the SIL Open Font License (copied beside them).
const fontsOut = join(root, "public", "fonts");
mkdirSync(fontsOut, { recursive: true });
// The list is src/worker/pdf-faces.json, which the PDF typesetter picks faces from.
const faces = JSON.parse(readFileSync(join(root, "src", "worker", "pdf-faces.json"), "utf8")).map((f) => [f.pkg, f.name, f.bold]);
let fontBytes = 0;
for (const [pkg, name, bold] of faces) {
  const dir = join(root, "node_modules", "@expo-google-fonts", pkg);
  for (const [weight, suffix] of [["400Regular", "Regular"], ...(bold ? [["700Bold", "Bold"]] : [])]) {
    const to = join(fontsOut, `${name}-${suffix}.ttf`);
    copyFileSync(join(dir, weight, `${name}_${weight}.ttf`), to);
    fontBytes += statSync(to).size;
  }
}
writeFileSync(
  join(fontsOut, "OFL.txt"),
  faces.map(([pkg, name]) => `== ${name} ==\n\n${readFileSync(join(root, "node_modules", "@expo-google-fonts", pkg, "LICENSE_FONT"), "utf8")}`).join("\n"),
);
console.log(`public/fonts/ ${faces.length} Noto families, ${(fontBytes / 1024 / 1024).toFixed(1)} MiB (PDF export)`);
