/**
 * Generates `data/sample-chats.jsonl`, the dataset `logitpack extract` runs on when no --dataset is given: 300
 * conversations (single- and multi-turn, some with a system prompt) over 16 subjects, from hand-written templates
 * and fact tables written for this repository. Deterministic: the same script writes the same bytes.
 *
 *   pnpm --filter @logitpack/cli sample-data          # or: tsx scripts/sample-data.ts OTHER_FILE
 *
 * Every number in an answer is computed here, so answers are right; the facts in the tables are common knowledge.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

type Msg = { role: "system" | "user" | "assistant"; content: string };
type Turn = { user: string; assistant: string };
/** A subject's generator: a first exchange and optional follow-ups that continue it. */
type Gen = (r: Rng) => Turn[];

const COUNT = 300;
const OUT = process.argv[2] ?? join(import.meta.dirname, "..", "data", "sample-chats.jsonl");

class Rng {
  #a: number;
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#a ^ (this.#a >>> 15), 1 | this.#a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const fmt = (x: number, d = 2) => {
  const s = x.toFixed(d);
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
};
const thousands = (n: number) => n.toLocaleString("en-US");

// ---------------------------------------------------------------- math
const arithmetic: Gen = (r) => {
  const a = r.int(12, 98);
  const b = r.int(11, 79);
  const tens = Math.floor(b / 10) * 10;
  const ones = b % 10;
  const ask = r.pick([
    `What is ${a} × ${b}?`,
    `Can you multiply ${a} by ${b} in your head and show how?`,
    `Compute ${a} times ${b}.`,
  ]);
  const first: Turn = {
    user: ask,
    assistant: `Split ${b} into ${tens} + ${ones}:\n\n- ${a} × ${tens} = ${a * tens}\n- ${a} × ${ones} = ${a * ones}\n\nAdding them: ${a * tens} + ${a * ones} = **${a * b}**.`,
  };
  const c = r.int(100, 999);
  const second: Turn = {
    user: r.pick([`And if I add ${c} to that?`, `Now add ${c}.`, `What do I get if I then add ${c}?`]),
    assistant: `${a * b} + ${c} = **${a * b + c}**.`,
  };
  const third: Turn = {
    user: "Is the result even or odd?",
    assistant: `${a * b + c} is ${(a * b + c) % 2 === 0 ? "even: it ends in an even digit" : "odd: its last digit is odd"}.`,
  };
  return r.chance(0.35) ? [first, second, third] : r.chance(0.4) ? [first, second] : [first];
};

const algebra: Gen = (r) => {
  const a = r.int(2, 9);
  const x = r.int(-12, 15);
  const b = r.int(-20, 20);
  const c = a * x + b;
  const bs = b >= 0 ? `+ ${b}` : `- ${-b}`;
  const first: Turn = {
    user: r.pick([
      `Solve ${a}x ${bs} = ${c}.`,
      `Find x if ${a}x ${bs} = ${c}.`,
      `How do I solve ${a}x ${bs} = ${c} for x?`,
    ]),
    assistant: `Move the constant to the right side: ${a}x = ${c} ${b >= 0 ? `- ${b}` : `+ ${-b}`} = ${c - b}.\n\nDivide both sides by ${a}: x = ${c - b} / ${a} = **${x}**.\n\nCheck: ${a} × ${x} ${bs} = ${c}. ✓`,
  };
  const follow: Turn = {
    user: "How can I check an answer like that quickly?",
    assistant: `Substitute it back into the original equation. With x = ${x}, the left side is ${a} × ${x} ${bs} = ${c}, which equals the right side, so the solution is correct. If the two sides differ, an arithmetic step went wrong.`,
  };
  return r.chance(0.3) ? [first, follow] : [first];
};

