"""Golden fixtures written by pyarrow (the Python logit-extraction tool's writer).

Run from packages/codec after `pnpm fixtures` (it reads our writer's uncompressed fixtures as the source rows):

    python scripts/pyarrow_fixtures.py

Writes test/fixtures/pyarrow-*.parquet and, beside each, a .json of every stored value computed here with numpy
(ids = low | high << 16 with the high bits unpacked per row), so test/golden.test.ts checks our reader against
pyarrow + numpy, not against itself. Needs pyarrow and numpy. pyarrow's output is deterministic for a given
version (created_by names it); the files were made with the version in the README.
"""
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "test", "fixtures")


def unpack_ids(low, high):
    low = np.asarray(low, dtype=np.int64)
    packed = np.frombuffer(high, dtype=np.uint8)
    hi = np.stack([(packed >> s) & 3 for s in (0, 2, 4, 6)], axis=1).reshape(-1)[: len(low)].astype(np.int64)
    return (low | (hi << 16)).tolist()


def f32(xs):
    return [float(np.float32(x)) for x in xs]


def describe_nucleus(table):
    rows = []
    for r in table.to_pylist():
        t = r["num_tokens"]
        counts = r["top_counts"]
        top_ids = unpack_ids(r["top_indices_low"], r["top_indices_high"])
        s_ids = unpack_ids(r["sampled_indices_low"], r["sampled_indices_high"])
        n_s = len(s_ids) // t if t else 0
        top, sampled, at = [], [], 0
        for p in range(t):
            c = counts[p]
            top.append({"ids": top_ids[at : at + c], "q": r["top_logits_quantized"][at : at + c],
                        "min": f32([r["top_min"][p]])[0], "max": f32([r["top_max"][p]])[0]})
            at += c
            sampled.append({"ids": s_ids[p * n_s : (p + 1) * n_s],
                            "q": r["sampled_logits_quantized"][p * n_s : (p + 1) * n_s],
                            "min": f32([r["sampled_min"][p]])[0], "max": f32([r["sampled_max"][p]])[0]})
        rows.append({"index": r["index"], "numTokens": t, "levels": 65535, "top": top, "sampled": sampled,
                     "logsumexp": [float(x) for x in r["logsumexp"]]})
    return rows


def describe_importance(table):
    rows = []
    for r in table.to_pylist():
        t = r["num_tokens"]
        ids = unpack_ids(r["is_indices_low"], r["is_indices_high"])
        drawn, at = [], 0
        for p in range(t):
            c = r["is_counts"][p]
            drawn.append({"ids": ids[at : at + c], "q": r["is_logits_quantized"][at : at + c],
                          "min": f32([r["is_min"][p]])[0], "max": f32([r["is_max"][p]])[0]})
            at += c
        rows.append({"index": r["index"], "numTokens": t, "drawn": drawn, "draws": r["is_draws"],
                     "logsumexp": [float(x) for x in r["logsumexp"]],
                     "logsumexpT": [float(x) for x in r["logsumexp_t"]]})
    return rows


def write(name, table, layout, settings, **options):
    path = os.path.join(FIX, name)
    pq.write_table(table, path, **options)
    back = pq.read_table(path)
    rows = describe_importance(back) if layout == "importance" else describe_nucleus(back)
    with open(path.replace(".parquet", ".json"), "w") as f:
        json.dump({"layout": layout, "settings": settings, "rows": rows}, f, indent=1)
        f.write("\n")
    return name


def main():
    seed = pq.read_table(os.path.join(FIX, "logitpack-nucleus-plain-uncompressed.parquet"))
    imp = pq.read_table(os.path.join(FIX, "logitpack-importance.parquet"))
    imp_settings = json.loads(imp.schema.metadata[b"logitpack.settings"])
    # per-column options take leaf paths ("top_min.list.element"), not column names
    leaf = {f.name: f"{f.name}.list.element" if pa.types.is_list(f.type) else f.name for f in seed.schema}
    floats = [leaf[n] for n in seed.column_names if n.endswith(("_min", "_max")) or n == "logsumexp"]
    names = [
        # exactly how the Python tool writes: pyarrow's defaults (dictionary pages, snappy, one row group), no
        # logitpack metadata (recognized by its columns)
        write("pyarrow-seed-snappy.parquet", seed.replace_schema_metadata(None), "nucleus", {}),
        # everything else pyarrow can do to these columns: data page v2, zstd, page checksums, small pages,
        # dictionary fallback to PLAIN mid-chunk, BYTE_STREAM_SPLIT floats, two rows per row group
        write("pyarrow-seed-v2-zstd-bss.parquet", seed.replace_schema_metadata(None), "nucleus", {},
              compression="zstd", data_page_version="2.0", write_page_checksum=True, data_page_size=64,
              dictionary_pagesize_limit=64, use_dictionary=[v for v in leaf.values() if v not in floats],
              use_byte_stream_split=floats, row_group_size=2),
        write("pyarrow-importance-gzip.parquet", imp, "importance", imp_settings, compression="gzip",
              use_dictionary=False),
    ]
    print(f"pyarrow {pa.__version__}: wrote {', '.join(names)}", file=sys.stderr)


main()
