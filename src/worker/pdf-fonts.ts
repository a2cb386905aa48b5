// The fonts the PDF export may need and where the Worker gets them. Kept apart from the
// typesetter (src/worker/pdf-text.ts), which pulls in fontkit and is imported only when a PDF is
// made, so that cold starts of every other request do not evaluate it.
import { primaryLanguage } from "../shared/language-tag";

/** Font files by name (e.g. "NotoSans-Regular.ttf"); null when one is missing. */
export type FontLoader = (file: string) => Promise<Uint8Array | null>;

/** The faces we ship (public/fonts/, copied from the Noto packages by scripts/build-ui.mjs). */
export type FaceSpec = { name: string; regular: string; bold?: string; rtl?: boolean };
const face = (name: string, bold: boolean, rtl = false): FaceSpec => ({ name, regular: `${name}-Regular.ttf`, ...(bold ? { bold: `${name}-Bold.ttf` } : {}), ...(rtl ? { rtl } : {}) });
const BASE = [face("NotoSans", true), face("NotoSansArabic", true, true), face("NotoSansHebrew", true, true), face("NotoSansDevanagari", true), face("NotoSansThai", true)];
// CJK faces are 5-10 MB each, so only their regular weight ships; bold CJK text uses it.
const CJK = { ja: face("NotoSansJP", false), ko: face("NotoSansKR", false), zh: face("NotoSansSC", false) };
export const FONT_FILES = [...BASE, ...Object.values(CJK)].flatMap((f) => [f.regular, ...(f.bold ? [f.bold] : [])]);

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}\u3000-\u303f\uff00-\uffef]/u;

/** Han characters look different in each language: the session's language picks the CJK face tried first. */
export function cjkOrder(language: string | null | undefined): FaceSpec[] {
  const lang = primaryLanguage(language);
  if (lang === "ja") return [CJK.ja, CJK.zh, CJK.ko];
  if (lang === "ko") return [CJK.ko, CJK.zh, CJK.ja];
  return [CJK.zh, CJK.ja, CJK.ko];
}

// A script's own face comes first: Noto Sans also has Devanagari, but shaped through it (and
// subset) conjuncts lost their glyphs, while the Devanagari face draws them.
const OWN_FACE: [RegExp, FaceSpec][] = [
  [/\p{Script_Extensions=Arabic}/u, BASE[1]!],
  [/\p{Script_Extensions=Hebrew}/u, BASE[2]!],
  [/\p{Script_Extensions=Devanagari}/u, BASE[3]!],
  [/\p{Script_Extensions=Thai}/u, BASE[4]!],
];

/** A face to try for a character; `ifLoaded` ones are used only when the document loads them anyway. */
export type FaceChoice = { face: FaceSpec; ifLoaded?: boolean };

/**
 * Faces to try for a character, in order. Each script goes to its own faces only, so one stray
 * character cannot load 24 MB of fonts: CJK characters to the CJK faces (the session's language
 * first), Arabic, Hebrew, Devanagari and Thai to theirs, everything else to Noto Sans, and then
 * to a CJK face the document already has (circled numbers and arrows in a Japanese answer).
 * Emoji and other pictographs load nothing: they use a face already loaded, else become "?".
 */
export function chainFor(ch: string, language: string | null | undefined): FaceChoice[] {
  // Symbols such as ♥ ▶ ⚠ ☎ (Extended_Pictographic, like emoji) are drawn if a face the document
  // loads anyway has them (the CJK faces have most), but never load one themselves.
  if (/\p{Extended_Pictographic}/u.test(ch)) return [BASE[0]!, ...cjkOrder(language)].map((face) => ({ face, ifLoaded: true }));
  if (CJK_CHAR.test(ch)) return cjkOrder(language).map((face) => ({ face }));
  const own = OWN_FACE.find(([re]) => re.test(ch))?.[1];
  if (own) return [{ face: own }];
  return [{ face: BASE[0]! }, ...cjkOrder(language).map((face) => ({ face, ifLoaded: true }))];
}

// Font bytes per isolate: a bulk export loads each face once. A failed load is forgotten, so the
// next document tries again.
const assetCache = new Map<string, Promise<Uint8Array | null>>();
const isFont = (b: Uint8Array) => b.length > 12 && ((b[0] === 0 && b[1] === 1 && b[2] === 0 && b[3] === 0) || String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) === "OTTO");

/** Faces from the Worker's static assets (public/fonts/). Without the binding, nothing loads. */
export function assetFonts(assets: Fetcher | undefined): FontLoader {
  return (file) => {
    if (!assets || !FONT_FILES.includes(file)) return Promise.resolve(null);
    let p = assetCache.get(file);
    if (!p) {
      // The single-page fallback answers a missing file with the app's HTML: only font bytes count.
      p = assets
        .fetch(`https://assets.invalid/fonts/${file}`)
        .then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : null))
        .then((b) => (b && isFont(b) ? b : null))
        .catch(() => null);
      assetCache.set(file, p);
      void p.then((b) => b ?? assetCache.delete(file));
    }
    return p;
  };
}
