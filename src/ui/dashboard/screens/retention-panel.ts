// A session's deletion schedule on its page: when each kind of its data goes (or went) under the
// org's retention, shortened by its campaign's.
import { get } from "../api";
import { fmtDate } from "../format";
import { html } from "../html";
import { useAsync } from "../ui";

interface Schedule {
  sessionId: string;
  endedAt: string | null;
  schedule: { type: "transcripts" | "audio" | "analytics" | "metadata"; days: number; dueAt: string | null; purgedAt: string | null }[];
}

const LABEL = { transcripts: "Transcript and notes", audio: "Audio", analytics: "Analytics", metadata: "Session record" } as const;

export function RetentionPanel({ sessionId, status }: { sessionId: string; status: string }) {
  const r = useAsync((signal) => get<Schedule>(`/v1/sessions/${sessionId}/retention`, signal), [sessionId, status]);
  if (!r.data) return null;
  return html`<section class="panel" data-testid="session-retention">
    <h2 class="panel-title">Data retention</h2>
    ${r.data.endedAt === null ? html`<p class="muted small">The clock starts when the session ends.</p>` : null}
    <div class="grid-2 small">
      ${r.data.schedule.map(
        (s) => html`<span class="muted" key=${`${s.type}-l`}>${LABEL[s.type]}</span><span key=${`${s.type}-v`} data-type=${s.type}>${s.purgedAt
          ? `deleted ${fmtDate(s.purgedAt)}`
          : s.dueAt
            ? `deleted on ${fmtDate(s.dueAt)}`
            : `kept ${s.days} days after the end`}</span>`,
      )}
    </div>
  </section>`;
}
