// The microphone: getUserMedia with the browser's echo cancellation, noise suppression and gain
// control, into an AudioWorklet (/app/pcm-worklet.js) that hands back 100 ms frames of 16 kHz
// mono 16-bit PCM with their level. Also the browser's own speech recognition (a transcript hint)
// and speech synthesis (the question read aloud when the server has no voice for it).
import type { PcmMessage } from "./pcm-worklet";
import { t } from "./i18n";
import { meterLevel } from "./spoken";

export type MicFailure = "denied" | "missing" | "busy" | "unsupported" | "failed";

export class MicError extends Error {
  constructor(readonly kind: MicFailure, message: string) {
    super(message);
  }
}

const MIC_FAILURE_KEY = { denied: "micDenied", missing: "micMissing", busy: "micBusy", unsupported: "micUnsupported", failed: "micFailed" } as const satisfies Record<MicFailure, string>;
/** What went wrong with the microphone, in the page's language. */
export const micFailureText = (kind: MicFailure) => t(MIC_FAILURE_KEY[kind]);

export interface MicHandlers {
  /** Every 100 ms frame (Int16 LE bytes), recording or not: the caller keeps what it needs. */
  onFrame: (pcm: Uint8Array) => void;
  /** Level of the last frame, 0..1 (a perceptual scale for meters). */
  onLevel: (level: number) => void;
  /** The device went away (unplugged, permission revoked). */
  onEnded: () => void;
}


export class Microphone {
  private flushWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly ctx: AudioContext,
    private readonly stream: MediaStream,
    private readonly node: AudioWorkletNode,
    private readonly source: MediaStreamAudioSourceNode,
    handlers: MicHandlers,
  ) {
    node.port.onmessage = (e: MessageEvent<PcmMessage>) => {
      const m = e.data;
      if (m.pcm.byteLength) handlers.onFrame(new Uint8Array(m.pcm));
      handlers.onLevel(meterLevel(m.rms));
      if (m.flushed) for (const w of this.flushWaiters.splice(0)) w();
    };
    for (const t of stream.getAudioTracks()) t.addEventListener("ended", () => !this.closed && handlers.onEnded());
  }

  /** Asks for the microphone. Call from a click: the audio context must start with a user gesture. */
  static async open(handlers: MicHandlers): Promise<Microphone> {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!navigator.mediaDevices?.getUserMedia || !Ctx) throw new MicError("unsupported", micFailureText("unsupported"));
    // Created before the first await, inside the click's user activation.
    const ctx = new Ctx({ latencyHint: "interactive" });
    void ctx.resume().catch(() => undefined);
    if (!ctx.audioWorklet) {
      void ctx.close();
      throw new MicError("unsupported", micFailureText("unsupported"));
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
        video: false,
      });
    } catch (err) {
      void ctx.close();
      const name = (err as DOMException)?.name ?? "";
      const kind: MicFailure =
        name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError"
          ? "denied"
          : name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError"
            ? "missing"
            : name === "NotReadableError" || name === "AbortError" || name === "TrackStartError"
              ? "busy"
              : "failed";
      throw new MicError(kind, micFailureText(kind));
    }
    try {
      await ctx.audioWorklet.addModule("/app/pcm-worklet.js");
      const source = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, "pcm-downsampler", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: "explicit" });
      source.connect(node);
      // The node writes silence; connected to the output so the graph keeps pulling it.
      node.connect(ctx.destination);
      if (ctx.state !== "running") await ctx.resume().catch(() => undefined);
      return new Microphone(ctx, stream, node, source, handlers);
    } catch (err) {
      for (const t of stream.getTracks()) t.stop();
      void ctx.close();
      throw new MicError("unsupported", `${micFailureText("unsupported")} (${String((err as Error)?.message ?? err)})`);
    }
  }

  /** The audio context may be suspended (no user gesture yet on this page load). */
  get running() {
    return this.ctx.state === "running";
  }

  resume(): Promise<void> {
    return this.ctx.resume().catch(() => undefined);
  }

  /** Resolves once the worklet has posted its last partial frame (within 1 s either way). */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 1_000);
      this.flushWaiters.push(() => (clearTimeout(t), resolve()));
      this.node.port.postMessage("flush");
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.stream.getTracks()) t.stop();
    try {
      this.source.disconnect();
      this.node.disconnect();
    } catch {
      // already disconnected
    }
    void this.ctx.close().catch(() => undefined);
  }
}

// ---- The browser's own speech recognition: a transcript hint sent with answer_end ----

