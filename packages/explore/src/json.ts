/**
 * JSON for scripts: typed arrays become arrays, NaN and infinities become null, Maps become objects. Everything
 * explore returns (`SampleInfo`, `DatasetStats`, `Alignment`, `FidelityReport`) goes through it losslessly.
 */
export function toJSONValue(value: unknown): unknown {
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : null;
  }
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? Number(value) : value;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, (x) => (Number.isFinite(x) ? x : null));
  }
  if (Array.isArray(value)) {
    return value.map(toJSONValue);
  }
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), toJSONValue(v)]));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined && typeof v !== "function") {
      out[k] = toJSONValue(v);
    }
  }
  return out;
}

/** `JSON.stringify` of `toJSONValue(value)`. */
export function toJSONText(value: unknown, indent?: number): string {
  return JSON.stringify(toJSONValue(value), null, indent);
}