const geometry: Gen = (r) => {
  const kind = r.int(0, 2);
  if (kind === 0) {
    const rad = r.int(2, 30);
    const area = Math.PI * rad * rad;
    const first: Turn = {
      user: `What is the area of a circle with radius ${rad} cm?`,
      assistant: `The area of a circle is A = πr².\n\nA = π × ${rad}² = π × ${rad * rad} ≈ **${fmt(area)} cm²**.`,
    };
    const second: Turn = {
      user: "And its circumference?",
      assistant: `The circumference is C = 2πr = 2 × π × ${rad} ≈ **${fmt(2 * Math.PI * rad)} cm**.`,
    };
    return r.chance(0.5) ? [first, second] : [first];
  }
  if (kind === 1) {
    const triples = [
      [3, 4, 5],
      [5, 12, 13],
      [8, 15, 17],
      [7, 24, 25],
      [20, 21, 29],
      [9, 40, 41],
    ] as const;
    const [p, q, h] = r.pick(triples);
    const k = r.int(1, 4);
    return [
      {
        user: `A right triangle has legs of ${p * k} and ${q * k}. How long is the hypotenuse?`,
        assistant: `By the Pythagorean theorem, c² = a² + b² = ${p * k}² + ${q * k}² = ${(p * k) ** 2} + ${(q * k) ** 2} = ${(h * k) ** 2}.\n\nSo c = √${(h * k) ** 2} = **${h * k}**.`,
      },
    ];
  }
  const w = r.int(3, 40);
  const l = r.int(3, 40);
  return [
    {
      user: `A rectangular garden is ${w} m by ${l} m. How much fencing do I need to go around it, and what is its area?`,
      assistant: `Fencing is the perimeter: 2 × (${w} + ${l}) = **${2 * (w + l)} m**.\nThe area is ${w} × ${l} = **${w * l} m²**.`,
    },
  ];
};

// ---------------------------------------------------------------- physics
const physics: Gen = (r) => {
  const kind = r.int(0, 3);
  if (kind === 0) {
    const v = r.int(3, 24);
    const i = r.pick([0.5, 1, 1.5, 2, 2.5, 3, 4]);
    return [
      {
        user: `A ${fmt(v / i)} Ω resistor carries a current of ${i} A. What is the voltage across it?`,
        assistant: `Ohm's law: V = I × R = ${i} A × ${fmt(v / i)} Ω = **${fmt(v)} V**.`,
      },
      {
        user: "How much power does it dissipate?",
        assistant: `P = V × I = ${fmt(v)} V × ${i} A = **${fmt(v * i)} W**, all of it turned into heat in the resistor.`,
      },
    ].slice(0, r.chance(0.5) ? 2 : 1);
  }
  if (kind === 1) {
    const m = r.int(1, 80);
    const v = r.int(2, 30);
    return [
      {
        user: `What is the kinetic energy of a ${m} kg object moving at ${v} m/s?`,
        assistant: `Kinetic energy is E = ½mv².\n\nE = 0.5 × ${m} kg × (${v} m/s)² = 0.5 × ${m} × ${v * v} = **${thousands(0.5 * m * v * v)} J**.`,
      },
    ];
  }
  if (kind === 2) {
    const u = r.int(0, 10);
    const a = r.int(1, 6);
    const t = r.int(2, 12);
    return [
      {
        user: `A cart starts at ${u} m/s and accelerates at ${a} m/s² for ${t} s. How fast is it going, and how far did it travel?`,
        assistant: `Final speed: v = u + at = ${u} + ${a} × ${t} = **${u + a * t} m/s**.\n\nDistance: s = ut + ½at² = ${u} × ${t} + 0.5 × ${a} × ${t * t} = **${fmt(u * t + 0.5 * a * t * t)} m**.`,
      },
    ];
  }
  const km = r.int(5, 400);
  const c = r.int(-30, 45);
  return [
    {
      user: `Convert ${km} km to miles.`,
      assistant: `One mile is 1.609344 km, so ${km} km ÷ 1.609344 ≈ **${fmt(km / 1.609344)} miles**.`,
    },
    {
      user: `And ${c} °C in Fahrenheit?`,
      assistant: `°F = °C × 9/5 + 32 = ${c} × 1.8 + 32 = **${fmt(c * 1.8 + 32, 1)} °F**.`,
    },
  ].slice(0, r.chance(0.4) ? 2 : 1);
};

