"""Predictions on a split, streamed to disk example by example, then scored by the recipe's evaluators.

- classification: labels from the head's logits (probabilities kept per example);
- generation: batched greedy generation with left padding and the KV cache; each example also gets the
  summed negative log-likelihood of its reference (``nll``, ``n_tokens``) for perplexity.
Only one batch of logits is alive at a time, so memory stays flat as the test set grows; long prompts
(k-shot baselines, long documents) make smaller batches, so memory stays bounded as prompts grow too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..data.formatting import CLASSIFY, verbalize
from ..data.prompts import encode_generation, prompt_ids, prompt_text, reference_text

#: a generation batch holds at most this many prompt tokens (attention and KV cache grow with it)
PROMPT_TOKENS_PER_BATCH = 16_384
#: the reference NLL materialises at most this many logits at a time (rows x positions x vocabulary)
LOGITS_PER_BATCH = 64 * 1024 * 1024


def _batches(items, size):
    for i in range(0, len(items), size):
        yield i, items[i:i + size]


def rows_per_batch(width: int, per_position: int, budget: int, most: int) -> int:
    """How many rows of ``width`` positions fit in ``budget`` (at least one, at most ``most``)."""
    return max(1, min(most, budget // max(1, width * per_position)))


def classify(model, tokenizer, examples, labels, batch_size: int, max_length: int):
    import torch

    model.eval()
    device = next(model.parameters()).device
    for start, batch in _batches(examples, batch_size):
        enc = tokenizer([e["text"] for e in batch], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt").to(device)
        with torch.no_grad():
            probs = torch.softmax(model(**enc).logits.float(), dim=-1).cpu()
        for j, (ex, p) in enumerate(zip(batch, probs)):
            yield {"id": start + j, "input": ex["text"], "reference": ex["label"],
                   "prediction": labels[int(p.argmax())],
                   "probs": {lab: round(float(x), 6) for lab, x in zip(labels, p)}, "meta": ex.get("meta", {})}


def classify_by_likelihood(model, tokenizer, examples, labels, words: dict, template: str, batch_size: int,
                           max_length: int, system_prompt: str | None = None):
    """A language model as classifier: each label's words scored by their log-likelihood after the prompt.

    ``probs`` is the softmax over the labels' summed log-likelihoods. Pairs (example, label) go through the
    model ``batch_size`` at a time, so memory stays flat however many examples and labels there are.
    """
    import torch


    model.eval()
    device = next(model.parameters()).device
    per_example = max(1, batch_size // max(1, len(labels)))
    for start, batch in _batches(examples, per_example):
        pairs = []
        for ex in batch:
            prompt = verbalize(ex, words, labels, template)["prompt"]
            pairs += [{"prompt": prompt, "response": words.get(label, label)} for label in labels]
        scores = []
        for _, chunk in _batches(pairs, max(batch_size, len(labels))):
            scores += [-nll for nll, _ in reference_nll(model, tokenizer, chunk, system_prompt, max_length, device)]
        table = torch.tensor(scores).view(len(batch), len(labels))
        probs = torch.softmax(table, dim=-1)
        for j, (ex, p) in enumerate(zip(batch, probs)):
            yield {"id": start + j, "input": ex["text"], "reference": ex["label"],
                   "prediction": labels[int(p.argmax())],
                   "probs": {lab: round(float(x), 6) for lab, x in zip(labels, p)}, "meta": ex.get("meta", {})}


def stop_token_ids(tokenizer) -> list[int]:
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    end = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    return ids + ([end] if end is not None and end not in ids else [])


def generate(model, tokenizer, examples, batch_size: int, max_new_tokens: int, max_length: int,
             system_prompt: str | None = None, **decoding):
    """Greedy (or ``decoding``-controlled) answers, left-padded batches, with reference NLL per example."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    stops = stop_token_ids(tokenizer)
    gen_kwargs = {"max_new_tokens": max_new_tokens, "do_sample": False, "pad_token_id": pad,
                  "eos_token_id": stops or None, "use_cache": True, **decoding}
    for start, batch in _batches(examples, batch_size):
        prompts = [prompt_ids(tokenizer, ex, system_prompt)[-(max_length - 1):] for ex in batch]
        step = rows_per_batch(max(len(p) for p in prompts) + max_new_tokens, 1, PROMPT_TOKENS_PER_BATCH, len(batch))
        for i in range(0, len(batch), step):
            part = batch[i:i + step]
            new_tokens = _generate_batch(model, prompts[i:i + step], pad, device, gen_kwargs)
            texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            nll = reference_nll(model, tokenizer, part, system_prompt, max_length, device)
            for j, (ex, text) in enumerate(zip(part, texts)):
                yield {"id": start + i + j, "input": prompt_text(ex), "reference": reference_text(ex),
                       "prediction": text.strip(), "nll": nll[j][0], "n_tokens": nll[j][1],
                       "meta": ex.get("meta", {})}


