// The 403 a refused role gets reads as a sentence (its wording comes from the policy module).
import { describe, expect, it } from "vitest";
import { call, createCampaign, createOrg, keyWithRole } from "../helpers/fixtures";

describe("403 FORBIDDEN", () => {
  it("tells a viewer in plain words what they may not do", async () => {
    const { apiKey, org } = await createOrg();
    const campaign = await createCampaign(apiKey.key);
    const viewer = await keyWithRole(org.id, "viewer");
    const r = await call("GET", `/v1/campaigns/${campaign.id}/invites`, { key: viewer.key });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ code: "FORBIDDEN", message: "the viewer role may not read invites" });
  });
});
