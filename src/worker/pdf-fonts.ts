// The fonts the PDF export may need and where the Worker gets them. Kept apart from the
// typesetter (src/worker/pdf-text.ts), which pulls in fontkit and is imported only when a PDF is
// made, so that cold starts of every other request do not evaluate it.
import { primaryLanguage } from "../shared/language-tag";
import FACES from "./pdf-faces.json";

/** Font files by name (e.g. "NotoSans-Regular.ttf"); null when one is missing. */
export type FontLoader = (file: string) => Promise<Uint8Array | null>;

/** The faces we ship (public/fonts/, copied from the Noto packages by scripts/build-ui.mjs). */
export type FaceSpec = { name: string; regular: string; bold?: string; rtl?: boolean };
/** One row of pdf-faces.json, the list build-ui.mjs copies from and this module picks from. */
type FaceRow = { pkg: string; name: string; bold: boolean; rtl?: boolean; script?: string; cjk?: "ja" | "ko" | "zh" };
const ROWS = FACES as FaceRow[];
const specOf = (r: FaceRow): FaceSpec => ({ name: r.name, regular: `${r.name}-Regular.ttf`, ...(r.bold ? { bold: `${r.name}-Bold.ttf` } : {}), ...(r.rtl ? { rtl: true } : {}) });
const NOTO_SANS = specOf(ROWS[0]!);
// CJK faces are 5-10 MB each, so only their regular weight ships; bold CJK text uses it.
const cjkFace = (lang: "ja" | "ko" | "zh") => specOf(ROWS.find((r) => r.cjk === lang)!);
const CJK = { ja: cjkFace("ja"), ko: cjkFace("ko"), zh: cjkFace("zh") };
export const FONT_FILES = ROWS.map(specOf).flatMap((f) => [f.regular, ...(f.bold ? [f.bold] : [])]);

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}\u3000-\u303f\uff00-\uffef]/u;

/** Han characters look different in each language: the session's language picks the CJK face tried first. */
export function cjkOrder(language: string | null | undefined): FaceSpec[] {
  const lang = primaryLanguage(language);
  if (lang === "ja") return [CJK.ja, CJK.zh, CJK.ko];
  if (lang === "ko") return [CJK.ko, CJK.zh, CJK.ja];
  return [CJK.zh, CJK.ja, CJK.ko];
}

// A script's own face comes first: Noto Sans also has Devanagari, but shaped through it (and
// subset) conjuncts lost their glyphs, while the Devanagari face draws them. Script_Extensions,
// so that a danda or a digit shared by several Indic scripts goes to one of their faces.
const OWN_FACE: [RegExp, FaceSpec][] = ROWS.filter((r) => r.script).map((r) => [new RegExp(`\\p{Script_Extensions=${r.script}}`, "u"), specOf(r)]);

/**
 * A face to try for a character; `ifLoaded` ones are used only when the document loads them anyway.
 * A chain that starts with `ifLoaded` faces is tried once every other character's faces are in.
 */
export type FaceChoice = { face: FaceSpec; ifLoaded?: boolean };

/**
 * Faces to try for a character, in order. Each script goes to its own faces only, so one stray
 * character cannot load 24 MB of fonts: CJK characters to the CJK faces (the session's language
 * first), Arabic, Hebrew, the Indic and Southeast Asian scripts, Ethiopic, Georgian and Armenian to
 * their own, everything else to Noto Sans, and then
 * to a CJK face the document already has (circled numbers and arrows in a Japanese answer).
 * Emoji and other pictographs load nothing: they use a face already loaded, else become "?".
 */
export function chainFor(ch: string, language: string | null | undefined): FaceChoice[] {
  // Symbols such as ♥ ▶ ⚠ ☎ (Extended_Pictographic, like emoji) are drawn if a face the document
  // loads anyway has them (the CJK faces have most), but never load one themselves.
  if (/\p{Extended_Pictographic}/u.test(ch)) return [NOTO_SANS, ...cjkOrder(language)].map((face) => ({ face, ifLoaded: true }));
  if (CJK_CHAR.test(ch)) return cjkOrder(language).map((face) => ({ face }));
  const own = OWN_FACE.filter(([re]) => re.test(ch)).map(([, face]) => face);
  if (own.length === 1) return [{ face: own[0]! }];
  // A character several scripts share (the danda ends Bengali and Hindi sentences alike) takes the
  // face of whichever of them the document already has, and loads the first only when none is in.
  if (own.length > 1) return [...own.map((face) => ({ face, ifLoaded: true })), { face: own[0]! }];
  return [{ face: NOTO_SANS }, ...cjkOrder(language).map((face) => ({ face, ifLoaded: true }))];
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
