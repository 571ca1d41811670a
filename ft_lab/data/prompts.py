"""Prompt and response as text and token ids: what training encodes and evaluation generates from.

Below both training and evaluation (they share it), so neither imports the other::

    ids = prompt_ids(tokenizer, {"prompt": "Hi?", "response": "Hello."}, system_prompt=None)
    enc = encode_generation(tokenizer, example, system_prompt, max_length=256)   # labels -100 on the prompt
"""
from __future__ import annotations

ALPACA = "### Instruction:\n{prompt}\n\n### Response:\n"


def chat_messages(example: dict, system_prompt: str | None) -> list[dict]:
    if "messages" in example:
        msgs = [dict(role=m["role"], content=m["content"]) for m in example["messages"]]
    else:
        msgs = [{"role": "user", "content": example["prompt"]}, {"role": "assistant", "content": example["response"]}]
    if system_prompt and msgs[0]["role"] != "system":
        msgs.insert(0, {"role": "system", "content": system_prompt})
    return msgs


def prompt_ids(tokenizer, example: dict, system_prompt: str | None) -> list[int]:
    """Token ids of everything before the response, ending where the model should start answering."""
    if tokenizer.chat_template:
        msgs = chat_messages(example, system_prompt)[:-1]
        return list(_ids(tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)))
    text = (system_prompt + "\n\n" if system_prompt else "") + ALPACA.format(prompt=prompt_text(example))
    return tokenizer(text, add_special_tokens=True)["input_ids"]


def _ids(out):
    if isinstance(out, dict) or hasattr(out, "keys"):
        return out["input_ids"]
    return out


def prompt_text(example: dict) -> str:
    """The last user message or the prompt: what the test tables show as the input."""
    if "messages" in example:
        users = [m["content"] for m in example["messages"] if m["role"] == "user"]
        return users[-1] if users else ""
    return example.get("prompt", example.get("text", ""))


def reference_text(example: dict) -> str:
    if "messages" in example:
        return example["messages"][-1]["content"]
    return example.get("response", example.get("label", ""))


def encode_generation(tokenizer, example: dict, system_prompt: str | None, max_length: int) -> dict | None:
    """input_ids and labels (-100 on the prompt); None when truncation leaves no response token."""
    p = prompt_ids(tokenizer, example, system_prompt)
    if tokenizer.chat_template:
        full = list(_ids(tokenizer.apply_chat_template(chat_messages(example, system_prompt), tokenize=True)))
        if full[:len(p)] != p:  # templates that re-render earlier turns: fall back to concatenation
            full = p + tokenizer(reference_text(example), add_special_tokens=False)["input_ids"]
        answer = full[len(p):]
    else:
        answer = tokenizer(reference_text(example), add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and (not answer or answer[-1] != tokenizer.eos_token_id):
        answer = answer + [tokenizer.eos_token_id]
    keep_prompt = max(0, max_length - len(answer))
    if keep_prompt < len(p):  # cut the prompt from the left so the answer survives
        p = p[len(p) - keep_prompt:] if keep_prompt else []
    ids = (p + answer)[:max_length]
    labels = ([-100] * len(p) + answer)[:max_length]
    if all(x == -100 for x in labels):
        return None
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}
