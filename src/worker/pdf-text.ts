// Text in the PDF export in any script our participants write: Latin that WinAnsi can encode stays
// in Helvetica (nothing to load, nothing embedded); every other character is drawn with the first
// Noto face that has it, loaded only when the document needs it and embedded as a subset. Lines
// are reordered with the Unicode bidirectional algorithm, so Arabic and Hebrew read right to left
// (and their paragraphs are right-aligned), while each run keeps its logical order for fontkit to
// shape (Arabic joining, Devanagari clusters). Characters no face has (emoji, scripts we do not
// ship) become "?": a document always renders.
import bidiFactory from "bidi-js";
import * as fontkit from "fontkit";
import { StandardFonts, type PDFDocument, type PDFFont, type PDFPage, type RGB } from "pdf-lib";
import { chainFor, type FaceSpec, type FontLoader } from "./pdf-fonts";

/** Combining marks and joiners belong with the character before them (one run, one font). */
const FOLLOWS_BASE = /^[\p{M}\u200c\u200d]$/u;

export type Weight = "regular" | "bold";

// pdf-lib's own fork of fontkit (1.x) lost glyphs when subsetting the Noto faces (whole words
// drawn blank); fontkit 2 subsets them correctly. pdf-lib reads a subset as a stream: adapt.
// Parsing a CJK face takes 50-100 ms, so one parsed font per file per isolate serves every
// document (a parsed font is read-only; layout only fills glyph caches).
const parsed = new WeakMap<Uint8Array, fontkit.Font>();
type Handlers = { data?: (bytes: Uint8Array) => void; end?: () => void; error?: (e: unknown) => void };
function subsetStream(subset: fontkit.Subset) {
  const handlers: Handlers = {};
  const stream = {
    on(event: keyof Handlers, fn: (v?: never) => void) {
      handlers[event] = fn as never;
      // pdf-lib registers data, end and error in one statement: encode once they are all in place.
      if (event === "data")
        queueMicrotask(() => {
          try {
            handlers.data?.(subset.encode());
            handlers.end?.();
          } catch (e) {
            handlers.error?.(e);
          }
        });
      return stream;
    },
  };
  return stream;
}
const fontkitForPdfLib = {
  create(bytes: Uint8Array) {
    let font = parsed.get(bytes);
    if (!font) {
      const f = fontkit.create(bytes);
      const createSubset = f.createSubset.bind(f);
      f.createSubset = () => Object.assign(createSubset(), { encodeStream(this: fontkit.Subset) { return subsetStream(this); } });
      const layout = f.layout.bind(f);
      // A shaping failure in fontkit must not fail the export: the text is then drawn unshaped,
      // glyph by glyph from the cmap (still every character, in order).
      f.layout = (text, features) => {
        try {
          return layout(text, features);
        } catch {
          return { glyphs: f.glyphsForString(text) };
        }
      };
      tolerateNullAnchors(f);
      parsed.set(bytes, (font = f));
    }
    return font;
  },
};

/**
 * fontkit 2.0.4 reads a NULL anchor in a mark-attachment lookup (allowed by OpenType: "this base
 * takes no mark of this class"; Noto Sans Malayalam has them) as an object and throws. HarfBuzz
 * leaves such a mark unattached, and so does this: the positioning class is shared by every font,
 * reached through the first font's layout engine, and wrapped once.
 */
let anchorsTolerated = false;
function tolerateNullAnchors(f: fontkit.Font) {
  if (anchorsTolerated) return;
  try {
    f.layout(" ");
    const gpos = (f as unknown as { _layoutEngine?: { engine?: { GPOSProcessor?: object } } })._layoutEngine?.engine?.GPOSProcessor;
    if (!gpos) return; // this face has no GPOS table: try again with the next one
    const proto = Object.getPrototypeOf(gpos) as { applyAnchor?: (mark: { markAnchor?: unknown }, base: unknown, index: number) => void };
    const apply = proto.applyAnchor;
    if (typeof apply !== "function") return;
    proto.applyAnchor = function (mark, base, index) {
      if (base && mark?.markAnchor) apply.call(this, mark, base, index);
    };
    anchorsTolerated = true;
  } catch {
    // a fontkit without these internals: the layout fallback above still keeps exports working
  }
}

const RTL_SCRIPT = /[\p{Script=Arabic}\p{Script=Hebrew}]/u;
const bidi = bidiFactory();

type Run = { text: string; font: PDFFont; width: number };

