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
