/**
 * Python semantics over `@huggingface/jinja` (pinned, unmodified): transformers renders chat templates with Python's
 * Jinja2, where `'x'.strip('\n')` is Python's `str.strip`, `tojson` is `json.dumps`, and template newlines are
 * normalized. The JS engine differs on each of these (it ignores `strip`'s argument, writes the float `21.0` as
 * `21`, keeps `\r` in templates). Rather than patch the dependency (a pnpm patch does not reach users of the
 * published package), this module rewrites the *parsed AST* of every template: each call of a Python string
 * method (`x.strip(...)`, `x.split(...)`, ...) and each `trim`/`title`/`capitalize`/`tojson` filter becomes a call
 * of one helper implemented here with Python's rules. Everything else is the engine's own evaluation.
 */
import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";

/** A Python `float` whose value is integral (`21.0`): JS numbers cannot tell it from an `int`. */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  toJSON(): number {
    return this.value;
  }
}

/** Marks a number as a Python float (renders `21.0`, not `21`). */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

const FLOAT_KEY = "\uFDD2logitpack-float";

/**
 * `JSON.parse` that keeps Python's int/float distinction: a number literal with a fraction or an exponent
 * (`21.0`, `1e3`) becomes a `PyFloat` when its value is integral, as `json.loads` would give a float.
 */
export function parseJsonPython(text: string): unknown {
  if (!/[.eE]/.test(text)) {
    return JSON.parse(text);
  }
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (m) =>
    m.startsWith('"') || !/[.eE]/.test(m) ? m : `{"${FLOAT_KEY}":"${m}"}`,
  );
  return JSON.parse(marked, (_k, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const s = (v as Record<string, unknown>)[FLOAT_KEY];
      if (typeof s === "string") {
        const n = Number(s);
        return Number.isInteger(n) ? new PyFloat(n) : n;
      }
    }
    return v;
  });
}

/** Python's `repr(float)`: shortest round-trip digits, `21.0`, `1e-07`, `1e+16`, `inf`, `nan`. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) {
    return "nan";
  }
  if (!Number.isFinite(x)) {
    return x > 0 ? "inf" : "-inf";
  }
  if (x === 0) {
    return Object.is(x, -0) ? "-0.0" : "0.0";
  }
  const [mant, expPart] = x.toExponential().split("e") as [string, string];
  const exp = Number(expPart);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${neg ? "-" : ""}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let s: string;
  if (exp < 0) {
    s = `0.${"0".repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    s = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  } else {
    s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${s}` : s;
}

/** Code points Python's `str.isspace()` accepts (what `strip()`/`split()` without arguments remove). */
export function isPyWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Python `str.strip/lstrip/rstrip(chars)`: `chars` undefined/null strips whitespace, else those code points. */
export function pyStrip(s: string, chars: string | null | undefined, left: boolean, right: boolean): string {
  const cps = Array.from(s);
  const set = chars === undefined || chars === null ? undefined : new Set(Array.from(chars));
  const drop = (cp: string) => (set === undefined ? isPyWhitespace(cp.codePointAt(0) as number) : set.has(cp));
  let a = 0;
  let b = cps.length;
  if (left) {
    while (a < b && drop(cps[a] as string)) {
      a++;
    }
  }
  if (right) {
    while (b > a && drop(cps[b - 1] as string)) {
      b--;
    }
  }
  return cps.slice(a, b).join("");
}

/** Python `str.split(sep=None, maxsplit=-1)` (and `rsplit` with `fromRight`). */
export function pySplit(s: string, sep: string | null | undefined, maxsplit = -1, fromRight = false): string[] {
  if (sep === "") {
    throw new Error("ValueError: empty separator");
  }
  if (sep === undefined || sep === null) {
    const cps = Array.from(s);
    const ws = (i: number) => isPyWhitespace(cps[i]?.codePointAt(0) as number);
    const out: string[] = [];
    if (!fromRight) {
      let i = 0;
      while (i < cps.length) {
        while (i < cps.length && ws(i)) {
          i++;
        }
        if (i >= cps.length) {
          break;
        }
        if (maxsplit >= 0 && out.length === maxsplit) {
          out.push(cps.slice(i).join(""));
          break;
        }
        const start = i;
        while (i < cps.length && !ws(i)) {
          i++;
        }
        out.push(cps.slice(start, i).join(""));
      }
      return out;
    }
    let i = cps.length - 1;
    while (i >= 0) {
      while (i >= 0 && ws(i)) {
        i--;
      }
      if (i < 0) {
        break;
      }
      if (maxsplit >= 0 && out.length === maxsplit) {
        out.push(cps.slice(0, i + 1).join(""));
        break;
      }
      const end = i + 1;
      while (i >= 0 && !ws(i)) {
        i--;
      }
      out.push(cps.slice(i + 1, end).join(""));
    }
    return out.reverse();
  }
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length - 1 <= maxsplit) {
    return parts;
  }
  if (!fromRight) {
    return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
  }
  const keep = parts.length - maxsplit;
  return [parts.slice(0, keep).join(sep), ...parts.slice(keep)];
}

