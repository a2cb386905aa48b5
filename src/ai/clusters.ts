// Response patterns: answers to one question grouped by similarity, one answer at a time
// (leader clustering over unit vectors). Pure: the campaign's object keeps the clusters and
// calls these; the vectors come from an Embedder (Workers AI or the local hashed terms).

import { UNSPACED, words } from "./words";

export interface ClusterState {
  id: number;
  count: number;
  /** The running mean of its members' unit vectors. */
  centroid: number[];
  /** In how many member answers each keyword occurs (the most frequent 40 kept, first seen first among equals). */
  terms: Record<string, number>;
}

export type Assignment = { kind: "join"; id: number; similarity: number } | { kind: "new" };

/** Most clusters kept per question; later answers join the nearest one. */
export const MAX_CLUSTERS = 6;
const MAX_TERMS = 40;

const STOP = new Set(
  ("the a an and or but to of in on at for with is was are were it its this that these those i we you they he she my our your their me us them " +
    "be been being have has had do did does not no so just very really also too than then there here what which who when where why how " +
    "would could should can will about from into out up down over more most some any all much many one thing things like get got use used using " +
    "because if as by im i'm it's don't dont didn't isn't").split(" "),
);

// The same for the other languages the participant page speaks that put spaces between words:
// articles, pronouns, prepositions, conjunctions, auxiliaries and filler. Without them a German
// cluster was labelled "der · die". One set for all: an answer's language is not known here, so
// words that are content in English ("car", "son", "fast", "door") are left out.
const STOP_OTHER: Record<string, string> = {
  de: "der die das den dem des ein eine einen einem einer eines und oder aber doch denn weil wenn dass als wie auch noch schon nur sehr mehr ganz nicht kein keine keinen ich mich mir wir uns unser unsere sie ihr ihre ihnen ihm ihn man mein meine meinen dein sein seine seinen dies diese dieser dieses war waren bin ist sind hat habe haben hatte hatten wird werden wurde wurden kann können konnte muss müssen soll sollte würde wäre mit von bei aus nach für gegen ohne über unter vor zum zur beim vom ins auf bis durch dann also hier dort immer wirklich etwas alles viel viele was wer warum ob gibt gab einfach eigentlich mal",
  fr: "les une des du au aux et ou mais donc que qui quoi dont où ce cet cette ces je tu il elle on nous vous ils elles moi toi lui leur leurs mon ma mes ton ta tes sa ses notre nos votre vos est sont était étaient être été avoir avons avez ont avait avaient fait faire peut dois doit va vais vont pas plus très trop aussi bien tout tous toute toutes dans sur sous avec sans pour par chez entre vers comme quand parce alors encore déjà juste vraiment ça cela ceci rien même",
  es: "el la los las un una unos unas lo al del de y o pero porque que qué como cuando donde quien yo tú él ella nosotros nosotras vosotros ellos ellas nos les mi mis tus su sus nuestro nuestra es son era eran fue ser estar está están estaba estoy soy somos hay había ha han he hemos tiene tener tengo tenemos puede poder muy más menos también tan todo todos toda todas con sin para por en entre sobre desde hasta hacia ya sí esto esta este estos estas eso esa ese esos esas algo nada mucho muchos poco realmente solo sólo cosa cosas creo",
  it: "il lo gli le uno di del della dei degli delle al allo alla ai agli alle da dal dalla dai nel nella nei con per su sul sulla tra fra ed ma perché che chi cosa come quando dove io lui lei noi voi loro mio mia miei mie tuo sua suo suoi nostro nostra è sono era erano essere stato stata ho hai ha abbiamo avete hanno avere fa fare può molto più meno anche tanto tutto tutti tutta tutte non già ancora solo proprio questo questa questi queste quello quella davvero niente qualcosa",
  pt: "os as um uma uns umas do da dos das no na nos nas ao aos em por para com sem sobre entre ou mas porque que quem como quando onde eu ele ela nós eles elas lhe lhes meu minha meus minhas seu sua seus suas nosso nossa é são era eram foi ser estar está estão estava sou somos há tem têm ter tenho temos pode poder muito mais menos também tão todo todos toda todas não já ainda só isso isto esse essa este esta aquele aquela algo nada coisa realmente acho",
  nl: "de het een en maar want omdat dat die dit deze wat wie waar wanneer hoe ik jij je hij zij ze wij we jullie mij mijn jouw zijn haar ons onze hun hen is was waren ben bent heeft hebben had hadden wordt worden werd kan kunnen kon moet moeten zou zal met van voor naar op aan bij uit over onder tot om te niet geen ook nog al heel erg zeer meer veel alles iets niets echt gewoon dan als zo er hier daar",
  pl: "na do od po za ze we dla przez przy bez nad pod przed między oraz lub albo ale że bo czy jak gdy kiedy gdzie co kto ja ty on ona ono my wy oni one mnie mi cię ci go mu jej ich im nas nam was wam się mój moja moje nasz nasza jest są był była było byli być mam ma mamy mają miał może można bardzo więcej też także już jeszcze tylko nie tak to ten ta te tego tej tym naprawdę coś nic wszystko",
  tr: "bir ve veya ile ama fakat çünkü için gibi kadar daha çok en bu şu bunu şunu onu bunlar onlar ben sen biz siz beni bana benim bizim sizin onun ne neden nasıl nerede kim mi mı mu mü de da ki değil var yok olan olarak oldu olur ise ya hem her şey gerçekten sadece yani zaten",
  id: "yang dan atau tetapi tapi karena untuk dengan dari ke di pada dalam oleh tentang saya aku kami kita anda kamu dia mereka ini itu ada adalah akan sudah telah belum tidak bukan juga sangat lebih bisa dapat harus mau ingin seperti jadi kalau jika saat ketika apa siapa mana bagaimana mengapa kenapa hal sekali banyak semua saja",
  ru: "и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну ли если уже или ни быть был была были него до вас опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем сам чтобы без чего раз тоже себе под будет тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем нее сейчас всех можно при об хоть после над больше тот через эти нас про всего них какая много эту моя свою этой перед всегда конечно всю между это очень просто",
};
const STOP_SPACED = new Set(Object.values(STOP_OTHER).flatMap((list) => list.split(" ")));
const isStop = (w: string) => STOP.has(w) || STOP_SPACED.has(w);
// French and Italian elide articles and pronouns into the next word: "l'application", "dell'app".
const ELISION = /^(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|all|dall|dell|nell|sull|quell|un)'/;

