// D1 schema. Field names equal column names so SQL, drizzle and JSON read alike.
// Timestamps are integer milliseconds since the epoch (UTC); the API renders ISO 8601.
import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, real, index, uniqueIndex, primaryKey } from "drizzle-orm/sqlite-core";
import { RANGE_TIME_SQL } from "../shared/declined";

/**
 * A session's primary language subtag ("pt" for "pt-BR"), as SQL. The language filter's index is
 * on this expression, and SQLite uses an expression index only for the identical expression, so
 * the filter (src/db/sessions.ts) takes it from here.
 */
export const LANGUAGE_PRIMARY_SQL = "substr(language, 1, instr(language || '-', '-') - 1)";

export const orgs = sqliteTable("orgs", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan", { enum: ["free", "starter", "professional", "enterprise"] }).notNull(),
  retention_days: integer("retention_days"),
  // Enterprise only: custom retention days per data type, JSON {transcripts?, audio?, analytics?, metadata?}.
  retention: text("retention"),
  created_at: integer("created_at").notNull(),
});

export const members = sqliteTable(
  "members",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: ["owner", "admin", "analyst", "viewer"] }).notNull(),
    password_hash: text("password_hash").notNull(),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("members_email_uq").on(t.email), index("members_org_idx").on(t.org_id)],
);

export const api_keys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    name: text("name").notNull(),
    role: text("role", { enum: ["owner", "admin", "analyst", "viewer"] }).notNull(),
    key_hash: text("key_hash").notNull(),
    last4: text("last4").notNull(),
    created_by: text("created_by"),
    created_at: integer("created_at").notNull(),
    last_used_at: integer("last_used_at"),
    revoked_at: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_uq").on(t.key_hash), index("api_keys_org_idx").on(t.org_id)],
);

export const campaigns = sqliteTable(
  "campaigns",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    name: text("name").notNull(),
    script_version: integer("script_version").notNull(),
    settings: text("settings").notNull(), // JSON
    // A campaign may shorten its org's retention: JSON {transcripts?, audio?, analytics?, metadata?} in days.
    retention: text("retention"),
    total_questions: integer("total_questions").notNull(),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
  },
  (t) => [index("campaigns_org_idx").on(t.org_id, t.created_at)],
);

// Every version of a campaign's questions; a session keeps the version it started with.
export const campaign_scripts = sqliteTable(
  "campaign_scripts",
  {
    campaign_id: text("campaign_id").notNull().references(() => campaigns.id),
    version: integer("version").notNull(),
    questions: text("questions").notNull(), // JSON [{text, probe}]
    created_at: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaign_id, t.version] })],
);

export const invites = sqliteTable(
  "invites",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    campaign_id: text("campaign_id").notNull().references(() => campaigns.id),
    token_hash: text("token_hash").notNull(),
    participant_email: text("participant_email"),
    participant_name: text("participant_name"),
    participant_attributes: text("participant_attributes"), // JSON
    expires_at: integer("expires_at"),
    max_uses: integer("max_uses").notNull(),
    uses: integer("uses").notNull(),
    session_id: text("session_id"), // the latest session opened from this invite
    created_at: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("invites_token_uq").on(t.token_hash), index("invites_campaign_idx").on(t.campaign_id, t.created_at)],
);

