import { Tokenizer } from "@huggingface/tokenizers";
import { ChatError } from "./errors.js";

/** Parsed `tokenizer_config.json`: the fields this package reads. Everything else is kept as is. */
export interface TokenizerConfig {
  chat_template?: string | { name: string; template: string }[];
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  [key: string]: unknown;
}

export interface ChatTokenizerOptions {
  /** A label for error messages and metadata (the folder or model id). */
  name?: string;
}

/** Token ids with per-token character offsets (`[start, end)` in UTF-16 code units of the text, 2 per token). */
export interface TokensWithOffsets {
  ids: Uint32Array;
  offsets: Uint32Array;
  /** First token that covers text (tokens before it are post-processor specials such as BOS, offsets 0,0). */
  contentStart: number;
  /** One past the last token that covers text (tokens from here on are appended specials such as EOS). */
  contentEnd: number;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

const FLAG_ADDED = 1;
const FLAG_SPECIAL = 2;
const FLAG_LSTRIP = 4;
const FLAG_RSTRIP = 8;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * A byte-level BPE tokenizer (Qwen, Llama 3, DeepSeek, GPT-2 style) read from `tokenizer.json` +
 * `tokenizer_config.json` with `@huggingface/tokenizers`, plus what that library lacks: per-token character
 * offsets. Every token's bytes are compared with the text's UTF-8 bytes at its position, so a tokenizer that
 * diverges throws `OFFSET_MISMATCH` instead of producing a misaligned mask.
 */
export class ChatTokenizer {
  readonly name: string;
  /** `tokenizer_config.json` as given. */
  readonly config: TokenizerConfig;
  /** One past the highest token id (151,669 for Qwen3). */
  readonly vocabSize: number;
  /** `byte-level` (GPT-2 style byte alphabet) or `metaspace` (SentencePiece style: `▁` for spaces, `<0xNN>` bytes). */
  readonly family: "byte-level" | "metaspace";
  readonly #hf: Tokenizer;
  /** Bytes of every token, concatenated; `#byteStart[id]..#byteStart[id]+#byteLength[id]`. */
  readonly #bytes: Uint8Array;
  readonly #byteStart: Int32Array;
  /** -1 for ids that are unused or whose string is not byte-level. */
  readonly #byteLength: Int32Array;
  readonly #flags: Uint8Array;
  readonly #added: Map<string, number>;
  readonly #addedContent: Map<number, string>;
  readonly #prefix: Uint32Array;
  readonly #suffix: Uint32Array;
  readonly #mode: TokenizerMode;
  #scratch = new Uint8Array(1 << 16);

