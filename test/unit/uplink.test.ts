// The participant page's spoken-answer uplink against a simulated session object that is laxer
// than the server (src/objects/audio.ts): frames buffered and made durable in 128 KiB chunks, each
// acknowledged; answer_start on an open answer discards what was not durable and reports the
// durable offset; a rate cap that drops a frame while accepting the next ones (the real server
// refuses those until the answer is reopened). Whatever the
// network does, the stored answer must be exactly the captured audio: nothing lost, nothing twice.
import { concat } from "../../src/audio/pcm";
import { describe, expect, it } from "vitest";
import { AnswerUplink, type Clock, type Link, type UplinkEvent } from "../../src/ui/participant/uplink";

const CHUNK = 128 * 1024;
const BPS = 32_000;

class ManualClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Advances time, running due timers in order. */
  advance(ms: number, between?: () => void) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
      between?.();
    }
    this.t = end;
  }
}

type Msg = { kind: "json"; body: Record<string, unknown> } | { kind: "bin"; bytes: Uint8Array };

/** A session object's audio intake, simplified but with the same observable rules. */
class FakeServer {
  answers = new Map<string, { durable: Uint8Array[]; bytes: number; buffer: Uint8Array[]; ended: boolean; ackSeq: number | null }>();
  socketAnswer: string | null = null;
  tokens: number;
  tokensAt = 0;
  seq = 10;
  /** Drop the frame with this index (1-based count of binary frames received), as a rate cap would. */
  rateLimitFrames = new Set<number>();
  framesReceived = 0;
  /** Another window holds the open answer (ANSWER_RECORDING_ELSEWHERE until answer_start with takeOver). */
  elsewhere = false;
  constructor(
    private readonly clock: ManualClock,
    readonly burst = 30 * BPS,
    readonly rate = 4 * BPS,
  ) {
    this.tokens = burst;
  }

  stored(id: string): Uint8Array {
    const a = this.answers.get(id)!;
    return concat(a.durable);
  }

  receive(m: Msg, reply: (f: Record<string, unknown>) => void) {
    if (m.kind === "bin") {
      this.framesReceived += 1;
      const id = this.socketAnswer;
      const a = id ? this.answers.get(id) : null;
      if (!a || a.ended || this.elsewhere) return reply({ type: "error", code: "AUDIO_NOT_ACCEPTED", message: "no", ...(id ? { answerId: id } : {}) });
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
      this.tokensAt = now;
      if (this.rateLimitFrames.has(this.framesReceived) || m.bytes.byteLength > this.tokens) {
        return reply({ type: "error", code: "AUDIO_RATE_LIMITED", message: "slow down" });
      }
      this.tokens -= m.bytes.byteLength;
      a.buffer.push(m.bytes.slice());
      if (a.buffer.reduce((n, b) => n + b.byteLength, 0) >= CHUNK) this.flush(id!, reply);
      return;
    }
    const f = m.body;
    const id = String(f.id);
    if (f.type === "answer_start") {
      const a = this.answers.get(id);
      if (a?.ackSeq != null) return reply({ type: "ack", id, seq: a.ackSeq });
      const open = [...this.answers.entries()].find(([k, v]) => !v.ended && k !== id);
      if (!a && open) return reply({ type: "error", code: "ANSWER_IN_PROGRESS", message: `finish answer ${open[0]} first` });
      if (a && !a.ended && this.elsewhere) {
        if (f.takeOver !== true) return reply({ type: "error", code: "ANSWER_RECORDING_ELSEWHERE", message: "being recorded in another window", answerId: id });
        this.elsewhere = false;
      }
      if (a) a.buffer = [];
      else this.answers.set(id, { durable: [], bytes: 0, buffer: [], ended: false, ackSeq: null });
      this.socketAnswer = id;
      return reply({ type: "audio_ack", id, bytes: this.answers.get(id)!.bytes });
    }
    if (f.type === "answer_end") {
      const a = this.answers.get(id);
      if (a?.ackSeq != null) return reply({ type: "ack", id, seq: a.ackSeq });
      if (!a || a.ended) return reply({ type: "error", code: "NO_OPEN_ANSWER", message: "none" });
      this.flush(id, reply);
      if (a.bytes === 0) return reply({ type: "error", code: "EMPTY_ANSWER", message: "empty" });
      a.ended = true;
      a.ackSeq = ++this.seq;
      this.socketAnswer = null;
      return reply({ type: "ack", id, seq: a.ackSeq });
    }
  }

