// The dashboard's charts as the researcher reads them: the text beside each bar must agree with itself.
import { describe, expect, it } from "vitest";
import { Funnel } from "../../src/ui/dashboard/charts";

type Node = { type?: unknown; props?: Record<string, unknown> } | string | number | null | undefined | boolean | Node[];

/** Every element of a Preact tree (htm's vnodes; components are not rendered, their children are). */
function* elements(n: Node): Generator<{ type: unknown; props: Record<string, unknown> }> {
  if (Array.isArray(n)) for (const c of n) yield* elements(c);
  else if (n && typeof n === "object" && n.props) {
    yield n as { type: unknown; props: Record<string, unknown> };
    yield* elements(n.props.children as Node);
  }
}
/** The visible text of an element, leaving out SVG <title> tooltips. */
const text = (n: Node): string =>
  Array.isArray(n) ? n.map(text).join("") : typeof n === "string" || typeof n === "number" ? String(n) : n && typeof n === "object" && n.props && n.type !== "title" ? text(n.props.children as Node) : "";

const rowLabels = (funnel: { questionIndex: number; reached: number; answered: number; dropped: number }[]) =>
  [...elements(Funnel({ funnel, questions: funnel.map((f) => `Question ${f.questionIndex + 1}`) }) as Node)]
    .filter((e) => e.type === "g" && e.props.class === "funnel-row")
    .map((g) => [...elements(g.props.children as Node)].filter((e) => e.type === "text").map((e) => text(e.props.children as Node)).find((t) => t.includes(" of ")));

describe("campaign funnel", () => {
  it("labels each question with answered of reached and that share as the percentage", () => {
    // 12 reached Q1; 11 reached Q4 and all 11 answered: "11 of 11 · 100%", not "· 92%" (11 of 12).
    expect(
      rowLabels([
        { questionIndex: 0, reached: 12, answered: 12, dropped: 0 },
        { questionIndex: 1, reached: 12, answered: 11, dropped: 1 },
        { questionIndex: 2, reached: 11, answered: 11, dropped: 0 },
        { questionIndex: 3, reached: 11, answered: 11, dropped: 0 },
      ]),
    ).toEqual(["12 of 12 · 100%", "11 of 12 · 92%", "11 of 11 · 100%", "11 of 11 · 100%"]);
    // A tiny campaign: "1 of 1 · 100%", not "· 50%"; a question nobody reached reads 0%.
    expect(
      rowLabels([
        { questionIndex: 0, reached: 2, answered: 2, dropped: 0 },
        { questionIndex: 1, reached: 2, answered: 1, dropped: 1 },
        { questionIndex: 2, reached: 1, answered: 1, dropped: 0 },
        { questionIndex: 3, reached: 0, answered: 0, dropped: 0 },
      ]),
    ).toEqual(["2 of 2 · 100%", "1 of 2 · 50%", "1 of 1 · 100%", "0 of 0 · 0%"]);
  });
});