/** Python `str.replace(old, new, count=-1)`, an empty `old` included. */
export function pyReplace(s: string, old: string, repl: string, count = -1): string {
  if (count === 0) {
    return s;
  }
  if (old === "") {
    const cps = Array.from(s);
    const out: string[] = [];
    let n = 0;
    for (const cp of cps) {
      if (count < 0 || n < count) {
        out.push(repl);
        n++;
      }
      out.push(cp);
    }
    if (count < 0 || n < count) {
      out.push(repl);
    }
    return out.join("");
  }
  if (count < 0) {
    return s.split(old).join(repl);
  }
  let out = "";
  let from = 0;
  for (let n = 0; n < count; n++) {
    const at = s.indexOf(old, from);
    if (at < 0) {
      break;
    }
    out += s.slice(from, at) + repl;
    from = at + old.length;
  }
  return out + s.slice(from);
}

const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;

/** Characters whose titlecase differs from their uppercase (digraphs, ß). */
const TITLECASE: Record<string, string> = {
  "\u01C4": "\u01C5",
  "\u01C5": "\u01C5",
  "\u01C6": "\u01C5",
  "\u01C7": "\u01C8",
  "\u01C8": "\u01C8",
  "\u01C9": "\u01C8",
  "\u01CA": "\u01CB",
  "\u01CB": "\u01CB",
  "\u01CC": "\u01CB",
  "\u01F1": "\u01F2",
  "\u01F2": "\u01F2",
  "\u01F3": "\u01F2",
  "\u00DF": "Ss",
};

function toTitle(cp: string): string {
  return TITLECASE[cp] ?? cp.toUpperCase();
}

/** Python `str.title()`: a cased character after an uncased one is upper-cased, the others lower-cased. */
export function pyTitle(s: string): string {
  let out = "";
  let prevCased = false;
  for (const cp of s) {
    out += prevCased ? cp.toLowerCase() : toTitle(cp);
    prevCased = CASED.test(cp);
  }
  return out;
}

