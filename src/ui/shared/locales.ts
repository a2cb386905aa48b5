// The languages the participant page speaks (src/ui/participant/locales/), each in its own name:
// the dashboard offers them when a campaign's language is set. test/unit/participant-i18n.test.ts
// keeps this list and the page's catalogs the same.
export const PAGE_LANGUAGES: Record<string, string> = {
  en: "English",
  ar: "العربية",
  de: "Deutsch",
  es: "Español",
  fr: "Français",
  hi: "हिन्दी",
  id: "Bahasa Indonesia",
  it: "Italiano",
  ja: "日本語",
  ko: "한국어",
  nl: "Nederlands",
  pl: "Polski",
  pt: "Português",
  ru: "Русский",
  tr: "Türkçe",
  zh: "中文",
};
