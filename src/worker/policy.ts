// The one place that answers "may this principal do this?": the role table of CONTRACT.md.
export const ROLES = ["owner", "admin", "analyst", "viewer"] as const;
export type Role = (typeof ROLES)[number];

const ALL: Role[] = ["owner", "admin", "analyst", "viewer"];
const ANALYST_UP: Role[] = ["owner", "admin", "analyst"];
const ADMIN_UP: Role[] = ["owner", "admin"];
const OWNER: Role[] = ["owner"];

/** Every action a route may ask about, with the roles allowed and whether an allow is audited. */
export const POLICY = {
  "campaign.read": { roles: ALL, audit: false },
  "campaign.write": { roles: ADMIN_UP, audit: true },
  "invite.read": { roles: ADMIN_UP, audit: false },
  "invite.write": { roles: ADMIN_UP, audit: true },
  "session.read": { roles: ALL, audit: false },
  "analytics.read": { roles: ALL, audit: true },
  // Saving, changing and deleting custom report definitions (running them is analytics.read).
  "report.write": { roles: ANALYST_UP, audit: true },
  "transcript.read": { roles: ANALYST_UP, audit: true },
  "audio.read": { roles: ADMIN_UP, audit: true },
  "export.create": { roles: ADMIN_UP, audit: true },
  // Reading a bulk export's status (and getting its signed link): the people who may export.
  "export.read": { roles: ADMIN_UP, audit: true },
  "session.watch": { roles: ANALYST_UP, audit: true },
  "session.control": { roles: ADMIN_UP, audit: true },
  "note.read": { roles: ANALYST_UP, audit: false },
  "note.write": { roles: ANALYST_UP, audit: true },
  "session.flag": { roles: ANALYST_UP, audit: true },
  "gdpr.manage": { roles: OWNER, audit: true },
  "audit.read": { roles: ADMIN_UP, audit: false },
  "org.manage": { roles: OWNER, audit: true },
  "org.read": { roles: ALL, audit: false },
} as const satisfies Record<string, { roles: Role[]; audit: boolean }>;

export type Action = keyof typeof POLICY;

export function isAllowed(role: Role, action: Action): boolean {
  return (POLICY[action].roles as readonly Role[]).includes(role);
}

export const mustAudit = (action: Action) => POLICY[action].audit;

/** What each action lets a principal do, as the end of "the viewer role may not …". */
const ACTION_PHRASES = {
  "campaign.read": "read campaigns",
  "campaign.write": "create or edit campaigns",
  "invite.read": "read invites",
  "invite.write": "create or edit invites",
  "session.read": "read sessions",
  "analytics.read": "read analytics",
  "report.write": "save, change or delete reports",
  "transcript.read": "read transcripts",
  "audio.read": "read or download audio",
  "export.create": "export interview data",
  "export.read": "read exports",
  "session.watch": "watch live sessions",
  "session.control": "pause, resume, end or reassign sessions",
  "note.read": "read notes",
  "note.write": "add notes",
  "session.flag": "flag sessions",
  "gdpr.manage": "export or delete a participant's data",
  "audit.read": "read the audit log",
  "org.manage": "manage members, roles, API keys or org settings",
  "org.read": "read the organisation",
} as const satisfies Record<Action, string>;

/** The 403 message for a role refused an action, e.g. "the viewer role may not read invites". */
export const forbiddenMessage = (role: Role, action: Action) => `the ${role} role may not ${ACTION_PHRASES[action]}`;

/** Field-level filtering of a session's JSON: a response never carries what the role may not read. */
export function canRead(role: Role, what: "transcript" | "audio" | "participant" | "notes"): boolean {
  if (what === "audio") return isAllowed(role, "audio.read");
  if (what === "notes") return isAllowed(role, "note.read");
  return isAllowed(role, "transcript.read");
}
