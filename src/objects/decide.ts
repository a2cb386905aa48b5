// The AI's choice after an answer: a follow-up question or the next one. Asked at most once at a
// time per session, bounded by a timeout, and never able to stall the interview.
import type { FollowUpProvider } from "../ai/followup";
import type { MachineEvent, MachineState } from "./machine";
import type { SessionMeta } from "./view";

const DECIDE_TIMEOUT_MS = 10_000;
/** While a decision is pending, the alarm retries it this often (a provider call may be lost with an eviction). */
export const DECIDE_RETRY_MS = 5_000;

interface Session {
  state: MachineState | null;
  meta: SessionMeta | null;
  apply(event: MachineEvent): unknown;
}

export class FollowUpDecider {
  private busy = false;

  constructor(private readonly provider: FollowUpProvider) {}

  /** Asks the follow-up provider, then feeds its decision back into the machine. */
  async run(session: Session): Promise<void> {
    const s = session.state;
    if (!s?.deciding || s.deciding.transcript || this.busy) return;
    this.busy = true;
    const pending = s.deciding;
    const followUpsAsked = s.followUps;
    const q = s.questions[pending.questionIndex]!;
    let followUp: string | null = null;
    const signal = AbortSignal.timeout(DECIDE_TIMEOUT_MS);
    // A provider that ignores the signal must not hold the interview (or this.busy) either.
    const timedOut = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    try {
      followUp = await Promise.race([
        this.provider.followUp({ question: q.text, answer: pending.answer, probe: q.probe, followUpsAsked, language: session.meta?.language ?? null }, signal),
        timedOut,
      ]);
    } catch (err) {
      // The interview must not stall on the AI: without a decision it moves to the next question.
      console.warn("follow-up provider failed", { sessionId: session.meta?.id, error: String(err) });
    } finally {
      this.busy = false;
    }
    const now = session.state;
    if (!now?.deciding || now.deciding.transcript || now.deciding.questionIndex !== pending.questionIndex || now.followUps !== followUpsAsked) return;
    session.apply({ type: "decided", followUp });
  }
}
