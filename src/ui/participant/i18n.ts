// The participant page speaks the interview's language. The campaign's `settings.language` picks
// it (the questions are written in it); without one, the browser's languages do. English is built
// in; other catalogs are separate chunks loaded only by the pages that need them. Arabic turns
// the page right to left. A missing key falls back to English, so a page never shows a key name.
import { en, type Catalog, type Key } from "./locales/en";
import { primaryLanguage } from "../../shared/language-tag";

const LOADERS: Record<string, () => Promise<{ default: Catalog }>> = {
  ar: () => import("./locales/ar"),
  de: () => import("./locales/de"),
  es: () => import("./locales/es"),
  fr: () => import("./locales/fr"),
  hi: () => import("./locales/hi"),
  id: () => import("./locales/id"),
  it: () => import("./locales/it"),
  ja: () => import("./locales/ja"),
  ko: () => import("./locales/ko"),
  nl: () => import("./locales/nl"),
  pl: () => import("./locales/pl"),
  pt: () => import("./locales/pt"),
  ru: () => import("./locales/ru"),
  tr: () => import("./locales/tr"),
  zh: () => import("./locales/zh"),
};
export const LOCALES = ["en", ...Object.keys(LOADERS)];
const RTL = new Set(["ar", "fa", "he", "ur"]);

let current: { code: string; catalog: Partial<Catalog> } = { code: "en", catalog: en };
let applied = false;

/** The first of `wanted` (BCP 47 tags, best first) that we have a catalog for, else English. */
export function pickLocale(wanted: readonly (string | null | undefined)[]): string {
  for (const tag of wanted) {
    const primary = primaryLanguage(tag);
    if (LOCALES.includes(primary)) return primary;
  }
  return "en";
}

/**
 * The page's language for an interview: the campaign's when it names one (English when we have
 * no catalog for it: German buttons around Swahili questions would help nobody), else the browser's.
 */
export function interviewLocale(campaignLanguage: string | null | undefined, browser: readonly string[]): string {
  return campaignLanguage?.trim() ? pickLocale([campaignLanguage]) : pickLocale(browser);
}

/** A catalog that has not arrived after this long is given up on: the page goes on in English. */
const CATALOG_WAIT_MS = 3_000;

let wanted = "en";
let onLate: (() => void) | null = null;

/** Called when a catalog that missed its wait arrives and the page switches to it. */
export function onLocaleChange(fn: () => void): void {
  onLate = fn;
}

function use(code: string, catalog: Partial<Catalog>) {
  current = { code, catalog };
  applied = true;
  document.documentElement.lang = code;
  document.documentElement.dir = RTL.has(code) ? "rtl" : "ltr";
  document.title = t("pageTitle");
}

/**
 * Loads and switches to `code`'s catalog and marks the document. A catalog that fails to load
 * leaves the page in English; one that takes longer than CATALOG_WAIT_MS lets the page go on in
 * English and is switched to when it arrives (a slow phone still gets its language).
 */
export async function applyLocale(code: string): Promise<string> {
  wanted = code;
  const load = LOADERS[code];
  if (code === "en" || !load) {
    use("en", en);
    return "en";
  }
  const loading = load().then((m) => m.default);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), CATALOG_WAIT_MS)));
  try {
    const catalog = await Promise.race([loading, late]);
    if (catalog) {
      use(code, catalog);
      return code;
    }
    use("en", en);
    void loading
      .then((c) => {
        if (wanted !== code) return; // another language was chosen meanwhile
        use(code, c);
        onLate?.();
      })
      .catch(() => undefined);
    return "en";
  } catch {
    use("en", en); // a chunk that failed to load: the page still works, in English
    return "en";
  } finally {
    clearTimeout(timer);
  }
}

/** applyLocale, unless a language was chosen already (a later failure keeps the interview's language). */
export async function ensureLocale(wanted: readonly (string | null | undefined)[]): Promise<void> {
  if (!applied) await applyLocale(pickLocale(wanted));
}

const fill = (text: string, params: Record<string, string | number>) => text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));

/** The message for `key` in the page's language, with `{name}` placeholders filled in. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  return fill(current.catalog[key] ?? en[key], params);
}

/** Plural-aware: `key_one`, `key_two`, `key_few`… by the language's plural rules, else `key_other`; `{n}` is the count. */
export function tn(key: string, n: number, params: Record<string, string | number> = {}): string {
  const pick = (catalog: Partial<Catalog>, code: string) => {
    const get = (k: string) => (catalog as Record<string, string | undefined>)[k];
    return get(`${key}_${new Intl.PluralRules(code).select(n)}`) ?? get(`${key}_other`);
  };
  return fill(pick(current.catalog, current.code) ?? pick(en, "en") ?? key, { ...params, n });
}
