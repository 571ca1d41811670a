"""The one way to load a run's models: the base model of its recipe, and the trained model it saved.

    model, tokenizer = load_base(recipe, labels)              # the worker, before training
    model, tokenizer, method = load_trained("runs/<id>")      # export --merge, the Playground, serving
    model, tokenizer = start_model(recipe, labels, parent)    # a run continued from ``parent`` (lineage)

``load_trained`` reads only the run directory (recipe.yaml, data/report.json, final/) and the base model
the recipe names, so a run directory copied to another folder or machine loads as well.
"""
from __future__ import annotations

import os

from ..errors import UserError
from ..rundir.layout import RunLayout
from ..rundir.lineage import parent_of
from ..rundir.reader import RunFiles
from ..safety.atomic import read_json
from .head_rows import copy_rows, is_head_name, regrow_head
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


def load_trained(run_dir: str | os.PathLike, recipe=None, **load_kwargs):
    """The trained model of a run (its base with ``final/`` applied by the recipe's method), in eval mode,
    with its tokenizer and the method instance. ``recipe``: the run's, when already read. A run continued
    from another (``model.from_run``) starts from that run's model, found through its lineage."""

    files = RunFiles(run_dir)
    final = files.layout.final
    if not final.is_dir():
        raise UserError(f"{files.dir}: no final/ folder; the run has not saved a trained model")
    recipe = recipe if recipe is not None else files.recipe()
    method = recipe.method.create("method")
    base, tokenizer = start_model(recipe, run_labels(files.dir), parent_of(files), **load_kwargs)
    model = type(method).load(base, final)
    model.eval()
    return model, tokenizer, method


def continues_adapter(recipe, parent: RunFiles | None) -> bool:
    """Whether the run keeps training its parent's adapter (``from_run_adapter: continue``)."""
    return (parent is not None and not recipe.model.joint_retrain and recipe.model.from_run_adapter == "continue"
            and parent.recipe().method.create("method").adapter)


def starts_from_base(run_dir) -> bool:
    """Whether the run's method was applied to the recipe's base model itself (no parent, or a chain of
    runs each continuing its parent's adapter), so its adapter alone loads on that base."""
    run = RunFiles(run_dir)
    parent = parent_of(run)
    return parent is None or run.recipe().model.joint_retrain or (continues_adapter(run.recipe(), parent) and starts_from_base(parent.dir))


def start_model(recipe, labels: list[str] | None, parent: RunFiles | None, **load_kwargs):
    """The model a run's method is applied to, with its tokenizer: the recipe's base model without a
    parent; with one, the parent's result (an adapter merged in) with its head regrown to ``labels``, or,
    when the run continues the parent's adapter, the model that adapter sits on (``continues_adapter``).
    Joint retraining (``model.joint_retrain``) starts from the base model, whatever its parent."""
    if parent is None or recipe.model.joint_retrain:
        return load_base(recipe, labels, **load_kwargs)
    old = parent.recipe()
    if continues_adapter(recipe, parent):
        return start_model(old, labels, parent_of(parent), **load_kwargs)
    model, tokenizer, method = load_trained(parent.dir, old, **load_kwargs)
    if method.adapter:
        model = method.merge(model)
    regrow_head(model, run_labels(parent.dir), labels)
    return model, tokenizer


def restore_adapter(method, model, parent: RunFiles, labels: list[str] | None) -> None:
    """Put the parent's trained adapter weights into ``model`` (just prepared by the same method), the
    head's rows by label name, so training continues from them."""
    old = run_labels(parent.dir)
    for name, (saved, target) in method.restore_pairs(model, parent.layout.final).items():
        if target is None:
            raise UserError(f"{parent.layout.final}: {name} has no place in the prepared model; was the "
                            f"method configured as in {parent.id}?")
        if labels and old and is_head_name(name) and saved.shape[0] == len(old) and target.shape[0] == len(labels):
            copy_rows(saved, target, old, labels)
        elif target.shape == saved.shape:
            with _no_grad():
                target.copy_(saved.to(dtype=target.dtype, device=target.device))
        else:
            raise UserError(f"{parent.layout.final}: {name} has shape {tuple(saved.shape)}, the model expects "
                            f"{tuple(target.shape)}")


def _no_grad():
    import torch
    return torch.no_grad()
