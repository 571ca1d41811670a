"""The base model prompted with k training examples (the most similar ones, or a fixed random set).

With a chat template the examples are earlier user/assistant turns; without one they are written
into the prompt as ``Example: ... / Answer: ...`` blocks before the question.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from ..core.components import Baseline
from ..data.prompts import prompt_text, reference_text
from ..evaluation.predict import generate
from .classical import nearest_train


def shot_examples(train: list[dict], test: list[dict], k: int, select: str, seed: int) -> list[list[dict]]:
    """For each test example, the k training examples to show, the most similar last (nearest the question)."""
    if k == 0 or not train:
        return [[] for _ in test]
    k = min(k, len(train))
    if select == "random":
        chosen = random.Random(seed).sample(train, k)
        return [chosen for _ in test]
    best = nearest_train([prompt_text(ex) for ex in train], [prompt_text(ex) for ex in test], k=k)
    return [[train[i] for i in reversed(row)] for row in best]


def with_shots(example: dict, shots: list[dict], chat: bool) -> dict:
    """The test example rewritten so that its prompt carries the shots."""
    question, answer = prompt_text(example), reference_text(example)
    if chat:
        msgs = []
        for s in shots:
            msgs += [{"role": "user", "content": prompt_text(s)}, {"role": "assistant", "content": reference_text(s)}]
        return {"messages": msgs + [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
    blocks = "".join(f"Example: {prompt_text(s)}\nAnswer: {reference_text(s)}\n\n" for s in shots)
    return {"prompt": blocks + question, "response": answer}


class KShot(Baseline):
    """The base model answering with k training examples in its prompt (in-context learning, no training)."""

    name = "kshot"
    title = "the base model prompted with k examples"
    tasks = ("generation",)
    needs_model = True
    default = True

    @dataclass
    class Config:
        k: int = field(default=3, metadata={"help": "training examples shown in each prompt"})
        select: Literal["similar", "random"] = field(default="similar", metadata={
            "help": "similar: the k training prompts closest to the question (TF-IDF); random: one fixed set"})
        seed: int = field(default=0, metadata={"help": "seed of the random selection"})

        def __post_init__(self):
            if self.k < 0:
                raise ValueError(f"k must be at least 0, got {self.k}")

    def predict(self, train, test, context) -> list:

        recipe, model, tokenizer = context.recipe, context.model, context.tokenizer
        chat = bool(tokenizer.chat_template)
        shots = shot_examples(train, test, self.config.k, self.config.select, self.config.seed)
        prompts = [with_shots(ex, s, chat) for ex, s in zip(test, shots)]
        limit = getattr(model.config, "max_position_embeddings", None) or 2048
        max_length = max(16, min(recipe.model.max_length * (self.config.k + 1), limit - recipe.task.max_new_tokens))
        side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            rows = list(generate(model, tokenizer, prompts, recipe.train.eval_batch_size, recipe.task.max_new_tokens,
                                 max_length, recipe.task.system_prompt))
        finally:
            tokenizer.padding_side = side
        for row, ex in zip(rows, test):
            row.update(input=prompt_text(ex), meta=ex.get("meta", {}))
        return rows
