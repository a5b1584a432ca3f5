"""PyTorch reference for a logitpack extraction: what the teacher's distributions should be, computed independently.

usage: torch_reference.py REQUEST_JSON RESULT_JSON

REQUEST_JSON: {
  "model": transformers folder (the model before its ONNX export),
  "dataset": the JSONL the extraction read,
  "template": the chat template source the extraction recorded (settings.chat.template.source),
  "templateKwargs": its template variables (settings.chat.templateKwargs),
  "topP": ..., "topPMax": ...,
  "rows": [{"index": source row, "sampled": [[ids of the stored tail draws] per stored position]}]
}

For every row: the conversation is rendered and tokenized by transformers (`apply_chat_template` with the recorded
template and `return_assistant_tokens_mask`), the model (fp32, PyTorch) runs the ids, and at every assistant token
t > 0 the float64 log-softmax of the fp32 logits at t - 1 gives: logsumexp, the nucleus (tokens by logit, descending,
ties lower id first; token k is in while the mass before it is < topP; at most topPMax), its ids and log-probs, the
log-probs of the stored tail draws, and how close the position is to a different nucleus (`massMargin`: distance of the
boundary's prefix masses from topP; `rankGap`: logit gap between the last token in and the first out). `fp32Noise`:
the largest difference between the fp32 model's log-probs (top topPMax tokens) / logsumexp and the same model's in
float64, over all positions: how much float32 rounding alone moves them.
"""

import json
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

request_path, result_path = sys.argv[1], sys.argv[2]
with open(request_path, encoding="utf-8") as f:
    req = json.load(f)

tokenizer = AutoTokenizer.from_pretrained(req["model"])
model = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32).eval()
# the same weights in float64: how far float32 rounding alone moves torch's own log-probs (the scale of the noise two
# float32 implementations of the model may differ by)
model64 = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float64).eval()
noise_lp = 0.0
noise_lse = 0.0
with open(req["dataset"], encoding="utf-8") as f:
    dataset = [json.loads(line) for line in f if line.strip()]
top_p, top_k = float(req["topP"]), int(req["topPMax"])

rows = []
for want in req["rows"]:
    messages = dataset[want["index"]]["messages"]
    enc = tokenizer.apply_chat_template(
        messages,
        chat_template=req["template"],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
        **req.get("templateKwargs", {}),
    )
    ids = list(enc["input_ids"])
    mask = list(enc["assistant_masks"])
    positions = [t for t in range(1, len(ids)) if mask[t] == 1]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]  # fp32 [T, V]
        logits64 = model64(input_ids=torch.tensor([ids]), use_cache=False).logits[0]
    assert logits.dtype == torch.float32
    out = {"index": want["index"], "numIds": len(ids), "positions": [], "sampled": want["sampled"]}
    rows64 = logits[torch.tensor(positions, dtype=torch.long) - 1].double()  # the logits at t - 1 predict token t
    lses = torch.logsumexp(rows64, dim=-1)
    lps = rows64 - lses[:, None]  # float64 log-softmax of the fp32 logits
    exact = logits64[torch.tensor(positions, dtype=torch.long) - 1]
    exact_lses = torch.logsumexp(exact, dim=-1)
    noise_lse = max(noise_lse, (lses - exact_lses).abs().max().item())
    top = torch.topk(rows64, top_k, dim=-1).indices
    noise_lp = max(noise_lp, (lps.gather(1, top) - (exact - exact_lses[:, None]).gather(1, top)).abs().max().item())
    cand = torch.topk(rows64, top_k + 1, dim=-1).indices.numpy()
    rows_np, lps_np, lses_np = rows64.numpy(), lps.numpy(), lses.numpy()
    entries = []
    for k in range(len(positions)):
        row, lp_row, lse = rows_np[k], lps_np[k], float(lses_np[k])
        # descending by logit, equal logits lower id first
        c = cand[k]
        order = c[np.lexsort((c, -row[c]))]
        p = np.exp(lp_row[order])
        before = np.concatenate([[0.0], np.cumsum(p)[:-1]])  # mass of the tokens before each
        count = int(min(top_k, max(1, int(np.sum(before[:top_k] < top_p)))))
        margin = abs(before[count - 1] - top_p) if count > 1 else 1.0
        if count < top_k:
            margin = min(margin, abs(before[count] - top_p))
        gap = float(row[order[count - 1]] - row[order[count]])
        sampled = want["sampled"][k] if k < len(want["sampled"]) else []
        entries.append(
            {
                "count": count,
                "ids": [int(i) for i in order[:count]],
                "logprobs": [float(lp_row[i]) for i in order[:count]],
                # the next ranks too, to tell a swap of near-equal logits from a wrong id
                "nextIds": [int(i) for i in order[count : count + 4]],
                "lse": lse,
                "massMargin": float(margin),
                "rankGap": gap,
                "sampledLogprobs": [float(lp_row[i]) for i in sampled],
            }
        )
    out["positions"] = entries
    rows.append(out)

with open(result_path, "w", encoding="utf-8") as f:
    json.dump({"torch": torch.__version__, "fp32Noise": {"logprob": noise_lp, "lse": noise_lse}, "rows": rows}, f)
