import { Template } from "@huggingface/jinja";
import { describe, expect, it } from "vitest";
import { ChatError } from "./errors.js";
import {
  ChatTemplate,
  extractSpans,
  hasGenerationMarkers,
  instrumentGenerationMarkers,
  stripGenerationMarkers,
} from "./template.js";

const messages = [
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello!" },
  { role: "user", content: "Bye" },
  { role: "assistant", content: "See you." },
];

/** Whitespace-control torture: the generation tags in every position jinja's trim/lstrip rules care about. */
const TORTURE: Record<string, string> = {
  "dash both sides":
    "{% for m in messages %}[{{ m.role }}]\n{%- if m.role == 'assistant' %}\n  {%- generation -%}\n  {{ m.content }}\n  {%- endgeneration -%}\n{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
  "no spaces":
    "{%for m in messages%}{%if m.role=='assistant'%}A:{%generation%}{{m.content}}{%endgeneration%};{%else%}U:{{m.content}};{%endif%}{%endfor%}",
  "own lines, indented":
    "{% for m in messages %}\n    {% if m.role == 'assistant' %}\n    <a>\n    {% generation %}\n{{ m.content }}\n    {% endgeneration %}\n    </a>\n    {% else %}\n<u>{{ m.content }}</u>\n    {% endif %}\n{% endfor %}\n",
  "left dash only":
    "{% for m in messages %}{% if m.role == 'assistant' %}  >  \n\n{%- generation %}  {{ m.content }}  \n{%- endgeneration %}  <\n{% endif %}{% endfor %}",
  "right dash only":
    "{% for m in messages %}{% if m.role == 'assistant' %}>{% generation -%}\n\n  {{ m.content }}{% endgeneration -%}   \n  <{% endif %}{% endfor %}",
  "seed 000":
    "{%- for message in messages %}\n{%- if message['role'] == 'user' %}\n<|im_start|>user\n{{ message['content'] }}<|im_end|>\n{%- elif message['role'] == 'assistant' %}\n<|im_start|>assistant\n{% generation %}{{ message['content'] }}{% endgeneration %}<|im_end|>\n{%- endif %}\n{%- endfor %}",
};

describe("generation markers", () => {
  for (const [name, source] of Object.entries(TORTURE)) {
    it(`renders the same text as the tags dropped: ${name}`, () => {
      const reference = new Template(source).render({ messages });
      const rendered = new ChatTemplate(source).render({ messages });
      expect(rendered.text).toBe(reference);
      // Every span holds the assistant content (whatever whitespace the tags' modifiers left around it).
      const spans = Array.from(rendered.spans);
      expect(spans.length).toBe(4);
      const pieces = [rendered.text.slice(spans[0], spans[1]), rendered.text.slice(spans[2], spans[3])];
      expect(pieces[0]).toContain("Hello!");
      expect(pieces[1]).toContain("See you.");
      expect(pieces[0]).not.toContain("Hi");
    });
  }

  it("records exact spans for a simple template", () => {
    const t = new ChatTemplate(
      "{% for m in messages %}{{ m.role }}: {% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{{ '\n' }}{% endfor %}",
    );
    const r = t.render({ messages });
    expect(r.text).toBe("user: Hi\nassistant: Hello!\nuser: Bye\nassistant: See you.\n");
    expect(Array.from(r.spans)).toEqual([20, 26, 48, 56]);
    expect(r.text.slice(20, 26)).toBe("Hello!");
  });

  it("counts and strips markers", () => {
    const src = TORTURE["seed 000"] as string;
    expect(hasGenerationMarkers(src)).toBe(true);
    expect(hasGenerationMarkers("{{ x }}")).toBe(false);
    expect(instrumentGenerationMarkers(src).markers).toBe(2);
    const stripped = stripGenerationMarkers(src);
    expect(hasGenerationMarkers(stripped)).toBe(false);
    expect(new Template(stripped).render({ messages })).toBe(new Template(src).render({ messages }));
  });

  it("a template without markers is a clear NO_ASSISTANT_TOKENS error with the fix", () => {
    const make = () => new ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", { name: "mine" });
    expect(make).toThrow(ChatError);
    expect(make).toThrow(/0 assistant tokens: the chat template \(mine\) has no \{% generation %\} markers/);
    expect(make).toThrow(/--chat-template qwen/);
    try {
      make();
    } catch (error) {
      expect((error as ChatError).code).toBe("NO_ASSISTANT_TOKENS");
    }
    expect(
      new ChatTemplate("{{ messages[0].content }}", { requireGenerationMarkers: false }).render({ messages }).spans,
    ).toHaveLength(0);
  });

  it("rejects unbalanced or nested markers and sentinels in the template", () => {
    expect(() => extractSpans("a\uFDD0b")).toThrow(/without \{% endgeneration %\}/);
    expect(() => extractSpans("a\uFDD1b")).toThrow(/without \{% generation %\}/);
    expect(() => extractSpans("\uFDD0a\uFDD0b\uFDD1")).toThrow(/nested/);
    expect(() => new ChatTemplate("{% generation %}\uFDD0{% endgeneration %}")).toThrow(/sentinels/);
    expect(extractSpans("x\uFDD0ab\uFDD1y\uFDD0\uFDD1")).toEqual({ text: "xaby", spans: Uint32Array.of(1, 3, 4, 4) });
  });

  it("wraps parse and render failures in TEMPLATE_ERROR", () => {
    expect(() => new ChatTemplate("{% generation %}{% if %}{% endgeneration %}")).toThrow(/does not parse/);
    const t = new ChatTemplate("{% generation %}{{ raise_exception('boom') }}{% endgeneration %}");
    expect(() => t.render({ messages })).toThrow(/failed to render: boom/);
  });
});