  private constructor(tokenizerJson: Record<string, unknown>, config: TokenizerConfig, name: string) {
    this.name = name;
    this.config = config;
    this.#mode = checkSupported(tokenizerJson, config, name);
    this.family = this.#mode.kind;
    try {
      this.#hf = new Tokenizer(tokenizerJson, config);
    } catch (error) {
      throw new ChatError(
        "TOKENIZER_LOAD",
        `tokenizer ${name}: ${error instanceof Error ? error.message : error}`,
        {},
        {
          cause: error,
        },
      );
    }
    const model = tokenizerJson.model as { vocab: Record<string, number> };
    const added = (tokenizerJson.added_tokens ?? []) as AddedTokenJson[];
    let maxId = -1;
    for (const id of Object.values(model.vocab)) {
      if (id > maxId) {
        maxId = id;
      }
    }
    for (const t of added) {
      if (t.id > maxId) {
        maxId = t.id;
      }
    }
    this.vocabSize = maxId + 1;
    const byteStart = new Int32Array(this.vocabSize);
    const byteLength = new Int32Array(this.vocabSize).fill(-1);
    const flags = new Uint8Array(this.vocabSize);
    const inverse = byteLevelInverse();
    let buffer = new Uint8Array(1 << 20);
    let used = 0;
    const reserve = (n: number) => {
      if (used + n > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, used + n));
        grown.set(buffer.subarray(0, used));
        buffer = grown;
      }
    };
    const byteFallback = /^<0x([0-9A-Fa-f]{2})>$/;
    for (const [token, id] of Object.entries(model.vocab)) {
      if (this.#mode.kind === "metaspace") {
        // SentencePiece style: the token's text as is (spaces are U+2581 on both sides), or one fallback byte
        const m = this.#mode.byteFallback ? byteFallback.exec(token) : null;
        const encoded = m ? Uint8Array.of(Number.parseInt(m[1] as string, 16)) : utf8.encode(token);
        reserve(encoded.length);
        byteStart[id] = used;
        byteLength[id] = encoded.length;
        buffer.set(encoded, used);
        used += encoded.length;
        continue;
      }
      reserve(token.length);
      const start = used;
      let ok = true;
      for (let i = 0; i < token.length; i++) {
        const b = inverse[token.charCodeAt(i)];
        if (b === undefined || b < 0) {
          ok = false;
          break;
        }
        buffer[used++] = b;
      }
      if (ok) {
        byteStart[id] = start;
        byteLength[id] = used - start;
      } else {
        used = start;
      }
    }
    this.#added = new Map();
    this.#addedContent = new Map();
    for (const t of added) {
      this.#addedContent.set(t.id, t.content);
      const encoded = utf8.encode(t.content);
      reserve(encoded.length);
      byteStart[t.id] = used;
      byteLength[t.id] = encoded.length;
      buffer.set(encoded, used);
      used += encoded.length;
      flags[t.id] =
        FLAG_ADDED | (t.special ? FLAG_SPECIAL : 0) | (t.lstrip ? FLAG_LSTRIP : 0) | (t.rstrip ? FLAG_RSTRIP : 0);
      this.#added.set(t.content, t.id);
    }
    this.#bytes = buffer.slice(0, used);
    this.#byteStart = byteStart;
    this.#byteLength = byteLength;
    this.#flags = flags;
    // Specials the post-processor adds around one sequence (BOS/EOS), found by difference on a probe text.
    const probe = "a";
    const bare = this.#hf.encode(probe, { add_special_tokens: false }).ids;
    const full = this.#hf.encode(probe, { add_special_tokens: true }).ids;
    const at = indexOfRun(full, bare);
    if (at < 0) {
      throw new ChatError("UNSUPPORTED_TOKENIZER", `tokenizer ${name}: the post-processor changes the text's tokens`);
    }
    this.#prefix = Uint32Array.from(full.slice(0, at));
    this.#suffix = Uint32Array.from(full.slice(at + bare.length));
  }

  /** Builds a tokenizer from parsed `tokenizer.json` and `tokenizer_config.json` (Node: `loadTokenizer(dir)`). */
  static fromJSON(tokenizerJson: unknown, config: unknown = {}, options: ChatTokenizerOptions = {}): ChatTokenizer {
    const name = options.name ?? "tokenizer";
    if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) {
      throw new ChatError("TOKENIZER_LOAD", `tokenizer ${name}: tokenizer.json has no "model" object`);
    }
    if (!isRecord(config)) {
      throw new ChatError("TOKENIZER_LOAD", `tokenizer ${name}: tokenizer_config.json is not a JSON object`);
    }
    return new ChatTokenizer(tokenizerJson, config as TokenizerConfig, name);
  }

  /** Plain tokenization (no offsets), as `tokenizer(text, add_special_tokens=...)["input_ids"]`. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): Uint32Array {
    const ids = this.#hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
    return Uint32Array.from(ids);
  }

  /** Number of tokens of `text` (no specials): what a length pass needs. */
  countTokens(text: string): number {
    return this.#hf.encode(text, { add_special_tokens: false }).ids.length;
  }

  /**
   * Tokenizes `text` and maps every token to the characters it covers, as Hugging Face fast tokenizers'
   * `offset_mapping` does: a token holding part of a multi-byte character gets that whole character; an added
   * token with `lstrip`/`rstrip` also covers the whitespace it swallowed; post-processor specials get `(0, 0)`.
   * Throws `OFFSET_MISMATCH` if any token's bytes differ from the text at its position.
   */
  encodeWithOffsets(text: string, options: { addSpecialTokens?: boolean } = {}): TokensWithOffsets {
    const raw = this.#hf.encode(text, { add_special_tokens: false }).ids;
    const prefix = options.addSpecialTokens ? this.#prefix : EMPTY;
    const suffix = options.addSpecialTokens ? this.#suffix : EMPTY;
    const n = raw.length;
    const total = prefix.length + n + suffix.length;
    const ids = new Uint32Array(total);
    const offsets = new Uint32Array(total * 2);
    ids.set(prefix, 0);
    ids.set(suffix, prefix.length + n);
    // The normalizer (NFC) runs per text section between added tokens, as in `tokenizers`: the tokens are compared
    // with the normalized text, and their offsets mapped back to the raw text through the alignment.
    let normalized = text;
    let align: { starts: Int32Array; ends: Int32Array } | undefined;
    if (this.#mode.nfc && !isNfc(text)) {
      ({ text: normalized, align } = this.#normalizeSections(text, raw));
    }
    // Metaspace tokenizers see spaces as U+2581: compare against that form (same UTF-16 positions).
    const metaspace = this.#mode.kind === "metaspace" ? this.#mode : undefined;
    const norm = metaspace ? normalized.replaceAll(" ", METASPACE) : normalized;
    const bytes = this.#utf8(norm);
    const nBytes = bytes.length;
    const tb = this.#bytes;
    const tStart = this.#byteStart;
    const tLen = this.#byteLength;
    const flags = this.#flags;
    // Cursor over the text's characters: the character containing byte `p` starts at UTF-16 index `cu` and
    // byte `cb`, and is `cul` code units / `cbl` bytes long.
    let p = 0;
    let cu = 0;
    let cb = 0;
    let cul = 0;
    let cbl = 0;
    const setChar = () => {
      if (cu >= norm.length) {
        cul = 0;
        cbl = 0;
        return;
      }
      const c = norm.charCodeAt(cu);
      if (c < 0x80) {
        cul = 1;
        cbl = 1;
      } else if (c < 0x800) {
        cul = 1;
        cbl = 2;
      } else if (c >= 0xd800 && c < 0xdc00 && cu + 1 < norm.length) {
        const d = norm.charCodeAt(cu + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          cul = 2;
          cbl = 4;
        } else {
          cul = 1;
          cbl = 3;
        }
      } else {
        cul = 1;
        cbl = 3;
      }
    };
    const nextChar = () => {
      cu += cul;
      cb += cbl;
      setChar();
    };
    setChar();
    let sectionStart = true;
    for (let k = 0; k < n; k++) {
      const id = raw[k] as number;
      const slot = prefix.length + k;
      ids[slot] = id;
      let len = id < tLen.length ? (tLen[id] as number) : -1;
      if (len < 0) {
        throw new ChatError(
          "OFFSET_MISMATCH",
          `tokenizer ${this.name}: token ${k} (id ${id}) has no byte-level form; offsets cannot be computed`,
        );
      }
      const f = flags[id] as number;
      const startU = cu;
      if ((f & FLAG_LSTRIP) !== 0) {
        // The library trimmed whitespace before this added token; HF offsets include it in the token.
        while (p === cb && cu < norm.length && isWhitespace(norm.charCodeAt(cu)) && !this.#matches(bytes, p, id)) {
          p += cbl;
          nextChar();
        }
      }
      let s = tStart[id] as number;
      const atSection = sectionStart;
      sectionStart = (f & FLAG_ADDED) !== 0;
      if (metaspace !== undefined && atSection && (f & FLAG_ADDED) === 0 && prepends(metaspace, norm, cu)) {
        // the pre-tokenizer/normalizer put a U+2581 before this section: it is in the token, not in the text
        if (len < 3 || tb[s] !== 0xe2 || tb[s + 1] !== 0x96 || tb[s + 2] !== 0x81) {
          throw this.#mismatch(normalized, k, id, cu);
        }
        s += 3;
        len -= 3;
        if (len === 0) {
          // a token made of the prepended U+2581 alone: HF gives it the span of the section's first character
          offsets[2 * slot] = cu;
          offsets[2 * slot + 1] = cu + cul;
          continue;
        }
      }
      if (p + len > nBytes) {
        throw this.#mismatch(normalized, k, id, cu);
      }
      for (let j = 0; j < len; j++) {
        if (bytes[p + j] !== tb[s + j]) {
          throw this.#mismatch(normalized, k, id, cu);
        }
      }
      const last = p + len - 1;
      while (cb + cbl <= last) {
        nextChar();
      }
      let endU = cu + cul;
      p += len;
      if (p === cb + cbl) {
        nextChar();
      }
      if ((f & FLAG_RSTRIP) !== 0) {
        while (p === cb && cu < norm.length && isWhitespace(norm.charCodeAt(cu))) {
          p += cbl;
          nextChar();
          endU = cu;
        }
      }
      offsets[2 * slot] = startU;
      offsets[2 * slot + 1] = endU;
    }
    if (p !== nBytes) {
      throw new ChatError(
        "OFFSET_MISMATCH",
        `tokenizer ${this.name}: the tokens cover ${p} of the text's ${nBytes} UTF-8 bytes ` +
          `(text at UTF-16 ${cu}: ${JSON.stringify(normalized.slice(cu, cu + 20))})`,
      );
    }
    if (align !== undefined) {
      // a token over normalized [s, e) covers raw [start of s, end of e - 1], as NormalizedString converts offsets
      for (let k = 0; k < n; k++) {
        const slot = prefix.length + k;
        const s0 = offsets[2 * slot] as number;
        const e0 = offsets[2 * slot + 1] as number;
        if (e0 > s0) {
          offsets[2 * slot] = align.starts[s0] as number;
          offsets[2 * slot + 1] = align.ends[e0 - 1] as number;
        }
      }
    }
    return { ids, offsets, contentStart: prefix.length, contentEnd: prefix.length + n };
  }

  /**
   * The text as the tokenizer's model sees it: each section between added tokens NFC-normalized (added tokens
   * are split off the raw text first, so `<tool_call>` followed by U+0338 stays a special token), with the raw
   * range of every normalized UTF-16 unit. Characters NFC merges into a preceding one map to no normalized unit.
   */
  #normalizeSections(
    text: string,
    ids: ArrayLike<number>,
  ): { text: string; align: { starts: Int32Array; ends: Int32Array } } {
    const parts: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let r = 0;
    const section = (end: number) => {
      const s = text.slice(r, end);
      if (!nfcAligned(s, r, parts, starts, ends)) {
        throw new ChatError(
          "OFFSET_MISMATCH",
          `tokenizer ${this.name}: cannot align the NFC form of the text at UTF-16 ${r} ` +
            `(${JSON.stringify(s.slice(0, 20))}) with the raw text`,
        );
      }
      r = end;
    };
    for (let k = 0; k < ids.length; k++) {
      const content = this.#addedContent.get(ids[k] as number);
      if (content === undefined) {
        continue;
      }
      const at = text.indexOf(content, r);
      if (at < 0) {
        throw new ChatError(
          "OFFSET_MISMATCH",
          `tokenizer ${this.name}: added token ${k} (${JSON.stringify(content)}) is not in the text after UTF-16 ${r}`,
        );
      }
      section(at);
      identity(content, at, parts, starts, ends);
      r = at + content.length;
    }
    section(text.length);
    return { text: parts.join(""), align: { starts: Int32Array.from(starts), ends: Int32Array.from(ends) } };
  }

  /** UTF-8 bytes of one token (a view: do not modify). Empty for unknown ids. */
  tokenBytes(id: number): Uint8Array {
    const len = id >= 0 && id < this.#byteLength.length ? (this.#byteLength[id] as number) : -1;
    if (len < 0) {
      return EMPTY_BYTES;
    }
    const s = this.#byteStart[id] as number;
    return this.#bytes.subarray(s, s + len);
  }

  /** A token's text (bytes decoded as UTF-8, U+2581 shown as a space; a partial character shows U+FFFD). */
  tokenText(id: number): string {
    const t = utf8Decoder.decode(this.tokenBytes(id));
    return this.#mode.kind === "metaspace" && !this.isAdded(id) ? t.replaceAll(METASPACE, " ") : t;
  }

  /** Id of the single token whose text is exactly `text` (an added token's content or a vocab entry), if any. */
  tokenId(text: string): number | undefined {
    const added = this.#added.get(text);
    if (added !== undefined) {
      return added;
    }
    const id = this.#hf.token_to_id(
      this.#mode.kind === "metaspace" ? text.replaceAll(" ", METASPACE) : byteLevelString(utf8.encode(text)),
    );
    return id === undefined || this.#flags[id] !== 0 ? undefined : id;
  }

  /** True for an added token (`added_tokens` in tokenizer.json): `<|im_end|>`, `<think>`, ... */
  isAdded(id: number): boolean {
    return ((this.#flags[id] ?? 0) & FLAG_ADDED) !== 0;
  }

  /** True for an added token flagged `special` (`<|im_end|>` but not `<think>` in Qwen3). */
  isSpecial(id: number): boolean {
    return ((this.#flags[id] ?? 0) & FLAG_SPECIAL) !== 0;
  }

  /** Decodes ids to text, as `tokenizer.decode(ids)`. */
  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) {
      return "";
    }
    return this.#hf.decode(Array.from(ids));
  }

  /**
   * `bos_token`, `eos_token`, `unk_token`, `pad_token` as strings and `additional_special_tokens`: the variables
   * transformers passes to chat templates (`tokenizer.special_tokens_map`).
   */
  specialTokensMap(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"] as const) {
      const v = this.config[key];
      if (typeof v === "string") {
        out[key] = v;
      } else if (isRecord(v) && typeof v.content === "string") {
        out[key] = v.content;
      }
    }
    const extra = this.config.additional_special_tokens;
    if (Array.isArray(extra) && extra.length > 0) {
      out.additional_special_tokens = extra.map((t) =>
        isRecord(t) && typeof t.content === "string" ? t.content : String(t),
      );
    }
    return out;
  }

  #matches(bytes: Uint8Array, p: number, id: number): boolean {
    const len = this.#byteLength[id] as number;
    const s = this.#byteStart[id] as number;
    if (p + len > bytes.length) {
      return false;
    }
    for (let j = 0; j < len; j++) {
      if (bytes[p + j] !== this.#bytes[s + j]) {
        return false;
      }
    }
    return true;
  }

  #utf8(text: string): Uint8Array {
    const need = text.length * 3;
    if (this.#scratch.length < need) {
      this.#scratch = new Uint8Array(Math.max(need, this.#scratch.length * 2));
    }
    const { written } = utf8.encodeInto(text, this.#scratch);
    return this.#scratch.subarray(0, written);
  }

  #mismatch(text: string, k: number, id: number, cu: number): ChatError {
    return new ChatError(
      "OFFSET_MISMATCH",
      `tokenizer ${this.name}: token ${k} (id ${id}, ${JSON.stringify(this.tokenText(id))}) does not match the ` +
        `text at UTF-16 ${cu} (${JSON.stringify(text.slice(cu, cu + 20))}); the tokenizer normalizes or ` +
        "splits text in a way offsets cannot follow",
    );
  }
}

