// Group "privacy": a bulk export of 1,000 completed interviews with transcripts to a ZIP (the
// queue job streaming into an R2 multipart upload), timed from the request to "ready" with the
// server's memory sampled throughout; then the erasure of one participant with 50 sessions.
// Targets (issue 6): the export under 60 s with bounded memory, the erasure under 5 s.
import { unzipSync, strFromU8 } from "fflate";
import { api, expectOk, questions } from "./api.mjs";
import { Participant } from "./participant.mjs";
import { groupRssMb } from "./server.mjs";
import { now, pool, sleep } from "./stats.mjs";

export const EXPORT_TARGET_S = 60;
export const ERASURE_TARGET_S = 5;
const ERASE_EMAIL = "erase-me@bench.interviewrelay.test";

/** Runs one whole interview (join, consent, start, every answer) and resolves with its session id. */
async function interview(base, token) {
  const joined = await expectOk(api(base, "POST", "/v1/join", { body: { token, device: { browser: "bench" } } }), "POST /v1/join");
  const p = new Participant(base, joined, { onAck: () => {}, sentAt: new Map() });
  await p.ready();
  const ended = await p.run();
  p.ws.close();
  if (ended?.status !== "completed") throw new Error(`session ${joined.sessionId} ended ${JSON.stringify(ended)}: ${p.errors.join("; ")}`);
  return joined.sessionId;
}

