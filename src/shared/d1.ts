// Helpers for D1 statements.

/**
 * D1 binds at most 100 parameters per statement, so long IN lists are read in chunks of 90,
 * which leaves room for a statement's other parameters.
 */
export function inChunks<T>(items: T[], size = 90): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** "?, ?, ?" for an IN list of `n` values. */
export const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/**
 * `SELECT value ->> 0, …, value ->> n-1 FROM json_each(?) WHERE true`: rows of `n` columns bound as
 * one JSON array of arrays, so a statement writes any number of rows with a single parameter
 * (D1 counts every statement of a batch against an invocation's query limit, and binds at most 100
 * parameters to one). `WHERE true` lets an `ON CONFLICT` clause follow without ambiguity.
 */
export const jsonRows = (n: number) => `SELECT ${Array.from({ length: n }, (_, i) => `value ->> ${i}`).join(", ")} FROM json_each(?) WHERE true`;
