// The API's JSON as the dashboard reads it (CONTRACT.md); fields a role may not read are optional.
export type Role = "owner" | "admin" | "analyst" | "viewer";
export type Status = "created" | "in_progress" | "paused" | "completed" | "abandoned";
export type Sentiment = "positive" | "neutral" | "negative";
export type Probe = "none" | "light" | "deep";

export interface Me {
  principal: { type: "member" | "api_key"; id: string; role: Role };
  member: { id: string; email: string; name: string; role: Role } | null;
  org: { id: string; name: string; plan: string };
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Question {
  text: string;
  probe: Probe;
}

export interface CampaignSettings {
  consentRequired: boolean;
  consentText?: string;
  mode: "text" | "voice";
  recordAudio: boolean;
  language?: string;
}

export interface Campaign {
  id: string;
  name: string;
  questions: Question[];
  settings: CampaignSettings;
  scriptVersion: number;
  totalQuestions: number;
  createdAt: string;
  updatedAt: string;
}

export interface Invite {
  id: string;
  campaignId: string;
  participant: { email: string | null; name: string | null; attributes: Record<string, unknown> };
  expiresAt: string | null;
  maxUses: number;
  uses: number;
  sessionId: string | null;
  createdAt: string;
  token?: string;
  url?: string;
}

export interface Session {
  id: string;
  campaignId: string;
  inviteId: string;
  scriptVersion?: number;
  status: Status;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  endedAt?: string | null;
  duration: number;
  questionsAnswered: number;
  totalQuestions: number;
  completion: number;
  language: string | null;
  device: Record<string, string> | null;
  consent: { required: boolean; granted: boolean | null; at: string | null };
  flagged?: boolean;
  flagReason?: string | null;
  sentiment?: Sentiment | null;
  endReason: string | null;
  lastQuestionIndex: number | null;
  pausedReason: string | null;
  pausedBy?: "participant" | "admin" | null;
  pauseCount?: number;
  participant?: { email: string | null; name: string | null };
}

export interface Segment {
  seq: number;
  speaker: "ai" | "participant";
  text: string;
  questionIndex: number;
  followUp?: boolean;
  startMs: number;
  endMs: number;
  /** Spoken answers: how the transcript was made, or why there is none. */
  speech?: { spoken: true; confidence: number | null; lowConfidence: boolean; language: string | null; untranscribedReason: string | null };
}

export interface TimelineEvent {
  at: string;
  type: string;
  data?: Record<string, unknown>;
}

export interface Transcript {
  sessionId: string;
  segments: Segment[];
  events: TimelineEvent[];
}

export interface Note {
  id: string;
  sessionId: string;
  text: string;
  author: { type: string; id: string };
  createdAt: string;
}

export interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  last4: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

export interface AuditEvent {
  id: string;
  seq: number;
  at: string;
  actor: { type: string; id: string | null; role: string | null };
  action: string;
  resource: { type: string; id: string | null };
  campaignId: string | null;
  ip: string | null;
  userAgent: string | null;
  outcome: "allow" | "deny";
  requestId: string | null;
  details?: Record<string, unknown>;
}

/** Frames of the live sockets (/v1/sessions/{id}/live and /v1/campaigns/{id}/live). */
export type LiveFrame =
  | { type: "snapshot"; session?: Session; segments?: Segment[]; sessions?: Session[] }
  | { type: "segment"; sessionId: string; segment: Segment }
  | { type: "status"; sessionId: string; status: Status; questionIndex: number; totalQuestions: number; questionsAnswered: number; at: string }
  /** Campaign watchers: the session's data was deleted; drop everything shown of it. */
  | { type: "session_removed"; sessionId: string; reason: "data_deleted" | "reassigned"; at: string }
  | { type: "pong" };

/** GET /v1/notifications: the caller's own outbox, newest first (no read flag: "unread" is the dashboard's). */
export interface Notification {
  id: string;
  kind: string;
  subject: string;
  body: string;
  data: unknown;
  createdAt: string;
}
