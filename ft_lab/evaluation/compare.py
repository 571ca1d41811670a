"""Base model against fine-tuned: the same prompts through both, side by side, example by example.

    cmp = compare_predictions(base_examples, finetuned_examples, task="classification")
    cmp.counts      # {'fixed': 12, 'broken': 3, 'still_wrong': 5, 'still_right': 80}
    cmp.rows[0]     # {'id': 0, 'input': ..., 'reference': ..., 'base': ..., 'finetuned': ...,
                    #  'base_score': 0.0, 'finetuned_score': 1.0, 'outcome': 'fixed'}

"Right" is: the predicted label equals the reference (classification); the normalized answer equals
the reference, or a per-example score (e.g. chrF) reaches ``threshold`` (generation).
The same function compares two runs on the same test set (``ft_lab.analysis.run_comparison``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from ..errors import UserError
from .text_scores import normalize_answer

OUTCOMES = ("fixed", "broken", "still_wrong", "still_right")


@dataclass
class Comparison:
    rows: list[dict]
    counts: dict[str, int] = field(default_factory=dict)
    names: tuple[str, str] = ("base", "finetuned")

    def where(self, outcome: str) -> list[dict]:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
        return [r for r in self.rows if r["outcome"] == outcome]


def correct_by_match(example: dict) -> float:
    return float(normalize_answer(example["prediction"]) == normalize_answer(example["reference"]))


def correct_by_label(example: dict) -> float:
    return float(str(example["prediction"]) == str(example["reference"]))


def pair_examples(a: Iterable[dict], b: Iterable[dict], names=("base", "finetuned")) -> list[tuple[dict, dict]]:
    """Pairs of examples with the same id; refuses sets that are not the same test set."""
    a, b = list(a), list(b)
    b_by_id = {e["id"]: e for e in b}
    if len(a) != len(b) or set(b_by_id) != {e["id"] for e in a}:
        raise UserError(f"{names[0]} and {names[1]} predictions are not on the same test set "
                        f"({len(a)} vs {len(b)} examples, or different ids); compare runs with the same data")
    pairs = []
    for ea in a:
        eb = b_by_id[ea["id"]]
        if str(ea.get("input")) != str(eb.get("input")):
            raise UserError(f"example id {ea['id']}: the input differs between {names[0]} and {names[1]}; "
                            f"these are not the same test set")
        pairs.append((ea, eb))
    return pairs


def compare_predictions(base: Iterable[dict], finetuned: Iterable[dict], task: str = "generation",
                        score: Callable[[dict], float] | Sequence[Sequence[float]] | None = None,
                        threshold: float = 1.0, names: tuple[str, str] = ("base", "finetuned")) -> Comparison:
    """Side-by-side rows and outcome counts. ``score``: a per-example function, or two lists of scores."""
    pairs = pair_examples(base, finetuned, names)
    if score is None:
        score = correct_by_label if task == "classification" else correct_by_match
    if callable(score):
        sa = [score(a) for a, _ in pairs]
        sb = [score(b) for _, b in pairs]
    else:
        sa, sb = list(score[0]), list(score[1])
        if len(sa) != len(pairs) or len(sb) != len(pairs):
            raise ValueError("score lists must have one value per example")
    rows, counts = [], dict.fromkeys(OUTCOMES, 0)
    for (a, b), x, y in zip(pairs, sa, sb):
        ok_a, ok_b = x >= threshold, y >= threshold
        outcome = ("still_right" if ok_a and ok_b else "fixed" if ok_b else "broken" if ok_a else "still_wrong")
        counts[outcome] += 1
        rows.append({"id": a["id"], "input": a["input"], "reference": a["reference"],
                     names[0]: a["prediction"], names[1]: b["prediction"],
                     f"{names[0]}_score": x, f"{names[1]}_score": y, "outcome": outcome,
                     "meta": b.get("meta") or a.get("meta") or {}})
    return Comparison(rows, counts, names)


def attach_base(finetuned: Iterable[dict], base: Iterable[dict]) -> list[dict]:
    """Fine-tuned examples with ``base_prediction`` added (for the pairwise judge)."""
    return [{**b, "base_prediction": a["prediction"]} for a, b in pair_examples(base, finetuned)]
