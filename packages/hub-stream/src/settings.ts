import { createHash } from "node:crypto";
import type { ExtractionSettings } from "@logitpack/codec";

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) {
        out[key] = sortKeys(v);
      }
    }
    return out;
  }
  return value;
}

/** The settings as every shard records them (the codec adds `mode`, the layout). */
export function effectiveSettings(layout: "nucleus" | "importance", settings: ExtractionSettings): ExtractionSettings {
  return { mode: layout, ...settings };
}

/** Hash of the settings that decide what a row contains: runs with the same hash may share a dataset. */
export function configHash(settings: ExtractionSettings): string {
  return createHash("sha256").update(canonicalJson(settings)).digest("hex").slice(0, 16);
}

export interface SettingDifference {
  setting: string;
  /** Value in the earlier run (undefined: not set). */
  before: unknown;
  /** Value now. */
  now: unknown;
}

/**
 * Settings key holding display names (`{ model: "Qwen3-8B", dataset: "chats.parquet" }`): shown in cards and
 * messages, never compared (a moved or renamed input keeps its content fingerprint; its label may change).
 */
export const LABELS_KEY = "labels";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Settings whose values differ between an earlier run and this one, sorted by name. Nested objects are compared key
 * by key (`chat.tokenizer`); `labels` is not compared.
 */
export function diffSettings(before: ExtractionSettings, now: ExtractionSettings): SettingDifference[] {
  const out: SettingDifference[] = [];
  const walk = (a: Record<string, unknown>, b: Record<string, unknown>, prefix: string) => {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      if (prefix === "" && key === LABELS_KEY) {
        continue;
      }
      const x = a[key];
      const y = b[key];
      if (canonicalJson(x) === canonicalJson(y)) {
        continue;
      }
      if (isPlainObject(x) && isPlainObject(y)) {
        walk(x, y, `${prefix}${key}.`);
      } else {
        out.push({ setting: `${prefix}${key}`, before: x, now: y });
      }
    }
  };
  walk(before, now, "");
  return out;
}

/** A value for a one-line message: short values as JSON, long ones by length and hash (never a whole template). */
export function shortValue(v: unknown): string {
  if (v === undefined) {
    return "not set";
  }
  const json = canonicalJson(v);
  if (json.length <= 72) {
    return json;
  }
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 12);
  return `${json.slice(0, 24)}... (${json.length} characters, sha256 ${hash})`;
}

const WHAT: Record<string, string> = {
  "chat.template.source": "the chat template",
  "chat.tokenizer": "the tokenizer",
  "chat.vocabSize": "the tokenizer",
  model: "the model",
  dataset: "the dataset",
  templateHash: "the chat template",
  template: "the chat template",
  tokenizer: "the tokenizer",
  tokenizerHash: "the tokenizer",
};

/** One short line saying what changed: `the dataset changed (sha256:ab... there, sha256:cd... now)`. */
export function describeSettingChange(d: SettingDifference): string {
  const leaf = d.setting.slice(d.setting.lastIndexOf(".") + 1);
  const what = WHAT[d.setting] ?? WHAT[leaf];
  const values = `${shortValue(d.before)} there, ${shortValue(d.now)} now`;
  return what ? `${what} changed (setting "${d.setting}": ${values})` : `setting "${d.setting}" differs: ${values}`;
}