// The session index: a mirror of each InterviewSession object's metadata, written from the
// object's outbox. `mirror_version` only grows, so a late retry never overwrites newer data.
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    campaign_id: text("campaign_id").notNull(),
    invite_id: text("invite_id").notNull(),
    script_version: integer("script_version").notNull(),
    status: text("status", { enum: ["created", "in_progress", "paused", "completed", "abandoned"] }).notNull(),
    created_at: integer("created_at").notNull(),
    started_at: integer("started_at"),
    completed_at: integer("completed_at"),
    duration: integer("duration").notNull(), // active seconds, pauses excluded
    questions_answered: integer("questions_answered").notNull(),
    total_questions: integer("total_questions").notNull(),
    completion: integer("completion").notNull(), // 0-100
    language: text("language"),
    device: text("device"), // JSON
    consent_required: integer("consent_required").notNull(),
    consent_granted: integer("consent_granted"), // null = not asked yet
    consent_at: integer("consent_at"),
    flagged: integer("flagged").notNull(),
    flag_reason: text("flag_reason"),
    sentiment: text("sentiment", { enum: ["positive", "neutral", "negative"] }),
    end_reason: text("end_reason"),
    last_question_index: integer("last_question_index"),
    paused_reason: text("paused_reason"),
    paused_by: text("paused_by"),
    participant_email: text("participant_email"),
    participant_name: text("participant_name"),
    deadline_at: integer("deadline_at"), // next timer of the object; the cron sweep pokes overdue ones
    mirror_version: integer("mirror_version").notNull(),
    updated_at: integer("updated_at").notNull(),
    // When the retention sweep removed each kind of data (null = still kept).
    transcript_purged_at: integer("transcript_purged_at"),
    audio_purged_at: integer("audio_purged_at"),
    analytics_purged_at: integer("analytics_purged_at"),
  },
  (t) => [
    // Lists sort by (created_at, id): filter indexes have both after their equality columns so the
    // planner can walk them in order. The range filters' columns (duration, language, completion,
    // status) ride along at the end: SQLite tests them on the index entry and reads a table row only
    // for a match, so a rare combination costs an index walk, not a row lookup per session passed
    // (duration 30-40 min + language over 100,000 sessions: 18 ms of SQL before, 4 ms with).
    index("sessions_campaign_created_idx").on(t.campaign_id, t.created_at, t.id, t.duration, t.language, t.completion, t.status),
    index("sessions_campaign_status_idx").on(t.campaign_id, t.status, t.created_at, t.id, t.duration, t.language, t.completion),
    // The language filter matches a tag and its subtags (de: de, de-AT, …), which as a range over
    // a language index would need every match sorted by date; equality on the primary subtag keeps
    // the walk in date order and within one language (duration 30-40 min + fr: 4.6 → 0.3 ms of SQL).
    index("sessions_campaign_language_idx").on(t.campaign_id, sql.raw(LANGUAGE_PRIMARY_SQL), t.created_at, t.id, t.duration, t.completion, t.status, t.language),
    index("sessions_campaign_flagged_idx").on(t.campaign_id, t.flagged, t.created_at, t.id),
    index("sessions_org_email_idx").on(t.org_id, t.participant_email),
    index("sessions_deadline_idx").on(t.status, t.deadline_at),
    index("sessions_org_completed_idx").on(t.org_id, t.completed_at),
    // Campaign analytics over a date range: finished sessions by when they began (rangeTimeSql in
    // src/shared/declined.ts, the same expression, so the planner matches it), with the columns the
    // range's figures read, so the range is an index walk with no table row per session.
    index("sessions_campaign_began_idx").on(t.campaign_id, t.status, sql.raw(RANGE_TIME_SQL), t.duration, t.questions_answered, t.last_question_index, t.consent_granted),
  ],
);

export const notes = sqliteTable(
  "notes",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull(),
    session_id: text("session_id").notNull(),
    author_type: text("author_type").notNull(),
    author_id: text("author_id").notNull(),
    text: text("text").notNull(),
    created_at: integer("created_at").notNull(),
  },
  (t) => [index("notes_session_idx").on(t.session_id, t.created_at)],
);

// Append-only (triggers refuse UPDATE and DELETE) and tamper-evident: each row's hash covers
// its content and the previous row's hash within the org, numbered by `seq`.
export const audit_log = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull(),
    seq: integer("seq").notNull(),
    at: integer("at").notNull(),
    actor_type: text("actor_type").notNull(), // member | api_key | operator | participant | system
    actor_id: text("actor_id"),
    actor_role: text("actor_role"),
    action: text("action").notNull(),
    resource_type: text("resource_type").notNull(),
    resource_id: text("resource_id"),
    campaign_id: text("campaign_id"),
    ip: text("ip"),
    user_agent: text("user_agent"),
    outcome: text("outcome", { enum: ["allow", "deny"] }).notNull(),
    request_id: text("request_id"),
    details: text("details"), // JSON, never interview content or secrets
    prev_hash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    uniqueIndex("audit_org_seq_uq").on(t.org_id, t.seq),
    index("audit_org_at_idx").on(t.org_id, t.at),
    index("audit_org_resource_idx").on(t.org_id, t.resource_id),
    index("audit_org_actor_idx").on(t.org_id, t.actor_id),
  ],
);

