"""Which approach wins on the headline metric: the base model, each baseline, or the fine-tuned model.

    winner({"headline": "accuracy", "base": {"accuracy": 0.1}, "finetuned": {"accuracy": 0.93},
            "baselines": {"tfidf_logreg": {"accuracy": 0.89}}})
    # {"metric": "accuracy", "best": "finetuned", "value": 0.93, "runner_up": "tfidf_logreg",
    #  "runner_up_value": 0.89, "margin": 0.04, "higher_is_better": True, "ranking": [[name, value], ...]}
    sentence(winner(metrics))
    # "on accuracy, the fine-tuned model is best: 0.93 against 0.89 for TF-IDF + logistic regression and
    #  0.10 for the base model"
"""
from __future__ import annotations

from ..core.plugins import get_registry

#: metric names (or their endings) where a lower value is better
LOWER_IS_BETTER = ("perplexity", "loss", "ter", "wer", "cer")


def higher_is_better(metric: str) -> bool:
    return not any(metric == m or metric.endswith("_" + m) for m in LOWER_IS_BETTER)


def approaches(metrics: dict) -> dict[str, dict]:
    """Every scored approach by its name: base, each baseline, finetuned (in that order)."""
    out = {}
    if metrics.get("base"):
        out["base"] = metrics["base"]
    for name, scores in (metrics.get("baselines") or {}).items():
        out[name] = scores or {}
    if metrics.get("finetuned"):
        out["finetuned"] = metrics["finetuned"]
    return out


def winner(metrics: dict, metric: str | None = None) -> dict | None:
    """The best approach on ``metric`` (default: the headline) and its margin over the next; None when
    fewer than two approaches have the metric."""
    metric = metric or metrics.get("headline")
    scored = [(name, s[metric]) for name, s in approaches(metrics).items()
              if isinstance(s.get(metric), (int, float)) and not isinstance(s.get(metric), bool)]
    if len(scored) < 2:
        return None
    up = higher_is_better(metric)
    ranked = sorted(scored, key=lambda x: -x[1] if up else x[1])
    (best, value), (second, second_value) = ranked[0], ranked[1]
    return {"metric": metric, "best": best, "value": value, "runner_up": second, "runner_up_value": second_value,
            "margin": round(abs(value - second_value), 6), "higher_is_better": up,
            "ranking": [[n, v] for n, v in ranked]}


def title(name: str) -> str:
    """An approach in words: the fine-tuned model, the base model, or a baseline's ``title``."""
    if name in ("finetuned", "base"):
        return {"finetuned": "the fine-tuned model", "base": "the base model"}[name]
    try:
        return getattr(get_registry().get("baseline", name), "title", "") or f"baseline {name}"
    except KeyError:
        return f"baseline {name}"


def _digits(values: list[float]) -> int:
    """The fewest decimals (2 to 4) at which the best value differs from the next."""
    for digits in (2, 3, 4):
        if len(values) < 2 or round(values[0], digits) != round(values[1], digits):
            return digits
    return 4


def sentence(result: dict | None) -> str:
    """The verdict in words, for the Evaluate step, the CLI table, the model card and the HTML report."""
    if not result:
        return ""
    ranking = result.get("ranking") or [[result["best"], result["value"]],
                                        [result["runner_up"], result["runner_up_value"]]]
    digits = _digits([v for _, v in ranking])
    others = [f"{v:.{digits}f} for {title(n)}" for n, v in ranking[1:]]
    listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    tie = round(ranking[0][1], 4) == round(ranking[1][1], 4)
    return (f"on {result['metric']}, {title(ranking[0][0])} is {'level best' if tie else 'best'}: "
            f"{ranking[0][1]:.{digits}f} against {listed}")
