/**
 * The assistant mask exactly as transformers' `apply_chat_template(..., return_assistant_tokens_mask=True)`
 * computes it from the generation spans and the fast tokenizer's offsets:
 *
 * ```python
 * for start_char, end_char in generation_indices:
 *     start_token = encoding.char_to_token(start_char)
 *     end_token = encoding.char_to_token(end_char - 1)
 *     if start_token is None: break
 *     for t in range(start_token, end_token + 1 if end_token else len(input_ids)): mask[t] = 1
 * ```
 *
 * including its corner cases: a span whose start no token covers stops the loop (later spans are dropped), and a
 * span whose last character maps to no token, or to token 0, runs to the end of the sequence.
 */
export function assistantMaskFromSpans(
  offsets: Uint32Array,
  spans: Uint32Array,
  tokens: number,
  contentStart = 0,
  contentEnd = tokens,
  out: Uint8Array = new Uint8Array(tokens),
): Uint8Array {
  out.fill(0, 0, tokens);
  for (let s = 0; s + 1 < spans.length; s += 2) {
    const startChar = spans[s] as number;
    const endChar = spans[s + 1] as number;
    const startToken = charToToken(offsets, startChar, contentStart, contentEnd);
    if (startToken < 0) {
      break;
    }
    if (endChar === 0) {
      // transformers would call char_to_token(-1), which raises; an empty span at 0 marks nothing here.
      continue;
    }
    const endToken = charToToken(offsets, endChar - 1, contentStart, contentEnd);
    const stop = endToken > 0 ? endToken + 1 : tokens;
    for (let t = startToken; t < stop; t++) {
      out[t] = 1;
    }
  }
  return out;
}

/**
 * `Encoding.char_to_token`: the first token whose offsets `[start, end)` contain `char`, or -1. Offsets of the
 * tokens in `[lo, hi)` must be non-decreasing (they are for one sequence); tokens outside are specials.
 */
export function charToToken(offsets: Uint32Array, char: number, lo = 0, hi = offsets.length >> 1): number {
  // first token with end > char
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if ((offsets[2 * m + 1] as number) > char) {
      b = m;
    } else {
      a = m + 1;
    }
  }
  if (a < hi && (offsets[2 * a] as number) <= char) {
    return a;
  }
  return -1;
}