// Dashboard sign-ins: the cookie holds a random id; only its hash is stored.
export const auth_sessions = sqliteTable(
  "auth_sessions",
  {
    id_hash: text("id_hash").primaryKey(),
    member_id: text("member_id").notNull(),
    org_id: text("org_id").notNull(),
    created_at: integer("created_at").notNull(),
    last_seen_at: integer("last_seen_at").notNull(),
    expires_at: integer("expires_at").notNull(), // absolute expiry
    ip: text("ip"),
    user_agent: text("user_agent"),
  },
  (t) => [index("auth_sessions_member_idx").on(t.member_id)],
);

// Who has watched what live: an open live socket is registered under its principal (API key or
// member), so revoking the key or ending the member's access closes it at once. `connected_at` is
// when it was registered or last confirmed open; the cron confirms old ones (src/worker/live-access.ts).
export const live_watchers = sqliteTable(
  "live_watchers",
  {
    principal_id: text("principal_id").notNull(),
    kind: text("kind", { enum: ["session", "campaign"] }).notNull(),
    target_id: text("target_id").notNull(),
    org_id: text("org_id").notNull(),
    connected_at: integer("connected_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.principal_id, t.kind, t.target_id] }), index("live_watchers_age_idx").on(t.connected_at)],
);

// Per-answer insight, written by the queue consumer; one row per answer (typed or spoken).
export const answer_analysis = sqliteTable(
  "answer_analysis",
  {
    session_id: text("session_id").notNull(),
    answer_id: text("answer_id").notNull(),
    org_id: text("org_id").notNull(),
    campaign_id: text("campaign_id").notNull(),
    question_index: integer("question_index").notNull(),
    follow_up: integer("follow_up").notNull(),
    word_count: integer("word_count").notNull(),
    sentiment_label: text("sentiment_label", { enum: ["positive", "neutral", "negative"] }), // null when not analysed (low confidence)
    sentiment_score: real("sentiment_score"),
    themes: text("themes").notNull(), // JSON string[]
    relevance: real("relevance"),
    engagement: real("engagement"),
    confidence: real("confidence"), // transcription confidence; null for typed answers
    low_confidence: integer("low_confidence").notNull(),
    duration_ms: integer("duration_ms"),
    created_at: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.session_id, t.answer_id] }), index("answer_analysis_campaign_idx").on(t.campaign_id, t.question_index)],
);

// Queue consumers record each message's idempotency key once its effects are done.
export const processed_messages = sqliteTable("processed_messages", {
  key: text("key").primaryKey(),
  processed_at: integer("processed_at").notNull(),
});

// Campaign analytics kept incrementally: folded once per finished session (totals, durations,
// funnel) and once per analysed answer (sentiment and themes per question).
export const campaign_stats = sqliteTable("campaign_stats", {
  campaign_id: text("campaign_id").primaryKey(),
  org_id: text("org_id").notNull(),
  total: integer("total").notNull(),
  completed: integer("completed").notNull(),
  abandoned: integer("abandoned").notNull(),
  // Of the abandoned: participants who declined consent or withdrew it before answering
  // (src/shared/declined.ts). Durations and the funnel leave them out.
  declined: integer("declined").notNull().default(0),
  duration_sum: integer("duration_sum").notNull(),
  duration_count: integer("duration_count").notNull(),
});

export const campaign_duration_buckets = sqliteTable(
  "campaign_duration_buckets",
  {
    campaign_id: text("campaign_id").notNull(),
    bucket: integer("bucket").notNull(), // lower bound in seconds
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaign_id, t.bucket] })],
);

export const campaign_question_stats = sqliteTable(
  "campaign_question_stats",
  {
    campaign_id: text("campaign_id").notNull(),
    question_index: integer("question_index").notNull(),
    reached: integer("reached").notNull(),
    answered: integer("answered").notNull(),
    dropped: integer("dropped").notNull(),
    positive: integer("positive").notNull(),
    neutral: integer("neutral").notNull(),
    negative: integer("negative").notNull(),
  },
  (t) => [primaryKey({ columns: [t.campaign_id, t.question_index] })],
);

export const campaign_theme_stats = sqliteTable(
  "campaign_theme_stats",
  {
    campaign_id: text("campaign_id").notNull(),
    question_index: integer("question_index").notNull(), // -1: the whole campaign
    theme: text("theme").notNull(),
    count: integer("count").notNull(),
    examples: text("examples").notNull(), // JSON: up to 3 short quotes
  },
  (t) => [primaryKey({ columns: [t.campaign_id, t.question_index, t.theme] })],
);