// Frequent Chinese and Japanese words that say nothing about the topic (pronouns, connectives,
// "think", "very", "this time"...): without them a cluster's label is its answers' filler.
const STOP_CJK = new Set(
  ("我们 你们 他们 她们 我的 你的 觉得 认为 因为 所以 但是 可是 不过 然后 还是 就是 没有 什么 这个 那个 这些 那些 一个 一些 非常 特别 比较 真的 已经 如果 时候 可以 应该 可能 需要 知道 现在 其实 还有 " +
    "私 自分 今回 場合 本当 思い 感じ 特に 少し 全部 一番 時間 今日 最初 最後 以外 以上").split(" "),
);

// In Chinese and Japanese the content words carry Han or katakana; hiragana-only words are mostly particles.
const CONTENT_UNSPACED = /[\p{Script=Han}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** The words of an answer that carry meaning: lower case, stop words out, plural -s folded. */
export function keywords(text: string): string[] {
  const out: string[] = [];
  for (const raw of words(text.normalize("NFC"))) {
    if (UNSPACED.test(raw)) {
      // Chinese, Japanese, Thai: ICU's dictionary words; two characters already make a word.
      if (raw.length >= 2 && CONTENT_UNSPACED.test(raw) && !STOP_CJK.has(raw)) out.push(raw);
      continue;
    }
    const w = raw.replace(ELISION, "").replace(/'s?$/, "");
    if (w.length < 3 || isStop(w) || /^\d+$/.test(w)) continue;
    // English plural -s; not -ss, -is, -us ("process", "analysis", "status", German "Preis").
    out.push(w.length > 4 && w.endsWith("s") && !/(?:ss|is|us)$/.test(w) ? w.slice(0, -1) : w);
  }
  return out;
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Where a new answer goes: the most similar cluster if it is similar enough, a new cluster while
 * the question has fewer than `max`, otherwise the most similar cluster anyway.
 */
export function assign(clusters: Pick<ClusterState, "id" | "centroid">[], v: number[], threshold: number, max = MAX_CLUSTERS): Assignment {
  let best: { id: number; similarity: number } | null = null;
  for (const c of clusters) {
    const similarity = cosine(c.centroid, v);
    if (!best || similarity > best.similarity || (similarity === best.similarity && c.id < best.id)) best = { id: c.id, similarity };
  }
  if (best && (best.similarity >= threshold || clusters.length >= max)) return { kind: "join", ...best };
  return { kind: "new" };
}

function countTerms(into: Record<string, number>, terms: string[]): Record<string, number> {
  const next = { ...into };
  for (const t of new Set(terms)) next[t] = (next[t] ?? 0) + 1;
  // A stable sort: among equals, the words seen first (an answer's themes, then its words in order) lead.
  const kept = Object.entries(next).sort((a, b) => b[1] - a[1]).slice(0, MAX_TERMS);
  return Object.fromEntries(kept);
}

export function newCluster(id: number, v: number[], terms: string[]): ClusterState {
  return { id, count: 1, centroid: [...v], terms: countTerms({}, terms) };
}

/** The cluster with one more member: its centroid moves toward the answer by 1/(n+1). */
export function addTo(c: ClusterState, v: number[], terms: string[]): ClusterState {
  const n = c.count + 1;
  return { id: c.id, count: n, centroid: c.centroid.map((x, i) => x + ((v[i] ?? 0) - x) / n), terms: countTerms(c.terms, terms) };
}

/**
 * A readable name: up to three words shared by at least a third of its answers (the most
 * shared first), at least its most shared word, or "other" when its answers had none.
 */
export function labelOf(terms: Record<string, number>, count: number): string {
  // Stop words are dropped here too, so clusters folded before a language's list was added lose
  // theirs (a stored term may be a plural folded to its stem: "leurs" was kept as "leur").
  const ranked = Object.entries(terms)
    .filter(([t]) => !isStop(t) && !isStop(`${t}s`))
    .sort((a, b) => b[1] - a[1]);
  const shared = ranked.filter(([, n], i) => i === 0 || n >= Math.max(2, Math.ceil(count / 3))).slice(0, 3);
  return shared.length ? shared.map(([t]) => t).join(" · ") : "other";
}
