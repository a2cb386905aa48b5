// The baseline groups, against bench/baseline (a bare Worker + one Durable Object class):
//  - WebSocket echo: N clients, one object each, closed-loop request/response round trips.
//  - New objects: POST /new (a brand-new object under a random name, called once) at concurrency C.
import { answerText } from "./participant.mjs";
import { now, perOp, pool, sleep, summarize, think } from "./stats.mjs";
import { closeAll, openSocket, wsUrl } from "./wsutil.mjs";

/**
 * Every client sends, waits for its echo, sends again (after a think time of about `thinkMs`, or at
 * once), until `until`; returns the RTT samples taken while recording.
 */
function closedLoop(sockets, until, record, thinkMs = 0) {
  return Promise.all(
    sockets.map(
      (ws, i) =>
        new Promise((resolve, reject) => {
          let sentAt = 0;
          let n = 0;
          const send = () => {
            n += 1;
            // The same shape and size as a participant's answer frame.
            const frame = JSON.stringify({ type: "answer", id: `echo-${i}-${n}`, text: answerText(`echo-${i}-${n}`) });
            sentAt = now();
            ws.send(frame);
          };
          const onMessage = () => {
            record(now() - sentAt);
            if (now() >= until) return done();
            if (thinkMs > 0) setTimeout(() => (now() < until ? send() : done()), think(thinkMs));
            else send();
          };
          const onClose = () => {
            done();
            reject(new Error(`echo socket ${i} closed early`));
          };
          const done = () => {
            ws.off("message", onMessage);
            ws.off("close", onClose);
            resolve();
          };
          ws.on("message", onMessage);
          ws.on("close", onClose);
          // Paced: the first message after a think time too, as the paced participants do.
          if (thinkMs > 0) setTimeout(send, think(thinkMs));
          else send();
        }),
    ),
  );
}

/** `write`: the object appends each frame to its SQLite storage before echoing it (a durable ack's floor). */
export async function echoBench(base, { clients = 100, warmupMs = 2000, durationMs = 10_000, write = false, thinkMs = 0, cpu = () => null, path } = {}) {
  path ??= (i) => `/ws?name=bench-echo-${write ? "w" : "p"}-${i}${write ? "&write=1" : ""}`;
  const sockets = [];
  try {
    const connectStarted = now();
    await pool(clients, 20, async (i) => {
      sockets[i] = await openSocket(wsUrl(base, path(i)));
    });
    const connectSeconds = (now() - connectStarted) / 1000;
    await closedLoop(sockets, now() + warmupMs, () => {});
    await sleep(200);
    const samples = [];
    const cpuBefore = cpu();
    const started = now();
    await closedLoop(sockets, started + durationMs, (ms) => samples.push(ms), thinkMs);
    const seconds = (now() - started) / 1000;
    const cpuUsed = cpu(cpuBefore);
    const result = {
      clients,
      write,
      thinkMs,
      connectSeconds,
      seconds,
      messages: samples.length,
      perSecond: samples.length / seconds,
      rtt: summarize(samples),
      serverCpuMsPerMessage: cpuUsed ? perOp(cpuUsed, samples.length) : null,
    };
    // The raw samples, for pooling two runs; not written to the JSON.
    Object.defineProperty(result, "samples", { value: samples, enumerable: false });
    return result;
  } finally {
    closeAll(sockets);
  }
}

export async function newObjectBench(base, { concurrency = 20, warmup = 40, durationMs = 8000, write = false, cpu = () => null } = {}) {
  const call = async () => {
    const started = now();
    const res = await fetch(`${base}/new${write ? "?write=1" : ""}`, { method: "POST", signal: AbortSignal.timeout(30_000) });
    await res.text();
    if (res.status !== 201) throw new Error(`POST /new: ${res.status}`);
    return now() - started;
  };
  await pool(warmup, concurrency, call);
  const samples = [];
  const cpuBefore = cpu();
  const started = now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < until) samples.push(await call());
    }),
  );
  const seconds = (now() - started) / 1000;
  const cpuUsed = cpu(cpuBefore);
  return {
    concurrency,
    write,
    seconds,
    created: samples.length,
    perSecond: samples.length / seconds,
    latency: summarize(samples),
    serverCpuMsPerCreate: cpuUsed ? perOp(cpuUsed, samples.length) : null,
  };
}

/** One baseline from the echo runs before and after the product's group (bracketing smooths out drift in machine load). */
export function poolEcho(runs) {
  const ok = runs.filter((r) => r && !r.error && r.samples);
  if (ok.length === 0) return runs.find(Boolean) ?? null;
  const samples = ok.flatMap((r) => r.samples);
  const seconds = ok.reduce((s, r) => s + r.seconds, 0);
  const cpu = ok.every((r) => r.serverCpuMsPerMessage)
    ? Object.fromEntries(Object.keys(ok[0].serverCpuMsPerMessage).map((k) => [k, Math.round((ok.reduce((s, r) => s + (r.serverCpuMsPerMessage[k] ?? 0) * r.messages, 0) / samples.length) * 100) / 100]))
    : null;
  return {
    clients: ok[0].clients,
    write: ok[0].write,
    runs: ok.length,
    seconds,
    messages: samples.length,
    perSecond: samples.length / seconds,
    rtt: summarize(samples),
    serverCpuMsPerMessage: cpu,
    loadAvg1mAtStart: ok[0].loadAvg1mAtStart,
    perRun: ok.map((r) => ({ perSecond: r.perSecond, rtt: r.rtt, loadAvg1mAtStart: r.loadAvg1mAtStart })),
  };
}
