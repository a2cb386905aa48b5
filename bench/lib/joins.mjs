// Group "joins": POST /v1/join (invite → new session object initialised, D1 claim) at concurrency C.
import { api, createInvites } from "./api.mjs";
import { now, perOp, pool, summarize } from "./stats.mjs";

export async function joinsBench(base, { key, campaignId, tokens }, { concurrency = 20, count = 500, warmup = 40, cpu = () => null, log = () => {} } = {}) {
  const invites = tokens?.length >= count + warmup ? { tokens } : await createInvites(base, key, campaignId, count + warmup, 8);
  if (invites.seconds) log(`  ${count + warmup} invites in ${invites.seconds.toFixed(1)} s (${((count + warmup) / invites.seconds).toFixed(0)}/s)`);
  const statuses = {};
  const call = async (token) => {
    const r = await api(base, "POST", "/v1/join", { body: { token, device: { browser: "bench", os: "linux", deviceType: "desktop" } } });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status !== 201 || r.json?.resumed !== false) throw new Error(`POST /v1/join: ${r.status} ${r.text.slice(0, 300)}`);
    return r.ms;
  };
  await pool(warmup, concurrency, (i) => call(invites.tokens[count + i]));
  const cpuBefore = cpu();
  const started = now();
  const samples = await pool(count, concurrency, (i) => call(invites.tokens[i]));
  const seconds = (now() - started) / 1000;
  const cpuUsed = cpu(cpuBefore);
  return {
    concurrency,
    seconds,
    joins: samples.length,
    perSecond: samples.length / seconds,
    latency: summarize(samples),
    statuses,
    serverCpuMsPerJoin: cpuUsed ? perOp(cpuUsed, samples.length) : null,
    inviteCreatePerSecond: invites.seconds ? (count + warmup) / invites.seconds : null,
  };
}
