// Formatting of times, durations and labels, shared by every screen.
import type { Sentiment, Status } from "./types";

const dateTime = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const dateOnly = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export const fmtDateTime = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : "—");
const shortThisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const shortOtherYear = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const thisYear = new Date().getFullYear();
/** Compact for tables: "Nov 23, 10:31 PM" this year, "Nov 23, 2025" before. */
export function fmtShort(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.getFullYear() === thisYear ? shortThisYear.format(d) : shortOtherYear.format(d);
}
// Date filters (Sessions, Reports) pick days in the browser's time zone: a day is sent to the API
// as the UTC instants of its local midnight and its last millisecond, so the same range finds the
// same sessions on every screen.
/** The first instant of the local day `yyyy-mm-dd`, as ISO UTC; undefined for "". */
export const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);
/** The last millisecond of the local day `yyyy-mm-dd`, as ISO UTC; undefined for "". */
export const dayEnd = (d: string) => (d ? new Date(`${d}T23:59:59.999`).toISOString() : undefined);
const ymd = (y: number, m: number, d: number) => `${String(y).padStart(4, "0")}-${String(m + 1).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
/**
 * The local day `yyyy-mm-dd` an ISO instant from dayStart/dayEnd falls on, for a date input. An
 * instant at a UTC day's edge that is not at a local one (a range saved when the Reports screen
 * still sent whole UTC days) reads as that UTC day, the day that was picked.
 */
export function dayOf(iso: string | undefined, edge: "start" | "end"): string {
  if (!iso) return "";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "";
  const local = ymd(t.getFullYear(), t.getMonth(), t.getDate());
  const utc = ymd(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  const atLocalEdge = (edge === "start" ? dayStart(local) : dayEnd(local)) === t.toISOString();
  const atUtcEdge = t.toISOString().slice(10) === (edge === "start" ? "T00:00:00.000Z" : "T23:59:59.999Z");
  return !atLocalEdge && atUtcEdge ? utc : local;
}
/** The browser's IANA time zone ("Europe/Berlin"), which the date filters' days are in. */
export const localTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "your local time";

export const fmtDate = (iso: string | null | undefined) => (iso ? dateOnly.format(new Date(iso)) : "—");
export const fmtTime = (iso: string | null | undefined) => (iso ? timeOnly.format(new Date(iso)) : "—");

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Milliseconds into the interview as m:ss (transcript timestamps). */
export function fmtOffset(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const d = Math.round((now - Date.parse(iso)) / 1000);
  if (d < 45) return "just now";
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86_400) return `${Math.round(d / 3600)} h ago`;
  return fmtDate(iso);
}

export const STATUSES: Status[] = ["created", "in_progress", "paused", "completed", "abandoned"];
export const STATUS_LABEL: Record<Status, string> = {
  created: "Not started",
  in_progress: "In progress",
  paused: "Paused",
  completed: "Completed",
  abandoned: "Abandoned",
};
export const isLive = (s: Status) => s === "created" || s === "in_progress" || s === "paused";
export const SENTIMENTS: Sentiment[] = ["positive", "neutral", "negative"];

export const shortId = (id: string | null | undefined) => (id ? `${id.slice(0, 4)}…${id.slice(-6)}` : "—");

export function participantLabel(p: { email: string | null; name: string | null } | undefined, fallback = "Participant"): string {
  if (!p) return fallback;
  return p.name || p.email || fallback;
}

export function deviceLabel(d: Record<string, string> | null | undefined): string {
  if (!d) return "—";
  const parts = [d.deviceType, d.browser, d.os].filter(Boolean);
  return parts.length ? parts.join(" · ") : d.userAgent ? d.userAgent.slice(0, 60) : "—";
}

const EVENT_LABEL: Record<string, string> = {
  created: "Invite opened",
  consent_granted: "Consent given",
  consent_declined: "Consent declined",
  consent_withdrawn: "Consent withdrawn",
  started: "Interview started",
  answered: "Answer received",
  paused: "Paused",
  resumed: "Resumed",
  left: "Participant left the page",
  reassigned: "Moved to another campaign",
  completed: "Completed",
  abandoned: "Abandoned",
};
export const eventLabel = (t: string) => EVENT_LABEL[t] ?? t.replace(/_/g, " ");
