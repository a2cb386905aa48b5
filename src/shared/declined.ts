// A participant who declined to take part: they refused consent, or withdrew it before answering
// anything. Their session ends abandoned (the contract's status), but they never dropped out of an
// interview: research teams report completion among those who agreed to take part, and the consent
// rate apart. One definition, in TypeScript for the session object and the dashboard and in SQL
// over the session index; test/integration/analytics.test.ts checks that the two agree.

export interface DeclineFacts {
  status: string;
  /** consent.granted: false only once consent was refused (which ends the session). */
  consentGranted: boolean | null;
  questionsAnswered: number;
}

export function isDeclined(s: DeclineFacts): boolean {
  return s.status === "abandoned" && s.consentGranted === false && s.questionsAnswered === 0;
}

/** The same test over a `sessions` index row; `alias` is the table's alias in the query ("" for none). */
export const declinedSql = (alias = "") => {
  const p = alias ? `${alias}.` : "";
  return `(${p}status = 'abandoned' AND ${p}consent_granted = 0 AND ${p}questions_answered = 0)`;
};

/**
 * The moment a session counts under in a date range: when its interview started, or, for one never
 * started (declined at the consent step, or not begun yet), when its link was opened. A session is
 * created before it starts, so this is never before created_at.
 */
export const rangeTimeSql = (alias = "") => {
  const p = alias ? `${alias}.` : "";
  return `COALESCE(${p}started_at, ${p}created_at)`;
};

/** rangeTimeSql without an alias, as the session index's date-range index is built on it. */
export const RANGE_TIME_SQL = rangeTimeSql();
