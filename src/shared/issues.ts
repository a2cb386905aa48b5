// How a zod issue reads in an error envelope or an error frame, bounded whatever the input was.
import type { z } from "zod";

/** At most this many unknown names are quoted in one issue, each cut at 64 characters. */
const MAX_KEYS = 10;
const quote = (k: string) => JSON.stringify(k.length > 64 ? `${k.slice(0, 64)}…` : k);

/** zod's own message, except for unknown keys: zod quotes every one of them, however many or long. */
export function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code !== "unrecognized_keys") return i.message;
  const more = i.keys.length > MAX_KEYS ? ` and ${i.keys.length - MAX_KEYS} more` : "";
  return `Unrecognized key${i.keys.length > 1 ? "s" : ""}: ${i.keys.slice(0, MAX_KEYS).map(quote).join(", ")}${more}`;
}

/** An issue's path as text (bounded: a path can be made of long unknown keys). */
export const issuePath = (i: z.core.$ZodIssue) => i.path.map(String).join(".").slice(0, 200);
