// Live frames for watchers: this session's own sockets, and its campaign's hub object.
import type { Env } from "../env";
import type { CampaignLive, Reach } from "./CampaignLive";
import type { MachineState } from "./machine";
import type { WatchFrame } from "./protocol";
import { safeSend } from "./sockets";
import { sessionView, type SessionMeta, type SessionView } from "./view";

export class Fanout {
  private hub: { campaignId: string; stub: DurableObjectStub<CampaignLive> } | null = null;
  /** The newest watch epoch heard from the hub, and whether at it the campaign had no watcher. */
  private epoch = 0;
  private unwatched = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  status(meta: SessionMeta, s: MachineState, snapshot = true) {
    const frame: WatchFrame = {
      type: "status",
      sessionId: meta.id,
      status: s.status,
      questionIndex: s.questionIndex,
      totalQuestions: s.questions.length,
      questionsAnswered: s.questionsAnswered,
      at: new Date().toISOString(),
    };
    this.publish(meta, s, frame, snapshot);
  }

  /** Sends to this session's watchers and its campaign's; `snapshot` also updates the campaign's list of active sessions. */
  publish(meta: SessionMeta, s: MachineState, frame: WatchFrame, snapshot = true) {
    const body = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets("watcher")) safeSend(ws, body);
    const campaignId = meta.campaignId;
    // Calls through one stub arrive in order (separate stubs promise nothing), so the hub is
    // reached through one stub per campaign; a failed call may break a stub, so it is dropped.
    if (this.hub?.campaignId !== campaignId) {
      this.sendPending();
      this.hub = { campaignId, stub: this.env.CAMPAIGN_LIVE.get(this.env.CAMPAIGN_LIVE.idFromName(campaignId)) };
      this.epoch = 0;
      this.unwatched = false;
    }
    // No one watches the campaign: frames only watchers would see stay here. Status changes still
    // go, to keep the hub's snapshot of active sessions current (and to hear of new watchers).
    if (this.unwatched && !(frame.type === "status" && snapshot)) return;
    this.pending.bodies.push(body);
    if (frame.type === "status") (snapshot ? this.pending.views : this.pending.progress).push(sessionView(meta, s, Date.now()));
    // Everything published in one turn (a transition's segments and status) goes in one call.
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.sendPending());
    }
  }

  private pending: { bodies: string[]; views: SessionView[]; progress: SessionView[] } = { bodies: [], views: [], progress: [] };
  private scheduled = false;

  private sendPending() {
    this.scheduled = false;
    const hub = this.hub;
    const { bodies, views, progress } = this.pending;
    this.pending = { bodies: [], views: [], progress: [] };
    if (!hub || bodies.length === 0) return;
    hub.stub.publishMany(bodies, views, progress).then(
      (reach: Reach) => {
        if (this.hub === hub && reach.epoch >= this.epoch) [this.epoch, this.unwatched] = [reach.epoch, reach.watchers === 0];
      },
      (err: unknown) => {
        if (this.hub === hub) this.hub = null;
        console.warn("campaign live publish failed", String(err));
      },
    );
  }

  /**
   * The hub's call when a first watcher arrived (epoch: the how-manieth time). It can only turn
   * sending back on; true for a newer epoch: the session's progress since its last status change
   * may never have reached the hub (nobody watched), so it should follow.
   */
  watched(epoch: number): boolean {
    if (epoch <= this.epoch) return false;
    [this.epoch, this.unwatched] = [epoch, false];
    return true;
  }
}
