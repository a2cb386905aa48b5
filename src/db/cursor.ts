// Opaque keyset cursors: base64url of [sortKey, id, list]. `list` is a short hash of the query the
// cursor came from (table, conditions, their values, order): a cursor belongs to its list, and one
// used with other filters or on another list is bad input, not a page of something else.
import { z } from "zod";

const Cursor = z.tuple([z.number(), z.string().max(100), z.string().max(16)]);

/** FNV-1a (32 bits) of the list's description, in base 36: a tag, not a secret. */
function listTag(scope: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < scope.length; i++) h = Math.imul(h ^ scope.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

export function encodeCursor(sortKey: number, id: string, scope: string): string {
  return btoa(JSON.stringify([sortKey, id, listTag(scope)])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function parseCursor(cursor: string): z.output<typeof Cursor> | null {
  try {
    const parsed = Cursor.safeParse(JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The cursor's position, or null when it does not decode or was made for another list. */
export function decodeCursor(cursor: string, scope: string): { sortKey: number; id: string } | null {
  const c = parseCursor(cursor);
  return c && c[2] === listTag(scope) ? { sortKey: c[0], id: c[1] } : null;
}

/** Whether the text is a cursor of some list (for a 400 before the list's own lookup). */
export const wellFormedCursor = (cursor: string) => parseCursor(cursor) !== null;

export type KeysetOrder = "newest" | "oldest";

/** What makes two page queries the same list (the cursor and the page size aside). */
export const listScope = (table: string, where: string, binds: unknown[], order = "") => `${table}|${where}|${order}|${JSON.stringify(binds)}`;

/** The page query: newest (or oldest) first, after the cursor's (created_at, id) when there is one. */
export function keysetSql(table: string, where: string, afterCursor: boolean, order: KeysetOrder = "newest"): string {
  const [cmp, dir] = order === "newest" ? ["<", "DESC"] : [">", "ASC"];
  const keyset = afterCursor ? ` AND (created_at ${cmp} ? OR (created_at = ? AND id ${cmp} ?))` : "";
  return `SELECT * FROM ${table} WHERE ${where}${keyset} ORDER BY created_at ${dir}, id ${dir} LIMIT ?`;
}

/** A page query ready to run (alone or in a D1 batch) and how its rows become the page. */
export interface KeysetQuery<T> {
  statement: D1PreparedStatement;
  page(rows: T[]): { items: T[]; nextCursor: string | null };
}

/**
 * The query for one page of `table` rows matching `where`, newest first unless `order` says
 * otherwise, keyed on (created_at, id).
 * Returns null for a cursor that does not decode or belongs to another list (the caller answers 400).
 */
export function keysetQuery<T extends { created_at: number; id: string }>(
  db: D1Database,
  table: string,
  where: string,
  binds: unknown[],
  limit: number,
  cursor: string | undefined,
  order: KeysetOrder = "newest",
): KeysetQuery<T> | null {
  const scope = listScope(table, where, binds, order);
  const after = cursor ? decodeCursor(cursor, scope) : null;
  if (cursor && !after) return null;
  const statement = db.prepare(keysetSql(table, where, after !== null, order)).bind(...binds, ...(after ? [after.sortKey, after.sortKey, after.id] : []), limit + 1);
  return {
    statement,
    page(rows) {
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id, scope) : null };
    },
  };
}

/** One page, read on its own; null for a cursor that does not decode or belongs to another list. */
export async function keysetPage<T extends { created_at: number; id: string }>(...args: Parameters<typeof keysetQuery<T>>): Promise<{ items: T[]; nextCursor: string | null } | null> {
  const q = keysetQuery<T>(...args);
  return q && q.page((await q.statement.all<T>()).results);
}
