// Stored JSON is parsed and checked, never trusted by a cast: a bad row is an error, not a surprise.
import type { z } from "zod";

export const parseJson = <S extends z.ZodType>(schema: S, text: string): z.output<S> => schema.parse(JSON.parse(text));

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first field of parsed JSON that must not be stored, with its path, or null:
 * - a "__proto__" key: JSON.parse makes it an own key, but any object it is copied into (a zod
 *   record, a spread) treats it as the prototype, so the field would vanish without a word;
 * - text (a key or a string) with a lone UTF-16 surrogate ("\ud800" escaped in the JSON): it is
 *   not Unicode text, and D1 stores it as three U+FFFD, so the 201 would echo one text and every
 *   later read another.
 * Iterative (a body may nest 50,000 arrays deep) and spells a path only for a hit: a 1 MiB body
 * costs about a millisecond.
 */
export function badJsonField(value: unknown): { path: string; problem: "proto_key" | "lone_surrogate" } | null {
  type Node = { v: object; key: string; parent: Node | null };
  const pathOf = (n: Node | null, key: string): string => {
    const parts = [key];
    for (let p = n; p && p.parent; p = p.parent) parts.push(p.key);
    return parts.reverse().join(".");
  };
  const lone = (x: unknown) => typeof x === "string" && LONE_SURROGATE.test(x);
  if (lone(value)) return { path: "", problem: "lone_surrogate" };
  if (value === null || typeof value !== "object") return null;
  const stack: Node[] = [{ v: value, key: "", parent: null }];
  while (stack.length) {
    const n = stack.pop()!;
    if (Array.isArray(n.v)) {
      for (let i = 0; i < n.v.length; i++) {
        const x: unknown = n.v[i];
        if (lone(x)) return { path: pathOf(n, String(i)), problem: "lone_surrogate" };
        if (x !== null && typeof x === "object") stack.push({ v: x, key: String(i), parent: n });
      }
      continue;
    }
    for (const k of Object.keys(n.v)) {
      if (k === "__proto__") return { path: pathOf(n, k), problem: "proto_key" };
      const x = (n.v as Record<string, unknown>)[k];
      if (lone(k) || lone(x)) return { path: pathOf(n, k), problem: "lone_surrogate" };
      if (x !== null && typeof x === "object") stack.push({ v: x, key: k, parent: n });
    }
  }
  return null;
}
