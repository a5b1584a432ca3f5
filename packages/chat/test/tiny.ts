/** A tiny byte-level BPE tokenizer.json built in code (256 byte tokens, a few merges, added tokens) for tests. */
export function byteLevelChars(): string[] {
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  return out;
}

export interface TinyAdded {
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
}

export function tinyTokenizerJson(
  options: { added?: TinyAdded[]; postProcessor?: unknown; normalizer?: unknown; modelType?: string } = {},
): Record<string, unknown> {
  const chars = byteLevelChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => {
    vocab[c] = i;
  });
  const merges = ["Ġ t", "h e", "Ġt he"];
  vocab["Ġt"] = 256;
  vocab.he = 257;
  vocab["Ġthe"] = 258;
  const added = (
    options.added ?? [
      { content: "<s>", special: true },
      { content: "<|end|>", special: true },
    ]
  ).map((t, i) => ({
    id: 300 + i,
    content: t.content,
    single_word: false,
    lstrip: t.lstrip ?? false,
    rstrip: t.rstrip ?? false,
    normalized: false,
    special: t.special ?? false,
  }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: options.normalizer ?? null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: options.postProcessor ?? {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: {
      type: options.modelType ?? "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
