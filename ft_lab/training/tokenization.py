"""Turn prepared examples into token ids: classification (text -> label id) and generation
(prompt -> response, chat messages through the tokenizer's chat template; loss only on the response)."""
from __future__ import annotations

from ..data.formatting import CLASSIFY, verbalize
from ..data.prompts import encode_generation


def encode_classification(tokenizer, example: dict, label2id: dict, max_length: int) -> dict:
    enc = tokenizer(example["text"], truncation=True, max_length=max_length)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
            "labels": label2id[example["label"]]}


class PadCollator:
    """Right-pads input_ids, attention_mask and labels (-100 for token labels)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, features: list[dict]) -> dict:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        batch = {
            "input_ids": torch.tensor([f["input_ids"] + [self.pad_id] * (width - len(f["input_ids"]))
                                       for f in features]),
            "attention_mask": torch.tensor([f["attention_mask"] + [0] * (width - len(f["attention_mask"]))
                                            for f in features]),
        }
        labels = [f["labels"] for f in features]
        if isinstance(labels[0], list):
            batch["labels"] = torch.tensor([l + [-100] * (width - len(l)) for l in labels])
        else:
            batch["labels"] = torch.tensor(labels)
        return batch


def verbalized(recipe, examples: list[dict], labels: list[str]) -> list[dict]:
    """Classification examples as prompt -> label words, for a language model used as classifier."""

    template = recipe.task.classify_prompt or CLASSIFY
    return [verbalize(ex, recipe.task.label_words, labels, template) for ex in examples]


def encode_split(tokenizer, examples: list[dict], task: str, recipe, label2id: dict | None) -> tuple[list, int]:
    """Encoded features for a split, and how many examples were dropped by truncation."""
    out, dropped = [], 0
    if task == "classification" and recipe.model_task() == "generation":
        examples, task = verbalized(recipe, examples, list(label2id)), "generation"
    for ex in examples:
        if task == "classification":
            out.append(encode_classification(tokenizer, ex, label2id, recipe.model.max_length))
        else:
            enc = encode_generation(tokenizer, ex, recipe.task.system_prompt, recipe.model.max_length)
            if enc is None:
                dropped += 1
            else:
                out.append(enc)
    return out, dropped
