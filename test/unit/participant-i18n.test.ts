// The participant page's languages: which one a page picks, and catalogs that say the same thing
// (every placeholder a message fills in is in each translation of it).
import { describe, expect, it } from "vitest";
import { interviewLocale, LOCALES, pickLocale } from "../../src/ui/participant/i18n";
import { PAGE_LANGUAGES } from "../../src/ui/shared/locales";
import ar from "../../src/ui/participant/locales/ar";
import de from "../../src/ui/participant/locales/de";
import { en } from "../../src/ui/participant/locales/en";
import es from "../../src/ui/participant/locales/es";
import fr from "../../src/ui/participant/locales/fr";
import hi from "../../src/ui/participant/locales/hi";
import id from "../../src/ui/participant/locales/id";
import itCatalog from "../../src/ui/participant/locales/it"; // `it` is vitest's
import ja from "../../src/ui/participant/locales/ja";
import ko from "../../src/ui/participant/locales/ko";
import nl from "../../src/ui/participant/locales/nl";
import pl from "../../src/ui/participant/locales/pl";
import pt from "../../src/ui/participant/locales/pt";
import ru from "../../src/ui/participant/locales/ru";
import tr from "../../src/ui/participant/locales/tr";
import zh from "../../src/ui/participant/locales/zh";

const catalogs: Record<string, Record<string, string>> = { ar, de, es, fr, hi, id, it: itCatalog, ja, ko, nl, pl, pt, ru, tr, zh };
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("participant page languages", () => {
  it("the interview's language wins, then the browser's, then English; regions and case do not matter", () => {
    expect(pickLocale(["es-MX", "de-DE"])).toBe("es");
    expect(pickLocale([null, "pt-BR", "en"])).toBe("pt");
    expect(pickLocale(["ZH_hans"])).toBe("zh");
    expect(pickLocale(["sw", "tlh"])).toBe("en");
    expect(pickLocale([])).toBe("en");
  });

  it("a campaign language without a catalog means English, not the browser's language", () => {
    expect(interviewLocale("sw", ["de-DE"])).toBe("en");
    expect(interviewLocale("pt-BR", ["de-DE"])).toBe("pt");
    expect(interviewLocale(null, ["de-DE", "en"])).toBe("de");
    expect(interviewLocale("  ", ["fr"])).toBe("fr");
  });

  it("Korean and Hindi pages: a Korean browser on a campaign with no language, a Hindi campaign on any browser", () => {
    expect(interviewLocale(null, ["ko-KR"])).toBe("ko");
    expect(interviewLocale(undefined, ["ko-KR", "en-US"])).toBe("ko");
    expect(interviewLocale("hi", ["ko-KR"])).toBe("hi");
    expect(interviewLocale("hi-IN", ["en-US"])).toBe("hi");
  });

  it("Russian and Polish have a form for each of their plural categories", () => {
    for (const code of ["ru", "pl"]) {
      for (const category of new Intl.PluralRules(code).resolvedOptions().pluralCategories) {
        expect(catalogs[code]![`questionsCount_${category}`], `${code}.questionsCount_${category}`).toBeTruthy();
      }
    }
  });

  it("every shipped catalog is loadable by its code", () => {
    expect([...LOCALES].sort()).toEqual(["en", ...Object.keys(catalogs)].sort());
    // and the dashboard's campaign editor offers exactly these
    expect(Object.keys(PAGE_LANGUAGES).sort()).toEqual([...LOCALES].sort());
  });

  for (const [code, catalog] of Object.entries(catalogs)) {
    it(`${code}: every message, with the placeholders the English one fills in`, () => {
      const plural = (k: string) => /_(zero|one|two|few|many|other)$/.test(k);
      for (const [key, text] of Object.entries(en)) {
        if (plural(key)) continue;
        expect(catalog[key], `${code}.${key}`).toBeTruthy();
        expect(placeholders(catalog[key]!), `${code}.${key}`).toEqual(placeholders(text));
      }
      const plurals = Object.keys(catalog).filter(plural);
      expect(plurals.some((k) => k.endsWith("_other")), `${code} has an _other plural form`).toBe(true);
      for (const k of plurals) expect(placeholders(catalog[k]!), `${code}.${k}`).toEqual(["n"]);
      expect(Object.keys(catalog).filter((k) => !plural(k) && !(k in en)), `${code} keys English lacks`).toEqual([]);
    });
  }
});