// ---------------------------------------------------------------- chemistry
const ELEMENTS = [
  ["hydrogen", "H", 1, 1.008, "the lightest element and the most abundant in the universe"],
  ["helium", "He", 2, 4.0026, "a noble gas, unreactive, used in balloons and to cool superconducting magnets"],
  ["carbon", "C", 6, 12.011, "the basis of organic chemistry; it forms four bonds"],
  ["nitrogen", "N", 7, 14.007, "about 78% of Earth's atmosphere"],
  ["oxygen", "O", 8, 15.999, "needed for respiration and combustion; about 21% of the air"],
  ["sodium", "Na", 11, 22.99, "a soft alkali metal that reacts vigorously with water"],
  ["chlorine", "Cl", 17, 35.45, "a halogen; with sodium it forms table salt"],
  ["iron", "Fe", 26, 55.845, "the main component of steel"],
  ["copper", "Cu", 29, 63.546, "an excellent conductor of electricity, used in wiring"],
  ["silver", "Ag", 47, 107.87, "the best electrical conductor of all metals"],
  ["gold", "Au", 79, 196.97, "a dense, unreactive precious metal"],
  ["calcium", "Ca", 20, 40.078, "an alkaline earth metal found in bones and limestone"],
] as const;
const MASS: Record<string, number> = Object.fromEntries(ELEMENTS.map((e) => [e[1], e[3]]));
const COMPOUNDS = [
  ["water", "H2O", { H: 2, O: 1 }],
  ["carbon dioxide", "CO2", { C: 1, O: 2 }],
  ["table salt", "NaCl", { Na: 1, Cl: 1 }],
  ["methane", "CH4", { C: 1, H: 4 }],
  ["ammonia", "NH3", { N: 1, H: 3 }],
  ["calcium carbonate", "CaCO3", { Ca: 1, C: 1, O: 3 }],
  ["glucose", "C6H12O6", { C: 6, H: 12, O: 6 }],
] as const;

const chemistry: Gen = (r) => {
  if (r.chance(0.5)) {
    const [name, sym, z, m, note] = r.pick(ELEMENTS);
    return [
      {
        user: r.pick([
          `Tell me about ${name}.`,
          `What is the symbol and atomic number of ${name}?`,
          `Give me some facts about the element ${name}.`,
        ]),
        assistant: `${name[0]?.toUpperCase()}${name.slice(1)} has the symbol **${sym}** and atomic number **${z}**, so each atom has ${z} proton${z > 1 ? "s" : ""}. Its standard atomic weight is about ${m}. It is ${note}.`,
      },
    ];
  }
  const [name, formula, parts] = r.pick(COMPOUNDS);
  const terms = Object.entries(parts).map(([el, n]) => ({ el, n, m: (MASS[el] as number) * n }));
  const total = terms.reduce((s, t) => s + t.m, 0);
  const grams = r.int(5, 200);
  const first: Turn = {
    user: `What is the molar mass of ${name} (${formula})?`,
    assistant: `Add the atomic masses:\n\n${terms.map((t) => `- ${t.el}: ${t.n} × ${MASS[t.el]} = ${fmt(t.m, 3)}`).join("\n")}\n\nTotal: **${fmt(total, 2)} g/mol**.`,
  };
  const second: Turn = {
    user: `How many moles are in ${grams} g of it?`,
    assistant: `n = mass / molar mass = ${grams} g ÷ ${fmt(total, 2)} g/mol ≈ **${fmt(grams / total, 3)} mol**.`,
  };
  return r.chance(0.5) ? [first, second] : [first];
};