def _generate_batch(model, prompts: list[list[int]], pad: int, device, gen_kwargs):
    """The new tokens of each left-padded prompt."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, **gen_kwargs)
    return out[:, width:]


def reference_nll(model, tokenizer, batch, system_prompt, max_length, device) -> list[tuple[float, int]]:
    """Summed NLL of each reference answer given its prompt, and the number of answer tokens."""
    import torch

    encs = [encode_generation(tokenizer, ex, system_prompt, max_length) for ex in batch]
    out = [(0.0, 0)] * len(batch)
    live = [(i, e) for i, e in enumerate(encs) if e is not None]
    if not live:
        return out
    vocab = int(getattr(model.config, "vocab_size", 0) or len(tokenizer))
    step = rows_per_batch(max(len(e["input_ids"]) for _, e in live), vocab, LOGITS_PER_BATCH, len(live))
    pad = tokenizer.pad_token_id
    for k in range(0, len(live), step):
        part = live[k:k + step]
        width = max(len(e["input_ids"]) for _, e in part)
        ids = torch.tensor([e["input_ids"] + [pad] * (width - len(e["input_ids"])) for _, e in part], device=device)
        mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"])) for _, e in part],
                            device=device)
        labels = torch.tensor([e["labels"] + [-100] * (width - len(e["labels"])) for _, e in part], device=device)
        # position t predicts token t + 1; the last position predicts nothing
        target = torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], -100)], dim=1)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            # cross_entropy keeps no second vocabulary-wide copy (log_softmax + gather would)
            nll = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), target.reshape(-1),
                                                    ignore_index=-100, reduction="none").view(target.shape)
        valid = target != -100
        for row, (i, _) in enumerate(part):
            out[i] = (round(float(nll[row].sum()), 5), int(valid[row].sum()))
    return out


def write_predictions(rows, path: Path) -> list[dict]:
    """Stream rows to ``path`` (via ``.partial``, renamed when complete); return them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    kept = []
    with open(partial, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            f.flush()
            kept.append(row)
    os.replace(partial, path)
    return kept


def make_responder(recipe, model, tokenizer, labels):
    """A function from inputs to the model's answers (labels or generated text), for scenario evaluators."""
    def respond(inputs: list[str]) -> list[str]:
        if recipe.task.type == "classification":
            rows = classify_split(recipe, model, tokenizer, [{"text": t, "label": labels[0]} for t in inputs],
                                  labels)
        else:
            rows = generate(model, tokenizer, [{"prompt": t, "response": ""} for t in inputs],
                            recipe.train.eval_batch_size, recipe.task.max_new_tokens, recipe.model.max_length,
                            recipe.task.system_prompt)
        return [r["prediction"] for r in rows]
    return respond


def classify_split(recipe, model, tokenizer, examples, labels):
    """Label predictions with the recipe's classifier: the head's logits, or the labels' likelihood (lm)."""
    if recipe.task.classifier == "lm":

        tokenizer.padding_side = "right"
        return classify_by_likelihood(model, tokenizer, examples, labels, recipe.task.label_words,
                                      recipe.task.classify_prompt or CLASSIFY, recipe.train.eval_batch_size,
                                      recipe.model.max_length)
    return classify(model, tokenizer, examples, labels, recipe.train.eval_batch_size, recipe.model.max_length)


def predict_split(recipe, model, tokenizer, examples, labels, out_path: Path) -> list[dict]:
    task = recipe.task
    batch = recipe.train.eval_batch_size
    if task.type == "classification":
        rows = classify_split(recipe, model, tokenizer, examples, labels)
    else:
        tokenizer.padding_side = "left"
        rows = generate(model, tokenizer, examples, batch, task.max_new_tokens, recipe.model.max_length,
                        task.system_prompt)
    return write_predictions(rows, out_path)
