// BCP 47 language tags as campaigns and browsers give them ("pt-BR", "zh_Hans", " EN ").

/** The primary language subtag, lower case ("pt" for "pt-BR"); "" for none. */
export const primaryLanguage = (tag: string | null | undefined): string => (tag ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";

/** Whether the tag names English. */
export const isEnglishTag = (tag: string): boolean => primaryLanguage(tag) === "en";
