// The PDF export in the scripts participants write, read back the way a reader would: pdftotext
// for the words, pdffonts for what is embedded, and word boxes for where a line sits on the page.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import FACES from "../../src/worker/pdf-faces.json";
import { FONT_FILES, type FontLoader } from "../../src/worker/pdf-fonts";
import { LocalSummarizer } from "../../src/ai/summary";
import { sessionAnalytics } from "../../src/db/analytics";
import type { Segment } from "../../src/objects/protocol";
import { sessionPdf, wrap, type SessionExport } from "../../src/worker/session-bundle";

// The Noto packages as scripts/build-ui.mjs copies them into public/fonts/.
const PKG: Record<string, string> = Object.fromEntries(FACES.map((f) => [f.name, f.pkg]));
function nodeFonts(loaded: string[] = []): FontLoader {
  return async (file) => {
    const m = /^(\w+)-(Regular|Bold)\.ttf$/.exec(file);
    if (!m || !FONT_FILES.includes(file)) return null;
    loaded.push(file);
    const weight = m[2] === "Bold" ? "700Bold" : "400Regular";
    return new Uint8Array(readFileSync(join("node_modules/@expo-google-fonts", PKG[m[1]!]!, weight, `${m[1]}_${weight}.ttf`)));
  };
}

function bundle(language: string | null, answers: string[], extra: Partial<SessionExport["session"]> = {}): SessionExport {
  const transcript: SessionExport["transcript"] = [];
  answers.forEach((text, i) => {
    transcript.push({ seq: 2 * i + 1, speaker: "ai", text: `Question ${i + 1}?`, questionIndex: i, followUp: false, startMs: i * 20_000, endMs: i * 20_000 });
    transcript.push({ seq: 2 * i + 2, speaker: "participant", text, questionIndex: i, followUp: false, startMs: i * 20_000 + 5_000, endMs: i * 20_000 + 15_000 });
  });
  return {
    schemaVersion: 1,
    exportedAt: "2026-11-24T10:00:00.000Z",
    session: {
      id: "ses_pdf0000001",
      campaignId: "cmp_pdf0000001",
      inviteId: "inv_pdf0000001",
      status: "completed",
      createdAt: "2026-11-24T09:00:00.000Z",
      startedAt: "2026-11-24T09:00:05.000Z",
      completedAt: "2026-11-24T09:10:00.000Z",
      duration: 595,
      questionsAnswered: answers.length,
      totalQuestions: answers.length,
      completion: 100,
      language,
      device: null,
      consent: { required: true, granted: true, at: "2026-11-24T09:00:04.000Z" },
      flagged: false,
      sentiment: null,
      endReason: "completed",
      lastQuestionIndex: answers.length - 1,
      scriptVersion: 1,
      endedAt: "2026-11-24T09:10:00.000Z",
      flagReason: null,
      ...extra,
    },
    transcript,
    analytics: null,
    notes: [],
  };
}

const dir = mkdtempSync(join(tmpdir(), "pdf-unit-"));
let n = 0;
function read(pdf: Uint8Array) {
  const file = join(dir, `${++n}.pdf`);
  writeFileSync(file, pdf);
  const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
  const fonts = execFileSync("pdffonts", [file], { encoding: "utf8" });
  // -bbox: every word with its box, to see where a line sits.
  const html = execFileSync("pdftotext", ["-bbox", file, "-"], { encoding: "utf8" });
  const pages = html.split("<page ").slice(1);
  const words = pages.flatMap((pg, page) =>
    [...pg.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map((m) => ({ page, xMin: Number(m[1]), yMin: Number(m[2]), xMax: Number(m[3]), yMax: Number(m[4]), text: m[5]! })),
  );
  // A word can be in the text layer yet drawn blank (a font subset that lost its glyphs): render
  // each page at 1 px per point and list the words with no dark pixel inside their box.
  const inkless = pages.flatMap((_, page) => {
    const out = join(dir, `${n}-p${page + 1}`);
    execFileSync("pdftoppm", ["-r", "72", "-gray", "-f", String(page + 1), "-l", String(page + 1), "-singlefile", file, out]);
    const pgm = readFileSync(`${out}.pgm`);
    const [headerLen, w] = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString("latin1"))!.map((v, i) => (i === 0 ? v.length : Number(v))) as number[];
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) for (let x = Math.floor(x0); x < Math.ceil(x1); x++) if (pgm[headerLen! + y * w! + x]! < 200) return true; // small grey footer text is light
      return false;
    };
    return words.filter((wd) => wd.page === page && /[\p{L}\p{N}]/u.test(wd.text) && !ink(wd.xMin, wd.yMin, wd.xMax, wd.yMax)).map((wd) => `${wd.text} at ${wd.xMin},${wd.yMin}`);
  });
  return { text, fonts, words, inkless };
}

