import type { Env } from "../env";
import { app } from "./app";
import { sweepOverdueSessions } from "./cron";
import { handleQueue } from "./queue";

export { InterviewSession } from "../objects/InterviewSession";
export { CampaignLive } from "../objects/CampaignLive";
export { AuditLedger } from "../objects/AuditLedger";
export { RateLimiter } from "../objects/RateLimiter";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepOverdueSessions(env));
  },
  queue: handleQueue,
} satisfies ExportedHandler<Env>;