// ---------------------------------------------------------------- biology
const BIO = [
  [
    "mitochondria",
    "They are the cell's power stations: they make ATP through cellular respiration, using oxygen to break down sugars. They have their own small circular DNA, a trace of their origin as free-living bacteria.",
  ],
  [
    "ribosomes",
    "Ribosomes build proteins. They read the sequence of a messenger RNA three bases at a time and join the matching amino acids brought by transfer RNAs.",
  ],
  [
    "the cell membrane",
    "It is a double layer of phospholipids with proteins embedded in it. It controls what enters and leaves the cell and carries receptors that sense the surroundings.",
  ],
  [
    "chloroplasts",
    "Chloroplasts carry out photosynthesis in plants and algae: chlorophyll captures light, and its energy is used to turn carbon dioxide and water into sugar, releasing oxygen.",
  ],
  [
    "red blood cells",
    "They carry oxygen from the lungs to the tissues, bound to the protein haemoglobin. Mature human red blood cells have no nucleus, which leaves more room for haemoglobin.",
  ],
  [
    "DNA replication",
    "The double helix is unwound and each strand serves as a template. DNA polymerase adds complementary nucleotides (A with T, C with G), so each new molecule keeps one old strand.",
  ],
  [
    "the heart",
    "The human heart has four chambers. The right side pumps blood to the lungs to pick up oxygen; the left side pumps oxygen-rich blood to the rest of the body.",
  ],
  [
    "enzymes",
    "Enzymes are proteins that speed up chemical reactions by lowering their activation energy. Each fits its substrate at an active site, and heat or extreme pH can denature it.",
  ],
  [
    "natural selection",
    "Individuals vary, some variation is inherited, and those whose traits suit the environment leave more offspring. Over generations the helpful traits become more common.",
  ],
  [
    "the immune system",
    "It has an innate part that reacts fast to anything foreign and an adaptive part (B and T cells) that learns to recognise specific pathogens and remembers them.",
  ],
] as const;

const biology: Gen = (r) => {
  const [topic, text] = r.pick(BIO);
  const first: Turn = {
    user: r.pick([
      `What do ${topic} do?`,
      `Explain ${topic} briefly.`,
      `Can you give me a short explanation of ${topic}?`,
    ]),
    assistant: text,
  };
  const follow: Turn = {
    user: "Can you put that in one sentence for a ten-year-old?",
    assistant: `Think of ${topic} as ${r.pick(["a tiny machine", "a busy worker", "a clever part"])} inside living things: ${(text.split(". ")[0] ?? text).replace(/\.$/, "")}.`,
  };
  return r.chance(0.35) ? [first, follow] : [first];
};

// ---------------------------------------------------------------- geography
const COUNTRIES = [
  ["France", "Paris", "Europe", "the Seine flows through it"],
  ["Japan", "Tokyo", "Asia", "it is one of the largest metropolitan areas in the world"],
  ["Kenya", "Nairobi", "Africa", "it lies close to the equator, at about 1,800 m altitude"],
  ["Brazil", "Brasília", "South America", "it was built as a planned city and inaugurated in 1960"],
  ["Canada", "Ottawa", "North America", "it sits on the Ottawa River, on the border of Ontario and Quebec"],
  ["Australia", "Canberra", "Oceania", "it was chosen as a compromise between Sydney and Melbourne"],
  ["Egypt", "Cairo", "Africa", "it lies on the Nile, near the pyramids of Giza"],
  ["Peru", "Lima", "South America", "it is on the Pacific coast and was founded in 1535"],
  ["Norway", "Oslo", "Europe", "it lies at the head of the Oslofjord"],
  ["India", "New Delhi", "Asia", "it is part of the larger Delhi metropolitan area"],
  ["Mexico", "Mexico City", "North America", "it was built on the site of the Aztec capital Tenochtitlan"],
  ["Vietnam", "Hanoi", "Asia", "it lies on the Red River"],
] as const;

const geography: Gen = (r) => {
  const [country, capital, continent, note] = r.pick(COUNTRIES);
  const other = r.pick(COUNTRIES.filter((c) => c[0] !== country));
  const first: Turn = {
    user: r.pick([`What is the capital of ${country}?`, `Which city is the capital of ${country}?`]),
    assistant: `The capital of ${country} is **${capital}**; ${note}.`,
  };
  const second: Turn = { user: `Which continent is it on?`, assistant: `${country} is in ${continent}.` };
  const third: Turn = {
    user: `And the capital of ${other[0]}?`,
    assistant: `The capital of ${other[0]} is **${other[1]}**, in ${other[2]}.`,
  };
  return r.chance(0.3) ? [first, second, third] : r.chance(0.3) ? [first, second] : [first];
};

