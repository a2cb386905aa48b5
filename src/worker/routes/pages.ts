// Server-rendered HTML shells for the browser apps; the bundles come from static assets.
import type { Context } from "hono";
import type { AppEnv } from "../types";

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self' blob:; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function shell(c: Context<AppEnv>, title: string, script: string) {
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app/styles.css">
<script type="module" src="/app/${script}.js"></script>
</head>
<body>
<div id="app"><main class="card"><p class="muted">Loading…</p><noscript>This page needs JavaScript.</noscript></main></div>
</body>
</html>`;
  return c.html(page, 200, { "Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store" });
}
