// Whether a text reads as English, for the models that only read or speak English (the sentiment
// classifier, the Aura voice) when the campaign names no language. Cheap and deliberately
// cautious: a text that is not clearly English goes to the multilingual path, which reads English
// too, so a wrong "no" costs an LLM call and a wrong "yes" costs a wrong label.

// Frequent English words that are not also common words of the other Latin-script languages
// participants write in: "a", "i", "to", "my", "at", "for", "we", "be", "of", "just", "was",
// "so", "in" and the like are common in Polish, Czech, Croatian, Italian, Dutch, German or the
// Scandinavian languages, so they are left out.
const ENGLISH = new Set(
  "the and with that this you they our your their have has had been were would could should what how why when which who there not did from but very it's i'm don't didn't can't isn't wasn't".split(" "),
);

/** Latin letters only, and frequent English words: two of them, or one in an answer of up to four words. */
export function looksEnglish(text: string): boolean {
  if (/(?![\p{Script=Latin}])\p{L}/u.test(text)) return false;
  const words = text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  if (!words.length) return false;
  const hits = words.filter((w) => ENGLISH.has(w)).length;
  return words.length <= 4 ? hits >= 1 : hits >= 2 && hits / words.length >= 1 / 10;
}
