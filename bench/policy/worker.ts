// The product plus two copies of one route, for the policy benchmark: the same handler behind
// `op()` (authentication, the policy check and an audited allow) and behind authentication
// alone. Only this benchmark bundles it; the product has no bypass.
import type { Context } from "hono";
import { resolvePrincipal } from "../../src/worker/auth";
import { app } from "../../src/worker/app";
import { op } from "../../src/worker/openapi";
import { campaignFromPath } from "../../src/worker/routes/campaigns";
import type { AppEnv } from "../../src/worker/types";
import worker from "../../src/worker/index";

export { InterviewSession, CampaignLive, AuditLedger, RateLimiter } from "../../src/worker/index";

const handler = async (c: Context<AppEnv>) => {
  const row = await campaignFromPath(c);
  return c.json({ id: row.id, name: row.name, totalQuestions: row.total_questions });
};

app.get(
  "/bench/with/:id",
  op({ summary: "bench", tags: ["bench"], auth: "key", action: "analytics.read", resource: "campaign", responses: { 200: { description: "campaign" } } }),
  handler,
);
app.get(
  "/bench/bypass/:id",
  async (c, next) => {
    c.set("principal", await resolvePrincipal(c));
    await next();
  },
  handler,
);

export default worker;
