// The participant page's socket (src/ui/participant/connection.ts) against a scripted WebSocket:
// a dead connection (pings without pongs, the browser going offline) is given up and reconnected,
// answers name their question, and an answer the server refused for good is not resent.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newClientId, ParticipantConnection, type ServerFrame } from "../../src/ui/participant/connection";

type Listener = (e: any) => void;

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = "blob";
  bufferedAmount = 0;
  sent: any[] = [];
  closedWith: number | null = null;
  private listeners: Record<string, Listener[]> = {};
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  addEventListener(type: string, fn: Listener) {
    (this.listeners[type] ??= []).push(fn);
  }
  private emit(type: string, e: unknown) {
    for (const fn of this.listeners[type] ?? []) fn(e);
  }
  send(body: string) {
    if (this.readyState !== FakeSocket.OPEN) throw new Error("not open");
    this.sent.push(JSON.parse(body));
  }
  /** The page closes it; a dead network never completes the closing handshake (no close event). */
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = FakeSocket.CLOSING;
  }
  // ---- the server's side ----
  open() {
    this.readyState = FakeSocket.OPEN;
    this.emit("open", {});
  }
  frame(f: unknown) {
    this.emit("message", { data: JSON.stringify(f) });
  }
  drop(code = 1006) {
    this.readyState = FakeSocket.CLOSED;
    this.emit("close", { code });
  }
  types() {
    return this.sent.map((f) => f.type);
  }
}

const last = () => FakeSocket.all.at(-1)!;

function connection(client?: string) {
  const statuses: string[] = [];
  const frames: ServerFrame[] = [];
  const c = new ParticipantConnection({
    url: "ws://test/v1/sessions/ses_1/connect?token=pt",
    client,
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    pingMs: 20_000,
    pongTimeoutMs: 8_000,
  });
  c.connect();
  last().open();
  return { c, statuses, frames };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", FakeSocket);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("participant connection: dead sockets", () => {
  it("a ping that gets no pong within 8 s closes the socket, says Reconnecting and reconnects", () => {
    const { statuses } = connection();
    const first = last();
    vi.advanceTimersByTime(20_000);
    expect(first.types()).toEqual(["hello", "ping"]);
    // A pong in time keeps the socket.
    vi.advanceTimersByTime(3_000);
    first.frame({ type: "pong" });
    vi.advanceTimersByTime(10_000);
    expect(first.closedWith).toBeNull();
    expect(statuses.at(-1)).toBe("open");
    // The next ping goes unanswered: the socket is given up without waiting for a close event.
    vi.advanceTimersByTime(7_000);
    expect(first.types()).toEqual(["hello", "ping", "ping"]);
    vi.advanceTimersByTime(7_900);
    expect(first.closedWith).toBeNull();
    vi.advanceTimersByTime(200);
    expect(first.closedWith).toBe(4000);
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    // A late close event of the dead socket changes nothing.
    first.drop();
    expect(FakeSocket.all).toHaveLength(2);
    last().open();
    expect(statuses.at(-1)).toBe("open");
    expect(last().types()).toEqual(["hello"]);
  });

  it("an answer probes the socket at once: no pong within 8 s means Reconnecting, and the answer is resent after", () => {
    const { c, statuses } = connection();
    const first = last();
    c.answer("ans-3-abc", "My answer.", 3);
    expect(first.sent.at(-2)).toEqual({ type: "answer", id: "ans-3-abc", text: "My answer.", questionSeq: 3 });
    expect(first.sent.at(-1)).toEqual({ type: "ping" });
    vi.advanceTimersByTime(8_001);
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(1_000);
    const second = last();
    expect(second).not.toBe(first);
    second.open();
    second.frame({ type: "state", seq: 5, status: "in_progress", questionIndex: 0, totalQuestions: 3 });
    expect(second.sent.filter((f) => f.type === "answer")).toEqual([{ type: "answer", id: "ans-3-abc", text: "My answer.", questionSeq: 3 }]);
  });

  it("only a pong answers the answer's ping: a frame the server sent before the network went does not keep a dead socket", () => {
    const { c, statuses } = connection();
    const first = last();
    c.answer("ans-4-def", "Sent into a dead connection.", 4);
    // A frame that was already on its way (the question's state frame) arrives after the ping.
    vi.advanceTimersByTime(100);
    first.frame({ type: "state", seq: 6, status: "in_progress", questionIndex: 1, totalQuestions: 3 });
    vi.advanceTimersByTime(7_950);
    expect(first.closedWith).toBe(4000);
    expect(statuses.at(-1)).toBe("reconnecting");
  });

  it("the browser going offline gives the socket up at once; coming back online reconnects without waiting for the backoff", () => {
    const { c, statuses } = connection();
    const first = last();
    c.offline();
    expect(first.closedWith).toBe(4000);
    expect(statuses.at(-1)).toBe("reconnecting");
    // Offline, reconnect attempts fail and back off further.
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(10_000);
      last().drop();
    }
    const count = FakeSocket.all.length;
    c.online();
    expect(FakeSocket.all).toHaveLength(count + 1);
    last().open();
    expect(statuses.at(-1)).toBe("open");
    // Online again while an attempt is under way or open: no second socket.
    c.online();
    expect(FakeSocket.all).toHaveLength(count + 1);
  });

  it("stop() ends reconnecting for good, even between attempts", () => {
    const { c, statuses } = connection();
    last().drop();
    expect(statuses.at(-1)).toBe("reconnecting");
    c.stop();
    expect(statuses.at(-1)).toBe("closed");
    const count = FakeSocket.all.length;
    vi.advanceTimersByTime(60_000);
    c.online();
    expect(FakeSocket.all).toHaveLength(count);
  });
});

