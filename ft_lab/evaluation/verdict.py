"""Which approach wins on the headline metric: the base model, each baseline, or the fine-tuned model.

    winner({"headline": "accuracy", "base": {"accuracy": 0.1}, "finetuned": {"accuracy": 0.93},
            "baselines": {"tfidf_logreg": {"accuracy": 0.89}}})
    # {"metric": "accuracy", "best": "finetuned", "value": 0.93, "runner_up": "tfidf_logreg",
    #  "runner_up_value": 0.89, "margin": 0.04, "higher_is_better": True}
"""
from __future__ import annotations

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
            "margin": round(abs(value - second_value), 6), "higher_is_better": up}


def sentence(result: dict | None) -> str:
    """The verdict in words, for the CLI table and the HTML report."""
    if not result:
        return ""
    name = {"finetuned": "the fine-tuned model", "base": "the base model"}
    best, second = (name.get(result[k], f"baseline {result[k]}") for k in ("best", "runner_up"))
    return (f"on {result['metric']}, {best} wins ({result['value']:.4f}) over {second} "
            f"({result['runner_up_value']:.4f}) by {result['margin']:.4f}")