const EMPTY = new Uint32Array(0);
/** SentencePiece's space marker, U+2581. */
const METASPACE = "\u2581";

/** How text maps to token bytes. */
type TokenizerMode =
  | { kind: "byte-level"; nfc: boolean }
  | {
      kind: "metaspace";
      nfc: boolean;
      /**
       * Where a U+2581 is put before a text section (the text between added tokens): `section` every section
       * (a `Prepend` normalizer), `always` every section not starting with one, `first` only a section at text
       * position 0 (Metaspace `prepend_scheme`), `never`.
       */
      prepend: "section" | "always" | "first" | "never";
      byteFallback: boolean;
    };

function prepends(mode: { prepend: "section" | "always" | "first" | "never" }, norm: string, at: number): boolean {
  switch (mode.prepend) {
    case "section":
      return true;
    case "always":
      return norm.charCodeAt(at) !== 0x2581;
    case "first":
      return at === 0 && norm.charCodeAt(at) !== 0x2581;
    case "never":
      return false;
  }
}
const EMPTY_BYTES = new Uint8Array(0);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JS `\s` (what the tokenizer library's trimStart/trimEnd strip) for one UTF-16 code unit. */
function isWhitespace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function indexOfRun(haystack: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) {
        continue outer;
      }
    }
    return i;
  }
  return -1;
}