interface RecognitionResultList {
  length: number;
  [i: number]: { isFinal: boolean; 0: { transcript: string } };
}
interface Recognition {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  start(): void;
  stop(): void;
  abort(): void;
  onresult: ((e: { resultIndex: number; results: RecognitionResultList }) => void) | null;
  onerror: ((e: { error: string }) => void) | null;
  onend: (() => void) | null;
}
type RecognitionCtor = new () => Recognition;

function recognitionCtor(): RecognitionCtor | null {
  const w = window as unknown as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition ?? null;
}

/** Collects what the browser recognises while an answer is recorded. Optional: many browsers have none. */
export class SpeechHint {
  private rec: Recognition | null = null;
  private finals: string[] = [];
  private interim = "";
  private active = false;
  private broken = false;
  private restarts = 0;
  private ended: (() => void) | null = null;

  /** `allowed`: the campaign opted in to the browser's (possibly third-party) speech recognition. */
  constructor(
    private readonly lang: string,
    private readonly allowed = false,
  ) {}

  static available(): boolean {
    return recognitionCtor() !== null;
  }

  get enabled(): boolean {
    return this.allowed && SpeechHint.available();
  }

  get working() {
    return this.active && !this.broken;
  }

  /** Starts listening; `fresh` false keeps what was heard before (an answer continued after a pause). */
  start(fresh = true) {
    // A new answer never inherits the last one's words, even when recognition is off.
    if (fresh) this.finals = [];
    this.interim = "";
    const Ctor = recognitionCtor();
    if (!Ctor || this.broken || !this.allowed) return;
    this.active = true;
    this.restarts = 0;
    this.launch(Ctor);
  }

  private launch(Ctor: RecognitionCtor) {
    try {
      const rec = new Ctor();
      rec.lang = this.lang;
      rec.continuous = true;
      rec.interimResults = true;
      rec.onresult = (e) => {
        let interim = "";
        for (let i = e.resultIndex; i < e.results.length; i++) {
          const r = e.results[i]!;
          if (r.isFinal) this.finals.push(r[0].transcript.trim());
          else interim += r[0].transcript;
        }
        this.interim = interim.trim();
      };
      rec.onerror = (e) => {
        // Anything but "no speech yet" means this browser will not transcribe here (no service, no permission).
        if (e.error !== "no-speech" && e.error !== "aborted") this.broken = true;
      };
      rec.onend = () => {
        if (this.interim) this.finals.push(this.interim);
        this.interim = "";
        // Recognition stops by itself after a silence: keep listening while the answer goes on.
        if (this.active && !this.broken && this.restarts++ < 50) return this.launch(Ctor);
        this.rec = null;
        this.ended?.();
      };
      this.rec = rec;
      rec.start();
    } catch {
      this.broken = true;
      this.rec = null;
    }
  }

  /** Stops listening; resolves with the text heard (empty when none), within 1.5 s. */
  stop(): Promise<string> {
    const text = () => [...this.finals, this.interim].filter(Boolean).join(" ").replace(/\s+/g, " ").trim();
    this.active = false;
    const rec = this.rec;
    if (!rec) return Promise.resolve(text());
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.ended = null;
        try {
          rec.abort();
        } catch {
          // gone
        }
        resolve(text());
      }, 1_500);
      this.ended = () => {
        clearTimeout(t);
        this.ended = null;
        resolve(text());
      };
      try {
        rec.stop();
      } catch {
        this.ended();
      }
    });
  }

  /** Stops without waiting; what was heard is kept until the next fresh start. */
  cancel() {
    this.active = false;
    if (this.interim) this.finals.push(this.interim);
    this.interim = "";
    try {
      this.rec?.abort();
    } catch {
      // gone
    }
    this.rec = null;
  }
}

// ---- The question read aloud ----

/** Speaks with the browser's voice; resolves when done, failed, or after a generous estimate. */
export function speak(text: string, lang: string, signal: AbortSignal): Promise<"spoken" | "failed"> {
  const synth = window.speechSynthesis;
  if (!synth || typeof SpeechSynthesisUtterance === "undefined") return Promise.resolve("failed");
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: "spoken" | "failed") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    // Some browsers (and headless ones) have no voice and never fire "end": do not wait forever.
    const timer = setTimeout(() => finish("failed"), Math.min(30_000, 2_000 + text.length * 90));
    const u = new SpeechSynthesisUtterance(text);
    u.lang = lang;
    u.onend = () => finish("spoken");
    u.onerror = () => finish("failed");
    signal.addEventListener("abort", () => {
      synth.cancel();
      finish("failed");
    });
    synth.cancel();
    synth.speak(u);
  });
}
