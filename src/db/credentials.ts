// Whether the credential that opened a live socket still holds: the API key not revoked, or the
// member's sign-in not ended, and the role unchanged. The objects ask once they have accepted a live
// socket, before it gets anything (see src/worker/live-access.ts).
import { z } from "zod";
import { ROLES } from "../worker/policy";

export const LiveCredential = z.discriminatedUnion("type", [
  z.object({ type: z.literal("api_key"), id: z.string(), role: z.enum(ROLES) }),
  /** `signIn`: the hash of the session cookie, as stored in auth_sessions. */
  z.object({ type: z.literal("member"), id: z.string(), role: z.enum(ROLES), signIn: z.string() }),
]);
export type LiveCredential = z.infer<typeof LiveCredential>;

export async function credentialHolds(db: D1Database, c: LiveCredential, now = Date.now()): Promise<boolean> {
  const row =
    c.type === "api_key"
      ? await db.prepare("SELECT 1 AS ok FROM api_keys WHERE id = ? AND role = ? AND revoked_at IS NULL").bind(c.id, c.role).first()
      : await db
          .prepare("SELECT 1 AS ok FROM auth_sessions s JOIN members m ON m.id = s.member_id WHERE s.id_hash = ? AND m.id = ? AND m.role = ? AND s.expires_at > ?")
          .bind(c.signIn, c.id, c.role, now)
          .first();
  return row !== null;
}