describe("line breaking", () => {
  const mono = (s: string) => [...s].length * 5; // every character 5 wide

  it("breaks at spaces, keeps punctuation with its word and no-break spaces unbroken", () => {
    expect(wrap("Hello, world", 30, mono)).toEqual(["Hello,", "world"]);
    expect(wrap("See (this) now", 30, mono)).toEqual(["See", "(this)", "now"]);
    expect(wrap("We had 10\u00a0000 items", 50, mono)).toEqual(["We had", "10\u00a0000", "items"]);
    expect(wrap("", 50, mono)).toEqual([""]);
    expect(wrap("   ", 50, mono)).toEqual([""]);
  });

  it("breaks Japanese between words, never before 、 or 。 nor after 「", () => {
    const text = "請求書がとても分かりにくく、住所を「二回」も入力しなければならなかったので、次からはもっと簡単にしてほしいです。";
    for (const width of [20, 35, 50, 65, 80]) {
      const lines = wrap(text, width, mono);
      expect(lines.join("")).toBe(text);
      for (const l of lines) {
        expect(l, `width ${width}: ${lines.join(" | ")}`).not.toMatch(/^[、。」]/);
        expect(l, `width ${width}: ${lines.join(" | ")}`).not.toMatch(/「$/);
        expect(mono(l.replace(/[、。」]$/, ""))).toBeLessThanOrEqual(width); // closing punctuation may hang
      }
    }
  });

  it("a word wider than the line breaks between graphemes, never inside one", () => {
    const thai = "หาใบแจ้งหนี้ยากมาก";
    const lines = wrap("x".repeat(30) + " " + thai, 25, mono);
    expect(lines.slice(0, 6)).toEqual(["xxxxx", "xxxxx", "xxxxx", "xxxxx", "xxxxx", "xxxxx"]);
    const graphemes = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(thai)].map((g) => g.segment);
    for (const l of lines.slice(6)) expect(graphemes.some((g) => l.startsWith(g))).toBe(true);
    expect(lines.slice(6).join("")).toBe(thai);
  });
});

