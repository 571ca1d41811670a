"""Prompt templates for instruction tuning, system prompts, and label verbalization.

    format_prompt("Translate: 猫", template="alpaca")                 # Alpaca-style prompt text
    to_chat({"prompt": "Hi", "response": "Hello"}, system_prompt="Be brief.")   # messages list
    apply_chat_template(tokenizer, messages)                          # the tokenizer's own template
    verbalize({"text": "card lost", "label": "2"}, {"2": "lost_card"}, labels)  # generative classification
"""
from __future__ import annotations

from ..errors import UserError

ALPACA = ("Below is an instruction that describes a task. Write a response that appropriately completes "
          "the request.\n\n### Instruction:\n{prompt}\n\n### Response:\n")
ALPACA_JA = "以下は、タスクを説明する指示です。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n{prompt}\n\n### 応答:\n"
TEMPLATES = {"alpaca": ALPACA, "alpaca_ja": ALPACA_JA}
CLASSIFY = "{system}Classify the text into one of: {labels}.\n\nText: {text}\nLabel:"


def format_prompt(prompt: str, template: str = "alpaca", system_prompt: str | None = None) -> str:
    """``prompt`` inside an instruction template (a name in TEMPLATES or a string with ``{prompt}``)."""
    body = TEMPLATES.get(template, template)
    if "{prompt}" not in body:
        raise UserError(f"data.template: '{template}' is neither a known template ({', '.join(TEMPLATES)}, chat) "
                        f"nor a string containing {{prompt}}")
    text = body.replace("{prompt}", prompt)
    return f"{system_prompt}\n\n{text}" if system_prompt else text


def to_chat(example: dict, system_prompt: str | None = None) -> list[dict]:
    """An example as chat messages (a system message first when given)."""
    if "messages" in example:
        msgs = list(example["messages"])
        if system_prompt and not (msgs and msgs[0].get("role") == "system"):
            msgs = [{"role": "system", "content": system_prompt}, *msgs]
        return msgs
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return msgs + [{"role": "user", "content": example["prompt"]},
                   {"role": "assistant", "content": example["response"]}]


def apply_chat_template(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The tokenizer's chat template rendered to text; a UserError when the tokenizer has none."""
    if not getattr(tokenizer, "chat_template", None):
        raise UserError(f"the tokenizer of '{getattr(tokenizer, 'name_or_path', 'this model')}' has no chat template; "
                        f"use data.template: alpaca, or a model with a chat template")
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def verbalize(example: dict, words: dict[str, str], labels: list[str], template: str = CLASSIFY,
              system_prompt: str | None = None) -> dict:
    """A classification example as prompt/response for a generative model (the label as a word)."""
    names = [words.get(label, label) for label in labels]
    prompt = template.format(system=f"{system_prompt}\n\n" if system_prompt else "", labels=", ".join(names),
                             text=example["text"])
    return {"prompt": prompt, "response": words.get(example["label"], example["label"]),
            "label": example["label"], "meta": example.get("meta", {})}


def apply_template(examples: list[dict], template: str, system_prompt: str | None = None) -> list[dict]:
    """Generation examples with the template applied: ``chat`` gives messages, others rewrite the prompt."""
    out = []
    for ex in examples:
        if template == "chat":
            new = {"messages": to_chat(ex, system_prompt), "meta": ex.get("meta", {})}
        elif "prompt" in ex:
            new = {**ex, "prompt": format_prompt(ex["prompt"], template, system_prompt)}
        else:
            new = ex
        out.append(new)
    return out
