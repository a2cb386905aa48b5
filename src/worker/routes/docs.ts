// /docs: the OpenAPI document rendered as one self-contained HTML page (no CDN, no script).
import type { Context } from "hono";
import type { AppEnv } from "../types";

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  "x-policy-action"?: string;
};

export function docsPage(c: Context<AppEnv>, doc: { info: { title: string; description: string }; paths: Record<string, Record<string, unknown>> }) {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(methods)) {
      const o = raw as Operation;
      const params = (o.parameters ?? [])
        .map((p) => `<li><code>${esc(p.name)}</code> <small>${esc(p.in)}${p.required ? ", required" : ""}</small></li>`)
        .join("");
      const body = o.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(o.requestBody.content["application/json"]?.schema, null, 2))}</pre></details>` : "";
      const responses = Object.entries(o.responses ?? {})
        .filter(([status]) => Number(status) < 400)
        .map(([status, r]) => {
          const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
          return `<details><summary>${esc(status)} ${esc(r.description)}</summary>${schema ? `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>` : ""}</details>`;
        })
        .join("");
      const html = `<section class="op"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(o.summary ?? "")}</p>${o.description ? `<p class="d">${esc(o.description)}</p>` : ""}
${o["x-policy-action"] ? `<p class="d">Policy action: <code>${esc(o["x-policy-action"])}</code></p>` : ""}
${params ? `<ul>${params}</ul>` : ""}${body}${responses}</section>`;
      const tag = o.tags?.[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#${esc(t)}">${esc(t)}</a>`).join("");
  const sections = [...byTag.entries()].map(([t, ops]) => `<h2 id="${esc(t)}">${esc(t)}</h2>${ops.join("")}`).join("");
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)}</title><style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}main{max-width:960px;margin:auto;padding:24px}
nav{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 24px}nav a{color:#3346d3}
.op{background:#fff;border:1px solid #e1e4ee;border-radius:8px;padding:12px 16px;margin:12px 0}
.op h3{margin:0;font-size:15px}.m{display:inline-block;min-width:64px;font-size:12px;padding:2px 6px;border-radius:4px;color:#fff;text-align:center}
.get{background:#2f7d4f}.post{background:#3346d3}.patch{background:#a36500}.delete{background:#b3261e}
pre{background:#f0f2f8;padding:8px;overflow:auto;font-size:12px}.d{color:#555}code{font-size:13px}</style></head>
<body><main><h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description)}</p><p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1)</p>
<nav>${nav}</nav>${sections}</main></body></html>`;
  return c.html(page, 200, { "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" });
}