/** GPT-2's `bytes_to_unicode`: the printable character each byte is written as in a byte-level vocab. */
function byteLevelChars(): number[] {
  const chars = new Array<number>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    chars[b] = printable ? b : 256 + extra++;
  }
  return chars;
}

let inverseTable: Int16Array | undefined;

/** Character code -> byte (or -1), for characters below 512 (the byte-level alphabet's range). */
function byteLevelInverse(): Int16Array {
  if (inverseTable === undefined) {
    const table = new Int16Array(65536).fill(-1);
    const chars = byteLevelChars();
    for (let b = 0; b < 256; b++) {
      table[chars[b] as number] = b;
    }
    inverseTable = table;
  }
  return inverseTable;
}

function byteLevelString(bytes: Uint8Array): string {
  const chars = byteLevelChars();
  let s = "";
  for (const b of bytes) {
    s += String.fromCharCode(chars[b] as number);
  }
  return s;
}

/** Throws `UNSUPPORTED_TOKENIZER` for settings whose offsets this package cannot reproduce; else the mode. */
function checkSupported(json: Record<string, unknown>, config: TokenizerConfig, name: string): TokenizerMode {
  const model = json.model as Record<string, unknown>;
  const unsupported = (what: string) =>
    new ChatError(
      "UNSUPPORTED_TOKENIZER",
      `tokenizer ${name}: ${what}. Supported: byte-level BPE (Qwen, Llama 3, DeepSeek, GPT-2 style) and ` +
        "SentencePiece-style BPE with U+2581 spaces and byte fallback (Llama 2, Gemma, Mistral), with no " +
        "normalizer but NFC, Prepend/Replace of U+2581; only their offsets can be verified byte by byte",
    );
  if (!isRecord(model.vocab) && !Array.isArray(model.vocab)) {
    throw unsupported("model.vocab is missing");
  }
  const types = (node: unknown): Record<string, unknown>[] => {
    if (!isRecord(node)) {
      return [];
    }
    const nested = (node.pretokenizers ?? node.normalizers ?? node.processors ?? node.decoders) as unknown;
    if (Array.isArray(nested)) {
      return nested.flatMap(types);
    }
    return [node];
  };
  const pre = types(json.pre_tokenizer);
  const dec = types(json.decoder);
  const norm = types(json.normalizer);
  for (const t of types(json.post_processor)) {
    if (t.type === "ByteLevel" && t.trim_offsets === true) {
      throw unsupported("the ByteLevel post-processor trims offsets (trim_offsets: true)");
    }
  }
  if (config.remove_space === true || config.do_lowercase_and_remove_accent === true) {
    throw unsupported("tokenizer_config removes spaces or lowercases");
  }
  const byteLevel = pre.some((t) => t.type === "ByteLevel") || dec.some((t) => t.type === "ByteLevel");
  if (byteLevel) {
    if (model.type !== undefined && model.type !== "BPE") {
      throw unsupported(`model type ${String(model.type)}`);
    }
    if (!isRecord(model.vocab)) {
      throw unsupported("model.vocab is not an object");
    }
    for (const t of pre) {
      if (t.type === "ByteLevel" && t.add_prefix_space === true) {
        throw unsupported("ByteLevel add_prefix_space is true (the prefix space is not in the text)");
      }
    }
    for (const t of norm) {
      if (t.type !== "NFC") {
        throw unsupported(`normalizer ${String(t.type)}`);
      }
    }
    return { kind: "byte-level", nfc: norm.length > 0 };
  }
  const metaspacePre = pre.filter((t) => t.type === "Metaspace");
  const replaces = (t: Record<string, unknown>) =>
    t.type === "Replace" && isRecord(t.pattern) && t.pattern.String === " " && t.content === METASPACE;
  const spaceMarker = metaspacePre.length > 0 || norm.some(replaces);
  if (!spaceMarker) {
    throw unsupported("neither a ByteLevel nor a Metaspace/U+2581 scheme");
  }
  if (model.type !== "BPE" || !isRecord(model.vocab)) {
    throw unsupported(`model type ${String(model.type)} (only BPE for SentencePiece-style tokenizers)`);
  }
  let prepend: "section" | "always" | "first" | "never" = "never";
  for (const t of norm) {
    if (t.type === "Prepend" && t.prepend === METASPACE) {
      prepend = "section";
    } else if (t.type !== "NFC" && !replaces(t)) {
      throw unsupported(`normalizer ${String(t.type)}`);
    }
  }
  for (const t of pre) {
    // Split/Digits/Punctuation only cut the text into pieces (unless told to remove what they match)
    const cuts = (t.type === "Split" || t.type === "Digits" || t.type === "Punctuation") && t.behavior !== "Removed";
    if (cuts) {
      continue;
    }
    if (t.type !== "Metaspace" || (t.replacement !== undefined && t.replacement !== METASPACE)) {
      throw unsupported(`pre-tokenizer ${String(t.type)}`);
    }
    if (prepend === "never") {
      const scheme = t.prepend_scheme ?? "always";
      if (scheme !== "always" && scheme !== "first" && scheme !== "never") {
        throw unsupported(`Metaspace prepend_scheme ${String(scheme)}`);
      }
      prepend = scheme;
    }
  }
  return {
    kind: "metaspace",
    prepend,
    byteFallback: model.byte_fallback === true,
    nfc: norm.some((t) => t.type === "NFC"),
  };
}