// ---------------------------------------------------------------- history
const EVENTS = [
  [
    "the printing press with movable type in Europe",
    1450,
    "Johannes Gutenberg in Mainz",
    "Books became far cheaper, which helped spread literacy, the Reformation and the scientific revolution.",
  ],
  [
    "the fall of the Berlin Wall",
    1989,
    "East German border guards opening the crossings on 9 November",
    "It led to German reunification in 1990 and symbolised the end of the Cold War.",
  ],
  [
    "the first Moon landing",
    1969,
    "NASA's Apollo 11 mission",
    "Neil Armstrong and Buzz Aldrin walked on the Moon while Michael Collins orbited above.",
  ],
  [
    "the signing of the Magna Carta",
    1215,
    "King John of England and his barons",
    "It established that the king was subject to the law, an idea that shaped later constitutions.",
  ],
  [
    "the French Revolution",
    1789,
    "the storming of the Bastille on 14 July",
    "It ended the absolute monarchy in France and spread ideas of citizenship and rights.",
  ],
  [
    "the end of the Second World War",
    1945,
    "the surrenders of Germany in May and Japan in September",
    "The United Nations was founded the same year.",
  ],
  [
    "the opening of the Suez Canal",
    1869,
    "the Suez Canal Company",
    "It linked the Mediterranean to the Red Sea and shortened the voyage from Europe to Asia.",
  ],
  [
    "the first powered aeroplane flight",
    1903,
    "the Wright brothers at Kitty Hawk",
    "The first flight lasted 12 seconds and covered about 37 metres.",
  ],
] as const;

const history: Gen = (r) => {
  const [what, year, who, why] = r.pick(EVENTS);
  const first: Turn = {
    user: r.pick([`When was ${what}?`, `What year was ${what}, and why does it matter?`]),
    assistant: `${what[0]?.toUpperCase()}${what.slice(1)} happened in **${year}**, through ${who}. ${why}`,
  };
  const now = 2025;
  const second: Turn = {
    user: "How many years ago is that from 2025?",
    assistant: `${now} - ${year} = **${now - year} years**.`,
  };
  return r.chance(0.4) ? [first, second] : [first];
};

// ---------------------------------------------------------------- programming
const programming: Gen = (r) => {
  const lang = r.pick(["Python", "JavaScript", "TypeScript"]);
  const task = r.int(0, 4);
  const n = r.int(4, 12);
  const code = (py: string, js: string) =>
    lang === "Python" ? `\`\`\`python\n${py}\n\`\`\`` : `\`\`\`${lang === "TypeScript" ? "ts" : "js"}\n${js}\n\`\`\``;
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const tasks: Turn[] = [
    {
      user: `Write a ${lang} function that reverses a string.`,
      assistant: `${code("def reverse(s: str) -> str:\n    return s[::-1]", lang === "TypeScript" ? 'function reverse(s: string): string {\n  return [...s].reverse().join("");\n}' : 'function reverse(s) {\n  return [...s].reverse().join("");\n}')}\n\n${lang === "Python" ? "The slice `[::-1]` walks the string backwards." : "Spreading the string into an array splits it by code point, so emoji and other characters outside the BMP stay intact."}`,
    },
    {
      user: `How do I compute ${n}! in ${lang}?`,
      assistant: `${code(`from math import factorial\n\nprint(factorial(${n}))  # ${fact(n)}`, `let f = 1;\nfor (let i = 2; i <= ${n}; i++) f *= i;\nconsole.log(f); // ${fact(n)}`)}\n\n${n}! = ${thousands(fact(n))}.`,
    },
    {
      user: `Sum the even numbers from 1 to ${n * 10} in ${lang}.`,
      assistant: `${code(`print(sum(range(2, ${n * 10} + 1, 2)))`, `let total = 0;\nfor (let i = 2; i <= ${n * 10}; i += 2) total += i;\nconsole.log(total);`)}\n\nThe result is ${thousands(((n * 10) / 2) * ((n * 10) / 2 + 1))}: there are ${(n * 10) / 2} even numbers and their average is ${(n * 10) / 2 + 1}.`,
    },
    {
      user: `What does this ${lang} code print?\n\n${code(`xs = [${n}, ${n + 3}, ${n * 2}]\nprint(len(xs), max(xs))`, `const xs = [${n}, ${n + 3}, ${n * 2}];\nconsole.log(xs.length, Math.max(...xs));`)}`,
      assistant: `It prints \`3 ${Math.max(n + 3, n * 2)}\`: the list has three elements and the largest is ${Math.max(n + 3, n * 2)}.`,
    },
    {
      user: `Explain what a hash map is, with a ${lang} example.`,
      assistant: `A hash map stores key-value pairs and finds a value by its key in constant time on average: the key is hashed to pick a bucket.\n\n${code('ages = {"ada": 36, "alan": 41}\nages["grace"] = 85\nprint(ages["alan"])  # 41', 'const ages = new Map([["ada", 36], ["alan", 41]]);\nages.set("grace", 85);\nconsole.log(ages.get("alan")); // 41')}`,
    },
  ];
  const first = tasks[task] as Turn;
  const follow: Turn = {
    user: "What is the time complexity?",
    assistant: r.pick([
      "It is linear in the size of the input: each element is visited once.",
      "O(n) time: one pass over the input, with constant work per element.",
    ]),
  };
  return r.chance(0.3) ? [first, follow] : [first];
};

