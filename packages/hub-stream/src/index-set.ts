/**
 * A set of non-negative dataset indices as a growable bitmap: adding and testing are O(1), memory is one bit per
 * index up to the largest (125 kB for a million examples). Serialized as sorted `[start, end)` ranges.
 */
export class IndexSet {
  private words: Uint32Array;
  private count = 0;

  constructor(capacity = 1024) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(capacity / 32)));
  }

  static from(indices: Iterable<number> | ArrayLike<number>): IndexSet {
    const set = new IndexSet();
    set.addAll(indices);
    return set;
  }

  /** A set from `[start, end)` ranges, as `toRanges` writes them. */
  static fromRanges(ranges: readonly (readonly [number, number])[]): IndexSet {
    const set = new IndexSet();
    for (const [start, end] of ranges) {
      if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start)) {
        throw new RangeError(`bad index range [${start}, ${end})`);
      }
      for (let i = start; i < end; i++) {
        set.add(i);
      }
    }
    return set;
  }

  get size(): number {
    return this.count;
  }

  has(index: number): boolean {
    if (index < 0) {
      return false;
    }
    const w = index >>> 5;
    return w < this.words.length && ((this.words[w] as number) & (1 << (index & 31))) !== 0;
  }

  /** Add an index; returns false if it was already there. */
  add(index: number): boolean {
    if (!(Number.isInteger(index) && index >= 0 && index <= 0x7fffffff)) {
      throw new RangeError(`dataset index ${index} is not a non-negative int32`);
    }
    const w = index >>> 5;
    if (w >= this.words.length) {
      let n = this.words.length * 2;
      while (n <= w) {
        n *= 2;
      }
      const next = new Uint32Array(n);
      next.set(this.words);
      this.words = next;
    }
    const bit = 1 << (index & 31);
    const old = this.words[w] as number;
    if ((old & bit) !== 0) {
      return false;
    }
    this.words[w] = old | bit;
    this.count++;
    return true;
  }

  addAll(indices: Iterable<number> | ArrayLike<number>): void {
    if (Symbol.iterator in Object(indices)) {
      for (const i of indices as Iterable<number>) {
        this.add(i);
      }
    } else {
      const a = indices as ArrayLike<number>;
      for (let k = 0; k < a.length; k++) {
        this.add(a[k] as number);
      }
    }
  }

  union(other: IndexSet): void {
    for (const i of other) {
      this.add(i);
    }
  }

  *[Symbol.iterator](): IterableIterator<number> {
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let bits = words[w] as number;
      while (bits !== 0) {
        const low = bits & -bits;
        yield w * 32 + (31 - Math.clz32(low));
        bits ^= low;
      }
    }
  }

  /** Sorted, merged `[start, end)` ranges. */
  toRanges(): [number, number][] {
    const out: [number, number][] = [];
    let start = -1;
    let prev = -2;
    for (const i of this) {
      if (i !== prev + 1) {
        if (start >= 0) {
          out.push([start, prev + 1]);
        }
        start = i;
      }
      prev = i;
    }
    if (start >= 0) {
      out.push([start, prev + 1]);
    }
    return out;
  }

  /**
   * `[start, end)` ranges of `[0, end)` missing from this set. With `expected`, only indices it accepts count: a
   * range spans from the first to the last missing expected index of a run.
   */
  gaps(end: number, expected?: (index: number) => boolean): [number, number][] {
    const out: [number, number][] = [];
    let start = -1;
    let lastMissing = -1;
    for (let i = 0; i < end; i++) {
      if (expected && !expected(i)) {
        continue;
      }
      if (!this.has(i)) {
        if (start < 0) {
          start = i;
        }
        lastMissing = i;
      } else if (start >= 0) {
        out.push([start, lastMissing + 1]);
        start = -1;
      }
    }
    if (start >= 0) {
      out.push([start, lastMissing + 1]);
    }
    return out;
  }
}
