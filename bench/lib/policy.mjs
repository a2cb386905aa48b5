// Policy + audit cost: the same route (an audited campaign read) behind op() — authentication,
// the policy check and an audit append — and behind authentication alone, requested alternately
// one at a time so both see the same machine. Target: the median difference ≤ 1 ms.
import { join } from "node:path";
import { api, createOrgAndCampaign } from "./api.mjs";
import { BENCH_DIR } from "./paths.mjs";
import { summarize } from "./stats.mjs";

export const POLICY_CONFIG = join(BENCH_DIR, "policy", "wrangler.toml");

export async function policyBench(base, { requests, warmup = 100, log, cpu = () => null }) {
  const setup = await createOrgAndCampaign(base, { questionCount: 3 });
  const paths = { with: `/bench/with/${setup.campaignId}`, bypass: `/bench/bypass/${setup.campaignId}` };
  for (const p of Object.values(paths)) {
    const r = await api(base, "GET", p, { token: setup.key });
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.text.slice(0, 300)}`);
  }
  for (let i = 0; i < warmup; i++) await api(base, "GET", i % 2 ? paths.with : paths.bypass, { token: setup.key });
  const samples = { with: [], bypass: [] };
  const diffs = [];
  for (let i = 0; i < requests; i++) {
    // Alternate which goes first, so neither always follows the other.
    const order = i % 2 ? ["with", "bypass"] : ["bypass", "with"];
    const pair = {};
    for (const k of order) pair[k] = (await api(base, "GET", paths[k], { token: setup.key })).ms;
    samples.with.push(pair.with);
    samples.bypass.push(pair.bypass);
    diffs.push(pair.with - pair.bypass);
  }
  const w = summarize(samples.with);
  const b = summarize(samples.bypass);
  const d = summarize(diffs);
  // CPU per request, which other processes on the machine cannot inflate: blocks of each kind in
  // turn, each followed by the same pause so the audit pipeline's batched appends (after the
  // responses) land inside the block that caused them.
  const cpuMs = { with: 0, bypass: 0 };
  const BLOCK = 100;
  const blocks = Math.max(2, Math.round(requests / BLOCK / 2));
  for (let i = 0; i < blocks; i++) {
    for (const k of i % 2 ? ["with", "bypass"] : ["bypass", "with"]) {
      const before = cpu();
      for (let j = 0; j < BLOCK; j++) await api(base, "GET", paths[k], { token: setup.key });
      await new Promise((r) => setTimeout(r, 1500));
      const after = cpu();
      if (before && after) cpuMs[k] += after.total - before.total;
    }
  }
  const cpuPerRequest = { with: cpuMs.with / (blocks * BLOCK), bypass: cpuMs.bypass / (blocks * BLOCK) };
  const cpuAdded = cpuPerRequest.with - cpuPerRequest.bypass;
  log(`  server CPU per request: with ${cpuPerRequest.with.toFixed(2)} ms, bypassed ${cpuPerRequest.bypass.toFixed(2)} ms, added ${cpuAdded.toFixed(2)} ms (${blocks * BLOCK} of each, audit appends included)`);
  // The audit rows really were written (the appends run after the response, in waitUntil).
  const audit = await api(base, "GET", `/v1/audit-log?resourceId=${setup.campaignId}&action=analytics.read&limit=100`, { token: setup.key });
  const audited = audit.json?.data?.length ?? 0;
  log(`  with policy+audit p50 ${w.p50.toFixed(2)} ms, bypassed p50 ${b.p50.toFixed(2)} ms, paired difference p50 ${d.p50.toFixed(2)} ms (${requests} pairs); audit rows seen: ${audited}`);
  return { requests, with: w, bypass: b, difference: d, medianAddedMs: d.p50, cpuPerRequest, cpuAddedMs: Math.round(cpuAdded * 100) / 100, auditRowsSeen: audited, target: { medianAddedMs: 1 }, pass: d.p50 <= 1 };
}
