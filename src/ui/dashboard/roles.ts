// What each role may see and do: CONTRACT.md's role table, mirrored so the UI never offers a
// control the server would refuse (the server still decides; this only shapes the screens).
import type { Role } from "./types";

const ALL: Role[] = ["owner", "admin", "analyst", "viewer"];
const ANALYST_UP: Role[] = ["owner", "admin", "analyst"];
const ADMIN_UP: Role[] = ["owner", "admin"];
const OWNER: Role[] = ["owner"];

export const CAN = {
  readSessions: ALL,
  readTranscript: ANALYST_UP,
  readAudio: ADMIN_UP,
  export: ADMIN_UP,
  watchLive: ANALYST_UP,
  controlSessions: ADMIN_UP,
  annotate: ANALYST_UP,
  editCampaigns: ADMIN_UP,
  deleteData: OWNER,
  readAudit: ADMIN_UP,
  manageOrg: OWNER,
  // Saving and deleting custom reports (everyone may run them: they are analytics).
  saveReports: ANALYST_UP,
} satisfies Record<string, Role[]>;

export type Capability = keyof typeof CAN;

export const can = (role: Role, what: Capability) => CAN[what].includes(role);

export const ROLE_LABEL: Record<Role, string> = { owner: "Owner", admin: "Admin", analyst: "Analyst", viewer: "Viewer" };
export const ROLE_HELP: Record<Role, string> = {
  owner: "Everything, including members, API keys, org settings and data deletion",
  admin: "Campaigns, invites, live control, audio, exports and the audit log",
  analyst: "Transcripts, live watching, notes and flags; no audio or exports",
  viewer: "Session metadata and insights only; no transcripts",
};
