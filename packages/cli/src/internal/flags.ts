import { parseIntegerFlag } from "@logitpack/sampler";
import { UsageError } from "./errors.js";
import type { CommandContext } from "./spec.js";

type Flags = CommandContext["flags"];

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined || typeof v === "boolean") {
    return undefined;
  }
  if (v.trim() === "") {
    throw new UsageError("needs a value", `--${name}`);
  }
  return v;
}

export function bool(flags: Flags, name: string): boolean {
  return flags[name] === true;
}

export function has(flags: Flags, name: string): boolean {
  return flags[name] !== undefined;
}

/** An integer flag; out of range or not an integer is a usage error naming the flag. */
export function int(flags: Flags, name: string, range: { min?: number; max?: number } = {}): number | undefined {
  const v = str(flags, name);
  if (v === undefined) {
    return undefined;
  }
  try {
    return parseIntegerFlag(v, `--${name}`, range);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^\[sampler\] --[\w-]+: /, ""), `--${name}`);
  }
}

/** A number flag in `[min, max]` (or `(min, max]` with `minExclusive`). */
export function num(
  flags: Flags,
  name: string,
  range: { min?: number; max?: number; minExclusive?: boolean } = {},
): number | undefined {
  const v = str(flags, name);
  if (v === undefined) {
    return undefined;
  }
  const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) ? Number(v) : Number.NaN;
  const min = range.min ?? Number.NEGATIVE_INFINITY;
  const max = range.max ?? Number.POSITIVE_INFINITY;
  const belowMin = range.minExclusive ? n <= min : n < min;
  if (!Number.isFinite(n) || belowMin || n > max) {
    const lo = range.min === undefined ? "" : `${range.minExclusive ? ">" : ">="} ${range.min}`;
    const hi = range.max === undefined ? "" : `<= ${range.max}`;
    const bounds = [lo, hi].filter(Boolean).join(" and ");
    throw new UsageError(`expected a number${bounds ? ` ${bounds}` : ""}, got ${JSON.stringify(v)}`, `--${name}`);
  }
  return n;
}

/** One of a fixed set of values. */
export function choice<T extends string>(flags: Flags, name: string, values: readonly T[]): T | undefined {
  const v = str(flags, name);
  if (v === undefined) {
    return undefined;
  }
  if (!(values as readonly string[]).includes(v)) {
    throw new UsageError(`expected one of ${values.join(", ")}, got ${JSON.stringify(v)}`, `--${name}`);
  }
  return v as T;
}

/** Flags that cannot be given together. */
export function conflicts(flags: Flags, a: string, b: string, why?: string): void {
  if (has(flags, a) && has(flags, b)) {
    throw new UsageError(`--${a} and --${b} cannot be used together${why ? `: ${why}` : ""}`);
  }
}

/** A flag that only makes sense with another. */
export function requires(flags: Flags, a: string, b: string): void {
  if (has(flags, a) && !has(flags, b)) {
    throw new UsageError(`needs --${b}`, `--${a}`);
  }
}
