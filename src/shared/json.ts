// Stored JSON is parsed and checked, never trusted by a cast: a bad row is an error, not a surprise.
import type { z } from "zod";

export const parseJson = <S extends z.ZodType>(schema: S, text: string): z.output<S> => schema.parse(JSON.parse(text));

/**
 * The path of the first "__proto__" key in parsed JSON, or null. JSON.parse makes it an own key,
 * but any object it is copied into (a zod record, a spread) treats it as the prototype, so the
 * field would vanish without a word. Iterative (a body may nest 50,000 arrays deep), visits only
 * objects and arrays, and spells a path only for a hit: a 1 MiB body costs about a millisecond.
 */
export function protoKeyPath(value: unknown): string | null {
  type Node = { v: object; key: string; parent: Node | null };
  const pathOf = (n: Node | null, key: string): string => {
    const parts = [key];
    for (let p = n; p && p.parent; p = p.parent) parts.push(p.key);
    return parts.reverse().join(".");
  };
  if (value === null || typeof value !== "object") return null;
  const stack: Node[] = [{ v: value, key: "", parent: null }];
  while (stack.length) {
    const n = stack.pop()!;
    if (Array.isArray(n.v)) {
      for (let i = 0; i < n.v.length; i++) {
        const x: unknown = n.v[i];
        if (x !== null && typeof x === "object") stack.push({ v: x, key: String(i), parent: n });
      }
      continue;
    }
    for (const k of Object.keys(n.v)) {
      if (k === "__proto__") return pathOf(n, k);
      const x = (n.v as Record<string, unknown>)[k];
      if (x !== null && typeof x === "object") stack.push({ v: x, key: k, parent: n });
    }
  }
  return null;
}
