// Text people type (answers, notes, names, questions): what counts as "not empty".
import { z } from "zod";

/** Any character a reader can see: not white space, and not a control or format (zero-width) character. */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}]/u;

export const hasVisibleText = (s: string) => VISIBLE.test(s);

/**
 * Typed text: trimmed, 1 to `max` characters, at least one of them visible. `trim()` alone keeps
 * a zero-width space or a lone control character, which would store an answer nobody can read.
 */
export const typedText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(hasVisibleText, "has no visible characters")
    // A lone UTF-16 surrogate (an escaped "\ud800" in JSON) is not text: SQLite would store U+FFFD.
    .refine((s) => !/\p{Cs}/u.test(s), "is not valid Unicode text (a lone surrogate)");
