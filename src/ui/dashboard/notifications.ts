// The bell in the shell's top bar: the caller's notifications (GET /v1/notifications, every member
// may read their own: action org.read) in a small panel. The API keeps no read flag, so "unread"
// means newer than what this member last saw when they opened the panel, kept in localStorage per
// member. What is stored is the newest notification's createdAt (the server's clock), so a client
// clock that runs fast or slow neither hides new notifications nor brings old ones back.
import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "./api";
import { fmtAgo, fmtDateTime } from "./format";
import { html } from "./html";
import type { Notification, Page } from "./types";
import { InlineError } from "./ui";

/** How often the list is fetched while the tab is visible; focusing the tab fetches at once. */
export const POLL_MS = 30_000;
/** A focus right after a fetch does not fetch again. */
const FOCUS_GAP_MS = 3_000;
const LIMIT = 20;

const seenKey = (memberId: string) => `ir.notifications.seen.${memberId}`;
function readSeen(memberId: string): number {
  try {
    return Number(localStorage.getItem(seenKey(memberId)) ?? 0) || 0;
  } catch {
    return 0; // storage blocked: everything loaded counts as unread until the panel is opened
  }
}
function writeSeen(memberId: string, at: number) {
  try {
    localStorage.setItem(seenKey(memberId), String(at));
  } catch {
    // storage blocked: the badge clears for this page only
  }
}

const time = (n: Notification) => Date.parse(n.createdAt) || 0;