// Erasures, without personal data: a keyed hash of the subject and the session ids. Replayed
// after any restore so that erased data never comes back.
export const deletion_ledger = sqliteTable(
  "deletion_ledger",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull(),
    subject_hash: text("subject_hash"),
    session_ids: text("session_ids").notNull(), // JSON string[]
    actor: text("actor").notNull(),
    deleted_at: integer("deleted_at").notNull(),
  },
  (t) => [index("deletion_ledger_org_idx").on(t.org_id)],
);

export type SessionRow = typeof sessions.$inferSelect;
export type CampaignRow = typeof campaigns.$inferSelect;
export type InviteRow = typeof invites.$inferSelect;
export type AuditRow = typeof audit_log.$inferInsert;

// Webhooks (org settings, owners): the secret is kept in clear because every delivery is signed
// with it; the API shows it once, at creation.
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    url: text("url").notNull(),
    events: text("events").notNull(), // JSON string[]
    secret: text("secret").notNull(),
    created_at: integer("created_at").notNull(),
    disabled_at: integer("disabled_at"),
  },
  (t) => [index("webhooks_org_idx").on(t.org_id)],
);

// One row per (webhook, event): the delivery log.
export const webhook_deliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhook_id: text("webhook_id").notNull(),
    org_id: text("org_id").notNull(),
    event: text("event").notNull(),
    event_id: text("event_id").notNull(),
    payload: text("payload").notNull(), // the JSON body sent
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull(),
    last_status_code: integer("last_status_code"),
    last_error: text("last_error"),
    next_attempt_at: integer("next_attempt_at"),
    created_at: integer("created_at").notNull(),
    delivered_at: integer("delivered_at"),
  },
  (t) => [uniqueIndex("webhook_deliveries_event_uq").on(t.webhook_id, t.event_id), index("webhook_deliveries_webhook_idx").on(t.webhook_id, t.created_at)],
);

// Bulk exports: a queue job writes exports/{id}.zip to EXPORTS_BUCKET and reports progress here.
/** What a bulk export's ZIP holds per session: its JSON, its transcript CSV, its PDF or its recordings. */
export const EXPORT_FORMATS = ["json", "csv", "pdf", "audio"] as const;

export const exports = sqliteTable(
  "exports",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull(),
    campaign_id: text("campaign_id").notNull(),
    format: text("format", { enum: EXPORT_FORMATS }).notNull(),
    params: text("params").notNull(), // JSON {sessionIds, include}: the selection, fixed when requested
    status: text("status", { enum: ["queued", "running", "ready", "failed"] }).notNull(),
    session_count: integer("session_count").notNull(),
    sessions_done: integer("sessions_done").notNull(),
    requested_by_type: text("requested_by_type").notNull(),
    requested_by: text("requested_by").notNull(),
    object_key: text("object_key"),
    size_bytes: integer("size_bytes"),
    error: text("error"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    expires_at: integer("expires_at"),
  },
  (t) => [index("exports_org_created_idx").on(t.org_id, t.created_at)],
);

// Outbox of notifications to people (export ready, …). Production sends them through Cloudflare's
// email binding; locally they are read from here (GET /v1/notifications).
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull(),
    recipient_type: text("recipient_type").notNull(), // member | api_key
    recipient_id: text("recipient_id").notNull(),
    kind: text("kind").notNull(), // export.ready
    subject: text("subject").notNull(),
    body: text("body").notNull(),
    data: text("data"), // JSON
    created_at: integer("created_at").notNull(),
    sent_at: integer("sent_at"),
  },
  (t) => [index("notifications_recipient_idx").on(t.org_id, t.recipient_id, t.created_at)],
);

// A custom report's definition, saved to be re-run (the rows are computed on each run).
export const saved_reports = sqliteTable(
  "saved_reports",
  {
    id: text("id").primaryKey(),
    org_id: text("org_id").notNull().references(() => orgs.id),
    name: text("name").notNull(),
    definition: text("definition").notNull(), // JSON: the POST /v1/reports body
    created_by: text("created_by").notNull(),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    last_run_at: integer("last_run_at"),
  },
  (t) => [index("saved_reports_org_idx").on(t.org_id, t.created_at)],
);