  /** Another window takes the answer (as the real server does: what this socket sent is written first) and records `theirs`. */
  otherWindowTakes(id: string, theirs: Uint8Array) {
    const a = this.answers.get(id)!;
    this.flush(id, () => undefined);
    a.durable.push(theirs);
    a.bytes += theirs.byteLength;
    this.elsewhere = true;
    this.socketAnswer = null;
  }

  private flush(id: string, reply: (f: Record<string, unknown>) => void) {
    const a = this.answers.get(id)!;
    if (!a.buffer.length) return;
    const chunk = concat(a.buffer);
    a.buffer = [];
    a.durable.push(chunk);
    a.bytes += chunk.byteLength;
    reply({ type: "audio_ack", id, bytes: a.bytes });
  }
}

/** A socket with messages in flight both ways; `deliver()` lets them arrive, `drop()` loses them. */
class FakeNet implements Link {
  up = true;
  toServer: Msg[] = [];
  toClient: Record<string, unknown>[] = [];
  uplink: AnswerUplink | null = null;
  constructor(readonly server: FakeServer) {}
  isOpen() {
    return this.up;
  }
  sendJson(body: Record<string, unknown>) {
    if (this.up) this.toServer.push({ kind: "json", body });
  }
  sendBinary(bytes: Uint8Array) {
    if (this.up) this.toServer.push({ kind: "bin", bytes: bytes.slice() });
  }
  buffered() {
    return 0;
  }
  deliver(limit = Infinity) {
    let n = 0;
    while ((this.toServer.length || this.toClient.length) && n++ < limit) {
      const m = this.toServer.shift();
      if (m) this.server.receive(m, (f) => this.toClient.push(f));
      const f = this.toClient.shift();
      if (f) this.uplink?.onFrame(f as never);
    }
  }
  drop() {
    this.up = false;
    this.toServer = [];
    this.toClient = [];
    this.server.socketAnswer = null;
    this.uplink?.linkDown();
  }
  reconnect() {
    this.up = true;
    this.uplink?.linkUp();
  }
}

/** Byte equality with a readable failure (deep equality on large typed arrays is very slow). */
function same(actual: Uint8Array, expected: Uint8Array, what = "stored audio") {
  let first = -1;
  const n = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      first = i;
      break;
    }
  }
  expect({ what, length: actual.byteLength, firstDifference: first }).toEqual({ what, length: expected.byteLength, firstDifference: -1 });
}


/** Deterministic "audio": every 16-bit sample is its own index, so order and gaps show. */
function audio(fromSample: number, samples: number): Uint8Array {
  const s = new Int16Array(samples);
  for (let i = 0; i < samples; i++) s[i] = (fromSample + i) % 32_000;
  return new Uint8Array(s.buffer);
}

function setup(opts: { burst?: number; rate?: number } = {}) {
  const clock = new ManualClock();
  const server = new FakeServer(clock, opts.burst, opts.rate);
  const net = new FakeNet(server);
  const events: UplinkEvent[] = [];
  const up = new AnswerUplink("a1", { link: net, clock, onEvent: (e) => events.push(e) });
  net.uplink = up;
  let sample = 0;
  const captured: Uint8Array[] = [];
  /** Captures `seconds` of audio in 100 ms frames, in real time, delivering as it goes. */
  const speak = (seconds: number, deliver = true) => {
    for (let i = 0; i < seconds * 10; i++) {
      const f = audio(sample, 1600);
      sample += 1600;
      captured.push(f);
      up.push(f);
      clock.advance(100, () => deliver && net.deliver());
      if (deliver) net.deliver();
    }
  };
  const settle = (ms = 60_000) => {
    for (let t = 0; t < ms; t += 100) {
      net.deliver();
      clock.advance(100, () => net.deliver());
      if (up.finished) break;
    }
    net.deliver();
  };
  return { clock, server, net, up, events, speak, settle, captured: () => concat(captured) };
}

