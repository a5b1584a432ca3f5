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
    description: "split to read (folders, Hub datasets), as the dataset's README configs or file names define it",
    default: "train",
    group: "Input",
  },
  config: {
    type: "string",
    valueName: "NAME",
    description: "config (subset) of the dataset's README configs (folders, Hub datasets)",
    default: "the default config",
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
  "input-col": {
    type: "string",
    valueName: "COL",
    description:
      'single-turn: extra user column (Alpaca input): the user turn is the user column + "\\n\\n" + this column when non-empty',
    default: "input, next to an auto-detected instruction column",
    group: "Input",
  },
  "tools-col": {
    type: "string",
    valueName: "COL",
    description: "column of each row's tools (a list of function schemas or its JSON), passed to the template as tools",
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
      "chat template with {% generation %} markers: a .jinja file, a template string, or a built-in (qwen3, qwen3-instruct-2507, qwen2.5, llama3, gemma3, gemma2, mistral-nemo, seed-000); default: chosen from the model_type (qwen for the tiny model)",
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
