// What the page shows when POST /v1/join refuses: the outcome of a session that is over (409
// INVITE_USED for a personal link, 410 SESSION_ENDED for a resumeOnly re-join carry
// `details: {sessionStatus, endReason}`), else a failure message for the error code. Pure, for tests.

import type { Key } from "./locales/en";

export type EndedDetails = { sessionStatus?: string; endReason?: string | null; language?: string | null; shared?: boolean; linkFull?: boolean };
export type JoinError = { code: string; message?: string; details?: EndedDetails | null };

/**
 * `ended`: the Ended screen (declined, abandoned, or thank you) for that status and reason;
 * `failed`: the "can't open" screen with the message for `code`.
 */
export type JoinOutcome = { kind: "ended"; status?: string; reason?: string; shared?: boolean } | { kind: "failed"; code: string };

export function joinOutcome(err: JoinError | null | undefined): JoinOutcome {
  const code = err?.code ?? "";
  const d = err?.details;
  // A shared link whose places are all taken: not "your interview is completed".
  if (code === "INVITE_USED" && d?.linkFull) return { kind: "failed", code: "LINK_FULL" };
  const shared = d?.shared === true ? { shared: true } : {};
  if ((code === "INVITE_USED" || code === "SESSION_ENDED") && d && typeof d === "object") {
    const reason = typeof d.endReason === "string" ? d.endReason : undefined;
    if (reason === "consent_declined" || reason === "consent_withdrawn") return { kind: "ended", status: d.sessionStatus, reason, ...shared };
    if (d.sessionStatus === "abandoned") return { kind: "ended", status: "abandoned", reason, ...shared };
    // The session on screen ended while the page was away: the thank-you screen.
    if (code === "SESSION_ENDED") return { kind: "ended", status: d.sessionStatus, reason, ...shared };
  }
  return { kind: "failed", code };
}

/**
 * The catalog key for an error frame the page shows as a notice (a typed answer refused, mostly):
 * never the server's own English message.
 */
export function errorNoticeKey(f: { code: string; answerId?: string }): Key {
  if (f.code === "STALE_ANSWER") return "staleAnswer";
  // A typed answer while a spoken one to the question is open: sending it again would be refused too.
  if (f.code === "ANSWER_RECORDING_ELSEWHERE") return "typedWhileRecordingElsewhere";
  if (f.code === "ANSWER_IN_PROGRESS") return "typedWhileRecording";
  if (f.answerId !== undefined || f.code === "INVALID_FRAME") return "answerRefused";
  return "somethingWrong";
}
