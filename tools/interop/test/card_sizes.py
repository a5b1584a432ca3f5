"""The dataset card's sizes next to what Hugging Face `datasets` computes for the same shards.

usage: card_sizes.py OUTPUT_DIR RESULT_JSON

- `card`: `dataset_info` of OUTPUT_DIR/README.md's YAML front matter (read by `huggingface_hub.DatasetCard`).
- `datasets`: the shards loaded with `load_dataset("parquet", data_files=...)`; `push_dataset_size` is
  `Dataset._estimate_nbytes()`, the number `push_to_hub` writes as `splits[].num_bytes` and `dataset_size`
  (`_push_parquet_shards_to_hub`); `download_size` is `info.download_size` (the Parquet files' bytes).
"""

import glob
import json
import os
import sys

import datasets
from datasets import load_dataset
from huggingface_hub import DatasetCard

out_dir, result_path = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(out_dir, "data", "*.parquet")))
ds = load_dataset("parquet", data_files=files, split="train")
info = DatasetCard.load(os.path.join(out_dir, "README.md")).data.to_dict()["dataset_info"]
splits = info.get("splits") or [{}]
with open(result_path, "w", encoding="utf-8") as f:
    json.dump(
        {
            "card": {
                "dataset_size": info.get("dataset_size"),
                "num_bytes": splits[0].get("num_bytes"),
                "num_examples": splits[0].get("num_examples"),
                "download_size": info.get("download_size"),
            },
            "datasets": {
                "version": datasets.__version__,
                "push_dataset_size": ds._estimate_nbytes(),
                "download_size": ds.info.download_size,
                "num_rows": ds.num_rows,
                "chunks": ds.data.table.column(0).num_chunks,
            },
        },
        f,
    )