// ---------------------------------------------------------------- cooking
const RECIPES = [
  [
    "pancakes",
    4,
    [
      ["flour", 200, "g"],
      ["milk", 300, "ml"],
      ["eggs", 2, ""],
      ["butter", 30, "g"],
    ],
  ],
  [
    "tomato soup",
    2,
    [
      ["tomatoes", 600, "g"],
      ["onion", 1, ""],
      ["stock", 500, "ml"],
      ["olive oil", 2, "tbsp"],
    ],
  ],
  [
    "banana bread",
    8,
    [
      ["ripe bananas", 3, ""],
      ["flour", 250, "g"],
      ["sugar", 120, "g"],
      ["butter", 100, "g"],
    ],
  ],
  [
    "risotto",
    4,
    [
      ["arborio rice", 320, "g"],
      ["stock", 1200, "ml"],
      ["parmesan", 60, "g"],
      ["white wine", 100, "ml"],
    ],
  ],
] as const;

const cooking: Gen = (r) => {
  const [dish, serves, items] = r.pick(RECIPES);
  const want = r.pick([1, 2, 3, 6, 8, 10, 12].filter((x) => x !== serves));
  const f = want / serves;
  return [
    {
      user: `My ${dish} recipe serves ${serves}: ${items.map(([n, q, u]) => `${q}${u ? ` ${u}` : ""} ${n}`).join(", ")}. How much of each do I need for ${want} people?`,
      assistant: `Multiply every quantity by ${want}/${serves} = ${fmt(f, 3)}:\n\n${items.map(([n, q, u]) => `- ${n}: ${fmt(q * f, 1)}${u ? ` ${u}` : ""}`).join("\n")}\n\n${f > 2 ? "Cooking times change less than quantities: use a larger pan rather than a longer time." : "Keep the cooking time about the same."}`,
    },
  ];
};

// ---------------------------------------------------------------- language
const IDIOMS = [
  ["break the ice", "to start a conversation and make people feel more relaxed"],
  ["bite the bullet", "to make yourself do something unpleasant that cannot be avoided"],
  ["the ball is in your court", "it is now your turn to act or decide"],
  ["once in a blue moon", "very rarely"],
  ["hit the nail on the head", "to describe exactly what is causing a problem"],
  ["let the cat out of the bag", "to reveal a secret by accident"],
  ["under the weather", "feeling slightly ill"],
  ["cost an arm and a leg", "to be very expensive"],
] as const;

const language: Gen = (r) => {
  const [idiom, meaning] = r.pick(IDIOMS);
  const first: Turn = {
    user: r.pick([`What does "${idiom}" mean?`, `Explain the idiom "${idiom}".`]),
    assistant: `"${idiom[0]?.toUpperCase()}${idiom.slice(1)}" means ${meaning}. It is informal and common in both spoken and written English.`,
  };
  const follow: Turn = {
    user: "Use it in a sentence.",
    assistant: r.pick([
      `"At the first team meeting, Sam told a funny story to ${idiom === "break the ice" ? "break the ice" : "lighten the mood"}."`,
      `"I knew it would be hard, so I decided to ${idiom === "bite the bullet" ? "bite the bullet" : "face it"} and start today."`,
      `"Honestly, your summary ${idiom === "hit the nail on the head" ? "hit the nail on the head" : "was spot on"}."`,
    ]),
  };
  return r.chance(0.4) ? [first, follow] : [first];
};

