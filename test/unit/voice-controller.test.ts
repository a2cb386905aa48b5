// The participant page's recording controller (src/ui/participant/voice.ts) with a stand-in
// microphone and socket: what it sends when Done is pressed on an answer with no speech in it, on
// "Record again" and "Send anyway", and when an answer reaches the page's length limit. The rule
// under test: an unheard answer is never ended without the participant's say, and a retake goes
// on in the same open answer (the server holds one at a time and cannot take audio back), so
// nothing acknowledged is lost or sent twice.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Microphone, type MicHandlers } from "../../src/ui/participant/mic";
import type { Link } from "../../src/ui/participant/uplink";
import { VoiceController } from "../../src/ui/participant/voice";
import { speechPcm } from "../fixtures/audio";
import { MemoryStore } from "../helpers/memory-store";

const FRAME = 3_200; // 100 ms


type Sent = { json: Record<string, unknown>[]; bytes: number };

let mic: MicHandlers;
let store: MemoryStore;
const controllers: VoiceController[] = [];

beforeEach(() => {
  store = new MemoryStore();
  vi.stubGlobal("window", {}); // no speech recognition, no speech synthesis
  vi.stubGlobal("sessionStorage", store);
  vi.spyOn(Microphone, "open").mockImplementation(async (handlers: MicHandlers) => {
    mic = handlers;
    return { resume: async () => undefined, flush: async () => undefined, close: () => undefined } as unknown as Microphone;
  });
});

