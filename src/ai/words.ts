// Words of an answer, in any script: follow-ups count them, analytics measure answer length with
// them, response patterns label clusters with them.

// Scripts written without spaces between words: a run of them is many words, which the runtime's
// ICU word breaker (dictionary based for Chinese, Japanese and Thai) finds.
export const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
let segmenter: Intl.Segmenter | null | undefined;

/** Lower-cased words: counted by ICU's word breaker where words are not separated by spaces. */
export const words = (text: string): string[] => {
  const lower = text.toLowerCase();
  if (UNSPACED.test(lower)) {
    segmenter ??= typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "word" }) : null;
    if (segmenter) return [...segmenter.segment(lower)].filter((s) => s.isWordLike).map((s) => s.segment);
  }
  // Marks belong to their word: Devanagari, Bengali or Tamil vowel signs are marks, not letters
  // (without them "उलझा" was cut to "उलझ"), and so are the joiners Indic and Persian spelling uses.
  return lower.match(/[\p{L}\p{M}\p{N}'\u200c\u200d]+/gu) ?? [];
};