describe("spoken answer uplink", () => {
  it("streams an answer, frees memory as chunks are acknowledged, and ends with the ack", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(12);
    expect(t.up.ackedBytes).toBeGreaterThanOrEqual(2 * CHUNK);
    // Only what is not yet durable is held in memory.
    expect(t.up.pendingBytes).toBeLessThan(CHUNK + 3200);
    t.up.end("hello there");
    t.settle();
    expect(t.up.finished).toBe(true);
    expect(t.events.some((e) => e.type === "acked")).toBe(true);
    same(t.server.stored("a1"), t.captured());
    expect(t.up.stats.starts).toBe(1);
  });

  it("a connection lost mid-answer loses nothing acknowledged and duplicates nothing", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(6); // one chunk durable, ~2 s buffered on the server
    // Some frames are in flight when the network goes (never delivered).
    t.up.push(audio(60 * 1600, 1600));
    t.net.drop();
    // The participant keeps talking while offline.
    t.speak(0); // nothing
    const more: Uint8Array[] = [];
    for (let i = 0; i < 80; i++) {
      const f = audio((61 + i) * 1600, 1600);
      more.push(f);
      t.up.push(f);
      t.clock.advance(100);
    }
    expect(t.net.toServer).toHaveLength(0);
    t.net.reconnect();
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    const expected = concat([t.captured(), audio(60 * 1600, 1600), ...more]);
    same(t.server.stored("a1"), expected);
    expect(t.up.stats.starts).toBe(2);
    expect(t.up.stats.resent).toBeGreaterThan(0);
  });

  it("drops at random points never corrupt the answer", () => {
    for (let run = 0; run < 40; run++) {
      const t = setup();
      t.up.open();
      t.net.deliver();
      const drops = new Set([3 + ((run * 7) % 40), 50 + ((run * 13) % 60), 130 + run]);
      for (let i = 0; i < 180; i++) {
        const f = audio(i * 1600, 1600);
        t.up.push(f);
        if (drops.has(i)) {
          // Part of what is in flight arrives, the rest is lost.
          t.net.deliver(run % 5);
          t.net.drop();
          t.clock.advance(300);
          t.net.reconnect();
        }
        t.clock.advance(100, () => t.net.deliver());
        t.net.deliver(i % 3 === 0 ? 1 : Infinity);
      }
      t.up.end();
      t.settle();
      expect(t.up.finished, `run ${run}`).toBe(true);
      same(t.server.stored("a1"), audio(0, 180 * 1600), `run ${run}`);
    }
  });

  it("a refused frame (AUDIO_RATE_LIMITED) is resent after a back-off, without a gap or a repeat", () => {
    const t = setup();
    t.server.rateLimitFrames = new Set([15, 16, 40]);
    t.up.open();
    t.net.deliver();
    t.speak(8);
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    expect(t.up.stats.rateLimited).toBeGreaterThan(0);
    same(t.server.stored("a1"), t.captured());
  });

  it("resending a long offline stretch is paced under the server's cap", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.net.drop();
    // 60 s recorded offline: twice the server's 30 s burst.
    for (let i = 0; i < 600; i++) {
      t.up.push(audio(i * 1600, 1600));
      t.clock.advance(100);
    }
    t.net.reconnect();
    t.up.end();
    t.settle(120_000);
    expect(t.up.finished).toBe(true);
    expect(t.up.stats.rateLimited).toBe(0);
    same(t.server.stored("a1"), audio(0, 600 * 1600));
  });

  it("a server stricter than expected rate-limits, and the answer still arrives whole", () => {
    const t = setup({ burst: 5 * BPS, rate: 2 * BPS });
    t.up.open();
    t.net.deliver();
    t.net.drop();
    for (let i = 0; i < 300; i++) {
      t.up.push(audio(i * 1600, 1600));
      t.clock.advance(100);
    }
    t.net.reconnect();
    t.up.end();
    t.settle(300_000);
    expect(t.up.finished).toBe(true);
    expect(t.up.stats.rateLimited).toBeGreaterThan(0);
    same(t.server.stored("a1"), audio(0, 300 * 1600));
  });

  it("an answer reopened after a page reload continues after what the server holds", () => {
    const t = setup();
    // The previous page stored 5 s (durable) under this id, then was reloaded.
    const before = audio(0, 5 * 16_000);
    t.server.answers.set("a1", { durable: [before], bytes: before.byteLength, buffer: [], ended: false, ackSeq: null });
    // The new page captured a little before the server's reply arrived.
    t.up.push(audio(5 * 16_000, 1600));
    t.up.open();
    t.net.deliver();
    for (let i = 1; i < 30; i++) {
      t.up.push(audio(5 * 16_000 + i * 1600, 1600));
      t.clock.advance(100, () => t.net.deliver());
    }
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    same(t.server.stored("a1"), audio(0, 5 * 16_000 + 30 * 1600));
  });

  it("an answer already stored and acknowledged is acknowledged again, not re-sent", () => {
    const t = setup();
    t.server.answers.set("a1", { durable: [audio(0, 1600)], bytes: 3200, buffer: [], ended: true, ackSeq: 7 });
    t.up.push(audio(0, 1600));
    t.up.open();
    t.net.deliver();
    expect(t.up.finished).toBe(true);
    expect(t.events).toContainEqual({ type: "acked", seq: 7 });
    expect(t.server.framesReceived).toBe(0);
  });

  it("an answer left open by a lost page is adopted instead of blocking the interview", () => {
    const t = setup();
    t.server.answers.set("old", { durable: [audio(0, 3200)], bytes: 6400, buffer: [], ended: false, ackSeq: null });
    t.up.open();
    t.net.deliver();
    expect(t.up.id).toBe("old");
    t.speak(2);
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    same(t.server.stored("old"), concat([audio(0, 3200), t.captured()]));
  });

  it("an empty answer is reported and the same answer records on", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.up.end();
    t.net.deliver();
    expect(t.events).toContainEqual({ type: "problem", code: "EMPTY_ANSWER", message: "empty" });
    t.up.reopenForMore();
    t.speak(1);
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    same(t.server.stored("a1"), t.captured());
  });

  it("an error frame naming another answer (a stale one from before a reload) leaves this answer alone", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(2);
    const startsBefore = t.up.stats.starts;
    expect(t.up.onFrame({ type: "error", code: "AUDIO_NOT_ACCEPTED", message: "not open here", answerId: "an-older-answer" })).toBe(false);
    t.speak(1);
    // Not treated as its own refusal: no back-off and no reopen.
    expect(t.up.stats.starts).toBe(startsBefore);
    // The same error naming this answer is handled as its own.
    expect(t.up.onFrame({ type: "error", code: "AUDIO_NOT_ACCEPTED", message: "not open here", answerId: "a1" })).toBe(true);
    t.up.end();
    t.settle();
    expect(t.up.stats.starts).toBe(startsBefore + 1);
    same(t.server.stored("a1"), t.captured());
  });

  it("names its question in answer_start, and a STALE_ANSWER refusal (another tab answered) stops it", () => {
    const json: Record<string, unknown>[] = [];
    const events: UplinkEvent[] = [];
    const up = new AnswerUplink("v1", { link: { isOpen: () => true, sendJson: (f) => void json.push(f as Record<string, unknown>), sendBinary: () => undefined, buffered: () => 0 }, questionSeq: 7, onEvent: (e) => events.push(e) });
    up.open();
    expect(json[0]).toEqual({ type: "answer_start", id: "v1", questionSeq: 7 });
    expect(up.onFrame({ type: "error", code: "STALE_ANSWER", message: "moved on", answerId: "v1" })).toBe(true);
    expect(events).toContainEqual({ type: "refused", code: "STALE_ANSWER", message: "moved on", during: "start" });
  });

  it("sends live audio a few worklet frames to a message, and everything at the end", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(3); // 30 frames of 100 ms
    // About 250 ms or more per message instead of one message per 100 ms frame.
    expect(t.up.stats.framesSent).toBeGreaterThanOrEqual(8);
    expect(t.up.stats.framesSent).toBeLessThanOrEqual(11);
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    same(t.server.stored("a1"), t.captured());
  });

  it("splits large blocks into frames of at most 64 KiB with an even length", () => {
    const sent: Uint8Array[] = [];
    const up = new AnswerUplink("x", { link: { isOpen: () => true, sendJson: () => undefined, sendBinary: (b) => sent.push(b), buffered: () => 0 } });
    up.open();
    up.onFrame({ type: "audio_ack", id: "x", bytes: 0 });
    up.push(new Uint8Array(200_001));
    expect(sent.every((b) => b.byteLength <= 64 * 1024 && b.byteLength % 2 === 0)).toBe(true);
    expect(sent.reduce((n, b) => n + b.byteLength, 0)).toBe(200_000);
  });

  it("another window recording the answer stops it: no reopening by itself (refused frames, time, reconnects), and it says so", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(6);
    t.server.otherWindowTakes("a1", audio(900_000, 16_000));
    t.speak(3); // its frames are refused; it backs off and reopens, as after any refused frame
    const refused = t.events.filter((e) => e.type === "refused");
    expect(refused).toEqual([{ type: "refused", code: "ANSWER_RECORDING_ELSEWHERE", message: "being recorded in another window", during: "start" }]);
    expect(t.up.recordingElsewhere).toBe(true);
    const starts = t.up.stats.starts;
    const received = t.server.framesReceived;
    // Late refusals of frames sent before, time passing, more audio, a reconnect, Done: nothing is sent.
    t.up.onFrame({ type: "error", code: "AUDIO_NOT_ACCEPTED", message: "no", answerId: "a1" });
    t.speak(2);
    t.clock.advance(60_000, () => t.net.deliver());
    t.net.drop();
    t.net.reconnect();
    t.up.end();
    t.settle(10_000);
    expect(t.up.stats.starts).toBe(starts);
    expect(t.server.framesReceived).toBe(received);
    expect(t.net.toServer).toEqual([]);
    expect(t.up.finished).toBe(false);
    expect(t.server.elsewhere).toBe(true);
  });

  it("Record here instead (takeOver) moves the answer here and continues after everything stored, dropping what the other window's recording made stale", () => {
    const t = setup();
    t.up.open();
    t.net.deliver();
    t.speak(6);
    const theirs = audio(900_000, 16_000);
    t.server.otherWindowTakes("a1", theirs);
    const mine = t.server.stored("a1").subarray(0, t.server.stored("a1").byteLength - theirs.byteLength);
    t.speak(3);
    expect(t.up.recordingElsewhere).toBe(true);
    const json: Record<string, unknown>[] = [];
    const sendJson = t.net.sendJson.bind(t.net);
    t.net.sendJson = (f) => (json.push(f), sendJson(f));
    t.up.takeOver();
    expect(json).toEqual([{ type: "answer_start", id: "a1", takeOver: true }]);
    expect(t.up.recordingElsewhere).toBe(false);
    // The new take, captured while the reply is on its way and after.
    const take: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const f = audio(500_000 + i * 1600, 1600);
      take.push(f);
      t.up.push(f);
      t.clock.advance(100, () => t.net.deliver());
      t.net.deliver();
    }
    // A reconnect afterwards reopens as usual, without takeOver: the answer is this window's now.
    t.net.drop();
    t.net.reconnect();
    expect(json.at(-1)).toEqual({ type: "answer_start", id: "a1" });
    t.up.end();
    t.settle();
    expect(t.up.finished).toBe(true);
    same(t.server.stored("a1"), concat([mine, theirs, ...take]));
  });
});

