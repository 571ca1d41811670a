"""Continual runs' data: the grown label set, replayed rows from the ancestors, and leakage along the chain.

A run with ``model.from_run`` gets, after its own data is prepared::

    prepared = continue_data(recipe, prepared, chain)   # chain: the ancestors' RunFiles, oldest first

- labels: the parent's labels first, in the parent's order (their head rows are kept by name), then the
  new ones; a parent label missing from the new data follows ``model.old_labels`` (error, keep, drop);
- replay (``data.replay`` fraction or ``data.replay_rows`` count): rows drawn from the ancestors' own
  training rows (``data/train.jsonl`` of each run directory; a row is counted for the first ancestor that
  trained on it), stratified by label or by ancestor, plus the rows of ``data.replay_file``; they go into
  the training split only; joint retraining (``model.joint_retrain``) takes every one of them;
- leakage: new validation/test rows that were an ancestor's training row (exact or near) are reported.

``report.json``'s ``replay`` says how many rows came from where.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from ..cleaners.dedup import dedup_key
from ..cleaners.text import row_text
from ..errors import UserError
from ..safety.atomic import read_json
from .leakage import find_leaks
from .prepare import PreparedData
from .roles import text_columns


def continued_labels(new: list[str], old: list[str], policy: str, parent: str) -> list[str]:
    """The label list of a continuing run: the parent's (in its order) then the new ones, sorted."""
    missing = [l for l in old if l not in new]
    if missing and policy == "error":
        raise UserError(f"model.from_run: label(s) {', '.join(missing[:10])} of {parent} do not appear in the new "
                        f"data; add data.replay (the earlier rows come back), or set model.old_labels: keep "
                        f"(keep their head rows) or drop (remove them)")
    kept = [l for l in old if l in new or policy == "keep"]
    return kept + sorted(set(new) - set(old))


def _key(row: dict, columns: list[str]) -> str:
    return dedup_key(row_text(row, columns), True, False) + "\x00" + str(row.get("label", row.get("response", "")))


def ancestor_rows(chain: list, columns: list[str]) -> list[tuple[str, dict]]:
    """(ancestor id, row) for every distinct training row of the chain, attributed to the first run that had it."""
    seen, out = set(), []
    for run in chain:
        for row in PreparedData.read(run.layout.data).train:
            k = _key(row, columns)
            if k not in seen:
                seen.add(k)
                out.append((run.id, row))
    return out


def _shares(sizes: dict, total: int) -> dict:
    """``total`` split over the strata in proportion to their sizes (largest remainder)."""
    n = sum(sizes.values())
    exact = {k: total * v / n for k, v in sizes.items()}
    out = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[:total - sum(out.values())]:
        out[k] += 1
    return out


def sample_replay(pool: list[tuple[str, dict]], fraction: float | None, count: int | None, by: str,
                  seed: int) -> list[tuple[str, dict]]:
    """A stratified sample of the pool: ``fraction`` of each stratum, or ``count`` rows shared in proportion."""
    strata: dict = {}
    for source, row in pool:
        strata.setdefault(source if by == "source" else row.get("label", source), []).append((source, row))
    rng = random.Random(seed)
    sizes = {k: len(v) for k, v in strata.items()}
    if count is not None:
        want = _shares(sizes, min(count, len(pool)))
    else:
        want = {k: min(n, round(fraction * n)) for k, n in sizes.items()}
    out = []
    for k in sorted(strata, key=str):
        rows = list(strata[k])
        rng.shuffle(rows)
        out += rows[:want[k]]
    return out


def chain_leaks(chain: list, prepared, columns: list[str], threshold: float) -> dict:
    """For each ancestor: new test/validation rows that were its training rows (exact or near)."""
    out = {}
    for run in chain:
        old = PreparedData.read(run.layout.data).train
        for split in ("validation", "test"):
            found = find_leaks({"train": old, "test": prepared.split(split)}, columns, threshold)
            if found["total"]:
                p = found["pairs"].get("train-test", {})
                out.setdefault(run.id, {})[split] = {"exact": p.get("exact", 0), "near": p.get("near", 0)}
    return out


