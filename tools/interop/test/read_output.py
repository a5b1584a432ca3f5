"""Reads a logitpack output folder the way Python consumers do and prints JSON for the TypeScript side to compare.

usage: read_output.py OUTPUT_DIR RESULT_JSON

1. `datasets.load_dataset("parquet", data_files=...)` over the shards (pyarrow underneath): every row's raw columns.
2. The dataset card's own Python quick start (the ```python block of OUTPUT_DIR/README.md), run as written except
   for the DATASET line, which points at OUTPUT_DIR: its printed output, then its `hydrate_sample` applied to every
   row of step 1 (decoded ids and logits per position).
"""

import contextlib
import glob
import io
import json
import os
import re
import sys

import numpy as np
from datasets import load_dataset

out_dir, result_path = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(out_dir, "data", "*.parquet")))
ds = load_dataset("parquet", data_files=files, split="train")


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return list(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


raw = [{k: plain(v) for k, v in row.items()} for row in ds]

card = open(os.path.join(out_dir, "README.md"), encoding="utf-8").read()
blocks = re.findall(r"```python\n(.*?)```", card, flags=re.S)
assert len(blocks) == 1, f"expected one python block, found {len(blocks)}"
code, n = re.subn(r'^DATASET = ".*"', lambda _: f"DATASET = {json.dumps(out_dir)}", blocks[0], flags=re.M)
assert n == 1, "the quick start has no DATASET line"
namespace = {"__name__": "card_quick_start"}
stdout = io.StringIO()
with contextlib.redirect_stdout(stdout):
    exec(compile(code, "README.md quick start", "exec"), namespace)

hydrate = namespace["hydrate_sample"]
decoded = []
for row in ds:
    h = hydrate(dict(row))
    if "top_indices" in h:
        decoded.append(
            {
                "index": h["index"],
                "top_ids": [plain(x) for x in h["top_indices"]],
                "top_logits": [plain(x) for x in h["top_logits"]],
                "sampled_ids": [plain(x) for x in h["sampled_indices"]],
                "sampled_logits": [plain(x) for x in h["sampled_logits"]],
            }
        )
    else:
        decoded.append(
            {
                "index": h["index"],
                "ids": [plain(x) for x in h["is_indices"]],
                "logits": [plain(x) for x in h["is_logits"]],
                "draws": [plain(x) for x in h["is_draw_counts"]],
            }
        )

with open(result_path, "w", encoding="utf-8") as f:
    json.dump({"raw": raw, "decoded": decoded, "quickStartOutput": stdout.getvalue()}, f)