/** Python `str.capitalize()` (3.8+): first character upper-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const cps = Array.from(s);
  if (cps.length === 0) {
    return s;
  }
  return toTitle(cps[0] as string) + cps.slice(1).join("").toLowerCase();
}

/** Jinja2's `title` filter: each word (after `-`, whitespace, `(`, `{`, `[`, `<`) capitalized, the rest lower. */
export function jinjaTitle(s: string): string {
  return s
    .split(/([-\s({[<]+)/u)
    .filter((x) => x !== "")
    .map((item) => {
      const cps = Array.from(item);
      return (cps[0] as string).toUpperCase() + cps.slice(1).join("").toLowerCase();
    })
    .join("");
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime values of @huggingface/jinja, seen structurally (the classes are not exported; they are found by probing).

interface RV {
  type: string;
  value: unknown;
}

type RVClass = new (value?: unknown) => RV;

interface Classes {
  Integer: RVClass;
  Float: RVClass;
  String: RVClass;
  Boolean: RVClass;
  Null: RVClass;
  Undefined: RVClass;
  Array: RVClass;
  Object: RVClass;
  Function: RVClass;
  /** The engine's tests (`defined`, `none`, `string`, ...), by name. */
  tests: Map<string, (...args: RV[]) => boolean>;
}

let classes: Classes | undefined;

function runtimeClasses(): Classes {
  if (classes === undefined) {
    const probe = new Environment();
    const values: Record<string, unknown> = { i: 1, f: 1.5, s: "", b: true, n: null, a: [], o: {}, fn: () => 0 };
    for (const [k, v] of Object.entries(values)) {
      probe.set(k, v);
    }
    const cls = (k: string) => (probe.lookupVariable(k) as unknown as { constructor: RVClass }).constructor;
    classes = {
      Integer: cls("i"),
      Float: cls("f"),
      String: cls("s"),
      Boolean: cls("b"),
      Null: cls("n"),
      Undefined: cls("missing"),
      Array: cls("a"),
      Object: cls("o"),
      Function: cls("fn"),
      tests: (probe as unknown as { tests: Map<string, (...args: RV[]) => boolean> }).tests,
    };
  }
  return classes;
}

/** Like the engine's own conversion of context values, but a `PyFloat` becomes a float value. */
function toRuntime(v: unknown, c: Classes): RV {
  switch (typeof v) {
    case "number":
      return Number.isInteger(v) ? new c.Integer(v) : new c.Float(v);
    case "bigint":
      return new c.Integer(Number(v));
    case "string":
      return new c.String(v);
    case "boolean":
      return new c.Boolean(v);
    case "undefined":
      return new c.Undefined();
    case "object": {
      if (v === null) {
        return new c.Null();
      }
      if (v instanceof PyFloat) {
        return new c.Float(v.value);
      }
      if (Array.isArray(v)) {
        return new c.Array(v.map((x) => toRuntime(x, c)));
      }
      const map = new Map<string, RV>();
      for (const [k, x] of Object.entries(v)) {
        map.set(k, toRuntime(x, c));
      }
      return new c.Object(map);
    }
    default:
      throw new TypeError(`cannot pass a ${typeof v} to a chat template`);
  }
}

const HELPER = "__logitpack_py__";
/** The helper that takes and returns the engine's runtime values (no conversion: floats, identities kept). */
const RV_HELPER = "__logitpack_pyrv__";
/** Filters whose item lookups follow Jinja2 (a missing attribute is Undefined and still goes through the test). */
const RV_FILTERS = new Set(["selectattr", "rejectattr"]);

/** String methods evaluated with Python's rules (a call `s.name(...)` on a string). */
const METHODS = new Set([
  "strip",
  "lstrip",
  "rstrip",
  "split",
  "rsplit",
  "startswith",
  "endswith",
  "replace",
  "title",
  "capitalize",
  "upper",
  "lower",
  "join",
  "count",
  "find",
  "index",
]);
/** Filters evaluated with Python's (Jinja2's, transformers') rules. */
const FILTERS = new Set(["trim", "title", "capitalize", "tojson", "upper", "lower", "string", "length", "count"]);

type Node = { type: string; [key: string]: unknown };

/** Statement node types (everything else in a block is an output expression). */
const STATEMENTS = new Set([
  "Program",
  "Set",
  "If",
  "For",
  "Macro",
  "CallStatement",
  "FilterStatement",
  "Break",
  "Continue",
  "Comment",
]);
/** Properties of statement nodes that hold a block of statements. */
const BLOCK_KEYS = ["body", "alternate", "defaultBlock"];

function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && typeof (x as { type?: unknown }).type === "string";
}

const ident = (value: string): Node => ({ type: "Identifier", value });
const str = (value: string): Node => ({ type: "StringLiteral", value });
const arr = (value: Node[]): Node => ({ type: "ArrayLiteral", value });

/** Rewrites method calls and filters of `node` (in place) into calls of the Python helper. */
function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      node[i] = rewrite(node[i]);
    }
    return node;
  }
  if (node instanceof Map) {
    const entries = [...node.entries()].map(([k, v]) => [rewrite(k), rewrite(v)] as const);
    node.clear();
    for (const [k, v] of entries) {
      node.set(k, v);
    }
    return node;
  }
  if (!isNode(node)) {
    return node;
  }
  for (const key of Object.keys(node)) {
    if (key !== "type") {
      node[key] = rewrite(node[key]);
    }
  }
  for (const key of BLOCK_KEYS) {
    const block = node[key];
    if (Array.isArray(block)) {
      // `{{ expr }}` prints Python's str(): True/False/None, float repr
      for (let i = 0; i < block.length; i++) {
        const el = block[i] as Node;
        if (isNode(el) && !STATEMENTS.has(el.type) && el.type !== "StringLiteral") {
          block[i] = { type: "CallExpression", callee: ident(HELPER), args: [str("o:str"), arr([el])] };
        }
      }
    }
  }
  if (node.type === "CallExpression") {
    const callee = node.callee as Node;
    const args = node.args as Node[];
    if (callee.type === "MemberExpression" && callee.computed === false) {
      const prop = callee.property as Node;
      if (prop.type === "Identifier" && METHODS.has(prop.value as string)) {
        // s.strip(a, k=v) -> helper("m:strip", [s, a], k=v): the array keeps the receiver's runtime value
        const positional = args.filter((a) => a.type !== "KeywordArgumentExpression");
        const keywords = args.filter((a) => a.type === "KeywordArgumentExpression");
        return {
          type: "CallExpression",
          callee: ident(HELPER),
          args: [str(`m:${prop.value as string}`), arr([callee.object as Node, ...positional]), ...keywords],
        };
      }
    }
    return node;
  }
  if (node.type === "BinaryExpression") {
    // `==` / `!=` with Python's equality (dicts and lists by value, "1" != 1, None != Undefined)
    const op = (node.operator as { value?: unknown }).value;
    if (op === "==" || op === "!=") {
      return {
        type: "CallExpression",
        callee: ident(RV_HELPER),
        args: [str(op === "==" ? "o:eq" : "o:ne"), arr([node.left as Node, node.right as Node])],
      };
    }
    return node;
  }
  if (node.type === "FilterExpression") {
    const filter = node.filter as Node;
    const name = filter.type === "Identifier" ? (filter.value as string) : undefined;
    const call = filter.type === "CallExpression" ? filter : undefined;
    const callName =
      call !== undefined && (call.callee as Node).type === "Identifier"
        ? ((call.callee as Node).value as string)
        : undefined;
    const filterName = name ?? callName;
    if (call !== undefined && callName !== undefined && RV_FILTERS.has(callName)) {
      const extra = call.args as Node[];
      if (extra.length > 0 && extra.every((a) => a.type !== "KeywordArgumentExpression")) {
        return {
          type: "CallExpression",
          callee: ident(RV_HELPER),
          args: [str(`f:${callName}`), arr([node.operand as Node, ...extra])],
        };
      }
    }
    if (filterName !== undefined && FILTERS.has(filterName)) {
      const extra = call === undefined ? [] : (call.args as Node[]);
      const positional = extra.filter((a) => a.type !== "KeywordArgumentExpression");
      const keywords = extra.filter((a) => a.type === "KeywordArgumentExpression");
      return {
        type: "CallExpression",
        callee: ident(HELPER),
        args: [str(`f:${filterName}`), arr([node.operand as Node, ...positional]), ...keywords],
      };
    }
  }
  return node;
}

