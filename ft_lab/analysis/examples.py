"""Error analysis over per-example predictions, in pure Python (the panels draw what it returns).

    ex = ExampleSet.from_run("runs/r1")                  # fine-tuned predictions, scored per example
    ex.worst(10)                                         # lowest score first (by the first evaluator)
    ex.best(5, by="chrf"); ex.random(5, seed=1)
    ex.filter(label="billing", predicted="tech")         # reference / predicted label
    ex.filter(length="long", source="faq", text="返品")  # length bucket, metadata column, substring
    ex.confused_pairs(5)                                  # most confused (reference, predicted) pairs
    ex.slices("category")                                 # metric per slice, low slices flagged

Each example is the predictions-file dict plus ``scores`` (name -> per-example score).
"""
from __future__ import annotations

import math
import random as _random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import UserError
from ..rundir.reader import RunFiles
from .slices import LENGTH_BUCKETS, LENGTH_EDGES, length_bucket, slice_table


def cheap(evaluators) -> list:
    """The evaluators error analysis re-scores with, example by example: not those that call a model
    (``Evaluator.calls_model``: a judge, the model under test)."""
    return [ev for ev in evaluators if not ev.calls_model]


class ExampleSet:
    """A list of examples with per-example scores; every selection returns plain dicts or a new set."""

    def __init__(self, examples: Iterable[dict], task: str = "generation",
                 length_edges: Sequence[int] = LENGTH_EDGES):
        self.examples = [dict(e, scores=dict(e.get("scores") or {}), meta=dict(e.get("meta") or {}))
                         for e in examples]
        self.task = task
        self.length_edges = tuple(length_edges)
        self.higher_is_better: dict[str, bool] = {}
        self.evaluators: list = []

    @classmethod
    def from_run(cls, run_dir: str | Path, which: str = "finetuned", evaluators: list | None = None) -> "ExampleSet":
        """Load ``which`` predictions of a run, scored per example by its evaluators (or ``evaluators``).

        The recipe's evaluators that call a model (``calls_model``: ``llm_judge``, ``scenarios``) are left out
        by default (judging again costs model calls; their per-example results are in ``eval_details.json``);
        pass them in ``evaluators`` to use them.
        """

        run = RunFiles(run_dir)
        preds = run.predictions(which)
        if preds is None:
            raise UserError(f"{run.dir / 'predictions' / (which + '.jsonl')}: not found; the run has no "
                            f"{which} predictions yet")
        out = cls(preds, task=run.task)
        if evaluators is None:
            evaluators = cheap(run.evaluators())
        for ev in evaluators:
            out.score_with(ev)
        return out

    # --- scores --------------------------------------------------------------------------------
    def add_score(self, name: str, values: Sequence[float], higher_is_better: bool = True) -> "ExampleSet":
        values = list(values)
        if len(values) != len(self.examples):
            raise ValueError(f"score {name!r}: {len(values)} values for {len(self.examples)} examples")
        for e, v in zip(self.examples, values):
            e["scores"][name] = float(v) if v is not None else math.nan
        self.higher_is_better[name] = higher_is_better
        return self

    def score_with(self, evaluator) -> "ExampleSet":
        """Add the evaluator's per-example score (under its name) when it has one."""
        self.evaluators.append(evaluator)
        values = evaluator.per_example(self.examples)
        if values is not None:
            self.add_score(evaluator.name, values, evaluator.higher_is_better)
        return self

    @property
    def score_names(self) -> list[str]:
        return list(self.higher_is_better)

    def _by(self, by: str | None) -> str:
        if by is None:
            if not self.higher_is_better:
                raise UserError("no per-example score yet: call score_with(evaluator) or add_score(name, values)")
            return self.score_names[0]
        if by not in self.higher_is_better:
            raise UserError(f"unknown score {by!r} (available: {', '.join(self.score_names) or 'none'})")
        return by

    def _ranked(self, by: str | None, worst: bool) -> list[dict]:
        name = self._by(by)
        sign = 1 if self.higher_is_better[name] else -1
        scored = [e for e in self.examples if not math.isnan(e["scores"].get(name, math.nan))]
        # ties keep file order, so the same call gives the same answer
        return sorted(scored, key=lambda e: sign * e["scores"][name], reverse=not worst)

    def worst(self, k: int = 10, by: str | None = None) -> list[dict]:
        return self._ranked(by, worst=True)[:k]

    def best(self, k: int = 10, by: str | None = None) -> list[dict]:
        return self._ranked(by, worst=False)[:k]

    def random(self, k: int = 10, seed: int = 0) -> list[dict]:
        return _random.Random(seed).sample(self.examples, min(k, len(self.examples)))

    # --- filters -------------------------------------------------------------------------------
    def filter(self, label: Any = None, predicted: Any = None, length: str | None = None,
               text: str | None = None, regex: str | None = None, correct: bool | None = None,
               where: Callable[[dict], bool] | None = None, **meta) -> "ExampleSet":
        """Examples matching every condition given. A value may be a list (any of them).

        label / predicted: reference / predicted label; length: short, medium or long (input characters);
        text: case-insensitive substring of input, reference or prediction; regex: the same with a
        pattern; correct: prediction equals reference; any other keyword: a metadata column.
        """
        if length is not None and length not in LENGTH_BUCKETS:
            raise UserError(f"length: expected one of {', '.join(LENGTH_BUCKETS)}, got {length!r}")
        pattern = re.compile(regex) if regex else None
        needle = text.casefold() if text else None

        def one_of(value, wanted) -> bool:
            if isinstance(wanted, (list, tuple, set)):
                return value in {str(w) for w in wanted} or value in wanted
            return value == wanted or str(value) == str(wanted)

        known_meta = {k for e in self.examples for k in e["meta"]}
        for key in meta:
            if key not in known_meta:
                raise UserError(f"filter: no metadata column {key!r} in these examples (columns: "
                                f"{', '.join(sorted(known_meta)) or 'none'})")
        out = []
        for e in self.examples:
            if label is not None and not one_of(str(e["reference"]), label):
                continue
            if predicted is not None and not one_of(str(e["prediction"]), predicted):
                continue
            if length is not None and length_bucket(e["input"], self.length_edges) != length:
                continue
            fields = (str(e["input"]), str(e["reference"]), str(e["prediction"]))
            if needle and not any(needle in f.casefold() for f in fields):
                continue
            if pattern and not any(pattern.search(f) for f in fields):
                continue
            if correct is not None and (str(e["prediction"]).strip() == str(e["reference"]).strip()) != correct:
                continue
            if any(not one_of(e["meta"].get(k), v) for k, v in meta.items()):
                continue
            if where is not None and not where(e):
                continue
            out.append(e)
        sub = ExampleSet([], self.task, self.length_edges)
        sub.examples, sub.higher_is_better, sub.evaluators = out, dict(self.higher_is_better), list(self.evaluators)
        return sub

    # --- confusion and slices ------------------------------------------------------------------
    def confused_pairs(self, k: int = 10, examples_per_pair: int = 5) -> list[dict]:
        """The ``k`` most frequent (reference, predicted) label pairs that differ, with their examples."""
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        counts: Counter = Counter()
        for e in self.examples:
            pair = (str(e["reference"]), str(e["prediction"]))
            if pair[0] != pair[1]:
                counts[pair] += 1
                if len(groups[pair]) < examples_per_pair:
                    groups[pair].append(e)
        top = sorted(counts.items(), key=lambda t: (-t[1], t[0]))[:k]
        return [{"reference": r, "predicted": p, "count": n, "examples": groups[(r, p)]} for (r, p), n in top]

    def slices(self, by: str | Callable[[dict], Any], evaluator=None, metric: str | None = None,
               min_count: int = 5, tolerance: float = 0.1):

        ev = evaluator or (self.evaluators[0] if self.evaluators else None)
        return slice_table(self.examples, by, evaluator=ev, metric=metric, min_count=min_count,
                           tolerance=tolerance, length_edges=self.length_edges)

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self):
        return iter(self.examples)

    def __getitem__(self, i):
        return self.examples[i]
