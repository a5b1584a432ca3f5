/**
 * Apache Arrow views of decoded data, for trainers in other languages (`@logitpack/codec/arrow`; needs the
 * optional peer dependency `apache-arrow`). Columns are built on the codec's typed arrays without copying;
 * `tableToIPC` then hands them to pyarrow (`pa.ipc.open_stream(buf).read_all()`), zero-copy on that side too.
 */
import * as A from "apache-arrow";
import type { SparseTargets } from "./targets.js";
import type { NucleusBatch } from "./types.js";

function fixedList(values: Int32Array | Float32Array | Uint8Array, k: number, t: number, type: A.DataType): A.Data {
  const child = A.makeData({ type, length: values.length, nullCount: 0, data: values } as never);
  return A.makeData({
    type: new A.FixedSizeList(k, new A.Field("item", type, false)),
    length: t,
    nullCount: 0,
    child,
  } as never);
}

/** `[T, K]` targets as an Arrow table: `ids` int32[K], `logprobs` float32[K], `mask` uint8[K], `tail_mass` float32. */
export function targetsToArrow(targets: SparseTargets): A.Table {
  const { k, positions: t } = targets;
  const fields = [
    new A.Field("ids", new A.FixedSizeList(k, new A.Field("item", new A.Int32(), false)), false),
    new A.Field("logprobs", new A.FixedSizeList(k, new A.Field("item", new A.Float32(), false)), false),
    new A.Field("mask", new A.FixedSizeList(k, new A.Field("item", new A.Uint8(), false)), false),
    new A.Field("tail_mass", new A.Float32(), false),
  ];
  const children = [
    fixedList(targets.ids, k, t, new A.Int32()),
    fixedList(targets.logprobs, k, t, new A.Float32()),
    fixedList(targets.mask, k, t, new A.Uint8()),
    A.makeData({ type: new A.Float32(), length: t, nullCount: 0, data: targets.tailMass }),
  ];
  const schema = new A.Schema(fields);
  const struct = A.makeData({ type: new A.Struct(fields), length: t, nullCount: 0, children } as never);
  return new A.Table(new A.RecordBatch(schema, struct as unknown as A.Data<A.Struct>));
}

function listOf(
  values: Int32Array | Float32Array | Float64Array,
  offsets: Int32Array,
  type: A.DataType,
  base: number,
): A.Data {
  const rebased = base === 0 ? offsets : offsets.map((o) => o - base);
  const child = A.makeData({ type, length: values.length, nullCount: 0, data: values } as never);
  return A.makeData({
    type: new A.List(new A.Field("item", type, true)),
    length: offsets.length - 1,
    nullCount: 0,
    valueOffsets: rebased,
    child,
  } as never);
}

/**
 * A nucleus batch as an Arrow table, one row per sample, decoded: `index` int32, `top_ids`/`sampled_ids`
 * list<int32> and `top_logits`/`sampled_logits` list<float32> flat over the sample's positions, `top_counts`
 * list<int32> (entries per position), `logsumexp` list<float64>.
 */
export function batchToArrow(batch: NucleusBatch): A.Table {
  const p0 = batch.rowOffsets[0] as number;
  const p1 = batch.rowOffsets[batch.numRows] as number;
  const topE0 = batch.top.offsets[p0] as number;
  const topE1 = batch.top.offsets[p1] as number;
  const sE0 = batch.sampled.offsets[p0] as number;
  const sE1 = batch.sampled.offsets[p1] as number;
  const rowEntryOffsets = (offsets: Int32Array) => {
    const out = new Int32Array(batch.numRows + 1);
    for (let r = 0; r <= batch.numRows; r++) {
      out[r] = offsets[batch.rowOffsets[r] as number] as number;
    }
    return out;
  };
  const dequant = (s: NucleusBatch["top"], e0: number, e1: number) => {
    const out = new Float32Array(e1 - e0);
    for (let p = p0; p < p1; p++) {
      const a = s.offsets[p] as number;
      const b = s.offsets[p + 1] as number;
      const min = s.min[p] as number;
      const scale = ((s.max[p] as number) - min) / batch.levels;
      for (let e = a; e < b; e++) {
        out[e - e0] = (s.quantized[e] as number) * scale + min;
      }
    }
    return out;
  };
  const counts = new Int32Array(p1 - p0);
  for (let p = p0; p < p1; p++) {
    counts[p - p0] = (batch.top.offsets[p + 1] as number) - (batch.top.offsets[p] as number);
  }
  const posOffsets = batch.rowOffsets;
  const fields = [
    new A.Field("index", new A.Int32(), false),
    new A.Field("top_ids", new A.List(new A.Field("item", new A.Int32(), true)), true),
    new A.Field("top_logits", new A.List(new A.Field("item", new A.Float32(), true)), true),
    new A.Field("top_counts", new A.List(new A.Field("item", new A.Int32(), true)), true),
    new A.Field("sampled_ids", new A.List(new A.Field("item", new A.Int32(), true)), true),
    new A.Field("sampled_logits", new A.List(new A.Field("item", new A.Float32(), true)), true),
    new A.Field("logsumexp", new A.List(new A.Field("item", new A.Float64(), true)), true),
  ];
  const topRows = rowEntryOffsets(batch.top.offsets);
  const sRows = rowEntryOffsets(batch.sampled.offsets);
  const children = [
    A.makeData({ type: new A.Int32(), length: batch.numRows, nullCount: 0, data: batch.index }),
    listOf(batch.top.ids.subarray(topE0, topE1), topRows, new A.Int32(), topE0),
    listOf(dequant(batch.top, topE0, topE1), topRows, new A.Float32(), topE0),
    listOf(counts, posOffsets, new A.Int32(), p0),
    listOf(batch.sampled.ids.subarray(sE0, sE1), sRows, new A.Int32(), sE0),
    listOf(dequant(batch.sampled, sE0, sE1), sRows, new A.Float32(), sE0),
    listOf(batch.logsumexp.subarray(p0, p1), posOffsets, new A.Float64(), p0),
  ];
  const struct = A.makeData({ type: new A.Struct(fields), length: batch.numRows, nullCount: 0, children } as never);
  return new A.Table(new A.RecordBatch(new A.Schema(fields), struct as unknown as A.Data<A.Struct>));
}

/** Arrow IPC stream bytes of a table. */
export function toIPC(table: A.Table): Uint8Array {
  return A.tableToIPC(table, "stream");
}