function describeRV(v: RV): string {
  return v.type.replace(/Value$/, "").toLowerCase();
}

function asString(v: RV | undefined, what: string): string {
  if (v === undefined || v.type !== "StringValue") {
    throw new Error(`TypeError: ${what} must be str, not ${v === undefined ? "nothing" : describeRV(v)}`);
  }
  return v.value as string;
}

function optString(v: RV | undefined, what: string): string | null | undefined {
  if (v === undefined || v.type === "NullValue" || v.type === "UndefinedValue") {
    return undefined;
  }
  return asString(v, what);
}

function optInt(v: RV | undefined, dflt: number, what: string): number {
  if (v === undefined || v.type === "NullValue") {
    return dflt;
  }
  if (v.type !== "IntegerValue") {
    throw new Error(`TypeError: ${what} must be an integer, not ${describeRV(v)}`);
  }
  return v.value as number;
}

/** Python's `str(x)` of a runtime value, as Jinja2's `soft_str` for filters. */
function softStr(v: RV): string {
  switch (v.type) {
    case "StringValue":
      return v.value as string;
    case "NullValue":
      return "None";
    case "UndefinedValue":
      return "";
    case "BooleanValue":
      return v.value ? "True" : "False";
    case "FloatValue":
      return pyFloatRepr(v.value as number);
    case "IntegerValue":
      return String(v.value);
    case "ArrayValue":
    case "ObjectValue":
      return pyRepr(v);
    default:
      return String((v as { toString(): string }).toString());
  }
}

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