// ---------------------------------------------------------------- astronomy
const PLANETS = [
  ["Mercury", 1, "the smallest planet and the closest to the Sun; a year there lasts 88 Earth days"],
  ["Venus", 2, "the hottest planet, because its thick carbon dioxide atmosphere traps heat"],
  ["Earth", 3, "the only planet known to support life, with liquid water on its surface"],
  ["Mars", 4, "a cold desert world; its red colour comes from iron oxide in its dust"],
  ["Jupiter", 5, "the largest planet, a gas giant with a storm, the Great Red Spot, larger than Earth"],
  ["Saturn", 6, "a gas giant famous for its bright rings of ice and rock"],
  ["Uranus", 7, "an ice giant that rotates on its side"],
  ["Neptune", 8, "the farthest planet from the Sun, with the fastest winds measured in the solar system"],
] as const;

const astronomy: Gen = (r) => {
  const [name, order, note] = r.pick(PLANETS);
  const first: Turn = {
    user: r.pick([`Tell me about ${name}.`, `What is special about ${name}?`]),
    assistant: `${name} is the ${["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"][order - 1]} planet from the Sun. It is ${note}.`,
  };
  const light: Turn = {
    user: "How long does sunlight take to reach Earth?",
    assistant:
      "About 8 minutes and 20 seconds: the Sun is about 150 million km away and light travels at about 300,000 km/s, and 150,000,000 ÷ 300,000 = 500 s.",
  };
  return r.chance(0.3) ? [first, light] : [first];
};

// ---------------------------------------------------------------- economics
const economics: Gen = (r) => {
  const p = r.int(10, 200) * 100;
  const rate = r.pick([2, 3, 4, 5, 6, 7, 8]);
  const years = r.int(2, 15);
  const compound = p * (1 + rate / 100) ** years;
  const first: Turn = {
    user: `If I invest $${thousands(p)} at ${rate}% per year compounded annually, how much will I have after ${years} years?`,
    assistant: `Use A = P(1 + r)^n:\n\nA = ${thousands(p)} × 1.${String(rate).padStart(2, "0")}^${years} ≈ **$${thousands(Math.round(compound * 100) / 100)}**.\n\nThat is $${thousands(Math.round((compound - p) * 100) / 100)} of interest.`,
  };
  const second: Turn = {
    user: "And with simple interest?",
    assistant: `Simple interest is P × r × n = ${thousands(p)} × ${rate / 100} × ${years} = $${thousands(Math.round(p * (rate / 100) * years * 100) / 100)}, so the total is **$${thousands(Math.round((p + p * (rate / 100) * years) * 100) / 100)}**. Compounding earns more because interest also earns interest.`,
  };
  if (r.chance(0.3)) {
    const a = r.int(20, 300);
    const b = r.int(20, 300);
    return [
      {
        user: `A price went from ${a} to ${b}. What is the percentage change?`,
        assistant: `(${b} - ${a}) / ${a} × 100 = **${fmt(((b - a) / a) * 100, 1)}%** (${b >= a ? "an increase" : "a decrease"}).`,
      },
    ];
  }
  return r.chance(0.4) ? [first, second] : [first];
};

// ---------------------------------------------------------------- health, music, writing, statistics
const HEALTH = [
  [
    "How much water should an adult drink a day?",
    "Needs vary with body size, activity and climate. A common guideline is about 2 to 3 litres of total water a day, including what comes from food; thirst and pale yellow urine are good everyday guides.",
  ],
  [
    "Why is sleep important?",
    "During sleep the brain consolidates memories and clears waste products, and the body repairs tissue and regulates hormones. Most adults need 7 to 9 hours; regular short sleep affects mood, attention and health.",
  ],
  [
    "What counts as moderate exercise?",
    "Activity that raises your heart rate and breathing but still lets you talk, such as brisk walking or easy cycling. Many guidelines suggest at least 150 minutes a week.",
  ],
  [
    "Is stretching before running useful?",
    "A short dynamic warm-up (leg swings, easy jogging) prepares muscles better than long static stretches, which are more useful after exercise.",
  ],
] as const;

const health: Gen = (r) => {
  const [q, a] = r.pick(HEALTH);
  return [{ user: q, assistant: `${a}\n\nThis is general information; a doctor can give advice for your situation.` }];
};

