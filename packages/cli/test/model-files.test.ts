import { describe, expect, it } from "vitest";
import { modelFilesToDownload } from "../src/lib/inputs.js";

describe("which files of a Hub model repo extraction downloads", () => {
  const repo = [
    "README.md",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "model.safetensors",
    "onnx/model.onnx",
    "onnx/model.onnx_data",
    "onnx/model_fp16.onnx",
    "onnx/model_q4.onnx",
    "onnx/model.onnx_data_1",
  ];

  it("takes the configs, the tokenizer and [onnx/]model.onnx with its external data, nothing else", () => {
    expect(modelFilesToDownload(repo, true)).toEqual([
      "config.json",
      "generation_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "chat_template.jinja",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "onnx/model.onnx_data_1",
    ]);
  });

  it("takes only configs and tokenizer files when no weights are needed (lengths)", () => {
    expect(modelFilesToDownload(repo, false)).toEqual([
      "config.json",
      "generation_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "chat_template.jinja",
    ]);
  });
});