describe("PDF export text in any script", () => {
  it("Latin-only sessions stay in Helvetica and load no font file", async () => {
    const loaded: string[] = [];
    const r = read(await sessionPdf(bundle("en", ["The invoices were hard to find. Café prices went up."]), "Billing study", nodeFonts(loaded)));
    expect(r.text).toContain("Café prices went up.");
    expect(loaded).toEqual([]);
    expect(r.fonts).not.toMatch(/Noto/);
  });

  it("Japanese, Russian, Greek, Hindi and Thai answers come back as written, with only the faces they need", async () => {
    const loaded: string[] = [];
    const answers = ["請求書がとても分かりにくかったです。", "Счета было трудно найти.", "Τα τιμολόγια ήταν δύσκολα.", "बिल ढूँढना मुश्किल था।", "หาใบแจ้งหนี้ยาก"];
    const r = read(await sessionPdf(bundle("ja", answers), "請求の調査", nodeFonts(loaded)));
    const flat = r.text.replace(/\s+/g, "");
    for (const a of answers.slice(0, 3)) expect(flat).toContain(a.replace(/\s+/g, ""));
    expect(r.text).toContain("請求の調査"); // the bold title, in the regular CJK face
    expect(r.inkless).toEqual([]);
    expect(r.text).not.toMatch(/\?{2,}/);
    expect(r.fonts).toMatch(/NotoSansJP/);
    expect(r.fonts).toMatch(/NotoSansDevanagari/);
    expect(r.fonts).toMatch(/NotoSansThai/);
    expect(loaded).not.toContain("NotoSansSC-Regular.ttf"); // every character was in the Japanese face
    expect(loaded).not.toContain("NotoSansArabic-Regular.ttf");
  });

  it("the scripts of South and Southeast Asia, Ethiopia and the Caucasus are drawn in their own faces", async () => {
    const loaded: string[] = [];
    // Bengali, Tamil, Telugu, Gujarati, Punjabi, Kannada, Malayalam, Odia, Sinhala, Lao, Khmer,
    // Burmese, Amharic, Georgian, Armenian: "the bill was hard to find" or near it.
    const answers = ["বিলটি খুঁজে পাওয়া কঠিন ছিল।", "பில்லைக் கண்டுபிடிப்பது கடினம்", "బిల్లు కనుగొనడం కష్టం", "બિલ શોધવું મુશ્કેલ હતું", "ਬਿੱਲ ਲੱਭਣਾ ਔਖਾ ਸੀ", "ಬಿಲ್ ಹುಡುಕುವುದು ಕಷ್ಟ", "ബില്ല് കണ്ടെത്താൻ പ്രയാസം", "ବିଲ୍ ଖୋଜିବା କଷ୍ଟକର", "බිල්පත සොයා ගැනීම අපහසුයි", "ຊອກຫາໃບບິນຍາກ", "ពិបាករកវិក្កយបត្រ", "ငွေတောင်းခံလွှာ ရှာရခက်တယ်", "ደረሰኙን ማግኘት ከባድ ነበር", "ანგარიშის პოვნა რთული იყო", "Հաշիվը գտնելը դժվար էր"];
    const r = read(await sessionPdf(bundle(null, answers), "Billing", nodeFonts(loaded)));
    expect(r.inkless).toEqual([]);
    expect(r.text.replace(/Question \d+\?/g, "")).not.toContain("?");
    for (const name of ["Bengali", "Tamil", "Telugu", "Gujarati", "Gurmukhi", "Kannada", "Malayalam", "Oriya", "Sinhala", "Lao", "Khmer", "Myanmar", "Ethiopic", "Georgian", "Armenian"]) expect(r.fonts).toMatch(new RegExp(`NotoSans${name}`));
    // Scripts whose letters are not reordered when shaped read back exactly as typed.
    for (const a of answers.slice(-3)) expect(r.text).toContain(a);
    // The danda that ends the Bengali sentence is Bengali's too: no Devanagari face for it.
    expect(loaded).not.toContain("NotoSansDevanagari-Regular.ttf");
    expect(loaded).not.toContain("NotoSansJP-Regular.ttf");
  }, 60_000);

  it("a danda in a document with no Indic face loads one face for it, and Hindi keeps its own", async () => {
    const loaded: string[] = [];
    const r = read(await sessionPdf(bundle("hi", ["बिल ढूँढना मुश्किल था।", "OK।"]), "Billing", nodeFonts(loaded)));
    expect(r.inkless).toEqual([]);
    expect(r.text.replace(/Question \d+\?/g, "")).not.toContain("?");
    expect(loaded.filter((f) => /Regular/.test(f))).toEqual(["NotoSansDevanagari-Regular.ttf"]);
    const lone: string[] = [];
    const only = read(await sessionPdf(bundle("en", ["Done।"]), "Billing", nodeFonts(lone)));
    expect(only.text).toContain("Done।");
    expect(lone).toEqual(["NotoSansDevanagari-Regular.ttf"]);
  });

  it("Han characters use the session language's face: Chinese sessions get the Chinese face", async () => {
    const loaded: string[] = [];
    const r = read(await sessionPdf(bundle("zh-CN", ["发票很难找到。"]), "Billing", nodeFonts(loaded)));
    expect(r.text.replace(/\s+/g, "")).toContain("发票很难找到。");
    expect(r.fonts).toMatch(/NotoSansSC/);
    expect(loaded).not.toContain("NotoSansJP-Regular.ttf");
  });

  it("Arabic and Hebrew paragraphs are right-aligned and read right to left", async () => {
    const arabic = "الفواتير صعبة";
    const hebrew = "קשה למצוא את החשבוניות";
    const r = read(await sessionPdf(bundle("ar", [arabic, hebrew, "Short English answer."]), "Billing", nodeFonts()));
    expect(r.fonts).toMatch(/NotoSansArabic/);
    expect(r.fonts).toMatch(/NotoSansHebrew/);
    const right = 595.28 - 56;
    // pdftotext's word boxes hold glyphs in the order drawn, left to right: Hebrew words reversed.
    const at = (word: string) => r.words.find((w) => w.text === [...word].reverse().join("") || w.text === word);
    const heb = ["קשה", "למצוא", "החשבוניות"].map(at);
    expect(heb.every(Boolean)).toBe(true);
    // The paragraph's first word ends at the right margin; each next word sits to its left.
    expect(heb[0]!.xMax).toBeGreaterThan(right - 2);
    expect(heb[0]!.xMin).toBeGreaterThan(heb[1]!.xMax - 0.5);
    expect(heb[1]!.xMin).toBeGreaterThan(heb[2]!.xMax - 0.5);
    // Read back in logical order, both paragraphs are what the participant typed.
    expect(r.text).toContain(hebrew);
    // The English answer stays at the left margin.
    expect(at("Short")!.xMin).toBeLessThan(80);
    expect(r.text).toContain(arabic);
    expect(r.inkless).toEqual([]);
    expect(r.text).not.toMatch(/\?{2,}/);
  });

  it("characters no face has become ? and the document still renders, without loading faces of other scripts", async () => {
    const loaded: string[] = [];
    const r = read(await sessionPdf(bundle("en", ["Loved it 🎉 ᏣᎳᎩ"]), "Billing", nodeFonts(loaded)));
    expect(r.text).toContain("Loved it ? ???");
    // An emoji loads nothing; a Cherokee word tries Noto Sans only, not the 24 MB of CJK faces.
    expect(loaded).toEqual(["NotoSans-Regular.ttf"]);
  });

  it("a long answer without spaces wraps inside the margins, every character kept, clusters whole", async () => {
    const sentence = "請求書がとても分かりにくく、住所を二回も入力しなければならなかったので、次からはもっと簡単にしてほしいです。";
    const long = sentence.repeat(60); // about 3,000 characters: measuring ever-shorter prefixes took minutes
    const thai = "หาใบแจ้งหนี้ยากมากและต้องกรอกที่อยู่สองครั้ง".repeat(12);
    const r = read(await sessionPdf(bundle("ja", [long, thai]), "長い回答", nodeFonts()));
    const right = 595.28 - 56;
    expect(r.words.filter((w) => w.xMax > right + 1).map((w) => w.text)).toEqual([]);
    const flat = r.text
      .split("\n")
      .filter((l) => !/Page \d+ of \d+/.test(l)) // the footers between pages
      .join("")
      .replace(/\s+/g, "");
    expect(flat).toContain(long);
    expect(flat).toContain(thai);
    expect(r.inkless).toEqual([]);
  }, 60_000);

  it("an Arabic campaign name in the footer stays clear of the page number", async () => {
    const name = "دراسة تجربة الدفع والفواتير للعملاء الجدد في المتجر الإلكتروني خلال الربع الأخير من السنة";
    const r = read(await sessionPdf(bundle("ar", ["نعم"]), name, nodeFonts()));
    const footer = r.words.filter((w) => w.yMin > 800);
    const page = footer.find((w) => w.text === "Page")!;
    expect(page).toBeDefined();
    const others = footer.filter((w) => !["Page", "of", "1"].includes(w.text));
    expect(others.length).toBeGreaterThan(0);
    expect(Math.max(...others.map((w) => w.xMax))).toBeLessThan(page.xMin);
    // The name is shortened; the session id stays.
    expect(footer.map((w) => w.text)).toContain("ses_pdf0000001");
  });

  it("symbols such as ♥ and ▶ use a face the document has anyway, and load none on their own", async () => {
    const loaded: string[] = [];
    const ja = read(await sessionPdf(bundle("ja", ["とても良かったです♥ ▶次へ"]), "調査", nodeFonts(loaded)));
    expect(ja.text).toContain("♥");
    expect(ja.text).toContain("▶");
    expect(loaded).toEqual(["NotoSansJP-Regular.ttf"]);
    const enLoaded: string[] = [];
    const en = read(await sessionPdf(bundle("en", ["Loved it ♥"]), "Study", nodeFonts(enLoaded)));
    expect(en.text).toContain("Loved it ?");
    expect(enLoaded).toEqual([]);
  });

  it("with no fonts available (no assets binding) non-Latin text degrades to ? instead of failing", async () => {
    const r = read(await sessionPdf(bundle("ja", ["ありがとう"]), "Billing", async () => null));
    expect(r.text).toContain("?????");
  });
});

describe("PDF insights", () => {
  it("counts in the insights read as English: 1 word, 1 pause, 1 answer", async () => {
    const b = bundle("en", ["Yes."]);
    const rows = [{ answer_id: "a0", question_index: 0, follow_up: 0, word_count: 1, sentiment_label: "neutral" as const, sentiment_score: 0, themes: "[]", relevance: 0.5, engagement: 0.3, low_confidence: 0 }];
    const a = sessionAnalytics({ status: "completed", duration: 60, totalQuestions: 1, questionsAnswered: 1, pauseCount: 1, lastQuestionIndex: 0 }, b.transcript as Segment[], [], rows);
    const summary = await new LocalSummarizer().summarize({ answers: [{ question: "Question 1?", answer: "Yes." }], overall: "neutral", themes: [] });
    b.analytics = { ...a, summary } as unknown as SessionExport["analytics"];
    const text = read(await sessionPdf(b, "Billing", nodeFonts())).text.replace(/\s+/g, " ");
    // Before: "average answer 1 words · 1 pauses" and "Longest answer: 1 words."
    expect(text).toContain("average answer 1 word · 1 pause");
    expect(text).toContain("Summary: 1 answer. Overall tone: neutral. Longest answer: 1 word.");
  });
});
