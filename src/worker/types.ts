import type { Env } from "../env";
import type { Principal } from "./auth";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: Principal | null;
    /** Set by handlers so the audit row names the resource the request touched. */
    auditResource: { type: string; id: string | null; campaignId?: string | null; details?: Record<string, string | number | boolean | null> } | null;
    /** Milliseconds spent authenticating (Server-Timing's auth entry), when the route needed it. */
    authMs?: number;
  };
};
