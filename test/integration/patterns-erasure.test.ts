// Response-pattern labels are made of participants' words: erasing a participant takes their
// words out of their clusters' labels (a word only erased people used disappears), while the
// anonymous counts and the other participants' words stay.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/api";

const hubOf = () => env.CAMPAIGN_LIVE.get(env.CAMPAIGN_LIVE.idFromName(unique("cmp_labels")));
type Hub = ReturnType<typeof hubOf>;

const fold = (hub: Hub, sessionId: string, vector: number[], terms: string[]) =>
  hub.foldPattern({ sessionId, answerId: "a0", questionIndex: 0, model: "test-space", threshold: 0.8, vector, terms, quote: `${sessionId} said ${terms.join(" ")}` });
const clusters = async (hub: Hub) => (await hub.patterns(["test-space"], 1))[0]!.clusters;

describe("erasure and response-pattern labels", () => {
  it("an erased participant's words leave the labels; counts and the others' words stay", async () => {
    const hub = hubOf();
    await fold(hub, "ses_alice", [1, 0, 0], ["pricing", "livemark", "alice"]);
    await fold(hub, "ses_bob", [1, 0, 0], ["pricing", "livemark"]);
    await fold(hub, "ses_keeper", [1, 0, 0], ["pricing", "cost"]);
    await fold(hub, "ses_solo", [0, 0, 1], ["bobmark5", "calendar"]);
    const before = await clusters(hub);
    expect(before.map((c) => [c.label, c.count])).toEqual([
      ["pricing · livemark", 3],
      ["bobmark5", 1],
    ]);

    for (const id of ["ses_alice", "ses_bob", "ses_solo"]) await hub.forget(id);
    const after = await clusters(hub);
    expect(after.map((c) => [c.count, c.examples])).toEqual([
      [3, ["ses_keeper said pricing cost"]],
      [1, []],
    ]);
    const words = after.flatMap((c) => c.label.split(" · "));
    for (const gone of ["livemark", "alice", "bobmark5", "calendar"]) expect(words).not.toContain(gone);
    expect(after[0]!.label).toBe("pricing");
    expect(after[1]!.label).toBe("other");
    // Forgetting again (retention, then the full erasure) takes nothing more out.
    await hub.forget("ses_alice");
    expect((await clusters(hub))[0]!.label).toBe("pricing");
    await fold(hub, "ses_next", [1, 0, 0], ["pricing", "cost"]);
    expect((await clusters(hub))[0]).toMatchObject({ label: "pricing · cost", count: 4 });
  });

  it("members folded before their terms were kept: the cluster drops the words only one answer used", async () => {
    const hub = hubOf();
    await fold(hub, "ses_old", [1, 0, 0], ["pricing", "zedmark"]);
    await fold(hub, "ses_other", [1, 0, 0], ["pricing", "budget"]);
    await fold(hub, "ses_third", [1, 0, 0], ["pricing", "budget"]);
    // As stored before this change: no per-member terms.
    await runInDurableObject(hub, (_instance, state) => {
      state.storage.sql.exec("UPDATE pattern_members SET terms = NULL");
    });
    expect((await clusters(hub))[0]!.label).toBe("pricing · budget");
    await hub.forget("ses_old");
    const [c] = await clusters(hub);
    expect(c).toMatchObject({ label: "pricing · budget", count: 3 });
    const terms = await runInDurableObject(hub, (_instance, state) => String(state.storage.sql.exec("SELECT terms FROM pattern_clusters").one().terms));
    expect(JSON.parse(terms)).not.toHaveProperty("zedmark");
  });
});
