/** Random mutations of a file, for fuzzing decoders. `kind` picks one strategy (0-5), else random. */
export function mutate(base: Uint8Array, r: () => number, forced?: number): Uint8Array {
  const b = base.slice();
  const kind = forced ?? Math.floor(r() * 6);
  const at = (lo = 0) => lo + Math.floor(r() * (b.length - lo));
  const footer = Math.max(0, b.length - 600);
  switch (kind) {
    case 0: // flip 1-4 bits anywhere
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
        const i = at();
        b[i] = (b[i] as number) ^ (1 << Math.floor(r() * 8));
      }
      return b;
    case 1: // random bytes in the footer (metadata, page offsets, sizes)
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
        b[at(footer)] = Math.floor(r() * 256);
      }
      return b;
    case 2: // truncate
      return b.subarray(0, at());
    case 3: {
      // zero or 0xff a range
      const i = at();
      return b.fill(r() < 0.5 ? 0 : 0xff, i, i + 1 + Math.floor(r() * 16));
    }
    case 4: {
      // delete a range (shifts everything after it)
      const i = at();
      const n = 1 + Math.floor(r() * 8);
      const out = new Uint8Array(b.length - Math.min(n, b.length - i));
      out.set(b.subarray(0, i));
      out.set(b.subarray(i + n), i);
      return out;
    }
    default: {
      // random bytes in the data pages
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
        b[at()] = Math.floor(r() * 256);
      }
      return b;
    }
  }
}
