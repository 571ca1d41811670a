"""How much a recipe trains: the token lengths of its training rows, read as a run would encode them.

    work = Workload.from_lengths([120, 80, 64, ...], batch_size=8)
    work.rows, work.longest, work.real_tokens, work.padded_tokens   # per epoch

``recipe_workload(recipe)`` loads, cleans and splits the recipe's data and tokenizes the training rows
with the model's tokenizer (its files only, no weights), exactly as the worker does.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..data.pairs import answer_views, is_preference
from ..data.prepare import prepare_data
from ..models.model_loading import load_tokenizer, resolve_source
from ..training.defaults import has_auto, resolve_defaults
from ..training.tokenization import encode_split


@dataclass(frozen=True)
class Workload:
    rows: int
    longest: int
    mean: float
    real_tokens: int    # per epoch
    padded_tokens: int  # per epoch, rows padded to the longest of each batch of ``batch_size``

    @classmethod
    def from_lengths(cls, lengths: list[int], batch_size: int) -> "Workload":
        lengths = [int(n) for n in lengths] or [1]
        padded = sum(batch_size * max(lengths[i:i + batch_size]) if i + batch_size <= len(lengths)
                     else len(lengths[i:]) * max(lengths[i:]) for i in range(0, len(lengths), batch_size))
        return cls(rows=len(lengths), longest=max(lengths), mean=sum(lengths) / len(lengths),
                   real_tokens=sum(lengths), padded_tokens=padded)

    def to_dict(self) -> dict:
        return asdict(self)


def recipe_workload(recipe, data=None):
    """(recipe with ``auto`` settings resolved, Workload of its training rows, labels)."""

    recipe = recipe.resolved()
    data = data if data is not None else prepare_data(recipe)
    if has_auto(recipe):
        recipe, _ = resolve_defaults(recipe, data)
    tokenizer = load_tokenizer(recipe.model, resolve_source(recipe.model))
    labels = data.labels
    label2id = {l: i for i, l in enumerate(labels)} if labels else None
    # preference rows (train.objective dpo, ...): each answer of a row is a sequence the trainer scores
    rows = [view for ex in data.train for view in (answer_views(ex) if is_preference(ex) else [ex])]
    features, _ = encode_split(tokenizer, rows, recipe.task.type, recipe, label2id)
    lengths = [len(f["input_ids"]) for f in features]
    return recipe, Workload.from_lengths(lengths, recipe.train.batch_size), labels
