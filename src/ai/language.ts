// Whether a text reads as English, for the models that only read or speak English (the sentiment
// classifier, the Aura voice) when the campaign names no language. Cheap and deliberately
// cautious: a text that is not clearly English goes to the multilingual path, which reads English
// too, so a wrong "no" costs an LLM call and a wrong "yes" costs a wrong label.

// Frequent English function words that are not also common words of the other Latin-script
// languages participants write in ("a", "no", "me", "in", "was", "will", "so"... are left out).
const ENGLISH = new Set(
  "the and of to with that this it's you we they my our your their be been have has had did not what how why when which who there would could should very for from but or at are were can just i i'm don't it".split(" "),
);

/** Latin letters only, and at least one word in seven a frequent English function word (one such word in a short answer). */
export function looksEnglish(text: string): boolean {
  if (/(?![\p{Script=Latin}])\p{L}/u.test(text)) return false;
  const words = text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  if (!words.length) return false;
  const hits = words.filter((w) => ENGLISH.has(w)).length;
  return words.length <= 4 ? hits >= 1 : hits / words.length >= 1 / 7;
}
