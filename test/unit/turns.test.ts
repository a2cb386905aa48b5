import { describe, expect, it } from "vitest";
import { nextTurn, staggered } from "../../src/shared/turns";

describe("staggered", () => {
  it("returns results in the items' order", async () => {
    expect(await staggered([3, 1, 2], async (x, i) => `${i}:${x * 2}`)).toEqual(["0:6", "1:2", "2:4"]);
    expect(await staggered([], async () => 1)).toEqual([]);
  });

  it("lets events waiting on the loop run between two items' synchronous work", async () => {
    const log: string[] = [];
    const work = staggered(["a", "b", "c"], async (x) => {
      log.push(`start ${x}`);
      // An event that arrives while this item computes (a socket message, locally).
      setTimeout(() => log.push(`event after ${x}`), 0);
      return x;
    });
    await work;
    await nextTurn();
    expect(log.slice(0, 4)).toEqual(["start a", "event after a", "start b", "event after b"]);
  });

  it("still overlaps the items' waits: every item starts before the first one finishes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    const work = staggered([0, 1, 2, 3], async (x) => {
      started.push(x);
      await gate; // a remote call in flight
      return x;
    });
    for (let i = 0; i < 10 && started.length < 4; i++) await nextTurn();
    expect(started).toEqual([0, 1, 2, 3]);
    release();
    expect(await work).toEqual([0, 1, 2, 3]);
  });

  it("rejects with an item's error", async () => {
    await expect(staggered([1, 2], async (x) => { if (x === 2) throw new Error("no"); return x; })).rejects.toThrow("no");
  });
});