/** The download link of an export.ready notification, with its expiry when the notification gives one. */
function exportLink(n: Notification): { url: string; expiresAt: string | null } | null {
  if (n.kind !== "export.ready" || !n.data || typeof n.data !== "object") return null;
  const d = n.data as { downloadUrl?: unknown; linkExpiresAt?: unknown };
  if (typeof d.downloadUrl !== "string" || !/^https?:\/\/|^\//.test(d.downloadUrl)) return null;
  return { url: d.downloadUrl, expiresAt: typeof d.linkExpiresAt === "string" ? d.linkExpiresAt : null };
}

/** The body without the sentence holding the raw link the email version carries (the panel shows a Download button and the expiry instead). */
const bodyText = (n: Notification, link: { url: string } | null) =>
  link
    ? n.body
        .split(/(?<=\.)\s+/)
        .filter((s) => !s.includes(link.url))
        .join(" ")
    : n.body;

export function NotificationBell({ memberId }: { memberId: string }) {
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [seen, setSeen] = useState(() => readSeen(memberId));
  // What counted as seen when the panel was opened: the items newer than it stay marked while it is open.
  const [seenAtOpen, setSeenAtOpen] = useState(0);
  const [now, setNow] = useState(Date.now());
  const wrap = useRef<HTMLDivElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const bell = useRef<HTMLButtonElement>(null);
  const last = useRef(0);
  const inFlight = useRef<AbortController | null>(null);

  const refresh = () => {
    if (inFlight.current) return;
    const ctrl = new AbortController();
    inFlight.current = ctrl;
    last.current = Date.now();
    get<Page<Notification>>(`/v1/notifications?limit=${LIMIT}`, ctrl.signal).then(
      (p) => {
        inFlight.current = null;
        setItems(p.data);
        setError(null);
        setNow(Date.now());
      },
      (e) => {
        inFlight.current = null;
        if ((e as Error)?.name !== "AbortError") setError(e);
      },
    );
  };

  // Poll while the tab is visible; fetch when it becomes visible again or gains focus.
  useEffect(() => {
    setSeen(readSeen(memberId));
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      clearInterval(timer);
      timer = setInterval(() => document.visibilityState === "visible" && refresh(), POLL_MS);
    };
    const onVisibility = () => {
      if (document.visibilityState !== "visible") return clearInterval(timer);
      if (Date.now() - last.current >= FOCUS_GAP_MS) refresh();
      start();
    };
    const onFocus = () => Date.now() - last.current >= FOCUS_GAP_MS && refresh();
    // Another tab of this member opened the panel: clear the badge here too.
    const onStorage = (e: StorageEvent) => e.key === seenKey(memberId) && setSeen(readSeen(memberId));
    refresh();
    if (document.visibilityState === "visible") start();
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("focus", onFocus);
    window.addEventListener("storage", onStorage);
    return () => {
      clearInterval(timer);
      inFlight.current?.abort();
      inFlight.current = null;
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("focus", onFocus);
      window.removeEventListener("storage", onStorage);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [memberId]);

  // Opening marks everything listed as seen; a notification that arrives while it is open is seen too.
  useEffect(() => {
    if (!open || !items?.length) return;
    const newest = Math.max(...items.map(time));
    if (newest > seen) {
      writeSeen(memberId, newest);
      setSeen(newest);
    }
  }, [open, items]);

  // While open: focus moves into the panel; Escape or a click outside closes it.
  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      setOpen(false);
      bell.current?.focus();
    };
    const onDown = (e: PointerEvent) => wrap.current && !wrap.current.contains(e.target as Node) && setOpen(false);
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onDown);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onDown);
    };
  }, [open]);

  const unread = (items ?? []).filter((n) => time(n) > seen).length;
  const toggle = () => {
    if (open) return setOpen(false);
    setSeenAtOpen(seen);
    setNow(Date.now());
    setOpen(true);
    refresh();
  };
  const label = unread ? `Notifications, ${unread} unread` : "Notifications";

  return html`<div class="notif" ref=${wrap}>
    <button
      ref=${bell}
      type="button"
      class="icon-btn notif-bell"
      aria-label=${label}
      aria-expanded=${open}
      aria-controls="notif-panel"
      aria-haspopup="dialog"
      data-testid="notif-bell"
      data-unread=${unread}
      onClick=${toggle}
    >
      <svg class="icon" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" /><path d="M13.73 21a2 2 0 0 1-3.46 0" /></svg>
      ${unread ? html`<span class="notif-count" aria-hidden="true" data-testid="notif-count">${unread > 9 ? "9+" : unread}</span>` : null}
    </button>
    ${open
      ? html`<div id="notif-panel" class="notif-panel" role="dialog" aria-label="Notifications" tabindex="-1" ref=${panel} data-testid="notif-panel">
          <div class="notif-head"><h2>Notifications</h2><button type="button" class="icon-btn" aria-label="Close notifications" onClick=${() => (setOpen(false), bell.current?.focus())}>×</button></div>
          <${InlineError} error=${error} />
          ${items === null
            ? error
              ? null
              : html`<p class="notif-empty muted" role="status"><span class="spinner small" aria-hidden="true"></span> Loading…</p>`
            : items.length === 0
              ? html`<p class="notif-empty muted">Nothing yet. You are told here when, for example, a bulk export is ready.</p>`
              : html`<ul class="notif-list">
                  ${items.map((n) => {
                    const link = exportLink(n);
                    const isNew = time(n) > seenAtOpen;
                    const expired = link?.expiresAt ? Date.parse(link.expiresAt) <= now : false;
                    return html`<li key=${n.id} class=${isNew ? "notif-item new" : "notif-item"} data-kind=${n.kind}>
                      <div class="notif-top">
                        <span class="notif-subject">${isNew ? html`<span class="dot" aria-hidden="true"></span><span class="sr">New: </span>` : null}${n.subject}</span>
                        <time class="notif-time" datetime=${n.createdAt} title=${fmtDateTime(n.createdAt)}>${fmtAgo(n.createdAt, now)}</time>
                      </div>
                      <p class="notif-body">${bodyText(n, link)}</p>
                      ${link
                        ? expired
                          ? html`<p class="notif-meta muted">The download link expired ${fmtDateTime(link.expiresAt)}. Start a new export.</p>`
                          : html`<p class="notif-actions">
                              <a class="btn btn-small btn-primary" href=${link.url} download rel="external" data-testid="notif-download">⤓ Download</a>
                              ${link.expiresAt ? html`<span class="notif-meta muted">Link expires ${fmtDateTime(link.expiresAt)}</span>` : null}
                            </p>`
                        : null}
                    </li>`;
                  })}
                </ul>`}
        </div>`
      : null}
  </div>`;
}
