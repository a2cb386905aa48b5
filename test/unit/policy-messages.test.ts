// A refused action is explained in words a person reads: "the viewer role may not read invites",
// not the action's internal name ("may not invite read").
import { describe, expect, it } from "vitest";
import { POLICY, ROLES, forbiddenMessage, isAllowed, type Action } from "../../src/worker/policy";

describe("403 messages", () => {
  it("say what the role may not do, in plain words", () => {
    expect(forbiddenMessage("viewer", "invite.read")).toBe("the viewer role may not read invites");
    expect(forbiddenMessage("analyst", "export.create")).toBe("the analyst role may not export interview data");
    expect(forbiddenMessage("admin", "gdpr.manage")).toBe("the admin role may not export or delete a participant's data");
  });

  it("exist for every action a role can be refused, without the action's dotted name", () => {
    for (const action of Object.keys(POLICY) as Action[]) {
      for (const role of ROLES.filter((r) => !isAllowed(r, action))) {
        const message = forbiddenMessage(role, action);
        expect(message).toMatch(new RegExp(`^the ${role} role may not [a-z][A-Za-z ,']+[a-z]$`));
        expect(message).not.toContain(action.replace(".", " "));
      }
    }
  });
});
