// Queue messages: small and by reference (ids, R2 keys), never content or audio bytes.
import { z } from "zod";
import type { MachineState } from "./machine";
import type { SessionMeta } from "./view";

export const QueueMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("session.ended"), sessionId: z.string(), orgId: z.string(), status: z.enum(["completed", "abandoned"]) }),
  z.object({ type: z.literal("answer.analyze"), sessionId: z.string(), answerId: z.string() }),
  z.object({ type: z.literal("audio.process"), sessionId: z.string(), answerId: z.string() }),
  // A lifecycle change, for webhooks: session.created|started|paused|resumed|completed|abandoned.
  z.object({
    type: z.literal("session.event"),
    event: z.enum(["session.created", "session.started", "session.paused", "session.resumed", "session.completed", "session.abandoned"]),
    sessionId: z.string(),
    orgId: z.string(),
    campaignId: z.string(),
    at: z.string(),
  }),
  // One attempt at one webhook delivery (a row of webhook_deliveries); retried with backoff.
  z.object({ type: z.literal("webhook.deliver"), deliveryId: z.string() }),
  // Build a bulk export's ZIP (a row of exports) into EXPORTS_BUCKET.
  z.object({ type: z.literal("export.build"), exportId: z.string() }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;

/** The webhook event a status change stands for. */
export function lifecycleEvent(meta: SessionMeta, from: MachineState["status"], to: MachineState["status"], now: number): QueueMessage {
  const event =
    to === "in_progress" ? (from === "paused" ? "session.resumed" : "session.started") : to === "paused" ? "session.paused" : to === "completed" ? "session.completed" : "session.abandoned";
  return { type: "session.event", event, sessionId: meta.id, orgId: meta.orgId, campaignId: meta.campaignId, at: new Date(now).toISOString() };
}