afterEach(() => {
  for (const v of controllers.splice(0)) v.close();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** A controller on a socket that is open and records what is sent; the "server" acks answer_start at `held` bytes. */
async function recording(opts: { maxAnswerSeconds?: number; held?: number } = {}) {
  const sent: Sent = { json: [], bytes: 0 };
  let v!: VoiceController;
  const link: Link = {
    isOpen: () => true,
    sendJson: (f) => {
      sent.json.push(f);
      if (f.type === "answer_start") queueMicrotask(() => v.onFrame({ type: "audio_ack", id: f.id as string, bytes: opts.held ?? 0 }));
    },
    sendBinary: (b) => void (sent.bytes += b.byteLength),
    buffered: () => 0,
  };
  v = new VoiceController("ses_test", "tok", link, "en", false, { maxAnswerSeconds: opts.maxAnswerSeconds });
  controllers.push(v);
  expect(await v.enableMic()).toBe(true);
  v.ask({ seq: 7, index: 0, text: "What do you like most?" }, false);
  v.answerNow();
  expect(v.state.stage).toBe("recording");
  await Promise.resolve(); // the answer_start reply
  return { v, sent };
}

/** The microphone delivers `pcm` in 100 ms frames. */
function say(pcm: Uint8Array) {
  for (let o = 0; o < pcm.byteLength; o += FRAME) mic.onFrame(pcm.slice(o, Math.min(pcm.byteLength, o + FRAME)));
}
const quiet = (seconds: number) => new Uint8Array(seconds * 32_000);
const types = (s: Sent) => s.json.map((f) => f.type);

describe("Done on an answer with no speech in it", () => {
  it("asks instead of ending it; Record again goes on in the same open answer, and its speech is sent", async () => {
    const { v, sent } = await recording();
    say(quiet(3));
    await v.done();
    expect(v.state.stage).toBe("unheard");
    expect(types(sent)).toEqual(["answer_start"]);
    const id = sent.json[0]!.id;

    v.recordAgain();
    expect(v.state.stage).toBe("recording");
    expect(v.state.seconds).toBe(0); // the clock starts again for the new take
    say(speechPcm());
    await v.done();
    expect(v.state.stage).toBe("finishing");
    // One answer: no second answer_start (nothing was ended), answer_end after every captured byte.
    expect(types(sent)).toEqual(["answer_start", "answer_end"]);
    expect(sent.json[1]!.id).toBe(id);
    expect(sent.bytes).toBe(3 * 32_000 + speechPcm().byteLength);
    v.onFrame({ type: "ack", id: id as string, seq: 8 });
    expect(v.state.stage).toBe("saved");
    expect(v.state.seconds).toBeCloseTo(speechPcm().byteLength / 32_000, 6);
    expect(v.state.finishedAtLimit).toBe(false);
  });

  it("Send anyway ends it as it is", async () => {
    const { v, sent } = await recording();
    say(quiet(2));
    await v.done();
    expect(v.state.stage).toBe("unheard");
    v.sendAnyway();
    expect(v.state.stage).toBe("finishing");
    expect(types(sent)).toEqual(["answer_start", "answer_end"]);
    expect(sent.bytes).toBe(2 * 32_000);
    // A second press does nothing more.
    v.sendAnyway();
    v.recordAgain();
    expect(types(sent)).toEqual(["answer_start", "answer_end"]);
  });

  it("an answer with speech is sent straight away", async () => {
    const { v, sent } = await recording();
    say(quiet(1));
    say(speechPcm());
    await v.done();
    expect(v.state.stage).toBe("finishing");
    expect(types(sent)).toEqual(["answer_start", "answer_end"]);
  });

  it("an answer continued after a reload is sent: its audio from before the reload was never measured here", async () => {
    store.setItem("ir-voice-ses_test", JSON.stringify({ seq: 7, id: "voice-7-earlier" }));
    const { v, sent } = await recording({ held: 5 * 32_000 });
    say(quiet(2));
    await v.done();
    expect(v.state.stage).toBe("finishing");
    expect(sent.json.map((f) => [f.type, f.id])).toEqual([
      ["answer_start", "voice-7-earlier"],
      ["answer_end", "voice-7-earlier"],
    ]);
  });
});

describe("the length limit", () => {
  it("counts down the whole answer and finishes it by itself, without asking even when it was silent", async () => {
    const { v, sent } = await recording({ maxAnswerSeconds: 8 });
    expect(v.state.secondsLeft).toBe(8);
    say(quiet(3));
    await v.done();
    v.recordAgain(); // a retake has what is left of the answer's limit, not a fresh one
    say(quiet(4));
    expect(types(sent)).toEqual(["answer_start"]);
    say(quiet(1));
    await vi.waitFor(() => expect(types(sent)).toEqual(["answer_start", "answer_end"]));
    expect(v.state.finishedAtLimit).toBe(true);
    expect(v.state.secondsLeft).toBe(0);
    expect(v.state.seconds).toBe(5);
    v.onFrame({ type: "ack", id: sent.json[0]!.id as string, seq: 8 });
    expect(v.state).toMatchObject({ stage: "saved", finishedAtLimit: true });
    // The next question starts with the full limit and no limit message.
    v.ask({ seq: 9, index: 1, text: "And then?" }, false);
    expect(v.state).toMatchObject({ stage: "prompt", finishedAtLimit: false, secondsLeft: 8 });
  });

  it("an answer the server finds too long is reported as finished at the limit", async () => {
    const { v, sent } = await recording();
    say(speechPcm());
    v.onFrame({ type: "error", code: "ANSWER_TOO_LONG", message: "a spoken answer is at most 10 minutes", answerId: sent.json[0]!.id } as never);
    await vi.waitFor(() => expect(types(sent)).toEqual(["answer_start", "answer_end"]));
    expect(v.state.finishedAtLimit).toBe(true);
  });
});

describe("an answer another window is recording", () => {
  /** A controller whose "server" gives the open answer to another window until answer_start says takeOver. */
  async function twoWindows(opts: { adopt?: boolean } = {}) {
    const sent: Sent = { json: [], bytes: 0 };
    const server = { elsewhere: true, held: 4 * 32_000 };
    let v!: VoiceController;
    const reply = (f: Record<string, unknown>) => queueMicrotask(() => v.onFrame(f as never));
    const link: Link = {
      isOpen: () => true,
      sendJson: (f) => {
        sent.json.push(f);
        if (f.type !== "answer_start") return;
        // A new id while the other window's answer is open: "finish it first" (the page adopts it).
        if (opts.adopt && f.id !== "voice-7-other") return reply({ type: "error", code: "ANSWER_IN_PROGRESS", message: "finish answer voice-7-other first", answerId: f.id });
        if (server.elsewhere && f.takeOver !== true) return reply({ type: "error", code: "ANSWER_RECORDING_ELSEWHERE", message: "answer is being recorded in another window", answerId: f.id });
        server.elsewhere = false;
        reply({ type: "audio_ack", id: f.id, bytes: server.held });
      },
      sendBinary: (b) => void (sent.bytes += b.byteLength),
      buffered: () => 0,
    };
    v = new VoiceController("ses_test", "tok", link, "en", false);
    controllers.push(v);
    expect(await v.enableMic()).toBe(true);
    v.ask({ seq: 7, index: 0, text: "What do you like most?" }, false);
    v.answerNow();
    await vi.waitFor(() => expect(v.state.stage).toBe("elsewhere"));
    return { v, sent, server };
  }

  it("shows the elsewhere state, not an error or Type my answer, and sends nothing more", async () => {
    const { v, sent } = await twoWindows();
    expect(v.state).toMatchObject({ stage: "elsewhere", notice: undefined });
    say(speechPcm());
    await v.done(); // no Done button in this state; pressing it anyway ends nothing
    expect(types(sent)).toEqual(["answer_start"]);
    expect(sent.bytes).toBe(0);
    // A reconnect does not take the answer back either.
    v.linkDown();
    v.linkUp();
    expect(types(sent)).toEqual(["answer_start"]);
    expect(v.state.stage).toBe("elsewhere");
  });

  it("Record here instead sends answer_start with takeOver and records on after what the server holds", async () => {
    const { v, sent, server } = await twoWindows();
    const id = sent.json[0]!.id;
    v.recordHere();
    expect(sent.json.at(-1)).toEqual({ type: "answer_start", id, questionSeq: 7, takeOver: true });
    expect(v.state.stage).toBe("recording");
    await vi.waitFor(() => expect(server.elsewhere).toBe(false));
    await Promise.resolve();
    say(speechPcm());
    await v.done();
    expect(types(sent)).toEqual(["answer_start", "answer_start", "answer_end"]);
    expect(sent.bytes).toBe(speechPcm().byteLength);
    // The clock shows this take; the limit counts the whole answer, the other window's part too.
    expect(v.state.seconds).toBeCloseTo(speechPcm().byteLength / 32_000, 6);
    expect(v.state.secondsLeft).toBeCloseTo(595 - 4 - speechPcm().byteLength / 32_000, 6);
  });

  it("a new page that adopts the other window's open answer shows the same state, and takes that answer over", async () => {
    const { v, sent } = await twoWindows({ adopt: true });
    expect(sent.json.map((f) => f.id)).toEqual([sent.json[0]!.id, "voice-7-other"]);
    v.recordHere();
    expect(sent.json.at(-1)).toMatchObject({ type: "answer_start", id: "voice-7-other", takeOver: true });
    await Promise.resolve();
    await Promise.resolve();
    say(speechPcm());
    await v.done();
    expect(sent.json.at(-1)).toEqual({ type: "answer_end", id: "voice-7-other" });
  });
});
