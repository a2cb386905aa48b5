// LLM replies that were asked for JSON: models wrap it in prose ("Sure: {...}") or get it wrong.
import type { z } from "zod";

/** The first {...} in the reply, parsed and checked against `schema`; null when there is none or it does not fit. */
export function jsonReply<S extends z.ZodType>(reply: string, schema: S): z.output<S> | null {
  const json = /\{[\s\S]*\}/.exec(reply)?.[0];
  if (!json) return null;
  try {
    const r = schema.safeParse(JSON.parse(json));
    return r.success ? r.data : null;
  } catch {
    return null; // not JSON after all
  }
}
