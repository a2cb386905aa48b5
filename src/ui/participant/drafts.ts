// The half-typed answer to the question on screen, per session, kept in this tab's
// sessionStorage so that it survives a pause (the question unmounts), a resume and a reload.
// One draft per session, for the seq of the question frame it answers; an ack of an answer to
// that question clears it. Storage may be blocked (private modes): then the draft lives on screen only.

type Draft = { seq: number; text: string };
type Store = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const key = (sessionId: string) => `interviewrelay:draft:${sessionId}`;
const store = (): Store | null => {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
};

function read(sessionId: string, s: Store | null): Draft | null {
  try {
    const d = JSON.parse(s?.getItem(key(sessionId)) ?? "null") as Draft | null;
    return d && typeof d.seq === "number" && typeof d.text === "string" ? d : null;
  } catch {
    return null;
  }
}

/** The draft for the question frame `seq`, or "" (another question's draft is not this one's). */
export function loadDraft(sessionId: string, seq: number, s: Store | null = store()): string {
  const d = sessionId ? read(sessionId, s) : null;
  return d && d.seq === seq ? d.text : "";
}

export function saveDraft(sessionId: string, seq: number, text: string, s: Store | null = store()) {
  if (!sessionId || !s) return;
  try {
    if (text) s.setItem(key(sessionId), JSON.stringify({ seq, text } satisfies Draft));
    else s.removeItem(key(sessionId));
  } catch {
    // full or blocked: the draft lives only on screen
  }
}

/** The question seq a typed answer's id names (the page makes them `ans-{seq}-{random}`). */
export const answerIdFor = (seq: number) => `ans-${seq}-${Math.random().toString(36).slice(2, 8)}`;
const seqOf = (answerId: string): number | null => {
  const m = /^ans-(\d+)-/.exec(answerId);
  return m ? Number(m[1]) : null;
};

/** An answer was acknowledged: the draft of its question is saved for good, so it goes. */
export function clearDraftOf(sessionId: string, answerId: string, s: Store | null = store()) {
  const seq = seqOf(answerId);
  const d = read(sessionId, s);
  if (seq !== null && d && d.seq === seq) saveDraft(sessionId, seq, "", s);
}