export class Typesetter {
  private readonly pick = new Map<string, PDFFont | null>();
  /** Faces embedded in this document, by file (a CJK face serves regular and bold text once). */
  private readonly loaded = new Map<string, PDFFont | null>();
  private readonly charsOf = new Map<PDFFont, Set<number>>();
  private readonly rtlFonts = new Set<PDFFont>();
  private readonly winAnsi: Set<number>;

  private constructor(
    private readonly doc: PDFDocument,
    private readonly helvetica: Record<Weight, PDFFont>,
  ) {
    this.winAnsi = new Set(helvetica.regular.getCharacterSet());
  }

  /**
   * Loads and embeds the faces `texts` need (bold ones for `boldTexts`), so that drawing stays
   * synchronous. Text not passed here still draws: characters without a loaded face become "?".
   */
  static async create(doc: PDFDocument, load: FontLoader, language: string | null | undefined, texts: string, boldTexts = ""): Promise<Typesetter> {
    doc.registerFontkit(fontkitForPdfLib as unknown as Parameters<PDFDocument["registerFontkit"]>[0]);
    const t = new Typesetter(doc, { regular: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold) });
    await t.prepare(load, language, texts, "regular");
    await t.prepare(load, language, boldTexts, "bold");
    return t;
  }

  private fileOf(face: FaceSpec, weight: Weight): string {
    return weight === "bold" && face.bold ? face.bold : face.regular;
  }

  /** The face embedded in this document, loading and embedding it on first use (null when it cannot be). */
  private async open(face: FaceSpec, weight: Weight, load: FontLoader): Promise<PDFFont | null> {
    const file = this.fileOf(face, weight);
    if (!this.loaded.has(file)) {
      let font: PDFFont | null = null;
      const bytes = await load(file).catch(() => null);
      if (bytes) {
        try {
          font = await this.doc.embedFont(bytes, { subset: true });
          this.charsOf.set(font, new Set(font.getCharacterSet()));
          if (face.rtl) this.rtlFonts.add(font);
        } catch {
          font = null; // a damaged file: its characters fall to the next face
        }
      }
      this.loaded.set(file, font);
    }
    return this.loaded.get(file) ?? null;
  }

  private async prepare(load: FontLoader, language: string | null | undefined, text: string, weight: Weight) {
    const has = (font: PDFFont | null | undefined, cp: number) => (font && this.charsOf.get(font)?.has(cp) ? font : null);
    // Each character first tries the faces of its script, loading them; a character that also
    // takes a face only if the document has it waits until every script's faces are in.
    const later: string[] = [];
    for (const ch of new Set(text.normalize("NFC"))) {
      const cp = ch.codePointAt(0)!;
      if (this.winAnsi.has(cp) || cp < 0x20) continue;
      const chain = chainFor(ch, language);
      let chosen: PDFFont | null = null;
      if (!chain[0]?.ifLoaded) for (const { face } of chain.filter((c) => !c.ifLoaded)) if ((chosen = has(await this.open(face, weight, load), cp))) break;
      if (!chosen && chain.some((c) => c.ifLoaded)) later.push(ch);
      else this.pick.set(`${weight}:${ch}`, chosen);
    }
    for (const ch of later) {
      const cp = ch.codePointAt(0)!;
      const chain = chainFor(ch, language);
      let font = chain
        .filter((c) => c.ifLoaded)
        .map(({ face }) => has(this.loaded.get(this.fileOf(face, weight)), cp))
        .find(Boolean);
      // A shared character none of whose faces the document has loads its first (see chainFor).
      if (!font && chain[0]?.ifLoaded) for (const { face } of chain.filter((c) => !c.ifLoaded)) if ((font = has(await this.open(face, weight, load), cp))) break;
      this.pick.set(`${weight}:${ch}`, font ?? null);
    }
  }

  /** The font that draws `ch`, or null when none can. */
  private fontFor(ch: string, weight: Weight): PDFFont | null {
    if (this.winAnsi.has(ch.codePointAt(0)!)) return this.helvetica[weight];
    const bold = this.pick.get(`${weight}:${ch}`);
    if (bold !== undefined) return bold;
    return this.pick.get(`regular:${ch}`) ?? null;
  }

  /** The font of the character before, for a combining mark or joiner that font has. */
  private withBase(ch: string, before: PDFFont | undefined): PDFFont | null {
    return before && FOLLOWS_BASE.test(ch) && this.charsOf.get(before)?.has(ch.codePointAt(0)!) ? before : null;
  }

  /** Newlines kept, tabs as spaces, characters nothing can draw as "?". */
  clean(text: string, weight: Weight): string {
    let out = "";
    for (const ch of text.normalize("NFC").replace(/\r\n?/g, "\n").replace(/\t/g, "    ")) {
      if (ch === "\n") out += ch;
      else if (ch.codePointAt(0)! < 0x20) out += " ";
      else out += this.fontFor(ch, weight) ? ch : "?";
    }
    return out;
  }

  /**
   * Each character with its font, in logical order: a combining mark takes its base's font, and
   * a character nothing can draw becomes "?".
   */
  private fonted(chars: readonly string[], weight: Weight): { ch: string; font: PDFFont }[] {
    const out: { ch: string; font: PDFFont }[] = [];
    for (let ch of chars) {
      let font = this.withBase(ch, out[out.length - 1]?.font) ?? this.fontFor(ch, weight);
      if (!font) (font = this.helvetica[weight]), (ch = "?");
      out.push({ ch, font });
    }
    return out;
  }

  /** Logical runs of one font (for measuring). */
  private logicalRuns(text: string, weight: Weight): { text: string; font: PDFFont }[] {
    const runs: { text: string; font: PDFFont }[] = [];
    for (const { ch, font } of this.fonted([...text], weight)) {
      const last = runs[runs.length - 1];
      if (last && last.font === font) last.text += ch;
      else runs.push({ text: ch, font });
    }
    return runs;
  }

  width(text: string, weight: Weight, size: number): number {
    let w = 0;
    for (const r of this.logicalRuns(text, weight)) w += r.font.widthOfTextAtSize(r.text, size);
    return w;
  }

  /** Whether a paragraph reads right to left (its first strong character is Arabic or Hebrew). */
  static rtlParagraph(text: string): boolean {
    const { paragraphs } = bidi.getEmbeddingLevels(text);
    return (paragraphs[0]?.level ?? 0) % 2 === 1;
  }

  /**
   * One line in visual order, as runs of one font and one direction. A run that fontkit will
   * reverse itself (Arabic or Hebrew in its own face) is handed over in logical order, so it can
   * be shaped; every other run is given in the order it is drawn.
   */
  visualRuns(line: string, weight: Weight, size: number, rtl: boolean): Run[] {
    // bidi-js counts UTF-16 units: an astral character (drawable ones are CJK, strong left to
    // right) stands in as one BMP Han character, so positions are code points.
    const chars = [...line];
    const proxy = chars.map((c) => (c.length > 1 ? "\u4e00" : c)).join("");
    const levels = bidi.getEmbeddingLevels(proxy, rtl ? "rtl" : "ltr");
    const order = chars.map((_, i) => i);
    for (const [start, end] of bidi.getReorderSegments(proxy, levels) as [number, number][]) {
      order.splice(start, end - start + 1, ...order.slice(start, end + 1).reverse());
    }
    const mirrored = bidi.getMirroredCharactersMap(proxy, levels.levels);
    // Fonts are chosen in logical order, so a combining mark takes its base's font (as measured),
    // then the characters are taken in visual order.
    const picked = this.fonted(
      chars.map((c, i) => mirrored.get(i) ?? c),
      weight,
    );
    const runs: { chars: string[]; font: PDFFont; odd: boolean }[] = [];
    for (const i of order) {
      const { ch, font } = picked[i]!;
      const odd = levels.levels[i]! % 2 === 1;
      const last = runs[runs.length - 1];
      if (last && last.font === font && last.odd === odd) last.chars.push(ch);
      else runs.push({ chars: [ch], font, odd });
    }
    return runs.map((r) => {
      const visual = r.chars.join("");
      // fontkit reverses a run whose script is right to left; give it the reverse of what we want drawn.
      const text = this.rtlFonts.has(r.font) && RTL_SCRIPT.test(visual) ? [...r.chars].reverse().join("") : visual;
      return { text, font: r.font, width: r.font.widthOfTextAtSize(text, size) };
    });
  }

  /** Draws one line; a right-to-left line ends at `x + width`. */
  drawLine(page: PDFPage, line: string, o: { x: number; y: number; size: number; weight: Weight; color: RGB; rtl: boolean; width: number }) {
    const runs = this.visualRuns(line, o.weight, o.size, o.rtl);
    const total = runs.reduce((s, r) => s + r.width, 0);
    let x = o.rtl ? o.x + Math.max(0, o.width - total) : o.x;
    for (const r of runs) {
      if (r.text.trim()) page.drawText(r.text, { x, y: o.y, size: o.size, font: r.font, color: o.color });
      x += r.width;
    }
  }
}
