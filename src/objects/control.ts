// The team's controls over a session (pause, resume, end, reassign) as machine events. Pure: the
// object applies the event; the check that needs the session's own campaign is made here too.
import type { MachineError, MachineEvent, Question } from "./machine";

export type ControlAction =
  | { type: "pause"; reason: string | null }
  | { type: "resume" }
  | { type: "end"; reason: string | null }
  | { type: "reassign"; campaignId: string; scriptVersion: number; questions: Question[]; mode: "text" | "voice"; language: string | null };

/** The event for `action` on a session of `campaignId`, or why it is not a transition at all. */
export function controlEvent(action: ControlAction, session: { campaignId: string; mode: "text" | "voice" }): { ok: true; event: MachineEvent } | { ok: false; error: MachineError } {
  const campaignId = session.campaignId;
  switch (action.type) {
    case "pause":
      return { ok: true, event: { type: "pause", by: "admin", reason: action.reason } };
    case "resume":
      return { ok: true, event: { type: "resume", by: "admin" } };
    case "end":
      return { ok: true, event: { type: "end", reason: action.reason } };
    case "reassign":
      // The object, not the index (which lags by up to the mirror's coalescing), knows the campaign.
      if (action.campaignId === campaignId) return { ok: false, error: { code: "INVALID_TRANSITION", message: "the session already belongs to this campaign" } };
      // A typed interview has no audio storage behind it, and a spoken one's answers are recordings:
      // the participant's page could not go on in the other mode.
      if (action.mode !== session.mode) {
        return { ok: false, error: { code: "INVALID_TRANSITION", message: `a ${session.mode === "voice" ? "spoken" : "typed"} interview cannot move to a ${action.mode === "voice" ? "voice" : "typed"} campaign` } };
      }
      return { ok: true, event: { type: "reassign", questions: action.questions } };
  }
}
