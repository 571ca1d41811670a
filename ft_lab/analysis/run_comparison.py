"""Comparison of two runs on the same test set, and base against fine-tuned within one run.

    diff = compare_runs("runs/r1", "runs/r2")
    diff["metrics"]["accuracy"]    # {'a': 0.80, 'b': 0.86, 'delta': 0.06}
    diff["examples"].counts        # {'fixed': 9, 'broken': 3, 'still_wrong': 11, 'still_right': 77}
    base_vs_finetuned("runs/r1").where("broken")

Examples are paired by id; runs whose test sets differ (ids or inputs) are refused.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..evaluation.compare import Comparison, compare_predictions
from ..rundir.reader import RunFiles


def _scored(run: RunFiles, examples: list[dict], by: str | None):
    if by is None:
        return None
    for ev in run.evaluators([by]):
        values = ev.per_example(examples)
        if values is None:
            raise UserError(f"evaluator {by!r} has no per-example score to compare with")
        return values
    return None


def base_vs_finetuned(run_dir: str | Path, by: str | None = None, threshold: float = 1.0) -> Comparison:
    """Side by side: each test example through the base and the fine-tuned model, with outcome counts.

    ``by``: an evaluator whose per-example score decides right/wrong (with ``threshold``), e.g.
    ``by="chrf", threshold=60``; default: label equality or normalized exact match.
    """
    run = RunFiles(run_dir)
    base, ft = run.predictions("base"), run.predictions("finetuned")
    if base is None or ft is None:
        raise UserError(f"{run.dir / 'predictions'}: needs both base.jsonl and finetuned.jsonl "
                        f"(set model.compare_base: true in the recipe to evaluate the base model)")
    base, ft = base.load(), ft.load()
    score = None if by is None else (_scored(run, base, by), _scored(run, ft, by))
    return compare_predictions(base, ft, run.task, score=score, threshold=threshold)


def compare_runs(run_a: str | Path, run_b: str | Path, which: str = "finetuned", by: str | None = None,
                 threshold: float = 1.0) -> dict:
    """Metrics side by side and example outcomes ('fixed' = wrong in run A, right in run B)."""
    a, b = RunFiles(run_a), RunFiles(run_b)
    if a.task != b.task:
        raise UserError(f"{a.dir} is a {a.task} run and {b.dir} a {b.task} run; they cannot be compared")
    pa, pb = a.predictions(which), b.predictions(which)
    for run, p in ((a, pa), (b, pb)):
        if p is None:
            raise UserError(f"{run.dir / 'predictions' / (which + '.jsonl')}: not found")
    ea, eb = pa.load(), pb.load()
    score = None if by is None else (_scored(a, ea, by), _scored(b, eb, by))
    examples = compare_predictions(ea, eb, a.task, score=score, threshold=threshold, names=(a.name, b.name))
    ma, mb = a.metrics().get(which, {}), b.metrics().get(which, {})
    metrics = {}
    for key in list(ma) + [k for k in mb if k not in ma]:
        va, vb = ma.get(key), mb.get(key)
        metrics[key] = {"a": va, "b": vb,
                        "delta": (vb - va) if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None}
    return {"a": str(a.dir), "b": str(b.dir), "metrics": metrics, "examples": examples}
