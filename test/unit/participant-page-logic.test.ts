// The participant page's pure pieces: which screen a refused join shows (a declined or abandoned
// interview is not "already completed"), and the per-question drafts that survive pause and reload.
import { describe, expect, it } from "vitest";
import { answerIdFor, clearDraftOf, loadDraft, saveDraft } from "../../src/ui/participant/drafts";
import { errorNoticeKey, joinOutcome } from "../../src/ui/participant/outcome";
import { en } from "../../src/ui/participant/locales/en";
import { MemoryStore } from "../helpers/memory-store";


describe("a refused join", () => {
  it("a declined or withdrawn consent shows the declined screen", () => {
    expect(joinOutcome({ code: "INVITE_USED", details: { sessionStatus: "abandoned", endReason: "consent_declined" } })).toEqual({ kind: "ended", status: "abandoned", reason: "consent_declined" });
    expect(joinOutcome({ code: "SESSION_ENDED", details: { sessionStatus: "abandoned", endReason: "consent_withdrawn" } })).toEqual({ kind: "ended", status: "abandoned", reason: "consent_withdrawn" });
  });

  it("an abandoned session (left, timed out) shows the ended-after-inactivity screen", () => {
    for (const endReason of ["participant_left", "heartbeat_timeout", "pause_expired"]) {
      expect(joinOutcome({ code: "INVITE_USED", details: { sessionStatus: "abandoned", endReason } })).toEqual({ kind: "ended", status: "abandoned", reason: endReason });
    }
  });

  it("a completed session: the link was used (join), or thank you (the re-join of the session on screen)", () => {
    expect(joinOutcome({ code: "INVITE_USED", details: { sessionStatus: "completed", endReason: "finished" } })).toEqual({ kind: "failed", code: "INVITE_USED" });
    expect(joinOutcome({ code: "INVITE_USED" })).toEqual({ kind: "failed", code: "INVITE_USED" });
    expect(joinOutcome({ code: "SESSION_ENDED", details: { sessionStatus: "completed", endReason: "ended_by_admin" } })).toEqual({ kind: "ended", status: "completed", reason: "ended_by_admin" });
  });

  it("other refusals are failures named by their code", () => {
    expect(joinOutcome({ code: "INVITE_NOT_FOUND" })).toEqual({ kind: "failed", code: "INVITE_NOT_FOUND" });
    expect(joinOutcome({ code: "SESSION_NOT_FOUND" })).toEqual({ kind: "failed", code: "SESSION_NOT_FOUND" });
    expect(joinOutcome(null)).toEqual({ kind: "failed", code: "" });
  });
});

describe("answer drafts", () => {
  it("are kept per session for the question's seq and come back only for that question", () => {
    const s = new MemoryStore();
    saveDraft("ses_a", 7, "half-typed", s);
    expect(loadDraft("ses_a", 7, s)).toBe("half-typed");
    expect(loadDraft("ses_a", 9, s)).toBe("");
    expect(loadDraft("ses_b", 7, s)).toBe("");
    saveDraft("ses_a", 9, "the next one", s);
    expect(loadDraft("ses_a", 7, s)).toBe("");
    expect(loadDraft("ses_a", 9, s)).toBe("the next one");
  });

  it("an ack for an answer to the draft's question clears it; other acks do not", () => {
    const s = new MemoryStore();
    saveDraft("ses_a", 7, "typed", s);
    clearDraftOf("ses_a", answerIdFor(5), s);
    clearDraftOf("ses_a", "spoken-7", s);
    expect(loadDraft("ses_a", 7, s)).toBe("typed");
    const id = answerIdFor(7);
    expect(id).toMatch(/^ans-7-/);
    clearDraftOf("ses_a", id, s);
    expect(loadDraft("ses_a", 7, s)).toBe("");
    expect(s.data.size).toBe(0);
  });

  it("blocked or damaged storage never throws", () => {
    const broken = { getItem: () => "{not json", setItem: () => { throw new Error("quota"); }, removeItem: () => undefined };
    expect(loadDraft("ses_a", 1, broken)).toBe("");
    expect(() => saveDraft("ses_a", 1, "x", broken)).not.toThrow();
    expect(loadDraft("ses_a", 1, null)).toBe("");
  });
});

describe("a typed answer refused", () => {
  it("while a spoken answer is being recorded (in another window, or not known where) says so, not 'send it again'", () => {
    expect(errorNoticeKey({ code: "ANSWER_RECORDING_ELSEWHERE", answerId: "ans-4" })).toBe("typedWhileRecordingElsewhere");
    expect(errorNoticeKey({ code: "ANSWER_IN_PROGRESS", answerId: "ans-4" })).toBe("typedWhileRecording");
    expect(en.typedWhileRecordingElsewhere).toMatch(/another window/);
    expect(en.typedWhileRecording).not.toMatch(/send it again/);
    // The others as before.
    expect(errorNoticeKey({ code: "STALE_ANSWER", answerId: "ans-3" })).toBe("staleAnswer");
    expect(errorNoticeKey({ code: "INVALID_FRAME", answerId: "ans-3" })).toBe("answerRefused");
    expect(errorNoticeKey({ code: "INVALID_FRAME" })).toBe("answerRefused");
    expect(errorNoticeKey({ code: "WHATEVER" })).toBe("somethingWrong");
  });
});
