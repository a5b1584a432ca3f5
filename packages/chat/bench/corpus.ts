/**
 * A deterministic synthetic corpus for benchmarks: English-like prose from a fixed word list (Zipf-weighted), with
 * Markdown headings and lists, code blocks, numbers and ~2 % non-ASCII (accents, CJK, emoji). Generated from a seed,
 * so figures do not depend on what happens to be installed.
 */
const WORDS = (
  "the of and to a in is that for it as was with be by on not he this are or his from at which but have an they " +
  "you were her all she there would their we him been has when who will more no if out so said what up its about " +
  "into than them can only other new some could time these two may then do first any my now such like our over man " +
  "me even most made after also did many before must through back years where much your way well down should because " +
  "each just those people how too little state good very make world still own see men work long get here between both " +
  "life being under never day same another know while last might us great old year off come since against go came " +
  "right used take three states himself few house use during without again place around however home small found " +
  "thought went say part once general high upon school every does got united left number course war until always away " +
  "something fact though water less public put think almost hand enough far took head yet government system better " +
  "set told nothing night end why called didn eyes find going look asked later knew point next program city business " +
  "give group toward young days let room president side social given present several order national possible rather " +
  "second face per among form important often things looked early white case john become large big need four within " +
  "felt along children saw best church ever least power development light thing seemed family interest want members " +
  "mind country area others although turned done open god service certain kind problem began different door thus help " +
  "sense means whole matter perhaps itself york times law human line above name example action company hands local " +
  "show whether five history gave today either act feet across taken past quite anything seen having death experience " +
  "body word half really field am car words already themselves information tell together college shall money period " +
  "held keep sure probably free seems political real behind cannot miss question air office making brought whose " +
  "special heard major problems ago became federal moment study available known result street economic boy position " +
  "reason change south board individual job areas society west close turn love community true court force full seem " +
  "function variable compute tokenizer gradient tensor model training dataset batch sequence length memory kernel"
).split(" ");

const EXTRA = ["café", "naïve", "Zürich", "漢字", "東京", "日本語", "데이터", "🙂", "🚀", "👍🏽", "—", "…", "±", "≤"];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `chars` characters of text. */
export function syntheticCorpus(chars: number, seed = 1): string {
  const r = rng(seed);
  const word = () => {
    if (r() < 0.02) {
      return EXTRA[Math.floor(r() * EXTRA.length)] as string;
    }
    if (r() < 0.03) {
      return String(Math.floor(r() ** 3 * 100000));
    }
    return WORDS[Math.floor(r() ** 2.2 * WORDS.length)] as string;
  };
  const sentence = () => {
    const n = 5 + Math.floor(r() * 20);
    const ws = Array.from({ length: n }, word);
    const first = ws[0] as string;
    ws[0] = first.charAt(0).toUpperCase() + first.slice(1);
    return `${ws.join(r() < 0.1 ? ", " : " ")}${r() < 0.1 ? "?" : "."}`;
  };
  const parts: string[] = [];
  let total = 0;
  while (total < chars) {
    const kind = r();
    let block: string;
    if (kind < 0.08) {
      block = `## ${sentence().slice(0, -1)}`;
    } else if (kind < 0.18) {
      block = Array.from({ length: 2 + Math.floor(r() * 4) }, () => `- ${sentence()}`).join("\n");
    } else if (kind < 0.24) {
      const name = word();
      block = `\`\`\`ts\nfunction ${name}Of(x: number): number {\n  const ${name} = x * ${Math.floor(r() * 100)};\n  return ${name} + 1;\n}\n\`\`\``;
    } else {
      block = Array.from({ length: 2 + Math.floor(r() * 5) }, sentence).join(" ");
    }
    parts.push(block);
    total += block.length + 2;
  }
  return parts.join("\n\n");
}