/** True when `s` is in NFC (an ASCII fast path, then the engine's check). */
function isNfc(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range
  return /^[\u0000-\u007f]*$/.test(s) || s.normalize("NFC") === s;
}

/** Appends `s` (at raw UTF-16 `base`) unchanged: each unit maps to its own character. */
function identity(s: string, base: number, parts: string[], starts: number[], ends: number[]): void {
  parts.push(s);
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    const w = c >= 0xd800 && c < 0xdc00 && i + 1 < s.length ? 2 : 1;
    for (let j = 0; j < w; j++) {
      starts.push(base + i);
      ends.push(base + i + w);
    }
    i += w;
  }
}

/**
 * Appends NFC(`s`) with the alignment `tokenizers` computes (NormalizedString over unicode-normalization-alignments):
 * every output character carries a change (0 kept, +1 inserted by a decomposition, -n when n characters were
 * composed into it; a composed character adds the changes of the characters it absorbed, minus one each; changes
 * move with their characters through canonical reordering), and alignments are then given by position: a kept or
 * composed character takes the raw character at the cursor (and skips the n merged ones), an inserted one takes
 * the raw character just before the cursor. So a composed character covers its starter's raw character, the
 * marks merged into it are covered by no token, and each character of an expansion covers its source.
 * Returns false when the NFC form cannot be walked back to the raw characters (never expected).
 */
