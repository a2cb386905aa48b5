// Percentiles and summaries of latency samples (milliseconds).

/** The p-th percentile (0-100) by linear interpolation between closest ranks; NaN for no samples. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  if (sorted.length === 1) return sorted[0];
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (v) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);
  return {
    n,
    mean: r(n ? sum / n : NaN),
    min: r(n ? sorted[0] : NaN),
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)),
    max: r(n ? sorted[n - 1] : NaN),
  };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; returns the results in order. */
export async function pool(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Server CPU (ms) per operation, in total and by process name, from a groupCpuMs() difference. */
export function perOp(cpuUsed, ops) {
  const round2 = (v) => Math.round(v * 100) / 100;
  const out = { total: round2(cpuUsed.total / ops) };
  for (const [k, v] of Object.entries(cpuUsed.byCommand)) if (v > 0) out[k] = round2(v / ops);
  return out;
}

/** A think time around `ms` (0.5–1.5×), so paced clients do not move in lockstep. */
export const think = (ms) => ms * (0.5 + Math.random());
