// The session object's one alarm and the deadlines it serves: heartbeat, pause expiry, leave
// grace, and the cron sweep that stands in for a lost alarm. Where waiting out a deadline would
// be slow, the test moves the session's clock back in its storage instead.
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepOverdueSessions } from "../../src/worker/cron";
import worker from "../../src/worker/index";
import { call } from "../helpers/api";
import { alarmAt, indexRow, newSession, participant, patchState, sleep, startedSession, storedSnapshot, storedState, until } from "../helpers/session";

const HEARTBEAT_MS = 5_000;
const PAUSE_EXPIRY_MS = 10_000;
const LEAVE_GRACE_MS = 2_000;

/** Waits until the object has nothing left to do: no alarm armed (mirror synced, outbox empty). */
const settled = (stub: Parameters<typeof alarmAt>[0]) => until(async () => (await alarmAt(stub)) === null, "the alarm to be cleared once nothing is pending");

describe("the alarm", () => {
  it("has nothing to run for a session that has not started", async () => {
    const s = await newSession();
    expect(await alarmAt(s.stub)).toBeNull();
    expect(await runDurableObjectAlarm(s.stub)).toBe(false);
    expect((await storedState(s.stub)).status).toBe("created");
  });

  it("is armed at the heartbeat deadline of a session in progress, and running it early twice changes nothing", async () => {
    const s = await startedSession();
    const { lastSeenAt } = await storedState(s.stub);
    await until(async () => (await alarmAt(s.stub)) === lastSeenAt + HEARTBEAT_MS, "the alarm at the heartbeat deadline");
    const before = await storedSnapshot(s.stub);

    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    await until(async () => (await alarmAt(s.stub)) === lastSeenAt + HEARTBEAT_MS, "the alarm re-armed at the same deadline");
    expect(await storedSnapshot(s.stub)).toEqual(before);

    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    await until(async () => (await alarmAt(s.stub)) === lastSeenAt + HEARTBEAT_MS, "the alarm re-armed again");
    expect(await storedSnapshot(s.stub)).toEqual(before);
    expect(s.ws.closed).toBeNull();
    s.ws.close();
  });

  it("abandons a silent participant at the heartbeat deadline, tells the socket, closes it and updates the index; then nothing is pending", async () => {
    const s = await startedSession();
    await patchState(s.stub, (st) => ({ lastSeenAt: st.lastSeenAt - HEARTBEAT_MS - 1000 }));

    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    const ended = await s.ws.next((f) => f.type === "ended", "ended frame");
    expect(ended).toMatchObject({ status: "abandoned", reason: "heartbeat_timeout" });
    await s.ws.closedWithin();
    const state = await storedState(s.stub);
    expect(state).toMatchObject({ status: "abandoned", endReason: "heartbeat_timeout" });

    const row = await until(async () => {
      const r = await indexRow(s.sessionId);
      return r?.status === "abandoned" ? r : null;
    }, "the index row to show abandoned");
    expect(row).toMatchObject({ end_reason: "heartbeat_timeout", deadline_at: null });

    await settled(s.stub);
    const after = await storedSnapshot(s.stub);
    expect(await runDurableObjectAlarm(s.stub)).toBe(false);
    expect(await storedSnapshot(s.stub)).toEqual(after);
  });

  it("fires by itself when a participant goes silent (real time)", async () => {
    const s = await startedSession();
    const ended = await s.ws.next((f) => f.type === "ended", "the heartbeat alarm to end the session", 0, HEARTBEAT_MS + 4000);
    expect(ended).toMatchObject({ status: "abandoned", reason: "heartbeat_timeout" });
    await s.ws.closedWithin();
    await until(async () => (await indexRow(s.sessionId))?.status === "abandoned", "the index row to show abandoned");
  }, 20_000);

  it("keeps a participant who sends exactly {\"type\":\"ping\"}: answered by auto-response, no storage write, counted by the alarm", async () => {
    const s = await startedSession();
    await patchState(s.stub, (st) => ({ lastSeenAt: st.lastSeenAt - HEARTBEAT_MS - 1000 }));
    const before = await storedSnapshot(s.stub);

    const from = s.ws.frames.length;
    s.ws.send('{"type":"ping"}');
    await s.ws.next((f) => f.type === "pong", "pong", from);
    expect(await storedSnapshot(s.stub)).toEqual(before);

    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    const state = await storedState(s.stub);
    expect(state.status).toBe("in_progress");
    expect(state.lastSeenAt).toBeGreaterThan(before.state!.lastSeenAt);
    expect(s.ws.frames.some((f) => f.type === "ended")).toBe(false);
    s.ws.close();
  });

  it("keeps a participant who pings every second past the heartbeat timeout (real time)", async () => {
    const s = await startedSession();
    const started = Date.now();
    while (Date.now() - started < HEARTBEAT_MS + 2000) {
      s.ws.send('{"type":"ping"}');
      await sleep(1000);
    }
    expect(s.ws.frames.filter((f) => f.type === "pong").length).toBeGreaterThanOrEqual(5);
    expect(s.ws.frames.some((f) => f.type === "ended")).toBe(false);
    expect((await storedState(s.stub)).status).toBe("in_progress");
    expect(s.ws.closed).toBeNull();
    s.ws.close();
  }, 20_000);

  it("counts a ping that is not byte-exact (answered by the object) as a sign of life too", async () => {
    const s = await startedSession();
    await patchState(s.stub, (st) => ({ lastSeenAt: st.lastSeenAt - HEARTBEAT_MS - 1000 }));
    const from = s.ws.frames.length;
    s.ws.send('{ "type": "ping" }');
    await s.ws.next((f) => f.type === "pong", "pong", from);
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect((await storedState(s.stub)).status).toBe("in_progress");
    s.ws.close();
  });

  it("abandons a paused session when the pause expires, but not for silence while paused", async () => {
    const s = await startedSession();
    const from = s.ws.frames.length;
    s.ws.send({ type: "pause", reason: "doorbell" });
    await s.ws.next((f) => f.type === "paused", "paused frame", from);
    await until(async () => (await storedState(s.stub)).status === "paused", "status paused");

    // Silence while paused is not abandonment: only the pause expiry counts.
    await patchState(s.stub, (st) => ({ lastSeenAt: st.lastSeenAt - HEARTBEAT_MS * 4 }));
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect((await storedState(s.stub)).status).toBe("paused");

    await patchState(s.stub, (st) => ({ pausedAt: st.pausedAt! - PAUSE_EXPIRY_MS - 1000 }));
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await s.ws.next((f) => f.type === "ended", "ended frame", from)).toMatchObject({ status: "abandoned", reason: "pause_expired" });
    await s.ws.closedWithin();
    expect(await storedState(s.stub)).toMatchObject({ status: "abandoned", endReason: "pause_expired" });
    await until(async () => (await indexRow(s.sessionId))?.end_reason === "pause_expired", "index row with pause_expired");
  });

  it("one of two open tabs leaving does not end the session; the other's heartbeats keep it", async () => {
    const s = await startedSession();
    const other = await participant(s);
    const from = s.ws.frames.length;
    // The spare tab closes (the page sends leave on pagehide) while the first stays and pings.
    other.ws.send({ type: "leave" });
    other.ws.close();
    for (let t = 0; t < 4; t++) {
      s.ws.send({ type: "ping" });
      await sleep(LEAVE_GRACE_MS / 2);
    }
    expect(await runDurableObjectAlarm(s.stub).catch(() => false)).toBeTypeOf("boolean");
    expect(s.ws.frames.slice(from).filter((f) => f.type === "ended")).toEqual([]);
    expect(await storedState(s.stub)).toMatchObject({ status: "in_progress", leftAt: null });
    // The last tab leaving still ends it after the grace.
    s.ws.send({ type: "leave" });
    expect(await s.ws.next((f) => f.type === "ended", "ended after the leave grace", from, LEAVE_GRACE_MS + 4000)).toMatchObject({ status: "abandoned", reason: "participant_left" });
  });

  it("abandons a session the participant left once the leave grace passes (real time)", async () => {
    const s = await startedSession();
    const from = s.ws.frames.length;
    s.ws.send({ type: "leave" });
    const ended = await s.ws.next((f) => f.type === "ended", "ended after the leave grace", from, LEAVE_GRACE_MS + 4000);
    expect(ended).toMatchObject({ status: "abandoned", reason: "participant_left" });
    await s.ws.closedWithin();
    const row = await until(async () => {
      const r = await indexRow(s.sessionId);
      return r?.status === "abandoned" ? r : null;
    }, "the index row to show abandoned");
    expect(row.end_reason).toBe("participant_left");
  });

  it("a participant who closes the page before starting, or while paused, can come back: neither is abandoned", async () => {
    // Opening an invite to look and closing the tab must not use it up; the pause screen promises
    // that answers are kept for later.
    const fresh = await newSession();
    const look = await participant(fresh);
    look.ws.send({ type: "leave" });
    await until(async () => (await storedState(fresh.stub)).leftAt !== null, "leave recorded");
    look.ws.close();
    await sleep(LEAVE_GRACE_MS + 1000);
    expect(await alarmAt(fresh.stub)).toBeNull();
    expect((await storedState(fresh.stub)).status).toBe("created");
    const reopened = await call("POST", "/v1/join", { body: { token: fresh.inviteToken } });
    expect(reopened.json).toMatchObject({ sessionId: fresh.sessionId, resumed: true, status: "created" });

    const s = await startedSession();
    const from = s.ws.frames.length;
    s.ws.send({ type: "pause", reason: "later" });
    await s.ws.next((f) => f.type === "paused", "paused frame", from);
    s.ws.send({ type: "leave" });
    await until(async () => (await storedState(s.stub)).leftAt !== null, "leave recorded");
    s.ws.close();
    await sleep(LEAVE_GRACE_MS + 1000);
    await runDurableObjectAlarm(s.stub);
    expect(await storedState(s.stub)).toMatchObject({ status: "paused", endReason: null });
    const { pausedAt } = await storedState(s.stub);
    expect(await alarmAt(s.stub)).toBe(pausedAt! + PAUSE_EXPIRY_MS);
  }, 20_000);

  it("keeps a session alive when the participant reconnects within the leave grace", async () => {
    const s = await startedSession();
    const from = s.ws.frames.length;
    s.ws.send({ type: "leave" });
    await until(async () => (await storedState(s.stub)).leftAt !== null, "leave recorded");
    s.ws.close();
    await s.ws.closedWithin();

    const lastSeq = Math.max(...s.ws.frames.map((f) => f.seq ?? 0));
    const back = await participant(s, lastSeq);
    expect(back.state).toMatchObject({ status: "in_progress", questionIndex: 0 });
    expect((await storedState(s.stub)).leftAt).toBeNull();

    await sleep(LEAVE_GRACE_MS + 1000);
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect(await storedState(s.stub)).toMatchObject({ status: "in_progress", leftAt: null });
    expect(back.ws.frames.some((f) => f.type === "ended")).toBe(false);
    expect(s.ws.frames.slice(from).some((f) => f.type === "ended")).toBe(false);
    back.ws.close();
  }, 20_000);
});