function nfcAligned(s: string, base: number, parts: string[], starts: number[], ends: number[]): boolean {
  if (isNfc(s)) {
    identity(s, base, parts, starts, ends);
    return true;
  }
  // raw characters (UTF-16 ranges) and their canonical decompositions with changes
  const rawS: number[] = [];
  const rawE: number[] = [];
  const cps: number[] = [];
  const chg: number[] = [];
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i) as number;
    const w = cp > 0xffff ? 2 : 1;
    rawS.push(base + i);
    rawE.push(base + i + w);
    let k = 0;
    for (const d of String.fromCodePoint(cp).normalize("NFD")) {
      cps.push(d.codePointAt(0) as number);
      chg.push(k === 0 ? 0 : 1);
      k++;
    }
    i += w;
  }
  // canonical ordering (NFD of the whole string): the changes move with their characters; each code point takes
  // the earliest unused decomposed one (the sort is stable)
  const used = new Uint8Array(cps.length);
  const seq: number[] = [];
  const seqChg: number[] = [];
  let first = 0;
  for (const d of s.normalize("NFD")) {
    const cp = d.codePointAt(0) as number;
    while (first < cps.length && used[first] === 1) {
      first++;
    }
    let j = first;
    while (j < cps.length && (used[j] === 1 || cps[j] !== cp)) {
      j++;
    }
    if (j >= cps.length) {
      return false;
    }
    used[j] = 1;
    seq.push(cp);
    seqChg.push(chg[j] as number);
  }
  // composition: each NFC character consumes its decomposition from the ordered sequence
  const taken = new Uint8Array(seq.length);
  let q = 0;
  let pos = 0;
  for (const o of s.normalize("NFC")) {
    while (q < seq.length && taken[q] === 1) {
      q++;
    }
    if (q >= seq.length) {
      return false;
    }
    const cp = o.codePointAt(0) as number;
    let change = seqChg[q] as number;
    taken[q] = 1;
    if (seq[q] !== cp) {
      const d = Array.from(o.normalize("NFD"), (x) => x.codePointAt(0) as number);
      if (d[0] !== seq[q]) {
        return false;
      }
      for (let m = 1; m < d.length; m++) {
        let j = q + 1;
        while (j < seq.length && (taken[j] === 1 || seq[j] !== d[m])) {
          j++;
        }
        if (j >= seq.length) {
          return false;
        }
        taken[j] = 1;
        change += (seqChg[j] as number) - 1;
      }
    }
    // an inserted character takes the raw character before the cursor (`alignments[idx - 1]` in tokenizers)
    let st = pos > 0 ? (rawS[pos - 1] as number) : base;
    let en = pos > 0 ? (rawE[pos - 1] as number) : base;
    if (change <= 0) {
      if (pos >= rawS.length) {
        return false;
      }
      st = rawS[pos] as number;
      en = rawE[pos] as number;
      pos += 1 - change;
    }
    parts.push(o);
    for (let u = 0; u < o.length; u++) {
      starts.push(st);
      ends.push(en);
    }
  }
  return true;
}
