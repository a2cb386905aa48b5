// Date filters in the dashboard: a picked day is the browser's local day on every screen.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dayEnd, dayOf, dayStart, localTimeZone } from "../../src/ui/dashboard/format";
import { apiQuery, filtersFrom } from "../../src/ui/dashboard/screens/sessions";
import { fromDefinition, toDefinition, type Form } from "../../src/ui/dashboard/screens/reports";

const form = (from: string, to: string): Form => ({ campaignIds: ["cmp_aaaaaaaa"], from, to, metrics: ["sessions"], groupBy: "campaign", segmentAttribute: "segment" });

describe.each([
  ["America/Los_Angeles", "2026-11-24T08:00:00.000Z", "2026-11-25T07:59:59.999Z"],
  ["Asia/Tokyo", "2026-11-23T15:00:00.000Z", "2026-11-24T14:59:59.999Z"],
  ["UTC", "2026-11-24T00:00:00.000Z", "2026-11-24T23:59:59.999Z"],
])("in %s", (zone, start, end) => {
  const before = process.env.TZ;
  beforeAll(() => void (process.env.TZ = zone));
  afterAll(() => void (process.env.TZ = before));

  it("Reports and Sessions send the same instants for the same days", () => {
    expect(localTimeZone()).toBe(zone);
    expect([dayStart("2026-11-24"), dayEnd("2026-11-24")]).toEqual([start, end]);
    const sessions = apiQuery(filtersFrom(new URLSearchParams("from=2026-11-24&to=2026-11-24")));
    const report = toDefinition(form("2026-11-24", "2026-11-24"));
    expect([report.from, report.to]).toEqual([sessions.from, sessions.to]);
    expect([report.from, report.to]).toEqual([start, end]);
  });

  it("a saved report opens in the builder on the days it was saved with", () => {
    expect(fromDefinition(toDefinition(form("2026-11-24", "2026-11-30")))).toMatchObject({ from: "2026-11-24", to: "2026-11-30" });
    // Saved before, as whole UTC days: still the days that were picked.
    expect(fromDefinition({ ...toDefinition(form("", "")), from: "2026-11-24T00:00:00.000Z", to: "2026-11-30T23:59:59.999Z" })).toMatchObject({ from: "2026-11-24", to: "2026-11-30" });
    expect(dayOf(undefined, "start")).toBe("");
  });
});
