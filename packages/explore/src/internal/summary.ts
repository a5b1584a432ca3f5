/** A summary of a distribution of numbers: count, mean, extremes and quantiles. NaN when there are no values. */
export interface Summary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

const EMPTY: Summary = {
  count: 0,
  mean: Number.NaN,
  min: Number.NaN,
  max: Number.NaN,
  p50: Number.NaN,
  p90: Number.NaN,
  p99: Number.NaN,
};

/** Summary of the finite values of an array (quantiles by nearest rank on a sorted copy: for one sample's data). */
export function summarize(values: ArrayLike<number>): Summary {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      finite.push(v);
    }
  }
  if (finite.length === 0) {
    return { ...EMPTY };
  }
  const s = Float64Array.from(finite).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    sum += s[i] as number;
  }
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] as number;
  return {
    count: s.length,
    mean: sum / s.length,
    min: s[0] as number,
    max: s[s.length - 1] as number,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
  };
}

export function emptySummary(): Summary {
  return { ...EMPTY };
}
