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

/** Settings whose values differ between an earlier run and this one, sorted by name. */
export function diffSettings(before: ExtractionSettings, now: ExtractionSettings): SettingDifference[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const out: SettingDifference[] = [];
  for (const key of keys) {
    if (canonicalJson(before[key]) !== canonicalJson(now[key])) {
      out.push({ setting: key, before: before[key], now: now[key] });
    }
  }
  return out;
}
