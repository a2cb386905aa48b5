// Stored JSON is parsed and checked, never trusted by a cast: a bad row is an error, not a surprise.
import type { z } from "zod";

export const parseJson = <S extends z.ZodType>(schema: S, text: string): z.output<S> => schema.parse(JSON.parse(text));

/**
 * The path of the first "__proto__" key in parsed JSON, or null. JSON.parse makes it an own key,
 * but any object it is copied into (a zod record, a spread) treats it as the prototype, so the
 * field would vanish without a word. Iterative: a body may nest 50,000 arrays deep.
 */
export function protoKeyPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, path ? `${path}.${i}` : String(i)]));
      continue;
    }
    for (const k of Object.keys(v)) {
      const at = path ? `${path}.${k}` : k;
      if (k === "__proto__") return at;
      stack.push([(v as Record<string, unknown>)[k], at]);
    }
  }
  return null;
}
