"""Lineage: a run that continues from an earlier run (``model.from_run``), and the chain of its ancestors.

``run.json`` of such a run holds ``from_run`` (the parent's id and its path relative to this run's folder)
and ``ancestors`` (ids, oldest first), so a chain of run directories copied together still finds itself::

    parent = check_parent(recipe)          # the earlier run, or a UserError (exit 2) saying what is wrong
    chain = ancestors("runs/C")            # [RunFiles(A), RunFiles(B)], oldest first
    lines = lineage_lines(runs)            # "A -> B -> C" trees for ``ft-lab runs --tree``
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError
from .layout import is_run_dir
from .reader import RunFiles
from .status import COMPLETED


def _same_model(a, b) -> bool:
    if a.name_or_path == b.name_or_path:
        return (a.gguf_file or None) == (b.gguf_file or None)
    pa, pb = Path(os.path.expanduser(a.name_or_path)), Path(os.path.expanduser(b.name_or_path))
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def check_parent(recipe) -> RunFiles | None:
    """The completed run ``recipe.model.from_run`` names (None without one); a UserError naming the field
    when it does not exist, has not completed, or used another base model or task."""
    where = recipe.model.from_run
    if not where:
        return None
    path = Path(recipe.resolve_path(where))
    if not path.is_dir() or not is_run_dir(path):
        raise UserError(f"model.from_run: {path} is not a run directory (no run.json); give a run folder "
                        f"such as runs/<id> (ft-lab runs lists them)")
    parent = RunFiles(path)
    status = parent.last_status_event().get("status")
    if status != COMPLETED or not parent.layout.final.is_dir():
        raise UserError(f"model.from_run: {parent.id} is {status}, not completed; continue only from a "
                        f"completed run (finish it with: ft-lab resume {path})")
    old = parent.recipe()
    if not _same_model(old.model, recipe.model):
        raise UserError(f"model.from_run: {parent.id} was trained from '{old.model.name_or_path}', this recipe "
                        f"names '{recipe.model.name_or_path}'; set model.name_or_path: {old.model.name_or_path}")
    if (old.task.type, old.model_task()) != (recipe.task.type, recipe.model_task()):
        raise UserError(f"model.from_run: {parent.id} is a {old.task.type} run ({old.model_task()} model), "
                        f"this recipe is {recipe.task.type} ({recipe.model_task()} model); a run continues "
                        f"only a run of the same task")
    return parent


def inherit_method(recipe, parent: RunFiles):
    """``method: auto`` continuing an adapter: the parent's method and settings (``from_run_adapter:
    continue`` keeps training that very adapter)."""
    old = parent.recipe()
    if recipe.method.named or recipe.model.from_run_adapter != "continue" or recipe.model.joint_retrain:
        return recipe
    data = recipe.to_dict()
    data["method"] = old.method.to_plain()
    return type(recipe).from_dict(data, base_dir=recipe.base_dir)


def check_method(recipe, parent: RunFiles) -> None:
    """The recipe's (resolved) method must be able to start from the parent's result (joint retraining
    starts from the base model: any method)."""
    if recipe.model.joint_retrain:
        return
    old = parent.recipe()
    old_method = old.method.create("method")
    if not old_method.adapter:
        return  # a whole model: any method starts from it
    if recipe.model.from_run_adapter == "continue":
        if recipe.method.to_plain() != old.method.to_plain():
            raise UserError(f"model.from_run_adapter: continue keeps training {parent.id}'s adapter "
                            f"({old.method.to_plain()}), but this recipe's method is {recipe.method.to_plain()}; "
                            f"use the same method settings, or set model.from_run_adapter: stack")
        if not hasattr(old_method, "restore_pairs"):
            raise UserError(f"model.from_run_adapter: method '{old.method.name}' cannot reload its adapter "
                            f"for more training; set model.from_run_adapter: stack")
    elif not old_method.capabilities.mergeable:
        raise UserError(f"model.from_run_adapter: stack merges {parent.id}'s '{old.method.name}' adapter into "
                        f"the model, and that method cannot be merged; set model.from_run_adapter: continue")


def lineage_record(parent: RunFiles, run_dir: Path, joint: bool = False) -> dict:
    """What run.json records for a run created at ``run_dir`` from ``parent`` (``joint``: retrained from the
    base on the chain's rows and its own, ``model.joint_retrain``)."""
    chain = [a.id for a in ancestors(parent.dir)] + [parent.id]
    return {"from_run": {"id": parent.id, "path": os.path.relpath(parent.dir, run_dir)}, "ancestors": chain,
            **({"joint_retrain": True} if joint else {})}


def parent_of(run: RunFiles) -> RunFiles | None:
    """The run this one continued from: by the relative path in run.json (a copied chain), else a sibling
    folder of the same id, else the recipe's absolute path; None for a run without a parent. A parent
    that cannot be found is a UserError."""
    record = run.info.get("from_run")
    if not record:
        return None
    candidates = [run.dir / record["path"], run.dir.parent / record["id"]]
    recipe = run.recipe_or_none()
    if recipe is not None and recipe.model.from_run:
        candidates.append(Path(recipe.model.from_run))
    for c in candidates:
        if is_run_dir(c):
            return RunFiles(c)
    raise UserError(f"{run.dir}: its earlier run {record['id']} is not at {record['path']} (relative to the run) "
                    f"nor beside it; copy the chain of run directories together")


def ancestors(run_dir) -> list[RunFiles]:
    """The runs ``run_dir`` descends from, oldest first ([] for a run that started from a base model)."""
    chain: list[RunFiles] = []
    run = RunFiles(run_dir)
    seen = {run.dir}
    while (run := parent_of(run)) is not None:
        if run.dir in seen:
            raise UserError(f"{run.dir}: its lineage loops back on itself")
        seen.add(run.dir)
        chain.append(run)
    return chain[::-1]


def lineage_trees(runs: list) -> list[list]:
    """The runs grouped into chains for display: each tree is a list of (depth, run) in order, roots first."""
    by_dir = {Path(r.dir).resolve(): r for r in runs}
    children: dict = {}
    roots = []
    for r in runs:
        try:
            parent = parent_of(RunFiles(r.dir))
        except UserError:
            parent = None
        key = parent.dir if parent is not None and parent.dir in by_dir else None
        if key is None:
            roots.append(r)
        else:
            children.setdefault(key, []).append(r)

    def walk(run, depth, out):
        out.append((depth, run))
        for child in sorted(children.get(Path(run.dir).resolve(), []), key=lambda c: c.info.get("created", "")):
            walk(child, depth + 1, out)
        return out
    return [walk(r, 0, []) for r in sorted(roots, key=lambda c: c.info.get("created", ""))]
