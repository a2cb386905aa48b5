// English counts in generated text (summaries, the PDF, the dashboard): "1 word", "2 words", "1.5 words".

/** `n` and the noun, plural unless n is exactly 1 (an average of 1.5 is "1.5 words"). */
export const counted = (n: number, one: string, other = `${one}s`) => `${n} ${n === 1 ? one : other}`;
