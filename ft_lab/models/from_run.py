"""The one way to load a run's models: the base model of its recipe, and the trained model it saved.

    model, tokenizer = load_base(recipe, labels)              # the worker, before training
    model, tokenizer, method = load_trained("runs/<id>")      # export --merge, the Playground, serving

``load_trained`` reads only the run directory (recipe.yaml, data/report.json, final/) and the base model
the recipe names, so a run directory copied to another folder or machine loads as well.
"""
from __future__ import annotations

import os

from ..errors import UserError
from ..rundir.layout import RunLayout
from ..rundir.reader import RunFiles
from ..safety.atomic import read_json
from .model_loading import load_model, load_tokenizer, resolve_source


def run_labels(run_dir: str | os.PathLike) -> list[str] | None:
    """The labels the run trained on (data/report.json), or None (generation)."""

    return (read_json(RunLayout(run_dir).data_report, {}) or {}).get("labels")


def load_base(recipe, labels: list[str] | None = None, tokenizer=None, **load_kwargs):
    """The recipe's base model (a new head over ``labels`` for a classification head) and its tokenizer;
    ``load_kwargs`` go to ``from_pretrained`` (a method's quantization config, a dtype)."""

    source = resolve_source(recipe.model)
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(recipe.model, source)
    return load_model(recipe.model, source, recipe.model_task(), labels, tokenizer, **load_kwargs), tokenizer


def load_trained(run_dir: str | os.PathLike, recipe=None):
    """The trained model of a run (its base with ``final/`` applied by the recipe's method), in eval mode,
    with its tokenizer and the method instance. ``recipe``: the run's, when already read."""

    files = RunFiles(run_dir)
    final = files.layout.final
    if not final.is_dir():
        raise UserError(f"{files.dir}: no final/ folder; the run has not saved a trained model")
    recipe = recipe if recipe is not None else files.recipe()
    method = recipe.method.create("method")
    base, tokenizer = load_base(recipe, run_labels(files.dir))
    model = type(method).load(base, final)
    model.eval()
    return model, tokenizer, method