/** Python's `repr(str)`: single quotes unless the text holds `'` and no `"`, non-printables escaped. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") {
      out += `\\${ch}`;
    } else if (ch === "\n") {
      out += "\\n";
    } else if (ch === "\r") {
      out += "\\r";
    } else if (ch === "\t") {
      out += "\\t";
    } else if (ch !== " " && (cp < 0x20 || cp === 0x7f || NON_PRINTABLE.test(ch))) {
      out +=
        cp < 0x100
          ? `\\x${cp.toString(16).padStart(2, "0")}`
          : cp < 0x10000
            ? `\\u${cp.toString(16).padStart(4, "0")}`
            : `\\U${cp.toString(16).padStart(8, "0")}`;
    } else {
      out += ch;
    }
  }
  return out + quote;
}

/** Python's `repr()` of a runtime value (what `{{ list }}` prints through `str(list)`). */
function pyRepr(v: RV): string {
  switch (v.type) {
    case "StringValue":
      return pyStrRepr(v.value as string);
    case "ArrayValue":
      return `[${(v.value as RV[]).map(pyRepr).join(", ")}]`;
    case "ObjectValue":
      return `{${[...(v.value as Map<string, RV>).entries()].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
    default:
      return softStr(v);
  }
}

/** Python `json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)`: transformers' `tojson`. */
export function pyJsonDumps(
  v: RV,
  options: { indent?: string | undefined; separators?: [string, string] | undefined; sortKeys?: boolean },
  depth = 0,
): string {
  const indent = options.indent;
  const [itemSep, keySep] = options.separators ?? (indent !== undefined ? [",", ": "] : [", ", ": "]);
  switch (v.type) {
    case "NullValue":
      return "null";
    case "BooleanValue":
      return v.value ? "true" : "false";
    case "IntegerValue":
      return String(v.value);
    case "FloatValue": {
      const x = v.value as number;
      return Number.isNaN(x) ? "NaN" : !Number.isFinite(x) ? (x > 0 ? "Infinity" : "-Infinity") : pyFloatRepr(x);
    }
    case "StringValue":
      return JSON.stringify(v.value);
    case "ArrayValue":
    case "TupleValue": {
      const items = v.value as RV[];
      if (items.length === 0) {
        return "[]";
      }
      const parts = items.map((x) => pyJsonDumps(x, options, depth + 1));
      if (indent === undefined) {
        return `[${parts.join(itemSep)}]`;
      }
      const pad = `\n${indent.repeat(depth + 1)}`;
      return `[${pad}${parts.join(`${itemSep}${pad}`)}\n${indent.repeat(depth)}]`;
    }
    case "ObjectValue": {
      let entries = [...(v.value as Map<string, RV>).entries()];
      if (entries.length === 0) {
        return "{}";
      }
      if (options.sortKeys) {
        entries = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      }
      const parts = entries.map(([k, x]) => `${JSON.stringify(k)}${keySep}${pyJsonDumps(x, options, depth + 1)}`);
      if (indent === undefined) {
        return `{${parts.join(itemSep)}}`;
      }
      const pad = `\n${indent.repeat(depth + 1)}`;
      return `{${pad}${parts.join(`${itemSep}${pad}`)}\n${indent.repeat(depth)}}`;
    }
    default:
      throw new Error(`TypeError: Object of type ${describeRV(v)} is not JSON serializable`);
  }
}

/** The helper the rewritten AST calls: `(op, [receiver, ...args], kwargs?)`, raw values out. */
function helper(op: string, list: RV[], kwargs?: Map<string, RV>): unknown {
  const kw = kwargs instanceof Map ? kwargs : new Map<string, RV>();
  const [recv, ...args] = list as [RV, ...RV[]];
  const arg = (i: number, name: string): RV | undefined => args[i] ?? kw.get(name);
  const name = op.slice(2);
  if (op === "o:str") {
    return softStr(recv);
  }
  if (op.startsWith("f:")) {
    switch (name) {
      case "trim":
        return pyStrip(softStr(recv), optString(arg(0, "chars"), "trim chars"), true, true);
      case "title":
        return jinjaTitle(softStr(recv));
      case "capitalize":
        return pyCapitalize(softStr(recv));
      case "upper":
        return softStr(recv).toUpperCase();
      case "lower":
        return softStr(recv).toLowerCase();
      case "string":
        return softStr(recv);
      case "length":
      case "count":
        // Python's len(): code points of a string, items of a list or dict
        if (recv.type === "StringValue") {
          let n = 0;
          for (const _ of recv.value as string) {
            n++;
          }
          return n;
        }
        if (recv.type === "ArrayValue") {
          return (recv.value as RV[]).length;
        }
        if (recv.type === "ObjectValue") {
          return (recv.value as Map<string, RV>).size;
        }
        throw new Error(`TypeError: object of type '${describeRV(recv)}' has no len()`);
      case "tojson": {
        const ind = arg(1, "indent");
        let indent: string | undefined;
        if (ind !== undefined && ind.type === "IntegerValue") {
          indent = " ".repeat(ind.value as number);
        } else if (ind !== undefined && ind.type === "StringValue") {
          indent = ind.value as string;
        }
        const sepsV = arg(2, "separators");
        const seps =
          sepsV !== undefined && (sepsV.type === "ArrayValue" || sepsV.type === "TupleValue")
            ? ((sepsV.value as RV[]).map((x) => x.value as string) as [string, string])
            : undefined;
        const sortV = arg(3, "sort_keys");
        return pyJsonDumps(recv, {
          indent,
          separators: seps,
          sortKeys: sortV !== undefined && sortV.value === true,
        });
      }
    }
  }
  if (recv.type === "ArrayValue" && (name === "count" || name === "index") && args[0] !== undefined) {
    const x = args[0];
    const same = (y: RV) =>
      (y.type === x.type || (isNumber(y) && isNumber(x))) && y.value === x.value && !isContainer(x);
    const items = recv.value as RV[];
    if (name === "count") {
      return items.filter(same).length;
    }
    const at = items.findIndex(same);
    if (at < 0) {
      throw new Error("ValueError: value is not in list");
    }
    return at;
  }
  if (recv.type !== "StringValue") {
    // not a string: the engine's own method, if it has one
    const own = (recv as { builtins?: Map<string, RV> }).builtins?.get(name);
    if (own !== undefined && own.type === "FunctionValue" && kw.size === 0) {
      return fromRuntime((own.value as (a: RV[]) => RV)(args));
    }
    throw new Error(`AttributeError: '${describeRV(recv)}' object has no attribute '${name}'`);
  }
  const s = recv.value as string;
  switch (name) {
    case "strip":
      return pyStrip(s, optString(arg(0, "chars"), "strip arg"), true, true);
    case "lstrip":
      return pyStrip(s, optString(arg(0, "chars"), "lstrip arg"), true, false);
    case "rstrip":
      return pyStrip(s, optString(arg(0, "chars"), "rstrip arg"), false, true);
    case "split":
    case "rsplit":
      return pySplit(s, optString(arg(0, "sep"), "sep"), optInt(arg(1, "maxsplit"), -1, "maxsplit"), name === "rsplit");
    case "startswith":
    case "endswith": {
      const p = arg(0, "prefix");
      const start = optInt(args[1], 0, "start");
      const cps = Array.from(s);
      const end = optInt(args[2], cps.length, "end");
      const norm = (i: number) => (i < 0 ? Math.max(0, cps.length + i) : Math.min(i, cps.length));
      const sub = cps.slice(norm(start), norm(end)).join("");
      const test = (x: string) => (name === "startswith" ? sub.startsWith(x) : sub.endsWith(x));
      if (p !== undefined && (p.type === "ArrayValue" || p.type === "TupleValue")) {
        return (p.value as RV[]).some((x) => test(asString(x, `${name} tuple item`)));
      }
      return test(asString(p, `${name} arg`));
    }
    case "replace":
      return pyReplace(
        s,
        asString(arg(0, "old"), "replace arg 1"),
        asString(arg(1, "new"), "replace arg 2"),
        optInt(arg(2, "count"), -1, "count"),
      );
    case "title":
      return pyTitle(s);
    case "capitalize":
      return pyCapitalize(s);
    case "upper":
      return s.toUpperCase();
    case "lower":
      return s.toLowerCase();
    case "join": {
      const it = args[0];
      if (it === undefined || !(it.type === "ArrayValue" || it.type === "TupleValue")) {
        throw new Error("TypeError: can only join a list");
      }
      return (it.value as RV[]).map((x) => asString(x, "sequence item")).join(s);
    }
    case "count": {
      const sub = asString(args[0], "count arg");
      if (sub === "") {
        return Array.from(s).length + 1;
      }
      return s.split(sub).length - 1;
    }
    case "find":
    case "index": {
      const sub = asString(args[0], `${name} arg`);
      const at = s.indexOf(sub);
      if (at < 0 && name === "index") {
        throw new Error("ValueError: substring not found");
      }
      return at < 0 ? -1 : Array.from(s.slice(0, at)).length;
    }
  }
  throw new Error(`AttributeError: 'str' object has no attribute '${name}'`);
}

/** Python's `a == b` over runtime values (bool is an int; list and tuple never equal; dicts by value). */
function pyEq(a: RV, b: RV): boolean {
  const numeric = (v: RV) => v.type === "IntegerValue" || v.type === "FloatValue" || v.type === "BooleanValue";
  if (numeric(a) && numeric(b)) {
    return Number(a.value) === Number(b.value);
  }
  if (a.type !== b.type) {
    return false;
  }
  switch (a.type) {
    case "NullValue":
    case "UndefinedValue":
      return true;
    case "ArrayValue":
    case "TupleValue": {
      const x = a.value as RV[];
      const y = b.value as RV[];
      return x.length === y.length && x.every((v, i) => pyEq(v, y[i] as RV));
    }
    case "ObjectValue": {
      const x = a.value as Map<string, RV>;
      const y = b.value as Map<string, RV>;
      if (x.size !== y.size) {
        return false;
      }
      for (const [k, v] of x) {
        const w = y.get(k);
        if (w === undefined || !pyEq(v, w)) {
          return false;
        }
      }
      return true;
    }
    default:
      return a.value === b.value;
  }
}

/** Jinja2's attribute getter of `selectattr`: dotted path, integer parts index lists; missing -> Undefined. */
function lookupAttr(item: RV, path: string, c: Classes): RV {
  let v: RV = item;
  const parts = path.split(".");
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p] as string;
    if (v.type === "UndefinedValue") {
      // Jinja2's Undefined raises when indexed further
      throw new Error(`UndefinedError: '${describeRV(item)}' object has no attribute '${parts[p - 1]}'`);
    }
    let next: RV | undefined;
    if (v.type === "ObjectValue") {
      next = (v.value as Map<string, RV>).get(part);
    } else if ((v.type === "ArrayValue" || v.type === "TupleValue") && /^-?\d+$/.test(part)) {
      const items = v.value as RV[];
      const i = Number(part);
      next = items[i < 0 ? items.length + i : i];
    }
    v = next ?? new c.Undefined();
  }
  return v;
}

function truthy(v: RV): boolean {
  return (v as unknown as { __bool__(): RV }).__bool__().value === true;
}

/** Operations on runtime values: `o:eq`, `o:ne`, `f:selectattr`, `f:rejectattr` (Jinja2's semantics). */
function rvHelper(args: RV[], c: Classes): RV {
  const op = args[0]?.value as string;
  const list = (args[1]?.value ?? []) as RV[];
  if (op === "o:eq" || op === "o:ne") {
    return new c.Boolean(pyEq(list[0] as RV, list[1] as RV) === (op === "o:eq"));
  }
  const [seq, attr, testName, ...testArgs] = list as [RV, RV, RV | undefined, ...RV[]];
  if (seq.type !== "ArrayValue" && seq.type !== "TupleValue") {
    throw new Error(`TypeError: ${op.slice(2)} needs a list, got '${describeRV(seq)}'`);
  }
  const name = testName === undefined ? undefined : asString(testName, "test name");
  let test: (v: RV) => boolean;
  if (name === undefined) {
    test = truthy;
  } else if (name === "equalto" || name === "eq" || name === "==") {
    test = (v) => pyEq(v, testArgs[0] ?? new c.Undefined());
  } else if (name === "ne" || name === "!=") {
    test = (v) => !pyEq(v, testArgs[0] ?? new c.Undefined());
  } else {
    const own = c.tests.get(name);
    if (own === undefined) {
      throw new Error(`TemplateRuntimeError: No test named '${name}'.`);
    }
    test = (v) => own(v, ...testArgs);
  }
  const path = asString(attr, "attribute");
  const select = op === "f:selectattr";
  return new c.Array((seq.value as RV[]).filter((item) => test(lookupAttr(item, path, c)) === select));
}

function isNumber(v: RV): boolean {
  return v.type === "IntegerValue" || v.type === "FloatValue";
}

function isContainer(v: RV): boolean {
  return v.type === "ArrayValue" || v.type === "ObjectValue";
}

/** A runtime value back to a plain value (what the helper returns is converted again by the engine). */
function fromRuntime(v: RV): unknown {
  switch (v.type) {
    case "ArrayValue":
      return (v.value as RV[]).map(fromRuntime);
    case "ObjectValue":
      return Object.fromEntries([...(v.value as Map<string, RV>).entries()].map(([k, x]) => [k, fromRuntime(x)]));
    case "UndefinedValue":
      return undefined;
    default:
      return v.value;
  }
}

/** Python's `range()`. */
function pyRange(...a: number[]): number[] {
  const [start, stop, step] = a.length === 1 ? [0, a[0] as number, 1] : [a[0] as number, a[1] as number, a[2] ?? 1];
  if (step === 0) {
    throw new Error("ValueError: range() arg 3 must not be zero");
  }
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push(i);
  }
  return out;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LONG = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_LONG = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** `strftime_now(format)` as transformers defines it (local time), for the common directives. */
function strftimeNow(format: string): string {
  const d = new Date();
  const p2 = (n: number) => String(n).padStart(2, "0");
  return format.replace(/%([a-zA-Z%])/g, (m, c: string) => {
    switch (c) {
      case "d":
        return p2(d.getDate());
      case "m":
        return p2(d.getMonth() + 1);
      case "Y":
        return String(d.getFullYear());
      case "y":
        return p2(d.getFullYear() % 100);
      case "b":
        return MONTHS[d.getMonth()] as string;
      case "B":
        return MONTHS_LONG[d.getMonth()] as string;
      case "a":
        return DAYS[d.getDay()] as string;
      case "A":
        return DAYS_LONG[d.getDay()] as string;
      case "H":
        return p2(d.getHours());
      case "M":
        return p2(d.getMinutes());
      case "S":
        return p2(d.getSeconds());
      case "%":
        return "%";
      default:
        return m;
    }
  });
}

/**
 * Jinja2's template loading: newlines (`\r\n`, `\r`) become `\n` (Python's universal newlines, as the Jinja2 lexer
 * normalizes them to `newline_sequence`).
 */
export function normalizeTemplateNewlines(source: string): string {
  return source.includes("\r") ? source.replace(/\r\n?/g, "\n") : source;
}

/** A template parsed with transformers' settings (trim_blocks, lstrip_blocks) and rewritten to Python semantics. */
export class PythonTemplate {
  readonly #program: unknown;

  constructor(source: string) {
    const tokens = tokenize(normalizeTemplateNewlines(source), { lstrip_blocks: true, trim_blocks: true });
    this.#program = rewrite(parse(tokens));
  }

  /** Renders with the context's variables plus transformers' globals (`raise_exception`, `strftime_now`). */
  render(context: Record<string, unknown>): string {
    const c = runtimeClasses();
    const env = new Environment();
    for (const [k, v] of Object.entries(context)) {
      if (typeof v === "function") {
        env.set(k, v);
      } else {
        env.variables.set(k, toRuntime(v, c) as never);
      }
    }
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (message: unknown) => {
        throw new Error(String(message));
      },
      range: pyRange,
      strftime_now: strftimeNow,
      [HELPER]: helper,
    };
    for (const [k, v] of Object.entries(globals)) {
      if (!env.variables.has(k) || k === HELPER) {
        env.variables.delete(k);
        env.set(k, v);
      }
    }
    env.variables.delete(RV_HELPER);
    env.variables.set(RV_HELPER, new c.Function((args: RV[]) => rvHelper(args, c)) as never);
    const out = new Interpreter(env).run(this.#program as never) as unknown as RV;
    return out.value as string;
  }
}