describe("the cron sweep", () => {
  it("pokes a session whose alarm was lost once its index deadline has passed", async () => {
    const overdue = await startedSession();
    const onTime = await startedSession();
    await until(async () => (await indexRow(overdue.sessionId))?.status === "in_progress", "index row in progress");

    // Lose the alarm and let the silence outlast the heartbeat, as after a local restart.
    await runInDurableObject(overdue.stub, (_i, state) => state.storage.deleteAlarm());
    await patchState(overdue.stub, (st) => ({ lastSeenAt: st.lastSeenAt - HEARTBEAT_MS - 1000 }));
    await env.DB.prepare("UPDATE sessions SET deadline_at = ? WHERE id = ?").bind(Date.now() - 1000, overdue.sessionId).run();
    expect(await runDurableObjectAlarm(overdue.stub)).toBe(false);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await overdue.ws.next((f) => f.type === "ended", "ended frame after the sweep")).toMatchObject({ status: "abandoned", reason: "heartbeat_timeout" });
    await until(async () => (await indexRow(overdue.sessionId))?.status === "abandoned", "index row abandoned after the sweep");
    expect((await storedState(onTime.stub)).status).toBe("in_progress");
    expect(onTime.ws.frames.some((f) => f.type === "ended")).toBe(false);
    onTime.ws.close();
  });

  it("treats a poke as a hint: the object decides from its own storage, and finished sessions are not swept", async () => {
    const s = await startedSession();
    const row = await until(async () => {
      const r = await indexRow(s.sessionId);
      return r?.status === "in_progress" && r.deadline_at !== null ? r : null;
    }, "a deadline in the index");
    // Even a sweep that believes the deadline passed long ago leaves a live session alone.
    const before = await storedSnapshot(s.stub);
    expect(await sweepOverdueSessions(env, Number(row.deadline_at) + 60_000)).toBeGreaterThanOrEqual(1);
    expect((await storedSnapshot(s.stub)).state).toEqual(before.state);
    expect(s.ws.frames.some((f) => f.type === "ended")).toBe(false);

    await call("POST", `/v1/sessions/${s.sessionId}/end`, { key: s.key });
    const done = await until(async () => {
      const r = await indexRow(s.sessionId);
      return r?.status === "completed" ? r : null;
    }, "index row completed");
    expect(done.deadline_at).toBeNull();
    const due = await env.DB.prepare("SELECT id FROM sessions WHERE id = ? AND status IN ('created', 'in_progress', 'paused') AND deadline_at IS NOT NULL").bind(s.sessionId).first();
    expect(due).toBeNull();
  });
});
