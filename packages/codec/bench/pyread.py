"""Benchmark helper for `bench/run.ts` (not part of the package).

  python pyread.py write SRC OUT_SNAPPY OUT_ZSTD   rewrite SRC with pyarrow: its defaults (what the Python tool
                                                    writes: dictionary, snappy, one row group) and with zstd
  python pyread.py read RUNS FILE...               decode each FILE to the flat arrays a training loop uses, with
                                                    pyarrow (one thread, all threads) and DuckDB (one thread);
                                                    prints one JSON line per (reader, file): median wall and CPU s
"""
import json
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def flat(col):
    """A list or binary column as (values ndarray, row offsets ndarray)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        bufs = arr.buffers()
        offs = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
        data = np.frombuffer(bufs[2], dtype=np.uint8)
        return data, offs
    offs = arr.offsets.to_numpy()
    return arr.values.to_numpy(zero_copy_only=False), offs


def ids(table, prefix):
    """Token ids of every entry: low | high << 16, the high bits unpacked per row (vectorized)."""
    low, lo = flat(table[f"{prefix}_indices_low"])
    hb, ho = flat(table[f"{prefix}_indices_high"])
    lengths = np.diff(lo)
    j = np.arange(len(low), dtype=np.int64) - np.repeat(lo[:-1].astype(np.int64), lengths)
    byte = hb[np.repeat(ho[:-1].astype(np.int64), lengths) + (j >> 2)]
    return low.astype(np.int32) | (((byte >> ((j & 3) << 1).astype(np.uint8)) & 3).astype(np.int32) << 16)


def decode(table):
    """The same flat arrays as @logitpack/codec's NucleusBatch; returns the number of tokens."""
    out = {
        "index": table["index"].to_numpy(),
        "top_ids": ids(table, "top"),
        "sampled_ids": ids(table, "sampled"),
    }
    counts, ro = flat(table["top_counts"])
    out["top_offsets"] = np.concatenate(([0], np.cumsum(counts, dtype=np.int32)))
    for name in ["top_logits_quantized", "sampled_logits_quantized", "top_min", "top_max", "sampled_min",
                 "sampled_max", "logsumexp"]:
        out[name] = flat(table[name])[0]
    return int(ro[-1])


def timed(runs, f):
    f()
    walls, cpus = [], []
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        f()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return sorted(walls)[runs // 2], sorted(cpus)[runs // 2]


def main():
    if sys.argv[1] == "write":
        t = pq.read_table(sys.argv[2])
        pq.write_table(t, sys.argv[3])
        pq.write_table(t, sys.argv[4], compression="zstd")
        return
    runs = int(sys.argv[2])
    files = sys.argv[3:]
    cores = pa.cpu_count()
    for path in files:
        tokens = [0]

        def one():
            pa.set_cpu_count(1)
            pa.set_io_thread_count(1)
            tokens[0] = decode(pq.read_table(path, use_threads=False))

        def threaded():
            pa.set_cpu_count(cores)
            pa.set_io_thread_count(max(cores, 8))
            tokens[0] = decode(pq.read_table(path, use_threads=True))

        for reader, f in [("pyarrow-1", one), ("pyarrow-all", threaded)]:
            wall, cpu = timed(runs, f)
            print(json.dumps({"reader": reader, "file": path, "wall": wall, "cpu": cpu, "tokens": tokens[0]}), flush=True)
        try:
            import duckdb
        except ImportError:
            continue
        con = duckdb.connect()
        con.execute("SET threads=1")

        def duck():
            res = con.execute("SELECT * FROM read_parquet(?)", [path])
            tokens[0] = decode(res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table())

        wall, cpu = timed(runs, duck)
        print(json.dumps({"reader": "duckdb-1", "file": path, "wall": wall, "cpu": cpu, "tokens": tokens[0]}), flush=True)


main()
