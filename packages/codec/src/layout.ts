import { CodecError } from "./errors.js";
import type { LayoutName } from "./types.js";

/** Logical column types of the layouts (as pyarrow names them). */
export type ColumnType =
  | "int32"
  | "binary"
  | "float32"
  | "float64"
  | "list<uint16>"
  | "list<uint8>"
  | "list<float32>"
  | "list<float64>";

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

const col = (name: string, type: ColumnType): ColumnSpec => ({ name, type });

/** The seed layout, column for column as seed 002's pyarrow schema. */
export const NUCLEUS_COLUMNS: readonly ColumnSpec[] = [
  col("index", "int32"),
  col("num_tokens", "int32"),
  col("top_indices_low", "list<uint16>"),
  col("top_indices_high", "binary"),
  col("top_logits_quantized", "list<uint16>"),
  col("top_counts", "list<uint8>"),
  col("top_min", "list<float32>"),
  col("top_max", "list<float32>"),
  col("sampled_indices_low", "list<uint16>"),
  col("sampled_indices_high", "binary"),
  col("sampled_logits_quantized", "list<uint16>"),
  col("sampled_min", "list<float32>"),
  col("sampled_max", "list<float32>"),
  col("logsumexp", "list<float64>"),
];

/**
 * The seed-001 variant (read-only). Documented columns: `top_logits_quantized` and `sampled_logits_quantized` as
 * bytes of uint8, `*_indices_low` list<uint16>, `*_indices_high` bytes, `logsumexp` one float, `num_tokens`.
 * Not pinned down by seed 001, and therefore optional here: `index`, `top_counts` (without it the top-K is taken to
 * be a fixed stride, `len / num_tokens`), `*_min`/`*_max` (without them logits cannot be dequantized).
 */
export const NUCLEUS_U8_REQUIRED: readonly ColumnSpec[] = [
  col("num_tokens", "int32"),
  col("top_indices_low", "list<uint16>"),
  col("top_indices_high", "binary"),
  col("top_logits_quantized", "binary"),
  col("sampled_indices_low", "list<uint16>"),
  col("sampled_indices_high", "binary"),
  col("sampled_logits_quantized", "binary"),
];

/** logitpack's importance-sampling layout (see README "Importance layout"). */
export const IMPORTANCE_COLUMNS: readonly ColumnSpec[] = [
  col("index", "int32"),
  col("num_tokens", "int32"),
  col("is_indices_low", "list<uint16>"),
  col("is_indices_high", "binary"),
  col("is_counts", "list<uint16>"),
  col("is_draws", "list<uint16>"),
  col("is_logits_quantized", "list<uint16>"),
  col("is_min", "list<float32>"),
  col("is_max", "list<float32>"),
  col("logsumexp", "list<float64>"),
  col("logsumexp_t", "list<float64>"),
];

export const LAYOUT_VERSION = 1;

/** Key-value metadata keys logitpack writes. */
export const META_KEYS = {
  layout: "logitpack.layout",
  layoutVersion: "logitpack.layout_version",
  settings: "logitpack.settings",
  writer: "logitpack.writer",
} as const;

export function columnsOf(layout: LayoutName): readonly ColumnSpec[] {
  switch (layout) {
    case "nucleus":
      return NUCLEUS_COLUMNS;
    case "importance":
      return IMPORTANCE_COLUMNS;
    case "nucleus-u8":
      return NUCLEUS_U8_REQUIRED;
  }
}

/** Decide a file's layout from its metadata and column types. */
export function detectLayout(
  types: ReadonlyMap<string, ColumnType | string>,
  declared: string | undefined,
  file?: string,
): LayoutName {
  let layout: LayoutName;
  if (declared === "nucleus" || declared === "importance" || declared === "nucleus-u8") {
    layout = declared;
  } else if (types.has("is_indices_low")) {
    layout = "importance";
  } else if (types.get("top_logits_quantized") === "binary") {
    layout = "nucleus-u8";
  } else if (types.has("top_indices_low")) {
    layout = "nucleus";
  } else {
    throw new CodecError(
      "SCHEMA_MISMATCH",
      `not a logit dataset: no top_indices_low or is_indices_low column (columns: ${[...types.keys()].join(", ")})`,
      { file },
    );
  }
  for (const spec of columnsOf(layout)) {
    const found = types.get(spec.name);
    if (found === undefined) {
      throw new CodecError(
        "SCHEMA_MISMATCH",
        `layout ${layout} needs column ${spec.name} (${spec.type}); the file has: ${[...types.keys()].join(", ")}`,
        { file, column: spec.name },
      );
    }
    if (!typeMatches(spec.type, found)) {
      throw new CodecError("SCHEMA_MISMATCH", `expected ${spec.type}, found ${found}`, { file, column: spec.name });
    }
  }
  return layout;
}

/** Readers accept a few widenings that older writers produce (float logsumexp, int64 index...). */
function typeMatches(expected: ColumnType, found: string): boolean {
  if (expected === found) {
    return true;
  }
  if (expected === "list<float64>" && found === "list<float32>") {
    return true;
  }
  if (expected === "int32" && (found === "int64" || found === "uint16" || found === "uint32")) {
    return true;
  }
  return false;
}
