// Data leaving the dashboard (owners and admins, CONTRACT.md's "export"): one session as JSON, CSV
// or PDF; a campaign's session list (current filters) as CSV; and bulk exports, a ZIP built by the
// server in the background whose signed download link appears here when it is ready.
import { useEffect, useState } from "preact/hooks";
import { ApiError, describeError, download, post, qs, saveBlob, signalUnauthorized, get } from "../api";
import { fmtDateTime } from "../format";
import { html } from "../html";
import type { Status } from "../types";
import { InlineError, Modal, toast } from "../ui";

// ---- one session ----

const SESSION_FORMATS = [
  { format: "pdf", label: "PDF", hint: "a readable transcript with the overview" },
  { format: "csv", label: "CSV", hint: "one row per transcript line" },
  { format: "json", label: "JSON", hint: "metadata, transcript, analytics and notes" },
] as const;

/** Export buttons for one session; each downloads the file with the sign-in cookie. */
export function SessionExport({ sessionId }: { sessionId: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const go = async (format: string) => {
    setBusy(format);
    try {
      await download(`/v1/sessions/${encodeURIComponent(sessionId)}/export?format=${format}`, `${sessionId}.${format}`);
    } catch (err) {
      toast(`Export failed: ${describeError(err)}`, "error");
    } finally {
      setBusy(null);
    }
  };
  return html`<section class="panel" data-testid="session-export">
    <h2 class="panel-title">Export</h2>
    <div class="actions-bar">
      ${SESSION_FORMATS.map(
        (f) => html`<button key=${f.format} type="button" class="btn btn-small" data-testid=${`export-${f.format}`} title=${`Download ${f.label}: ${f.hint}`} disabled=${busy !== null} onClick=${() => go(f.format)}>
          ${busy === f.format ? "Preparing…" : `⤓ ${f.label}`}
        </button>`,
      )}
    </div>
    <p class="muted small mt">Downloads are recorded in the audit log.</p>
  </section>`;
}

// ---- the session list as CSV ----

/** The most rows one CSV download gathers (100 per request). */
const CSV_MAX_ROWS = 10_000;

/**
 * Downloads every session matching `query` (the list's API filters) as one CSV: the API serves
 * 100 rows a request with the next cursor in X-Next-Cursor, so the pages are joined here (the
 * header once). Resolves with the number of rows.
 */
export async function downloadSessionsCsv(campaignId: string, query: Record<string, string | undefined>, onProgress?: (rows: number) => void): Promise<number> {
  let cursor: string | null = null;
  let header = "";
  const parts: string[] = [];
  let rows = 0;
  do {
    const res: Response = await fetch(`/v1/campaigns/${encodeURIComponent(campaignId)}/sessions${qs({ ...query, format: "csv", limit: 100, cursor: cursor ?? undefined })}`, {
      credentials: "same-origin",
      headers: { Accept: "text/csv" },
    });
    if (!res.ok) {
      const e = ((await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
      if (res.status === 401) signalUnauthorized();
      throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `The server answered ${res.status}.`, e?.details);
    }
    const text = await res.text();
    // The header row has no line breaks inside it; data rows may (quoted), so split only once.
    const cut = text.indexOf("\r\n") >= 0 ? text.indexOf("\r\n") + 2 : text.indexOf("\n") + 1;
    if (!header) header = text.slice(0, cut);
    const body = text.slice(cut);
    if (body) parts.push(body);
    rows += csvRows(body);
    onProgress?.(rows);
    cursor = res.headers.get("X-Next-Cursor");
  } while (cursor && rows < CSV_MAX_ROWS);
  // res.text() drops each page's byte order mark (the Fetch standard's UTF-8 decode does): the file gets one back, once.
  saveBlob(new Blob(["\uFEFF", header.replace(/^\uFEFF/, ""), ...parts], { type: "text/csv;charset=utf-8" }), `${campaignId}-sessions.csv`);
  return rows;
}

/** Records in a CSV text (line breaks inside quoted cells do not count). */
function csvRows(text: string): number {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34) quoted = !quoted;
    else if (ch === 10 && !quoted) n++;
  }
  return n;
}

// ---- bulk exports ----

export interface ListFilter {
  status: Status[];
  from?: string;
  to?: string;
  minDuration: string;
  maxDuration: string;
  minCompletion: string;
  maxCompletion: string;
  language: string;
  sentiment: string[];
  flagged: "" | "true" | "false";
}

/** The bulk export's `filter` for the list's filters (`from`/`to` already as ISO instants). */
export function exportFilter(f: ListFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const int = (v: string) => (v === "" || Number.isNaN(Number(v)) ? undefined : Math.round(Number(v)));
  if (f.status.length) out.status = f.status;
  if (f.from) out.from = f.from;
  if (f.to) out.to = f.to;
  for (const k of ["minDuration", "maxDuration", "minCompletion", "maxCompletion"] as const) {
    const v = int(f[k]);
    if (v !== undefined) out[k] = v;
  }
  if (f.language) out.language = f.language;
  if (f.sentiment.length) out.sentiment = f.sentiment;
  if (f.flagged) out.flagged = f.flagged === "true";
  return out;
}

