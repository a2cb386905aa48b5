// The pure parts of the data lifecycle: the retention table and its rules (enterprise custom
// values, campaigns only shorten), and the machine's consent record and withdrawal purge.
import { describe, expect, it } from "vitest";
import { initialState, transition, type Limits } from "../../src/objects/machine";
import { DATA_TYPES, DAY_MS, RETENTION_TABLE, campaignRetention, dueDates, longerThanOrg, orgRetention } from "../../src/shared/retention";

const LIMITS: Limits = { heartbeatMs: 300_000, pauseExpiryMs: 86_400_000, leaveGraceMs: 30_000 };
const T0 = 1_700_000_000_000;

describe("the retention table", () => {
  it("keeps audio shortest and metadata longest on every plan, and grows with the plan", () => {
    for (const days of Object.values(RETENTION_TABLE)) {
      expect(days.audio).toBeLessThanOrEqual(days.transcripts);
      expect(days.metadata).toBeGreaterThan(days.transcripts);
      expect(days.metadata).toBeGreaterThan(days.analytics);
    }
    for (const t of DATA_TYPES) {
      expect(RETENTION_TABLE.free[t]).toBeLessThan(RETENTION_TABLE.starter[t]);
      expect(RETENTION_TABLE.starter[t]).toBeLessThan(RETENTION_TABLE.professional[t]);
      expect(RETENTION_TABLE.professional[t]).toBeLessThanOrEqual(RETENTION_TABLE.enterprise[t]);
    }
  });

  it("custom values apply on enterprise only; per-type values win over the single one", () => {
    expect(orgRetention({ plan: "starter", retention_days: 999, retention: { audio: 1 } })).toEqual(RETENTION_TABLE.starter);
    expect(orgRetention({ plan: "enterprise", retention_days: null, retention: null })).toEqual(RETENTION_TABLE.enterprise);
    expect(orgRetention({ plan: "enterprise", retention_days: 400, retention: { audio: 20 } })).toEqual({ transcripts: 400, audio: 20, analytics: 400, metadata: 400 });
  });

  it("a campaign can only shorten", () => {
    const org = RETENTION_TABLE.free;
    expect(campaignRetention(org, { audio: 3, transcripts: 99 })).toEqual({ ...org, audio: 3 });
    expect(longerThanOrg(org, { audio: 3, transcripts: 31 })).toEqual(["transcripts"]);
    expect(longerThanOrg(org, { audio: 7 })).toEqual([]);
    expect(dueDates(org, T0).audio).toBe(T0 + 7 * DAY_MS);
  });
});

describe("consent in the machine", () => {
  it("records the text version and client address, and withdrawal asks for the recordings to go", () => {
    const s0 = initialState({ questions: [{ text: "Q1", probe: "none" }], consentRequired: true, now: T0 });
    const granted = transition(s0, { type: "consent", granted: true, textVersion: "sha256:abc", ip: "203.0.113.1" }, T0 + 1, LIMITS);
    if (!granted.ok) throw new Error("consent refused");
    expect(granted.state.consent).toEqual({ granted: true, at: T0 + 1, textVersion: "sha256:abc", ip: "203.0.113.1" });
    expect(granted.effects).toContainEqual({ type: "event", name: "consent_granted", data: { textVersion: "sha256:abc", ip: "203.0.113.1" } });
    const started = transition(granted.state, { type: "start" }, T0 + 2, LIMITS);
    if (!started.ok) throw new Error("start refused");
    expect(started.effects.some((e) => e.type === "purge_audio")).toBe(false);
    const withdrawn = transition(started.state, { type: "consent", granted: false, textVersion: "sha256:abc", ip: "203.0.113.1" }, T0 + 3, LIMITS);
    if (!withdrawn.ok) throw new Error("withdrawal refused");
    expect(withdrawn.state).toMatchObject({ status: "abandoned", endReason: "consent_withdrawn" });
    expect(withdrawn.effects).toContainEqual({ type: "purge_audio", reason: "consent_withdrawn" });
    // Declining before the start records nothing to purge.
    const declined = transition(s0, { type: "consent", granted: false }, T0 + 1, LIMITS);
    expect(declined.ok && declined.effects.some((e) => e.type === "purge_audio")).toBe(false);
  });
});