export async function privacyBench(base, { sessions = 1000, erasureSessions = 50, concurrency = 16, pid, log = () => {} } = {}) {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const org = await expectOk(
    api(base, "POST", "/v1/orgs", { token: "bench-operator-token", body: { name: `Privacy ${tag}`, plan: "enterprise", owner: { email: `owner+${tag}@bench.interviewrelay.test`, name: "Owner", password: "bench-password-123" } } }),
    "POST /v1/orgs",
  );
  const key = org.apiKey.key;
  const campaign = await expectOk(
    api(base, "POST", "/v1/campaigns", { token: key, body: { name: `Export ${tag}`, questions: questions(2, "none"), settings: { consentRequired: true, consentText: "Recorded for research." } } }),
    "POST /v1/campaigns",
  );
  // Setup (not measured): 1,000 + 50 interviews over the participant socket, so each session has a
  // real transcript in its object, exactly what the export reads.
  const total = sessions + erasureSessions;
  const t0 = now();
  const tokens = await pool(total, 8, async (i) => {
    const participant = i < sessions ? { email: `p${i}@bench.interviewrelay.test`, name: `Participant ${i}` } : { email: ERASE_EMAIL, name: "Erase Me" };
    return (await expectOk(api(base, "POST", `/v1/campaigns/${campaign.id}/invites`, { token: key, body: { participant } }), "POST invites")).token;
  });
  const ids = await pool(total, concurrency, (i) => interview(base, tokens[i]));
  log(`  setup: ${total} completed interviews (2 answers each) in ${((now() - t0) / 1000).toFixed(1)} s`);
  // Every answer queued an analysis on the same queue as the export job: wait until that backlog
  // has drained (the campaign's analytics stop changing), so the export is measured, not the queue.
  const d0 = now();
  let last = null;
  let stable = 0;
  while (stable < 2 && now() - d0 < 900_000) {
    await sleep(3000);
    const a = await api(base, "GET", `/v1/campaigns/${campaign.id}/analytics`, { token: key, timeoutMs: 60_000 }).catch(() => null);
    const text = a?.status === 200 ? JSON.stringify(a.json) : null;
    stable = text !== null && text === last ? stable + 1 : 0;
    last = text;
  }
  log(`  the analysis backlog drained in ${((now() - d0) / 1000).toFixed(0)} s`);

  // ---- bulk export ----
  const exportIds = ids.slice(0, sessions);
  const rssBefore = groupRssMb(pid);
  let rssPeak = rssBefore ?? 0;
  // Sampled on a timer of its own: polls answer late while the job holds the local isolate.
  const sampler = setInterval(() => {
    const rss = groupRssMb(pid);
    if (rss !== null) rssPeak = Math.max(rssPeak, rss);
  }, 250);
  sampler.unref(); // never what keeps the run alive, even if the export fails below
  const started = now();
  const req = await expectOk(api(base, "POST", `/v1/campaigns/${campaign.id}/exports`, { token: key, body: { format: "json", sessionIds: exportIds } }), "POST exports");
  let status = null;
  let runningAt = null;
  let lastLog = 0;
  for (;;) {
    // A slow answer under load is not a failure of the export: poll again.
    const polled = await api(base, "GET", `/v1/exports/${req.id}`, { token: key, timeoutMs: 60_000 }).catch(() => null);
    if (polled?.status === 200) status = polled.json;
    if (status?.status !== "queued" && runningAt === null) runningAt = now();
    if (status?.status === "ready" || status?.status === "failed") break;
    if (now() - started > 600_000) throw new Error(`export not ready after 10 minutes: ${JSON.stringify(status)}`);
    if (now() - lastLog > 10_000) {
      lastLog = now();
      log(`  export: ${status?.sessionsDone ?? 0}/${sessions} sessions after ${((now() - started) / 1000).toFixed(0)} s`);
    }
    await sleep(250);
  }
  clearInterval(sampler);
  const exportSeconds = (now() - started) / 1000;
  const queueWaitSeconds = ((runningAt ?? now()) - started) / 1000;
  if (status.status !== "ready") throw new Error(`export failed: ${JSON.stringify(status)}`);
  const dl = await fetch(status.downloadUrl);
  const zip = new Uint8Array(await dl.arrayBuffer());
  const files = unzipSync(zip);
  const manifest = JSON.parse(strFromU8(files["manifest.json"]));
  const folders = new Set(Object.keys(files).filter((p) => p !== "manifest.json").map((p) => p.split("/")[0]));
  if (folders.size !== sessions || manifest.files.length !== sessions) throw new Error(`the ZIP holds ${folders.size} sessions, the manifest ${manifest.files.length}; expected ${sessions}`);
  const unzippedBytes = Object.values(files).reduce((n, f) => n + f.length, 0);
  log(`  export: ${sessions} sessions → ${(zip.length / 1048576).toFixed(2)} MiB ZIP (${(unzippedBytes / 1048576).toFixed(1)} MiB inside) in ${exportSeconds.toFixed(1)} s from the request (first seen running after ${queueWaitSeconds.toFixed(1)} s: an upper bound on the queue wait, polls answer late while the job runs); server RSS ${rssBefore} → peak ${rssPeak} MiB`);

  // ---- erasure of one participant with 50 sessions ----
  const e0 = now();
  const receipt = await api(base, "DELETE", `/v1/participants/data?email=${encodeURIComponent(ERASE_EMAIL)}`, { token: key, headers: { "X-Confirm-Delete": "true" }, timeoutMs: 120_000 });
  const erasureSeconds = (now() - e0) / 1000;
  if (receipt.status !== 200 || receipt.json.sessions.length !== erasureSessions) throw new Error(`erasure: ${receipt.status} ${receipt.text.slice(0, 300)}`);
  const left = await api(base, "GET", `/v1/participants/data?email=${encodeURIComponent(ERASE_EMAIL)}`, { token: key });
  if (left.json?.sessions?.length !== 0) throw new Error(`after erasure the participant still has ${left.json?.sessions?.length} sessions`);
  log(`  erasure: ${erasureSessions} sessions of one participant in ${erasureSeconds.toFixed(2)} s (${receipt.json.sessions.reduce((n, s) => n + s.transcriptSegments, 0)} segments removed)`);

  const verdict = (name, value, target) => `${name}: ${value.toFixed(2)} s (target < ${target} s) ${value < target ? "PASS" : "FAIL"}`;
  log(`  ${verdict("bulk export of 1,000 sessions", exportSeconds, EXPORT_TARGET_S)}`);
  log(`  ${verdict("erasure of 50 sessions", erasureSeconds, ERASURE_TARGET_S)}`);
  return {
    sessions,
    exportSeconds,
    queueWaitSeconds,
    zipBytes: zip.length,
    unzippedBytes,
    rssMbBefore: rssBefore,
    rssMbPeak: rssPeak,
    rssMbGrowth: rssBefore === null ? null : rssPeak - rssBefore,
    erasureSessions,
    erasureSeconds,
    pass: { export: exportSeconds < EXPORT_TARGET_S, erasure: erasureSeconds < ERASURE_TARGET_S },
  };
}