const statistics: Gen = (r) => {
  const xs = Array.from({ length: r.int(5, 9) }, () => r.int(1, 50));
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const mid =
    sorted.length % 2 === 1
      ? (sorted[(sorted.length - 1) / 2] as number)
      : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  const first: Turn = {
    user: `What are the mean and the median of ${xs.join(", ")}?`,
    assistant: `Mean: (${xs.join(" + ")}) / ${xs.length} = ${xs.reduce((s, x) => s + x, 0)} / ${xs.length} ≈ **${fmt(mean)}**.\n\nMedian: sorted, the values are ${sorted.join(", ")}; the middle ${sorted.length % 2 === 1 ? "value is" : "two values average to"} **${fmt(mid)}**.`,
  };
  const follow: Turn = {
    user: "Which is better to describe typical values?",
    assistant: `The median is less affected by extreme values. Here the mean (${fmt(mean)}) and the median (${fmt(mid)}) are ${Math.abs(mean - mid) < 3 ? "close, so the data is fairly symmetric" : "some way apart, a sign of skew"}.`,
  };
  return r.chance(0.35) ? [first, follow] : [first];
};

const writing: Gen = (r) => {
  const topic = r.pick([
    "a rainy morning",
    "an old lighthouse",
    "the first day of spring",
    "a quiet library",
    "a city at night",
    "a mountain lake",
  ]);
  const poems: Record<string, string> = {
    "a rainy morning": "Grey light on the window,\nthe gutters hum a low tune;\ncoffee steams, the day waits.",
    "an old lighthouse": "Salt on white stone walls,\na lamp that still turns for ships\nthat no longer come.",
    "the first day of spring":
      "Snow gives up the path,\na blackbird tests its new song;\nbuds count to three, then open.",
    "a quiet library": "Dust in slanted light,\npages turning like soft wings;\nsomeone's pencil taps.",
    "a city at night": "Neon on wet streets,\nthe last bus sighs at the stop;\nwindows keep their secrets.",
    "a mountain lake": "Still water, cold sky,\na fish breaks the mirror once;\nthe peaks mend it slowly.",
  };
  return [
    {
      user: `Write a short poem about ${topic}.`,
      assistant: poems[topic] as string,
    },
    {
      user: "Give it a title.",
      assistant: r.pick([`"${topic[0]?.toUpperCase()}${topic.slice(1)}"`, `"Small Hours"`, `"What Stays"`]),
    },
  ].slice(0, r.chance(0.4) ? 2 : 1);
};

const SUBJECTS: [string, Gen][] = [
  ["math", arithmetic],
  ["algebra", algebra],
  ["geometry", geometry],
  ["physics", physics],
  ["chemistry", chemistry],
  ["biology", biology],
  ["geography", geography],
  ["history", history],
  ["programming", programming],
  ["cooking", cooking],
  ["language", language],
  ["astronomy", astronomy],
  ["economics", economics],
  ["health", health],
  ["statistics", statistics],
  ["writing", writing],
];

const SYSTEM = [
  "You are a helpful assistant.",
  "You are a concise tutor. Show your working.",
  "You are a friendly teacher who explains things simply.",
];

function main(): void {
  const r = new Rng(20240607);
  const lines: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const [subject, gen] = SUBJECTS[i % SUBJECTS.length] as [string, Gen];
    const turns = gen(r);
    const messages: Msg[] = [];
    if (r.chance(0.2)) {
      messages.push({ role: "system", content: r.pick(SYSTEM) });
    }
    for (const t of turns) {
      messages.push({ role: "user", content: t.user }, { role: "assistant", content: t.assistant });
    }
    lines.push(JSON.stringify({ id: `sample-${String(i).padStart(4, "0")}`, subject, messages }));
  }
  const text = `${lines.join("\n")}\n`;
  writeFileSync(OUT, text);
  const multi = lines.filter(
    (l) => (JSON.parse(l).messages as Msg[]).filter((m) => m.role === "assistant").length > 1,
  ).length;
  console.log(`${OUT}: ${COUNT} conversations (${multi} multi-turn), ${text.length} bytes`);
}

main();
