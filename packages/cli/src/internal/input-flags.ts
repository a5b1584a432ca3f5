import type { FlagSpec } from "./spec.js";

/** Flags naming the input (shared by extract and lengths). */
export const INPUT_FLAGS: Record<string, FlagSpec> = {
  model: {
    type: "string",
    valueName: "PATH|ID",
    description:
      "teacher model: a local folder (model.onnx, tokenizer.json, tokenizer_config.json), a Hub model id (downloaded into the Hugging Face cache: config, tokenizer and one ONNX variant, resumable; HF_HUB_OFFLINE=1: cache only), or 'tiny' (the bundled tiny model over the Qwen3 vocabulary)",
    default: "tiny",
    group: "Input",
  },
  dataset: {
    type: "string",
    valueName: "PATH|ID",
    description:
      "dataset: a .parquet/.jsonl/.json file, a folder of them, or a Hub dataset id (downloaded into the Hugging Face cache)",
    default: "the bundled sample dataset (300 conversations)",
    group: "Input",
  },
  split: {
    type: "string",
    valueName: "NAME",
    description: "only files of this split (folders, Hub datasets)",
    group: "Input",
  },
  "messages-col": {
    type: "string",
    valueName: "COL",
    description: "column holding a list of {role, content} messages (any number of turns; ShareGPT accepted)",
    default: "messages or conversations, when present",
    group: "Input",
  },
  "user-col": {
    type: "string",
    valueName: "COL",
    description: "single-turn: column of the user message",
    group: "Input",
  },
  "assistant-col": {
    type: "string",
    valueName: "COL",
    description: "single-turn: column of the assistant answer",
    group: "Input",
  },
  "system-prompt": {
    type: "string",
    valueName: "TEXT",
    description: "system message put before every conversation",
    group: "Input",
  },
  "chat-template": {
    type: "string",
    valueName: "PATH|NAME",
    description:
      "chat template with {% generation %} markers: a .jinja file, a template string, or a built-in (qwen, seed-000); default: the tokenizer's own (qwen for the tiny model)",
    group: "Input",
  },
  "skip-rules": {
    type: "string",
    valueName: "PRESET|JSON",
    description:
      "assistant tokens that get no logits: none, think-tags, think-tags-and-end (the Python tool), no-reasoning, or JSON",
    default: "none",
    group: "Input",
  },
  token: {
    type: "string",
    valueName: "TOKEN",
    description: "Hugging Face access token (default: HF_TOKEN, then the token file of huggingface-cli login)",
    group: "Hub",
  },
};
