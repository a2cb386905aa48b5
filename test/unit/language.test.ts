// Which texts the English-only models (sentiment classifier, Aura voice) may be given when a
// campaign names no language.
import { describe, expect, it } from "vitest";
import { looksEnglish } from "../../src/ai/language";
import { words } from "../../src/ai/words";

describe("looksEnglish", () => {
  it("reads ordinary English answers as English, short ones included", () => {
    for (const t of ["The price was too high for what we got.", "I don't know", "Mostly the onboarding emails, and the team's dashboard.", "Not bad", "Anything else you would like the team to hear?"]) expect(looksEnglish(t), t).toBe(true);
  });

  it("does not take other Latin-script languages, other scripts or bare words for English", () => {
    for (const t of [
      "Me encantó lo rápido que fue el pago, pero no encontré la factura.",
      "Le prix était trop élevé pour ce que nous avons reçu.",
      "Der Preis war zu hoch, und die Rechnung war schwer zu finden.",
      "O preço era alto demais e a fatura difícil de achar.",
      "請求書が分かりにくかった",
      "كانت الفواتير صعبة",
      "Pricing",
      "123",
      // Polish, Italian, Danish, Croatian, Czech: "to", "i", "at", "for", "je" are words there too.
      "To jest super",
      "Szybko i tanio",
      "Mi piacciono i colori",
      "Jeg synes at det er for dyrt",
      "Cena je bila visoka i dostava spora",
      "To je moc drahé a faktura chyběla",
    ])
      expect(looksEnglish(t), t).toBe(false);
  });
});

describe("words", () => {
  it("keeps the vowel signs of Indic scripts inside their words", () => {
    expect(words("ज़्यादातर स्वागत ईमेल उलझा देते थे")).toEqual(["ज़्यादातर", "स्वागत", "ईमेल", "उलझा", "देते", "थे"]);
    expect(words("বিলটি খুঁজে পাওয়া কঠিন ছিল।")).toEqual(["বিলটি", "খুঁজে", "পাওয়া", "কঠিন", "ছিল"]);
    expect(words("பில்லைக் கண்டுபிடிப்பது கடினம்")).toHaveLength(3);
  });

  it("counts English and unspaced scripts as before", () => {
    expect(words("The team's dashboard, mostly!")).toEqual(["the", "team's", "dashboard", "mostly"]);
    expect(words("请求书很难找到").length).toBeGreaterThan(1);
  });
});
