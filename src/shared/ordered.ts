// Ranges a client gives both ways round (from after to, min above max) are its mistake, not "no
// data": a 400 naming the upper bound, instead of a 200 with an empty page that looks like an answer.
import type { z } from "zod";

const valueOf = (v: unknown): number => (typeof v === "string" ? Date.parse(v) : Number(v));

/** A superRefine for an object schema: each [low, high] pair given together must be in order. */
export const ordered =
  (pairs: readonly (readonly [string, string])[]) =>
  (v: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    for (const [lo, hi] of pairs) {
      if (v[lo] === undefined || v[hi] === undefined) continue;
      if (valueOf(v[lo]) > valueOf(v[hi])) ctx.addIssue({ code: "custom", path: [hi], message: `must not be before ${lo}` });
    }
  };

export const RANGE_PAIRS = [["from", "to"], ["minDuration", "maxDuration"], ["minCompletion", "maxCompletion"]] as const;