def continue_data(recipe, prepared, chain: list, general_rows: list[dict] | None = None):
    """``prepared`` with the continued label set, the replayed rows and the chain's leakage in its report."""
    task = recipe.task.type
    d = recipe.data
    parent = chain[-1] if chain else None
    columns = text_columns(task, prepared.train[0])
    report = dict(prepared.report)
    warnings = list(report.get("warnings") or [])
    replayed: list[tuple[str, dict]] = []
    joint = bool(recipe.model.joint_retrain)
    if joint:  # joint retraining: the union of the chain's training rows and the new data
        new_keys = {_key(r, columns) for r in prepared.train}
        replayed = [(s, r) for s, r in ancestor_rows(chain, columns) if _key(r, columns) not in new_keys]
    elif d.replay or d.replay_rows:
        pool = ancestor_rows(chain, columns)
        replayed = sample_replay(pool, d.replay, d.replay_rows, d.replay_by, d.seed)
    general = list(general_rows or [])
    if d.replay_file_rows is not None and len(general) > d.replay_file_rows:
        random.Random(d.seed).shuffle(general)
        general = general[:d.replay_file_rows]
    train = list(prepared.train) + [r for _, r in replayed] + general
    random.Random(d.seed).shuffle(train)
    labels = prepared.labels
    if parent is not None and task == "classification" and recipe.model_task() == "classification":
        old = _labels_of(parent)
        present = sorted({r["label"] for s in (train, prepared.validation, prepared.test) for r in s})
        labels = continued_labels(present, old, recipe.model.old_labels, parent.id)
        unknown = sorted({r["label"] for r in train} - set(labels))
        if unknown:  # dropped labels: their replayed rows go too
            train = [r for r in train if r["label"] in labels]
    elif task == "classification":
        labels = sorted({r["label"] for s in (train, prepared.validation, prepared.test) for r in s})
    leaks = chain_leaks(chain, prepared, columns, d.leakage_threshold) if d.leakage != "off" else {}
    if leaks:
        total = sum(v["exact"] + v["near"] for s in leaks.values() for v in s.values())
        warnings.append(f"leakage: {total} new validation/test row(s) were training rows of an earlier run "
                        f"({', '.join(leaks)}); the forgetting and test figures flatter the model on them")
    report["replay"] = {
        "from_run": parent.id if parent else None, "ancestors": [r.id for r in chain],
        "new_rows": len(prepared.train), "replayed_rows": len(replayed), "general_rows": len(general),
        "by_source": dict(Counter(s for s, _ in replayed)),
        "by_label": dict(Counter(r.get("label") for _, r in replayed)) if task == "classification" else None,
        "fraction": d.replay, "count": d.replay_rows, "stratified_by": d.replay_by, "joint": joint,
    }
    report["chain_leakage"] = leaks
    report["warnings"] = warnings
    report["rows"] = {**report.get("rows", {}), "train": len(train)}
    if report.get("label_counts"):
        report["label_counts"] = {**report["label_counts"], "train": dict(Counter(r["label"] for r in train))}
    return type(prepared)(train, prepared.validation, prepared.test, labels, prepared.rejected, report,
                          prepared.changes, prepared.general_test)


def with_general_test(prepared, rows: list[dict], source: str, task: str):
    """``prepared`` with ``data.general_test``'s rows, which the forgetting report answers before and after
    training; for classification their labels must be the run's (a UserError naming the file otherwise)."""
    if not rows:
        raise UserError(f"data.general_test: {source} has no rows; name a file with test rows, or remove the field")
    if task == "classification":
        unknown = sorted({r["label"] for r in rows} - set(prepared.labels or []))
        if unknown:
            raise UserError(f"data.general_test: {source} has label(s) {', '.join(unknown[:10])} that this run "
                            f"does not train; keep only rows of the run's labels ({', '.join(prepared.labels[:10])})")
    report = {**prepared.report, "general_test": {"file": source, "rows": len(rows)}}
    return replace(prepared, general_test=list(rows), report=report)


def _labels_of(run) -> list[str]:
    return (read_json(run.layout.data_report, {}) or {}).get("labels") or []