describe("participant connection: answers refused for good", () => {
  it("STALE_ANSWER, INVALID_FRAME and ANSWER_IN_PROGRESS naming an answer drop it from the resend queue; other errors keep it", () => {
    const { c, frames } = connection();
    const ws = last();
    c.answer("ans-3-old", "An answer to the question before.", 3);
    c.answer("ans-4-big", "x".repeat(100), 4);
    c.answer("ans-4-typed", "Typed while another tab was speaking.", 4);
    c.answer("ans-5-now", "An answer the server could not take yet.", 5);
    ws.frame({ type: "error", code: "STALE_ANSWER", message: "moved on", answerId: "ans-3-old" });
    ws.frame({ type: "error", code: "INVALID_FRAME", message: "Too big", answerId: "ans-4-big" });
    ws.frame({ type: "error", code: "ANSWER_IN_PROGRESS", message: "finish spoken answer v1 first", answerId: "ans-4-typed" });
    c.answer("ans-4-elsewhere", "Typed while another window was recording.", 4);
    ws.frame({ type: "error", code: "ANSWER_RECORDING_ELSEWHERE", message: "being recorded in another window", answerId: "ans-4-elsewhere" });
    ws.frame({ type: "error", code: "INVALID_TRANSITION", message: "cannot answer in a session that is paused" });
    expect([...c.pending.keys()]).toEqual(["ans-5-now"]);
    expect(frames.filter((f) => f.type === "error")).toHaveLength(5);
    // After the next state frame only the answer still waiting is resent.
    const before = ws.sent.length;
    ws.frame({ type: "state", seq: 9, status: "in_progress", questionIndex: 2, totalQuestions: 3 });
    expect(ws.sent.slice(before)).toEqual([{ type: "answer", id: "ans-5-now", text: "An answer the server could not take yet.", questionSeq: 5 }]);
    ws.frame({ type: "ack", id: "ans-5-now", seq: 10 });
    expect(c.pending.size).toBe(0);
  });

  it("every hello names the page load (client), on the first socket and after a reconnect", () => {
    const client = newClientId();
    expect(client).toMatch(/^[A-Za-z0-9_-]{16}$/);
    // Each page load its own: nothing is stored, so a duplicated tab cannot copy it.
    expect(newClientId()).not.toBe(client);
    connection(client);
    expect(last().sent[0]).toEqual({ type: "hello", lastSeq: 0, client });
    last().drop();
    vi.advanceTimersByTime(1_000);
    last().open();
    expect(last().sent[0]).toEqual({ type: "hello", lastSeq: 0, client });
  });

  it("an answer without a question seq (older callers) is sent as before", () => {
    const { c } = connection();
    c.answer("a1", "Plain.");
    expect(last().sent.find((f) => f.type === "answer")).toEqual({ type: "answer", id: "a1", text: "Plain." });
  });
});