const BULK_FORMATS = [
  { value: "json", label: "JSON", hint: "session.json per session: metadata, transcript, analytics, notes" },
  { value: "csv", label: "CSV", hint: "transcript.csv per session" },
  { value: "pdf", label: "PDF", hint: "session.pdf per session" },
  { value: "audio", label: "Audio", hint: "the recordings (WAV) of voice sessions" },
] as const;

interface ExportStatus {
  id: string;
  status: "queued" | "running" | "ready" | "failed";
  sessionCount: number;
  sessionsDone?: number;
  downloadUrl?: string;
  expiresAt?: string;
  /** When the download link stops working (at most a day; the export itself lives longer). */
  linkExpiresAt?: string;
  error?: string;
}

/** Start a bulk export of the sessions matching the list's filters, then wait for its link. */
export function BulkExportDialog({ campaignId, filter, matching, filtered, recordings = true, onClose }: {
  campaignId: string;
  filter: Record<string, unknown>;
  matching: string;
  filtered: boolean;
  /** False for a typed campaign: its sessions have no recordings, so an audio export would be an empty ZIP. */
  recordings?: boolean;
  onClose: () => void;
}) {
  const [format, setFormat] = useState<(typeof BULK_FORMATS)[number]["value"]>("json");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [job, setJob] = useState<ExportStatus | null>(null);
  const noun = matching === "1" ? "session" : "sessions";

  // Poll the export until it is ready or failed (every 1.5 s, slower after a minute).
  useEffect(() => {
    if (!job || job.status === "ready" || job.status === "failed") return;
    let stopped = false;
    let polls = 0;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      polls += 1;
      try {
        const s = await get<ExportStatus>(`/v1/exports/${encodeURIComponent(job.id)}`);
        if (stopped) return;
        setJob(s);
        if (s.status === "ready" || s.status === "failed") return;
      } catch (x) {
        if (stopped) return;
        setErr(x);
      }
      timer = setTimeout(tick, polls > 40 ? 5000 : 1500);
    };
    timer = setTimeout(tick, 800);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [job?.id, job?.status]);

  const start = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const body: Record<string, unknown> = { format };
      if (Object.keys(filter).length) body.filter = filter;
      const r = await post<ExportStatus>(`/v1/campaigns/${encodeURIComponent(campaignId)}/exports`, body);
      setJob({ ...r, sessionsDone: 0 });
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  return html`<${Modal} title="Bulk export" onClose=${onClose}>
    ${job
      ? html`<div class="dialog-body" data-testid="bulk-export-status" data-status=${job.status}>
          ${job.status === "ready"
            ? html`<p><strong>Your export is ready</strong>: ${job.sessionCount} session${job.sessionCount === 1 ? "" : "s"}, one ZIP.</p>
                ${job.downloadUrl
                  ? html`<p><a class="btn btn-primary" href=${job.downloadUrl} download rel="external" data-testid="bulk-export-download">⤓ Download ZIP</a></p>
                      <p class="muted small">The link works without signing in, so share it with care. It expires ${fmtDateTime(job.linkExpiresAt ?? job.expiresAt ?? null)}.</p>`
                  : html`<p class="muted">The download link has expired. Start a new export.</p>`}`
            : job.status === "failed"
              ? html`<p class="form-error" role="alert">The export failed${job.error ? `: ${job.error}` : ""}. Start it again.</p>`
              : html`<p role="status"><span class="spinner small" aria-hidden="true"></span> ${job.status === "queued" ? "Queued" : "Building"}… ${job.sessionsDone ?? 0} of ${job.sessionCount} session${job.sessionCount === 1 ? "" : "s"} done.</p>
                  <p class="muted small">You can close this dialog: you will also be notified when the export is ready.</p>`}
          <${InlineError} error=${err} />
        </div>
        <div class="dialog-actions">
          ${job.status === "failed" ? html`<button type="button" class="btn" onClick=${() => (setJob(null), setErr(null))}>Try again</button>` : null}
          <button type="button" class="btn" onClick=${onClose}>Close</button>
        </div>`
      : html`<form onSubmit=${start} data-testid="bulk-export-form">
          <div class="dialog-body">
            <p>Exports ${filtered ? html`the <strong>${matching}</strong> ${noun} matching the current filters` : html`${matching === "1" ? "the" : "all"} <strong>${matching}</strong> ${noun} of this campaign`} into one ZIP, built in the background.</p>
            <fieldset class="field"><legend>Format</legend>
              ${BULK_FORMATS.map((f) => {
                const off = f.value === "audio" && !recordings;
                return html`<label key=${f.value} class=${`check${off ? " muted" : ""}`}><input type="radio" name="bulk-format" value=${f.value} checked=${format === f.value} disabled=${off} onChange=${() => setFormat(f.value)} /> <span><strong>${f.label}</strong> <span class="muted small">· ${off ? "typed interviews have no recordings" : f.hint}</span></span></label>`;
              })}
            </fieldset>
            <${InlineError} error=${err} />
          </div>
          <div class="dialog-actions">
            <button type="button" class="btn" onClick=${onClose}>Cancel</button>
            <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? "Starting…" : "Start export"}</button>
          </div>
        </form>`}
  <//>`;
}
