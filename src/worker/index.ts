import type { Env } from "../env";
import { app } from "./app";
import { sweepOverdueSessions } from "./cron";
import { replayDeletions } from "./erasure";
import { pruneLiveWatchers } from "./live-access";
import { sweepRetention } from "./retention";

const NIGHTLY = "30 2 * * *";
const HOURLY = "17 * * * *";
import { handleQueue } from "./queue";
import { AUDIT_QUEUE_NAME, handleAuditBatch } from "./audit";

export { InterviewSession } from "../objects/InterviewSession";
export { CampaignLive } from "../objects/CampaignLive";
export { AuditLedger } from "../objects/AuditLedger";
export { RateLimiter } from "../objects/RateLimiter";

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    if (controller.cron === NIGHTLY) ctx.waitUntil(replayDeletions(env).then(() => undefined));
    else if (controller.cron === HOURLY) ctx.waitUntil(sweepRetention(env).then(() => undefined));
    else {
      ctx.waitUntil(sweepOverdueSessions(env));
      ctx.waitUntil(pruneLiveWatchers(env).catch((err: unknown) => console.warn("live watcher pruning failed", String(err))));
    }
  },
  queue: (batch, env, _ctx) => (batch.queue === AUDIT_QUEUE_NAME ? handleAuditBatch(batch, env) : handleQueue(batch, env)),
} satisfies ExportedHandler<Env>;
