"""Re-evaluate a finished run: score its predictions files again with chosen evaluators.

    result = evaluate_run("runs/r1", ["bleu", "rouge"])
    result["finetuned"]          # {'bleu': 31.2, 'rouge1': 0.52, ...}

Metrics are merged into ``RUN_DIR/metrics.json`` (values of evaluators not re-run are kept) and the
non-scalar details (confusion matrix, tokenizer used, judgements, scenario cases) into
``RUN_DIR/eval_details.json``; both are written atomically (temporary file, then rename).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..rundir.predictions import atomic_write_json
from ..rundir.reader import WHICH, RunFiles
from ..safety.atomic import json_safe
from .baseline_scores import rescore_baselines
from .compare import attach_base
from .verdict import winner


def evaluate_run(run_dir: str | Path, names: list[str] | None = None, write: bool = True,
                 progress=None, sides: tuple[str, ...] | None = None, responders: dict | None = None,
                 strict: bool = True, on_error=None) -> dict:
    """Score the run's predictions; ``sides`` (base, finetuned) limits it to base or finetuned, and ``responders`` gives
    evaluators that ask the model new questions (scenarios) a function answering with the model in memory.
    With ``strict=False`` (the training worker) an evaluator that fails is recorded in eval_details.json
    under its name as ``{"error": ...}`` and the others still run; ``on_error(which, evaluator, message)``
    is called for each such failure."""

    run = RunFiles(run_dir)
    evaluators = run.evaluators(names)
    found = {w: (run.predictions(w) if sides is None or w in sides else None) for w in WHICH}
    if not any(found.values()):
        raise UserError(f"{run.layout.predictions_dir}: no base.jsonl or finetuned.jsonl; the run has not "
                        f"been evaluated yet (wait for it to finish, or re-run it)")
    metrics = run.metrics()
    details = run.details()
    for which, examples in found.items():
        if examples is None:
            continue
        scores = dict(metrics.get(which) or {})
        info = dict(details.get(which) or {})
        for ev in evaluators:
            if ev.asks_model and responders and which in responders:
                ev.responder = responders[which]
            data = examples
            if ev.compares_pairs:
                if which == "base":
                    continue  # it compares base with fine-tuned once, on the fine-tuned side
                # scoring the fine-tuned side alone (the worker) still compares with the base answers on disk
                base = found["base"] if found["base"] is not None else run.predictions("base")
                if base is None:
                    raise UserError(f"{ev.name} compares fine-tuned answers with the base model's: it needs "
                                    f"{run.dir / 'predictions' / 'base.jsonl'}; set model.compare_base: true, or "
                                    f"a setting of it that does not compare (llm_judge: mode: single)")
                data = attach_base(examples, base)
            if progress:
                progress(f"{which}: {ev.name}")
            try:
                result = ev.score(data)
                bad = {k: v for k, v in result.items() if not isinstance(v, (int, float)) or isinstance(v, bool)}
                if bad:
                    raise UserError(f"evaluator {ev.name!r} returned non-numeric metric(s) {', '.join(bad)}; "
                                    f"score() must return floats (put other results in details())")
                det = ev.details(data)
            except Exception as exc:
                if strict:
                    raise
                info[ev.name] = {"error": f"{type(exc).__name__}: {exc}"}
                if progress:
                    progress(f"{which}: {ev.name} failed: {exc}")
                if on_error:
                    on_error(which, ev.name, str(exc))
                continue
            scores.update({k: float(v) for k, v in result.items()})
            if det:
                info[ev.name] = det
        metrics[which] = scores
        details[which] = info
    if not metrics.get("headline"):
        recipe = run.recipe_or_none()
        metrics["headline"] = recipe.headline_metric() if recipe else (evaluators[0].name if evaluators else "loss")
    if sides is None:  # a re-evaluation also re-scores the baselines' answers
        rescore_baselines(run.dir, evaluators, metrics)
    metrics["winner"] = winner(metrics)
    if write:
        atomic_write_json(run.layout.metrics, json_safe(metrics))
        atomic_write_json(run.layout.eval_details, json_safe(details))
    return metrics

