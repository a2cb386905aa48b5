// Group "answers": N concurrent participants answering as fast as acks come back, with live
// watchers on a sample of the sessions (per-session sockets and one campaign socket).
//
// Every participant slot owns a chain of `sessionsEach` sessions, all joined, connected, consented
// and started before the clock starts (so no join or handshake is inside the measured window);
// when one session ends the slot goes straight on to its next one, so N slots stay busy for the
// whole window. At the end of the window (or when every chain is done) no new answer is sent;
// answers in flight are still waited for and counted.
import { api, createInvites, join } from "./api.mjs";
import { idFromText, Participant } from "./participant.mjs";
import { now, perOp, pool, sleep, summarize } from "./stats.mjs";
import { closeAll, openSocket, wsUrl } from "./wsutil.mjs";

/** Opens a live socket and resolves once its snapshot arrived; participant segments feed `onSegment`. */
async function watch(url, key, sentAt, onSegment) {
  let snapshot;
  const gotSnapshot = new Promise((resolve) => (snapshot = resolve));
  const ws = await openSocket(url, {
    headers: { Authorization: `Bearer ${key}` },
    onMessage: (data) => {
      const at = now();
      const f = JSON.parse(String(data));
      if (f.type === "snapshot") snapshot();
      else if (f.type === "segment" && f.segment?.speaker === "participant") {
        const id = idFromText(f.segment.text);
        const sent = id ? sentAt.get(id) : undefined;
        if (sent !== undefined) onSegment(at - sent, id);
      }
    },
  });
  let timer;
  try {
    await Promise.race([gotSnapshot, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no snapshot on ${url} within 15 s`)), 15_000)))]);
  } finally {
    clearTimeout(timer);
  }
  return ws;
}

/** Runs every chain; returns when the first chain ran out of sessions (null if none did). */
async function runChains(chains) {
  let firstDone = null;
  await Promise.all(
    chains.map(async (chain) => {
      for (const p of chain) await p.run();
      if (!chain.at(-1).stopped) firstDone ??= now();
    }),
  );
  return firstDone;
}

export async function answersBench(base, { key, campaignId, tokens }, { participants = 100, sessionsEach = 2, windowMs = 20_000, watchEvery = 5, warmup = 10, thinkMs = 0, cpu = () => null, log = () => {} } = {}) {
  const sockets = [];
  const sentAt = new Map();
  const errors = [];
  const onError = (f) => errors.push(`${f.code}: ${f.message}`);
  try {
    const total = participants * sessionsEach;
    const invites = tokens?.length >= total + warmup ? { tokens } : await createInvites(base, key, campaignId, total + warmup, 8);
    if (invites.seconds) log(`  ${total + warmup} invites in ${invites.seconds.toFixed(1)} s`);

    // Warm-up: a few complete interviews, not measured (JIT, object classes, D1 connections).
    const warm = await pool(warmup, warmup, async (i) => {
      const p = new Participant(base, await join(base, invites.tokens[total + i]), { onAck: () => {}, onError, sentAt });
      await p.ready();
      sockets.push(p.ws);
      return p;
    });
    await Promise.all(warm.map((p) => p.run()));

    // Join, connect and start every session of every chain.
    const setupStarted = now();
    const joined = await pool(total, 10, (i) => join(base, invites.tokens[i]));
    const acks = [];
    const ackTimes = [];
    const all = joined.map((j) => new Participant(base, j, { onAck: (ms) => (acks.push(ms), ackTimes.push(now())), onError, sentAt, thinkMs }));
    await pool(all.length, 20, async (i) => {
      await all[i].ready();
      sockets.push(all[i].ws);
    });

    // Watchers on every `watchEvery`-th session (Bearer header), and one on the whole campaign.
    const watched = all.filter((_, i) => i % watchEvery === 0);
    const sessionWatch = [];
    await pool(watched.length, 10, async (i) => {
      sockets.push(await watch(wsUrl(base, `/v1/sessions/${watched[i].sessionId}/live`), key, sentAt, (ms) => sessionWatch.push(ms)));
    });
    const campaignWatch = [];
    sockets.push(await watch(wsUrl(base, `/v1/campaigns/${campaignId}/live`), key, sentAt, (ms) => campaignWatch.push(ms)));
    const setupSeconds = (now() - setupStarted) / 1000;
    log(`  ${total} sessions joined and started, ${watched.length} session watchers + 1 campaign watcher, in ${setupSeconds.toFixed(1)} s`);

    // The measured window: every slot answers its chain of sessions back to back.
    sentAt.clear();
    const chains = Array.from({ length: participants }, (_, s) => all.slice(s * sessionsEach, (s + 1) * sessionsEach));
    const cpuBefore = cpu();
    const started = now();
    const window = setTimeout(() => all.forEach((p) => (p.stopped = true)), windowMs);
    const firstDone = await runChains(chains);
    clearTimeout(window);
    const seconds = (now() - started) / 1000;
    // Throughput while all N participants were busy: up to the end of the window, or until the
    // first participant ran out of sessions if that came first (the tail has fewer participants).
    const steadyEnd = Math.min(started + windowMs, firstDone ?? Infinity);
    const steadyAcks = ackTimes.filter((t) => t <= steadyEnd).length;
    const cpuUsed = cpu(cpuBefore);
    await sleep(1000); // trailing watcher frames
    const answers = all.reduce((n, p) => n + p.answered, 0);
    const completed = all.filter((p) => p.ended?.status === "completed").length;
    const expectedWatched = watched.reduce((n, p) => n + p.answered, 0);

    // How long after the run until the D1 session index (the objects' mirror) counts every answer.
    const mirrorStarted = now();
    let mirrored = 0;
    const expectedMirrored = answers + warmup * 10;
    for (let attempt = 0; attempt < 40; attempt++) {
      mirrored = await answersInIndex(base, key, campaignId);
      if (mirrored >= expectedMirrored) break;
      await sleep(250);
    }
    const mirrorCatchUpSeconds = (now() - mirrorStarted) / 1000;

    return {
      participants,
      thinkMs,
      sessionsEach,
      sessions: total,
      setupSeconds,
      seconds,
      answers,
      acked: acks.length,
      completedSessions: completed,
      perSecond: steadyAcks / ((steadyEnd - started) / 1000),
      steadySeconds: (steadyEnd - started) / 1000,
      overallPerSecond: answers / seconds,
      ack: summarize(acks),
      errors: errors.slice(0, 20),
      errorCount: errors.length,
      watch: {
        sessionsWatched: watched.length,
        expected: expectedWatched,
        received: sessionWatch.length,
        latency: summarize(sessionWatch),
        campaign: { expected: answers, received: campaignWatch.length, latency: summarize(campaignWatch) },
      },
      serverCpuMsPerAnswer: cpuUsed ? perOp(cpuUsed, answers) : null,
      mirror: { answersInIndex: mirrored, expected: expectedMirrored, catchUpSecondsAfterRun: mirrorCatchUpSeconds },
    };
  } finally {
    closeAll(sockets);
  }
}

/** The sum of questionsAnswered over the campaign's rows in the D1 index. */
async function answersInIndex(base, key, campaignId) {
  let n = 0;
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const r = await api(base, "GET", `/v1/campaigns/${campaignId}/sessions?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: key });
    if (r.status !== 200) return n;
    for (const s of r.json.data) n += s.questionsAnswered;
    cursor = r.json.nextCursor;
    if (!cursor) break;
  }
  return n;
}

