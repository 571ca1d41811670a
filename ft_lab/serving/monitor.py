"""``ft-lab monitor SERVE_DIR``: what a served model was asked and how it answered, from its request log.

    summary = summarize(RequestLog(serve_dir, create=False), read_json(serve_dir / "drift.json"))
    print("\\n".join(report_lines(summary)))

Figures: volume, errors, latency p50/p95 (answered requests), tokens, input drift (the share of requests
far from every training row, see drift.py, and the out-of-vocabulary rate), the share of low-confidence
classifications, feedback; then one alert line when drift or low confidence passes its threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

from .drift import DEFAULT_FAR


@dataclass
class Thresholds:
    far_share: float = 0.25  # alert when more than this share of requests is far from the training data
    low_confidence: float = 0.5  # a classification below this probability is low-confidence
    low_confidence_share: float = 0.25  # alert when more than this share is low-confidence


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize(requests: list[dict], feedbacks: list[dict], drift: dict | None,
              thresholds: Thresholds | None = None) -> dict:
    t = thresholds or Thresholds()
    far_below = (drift or {}).get("far_below", DEFAULT_FAR)
    ok = [r for r in requests if r["status"] < 400]
    measured = [r for r in ok if r["similarity"] is not None]
    oov = [r["oov_rate"] for r in ok if r["oov_rate"] is not None]
    classified = [r for r in ok if r["probability"] is not None]
    far = sum(r["similarity"] < far_below for r in measured)
    low = sum(r["probability"] < t.low_confidence for r in classified)
    out = {
        "requests": len(requests), "errors": len(requests) - len(ok),
        "error_share": _share(len(requests) - len(ok), len(requests)),
        "by_endpoint": {e: sum(r["endpoint"] == e for r in requests) for e in sorted({r["endpoint"] for r in requests})},
        "latency_ms_p50": _pct([r["latency_ms"] for r in ok], 0.5),
        "latency_ms_p95": _pct([r["latency_ms"] for r in ok], 0.95),
        "prompt_tokens": sum(r["prompt_tokens"] or 0 for r in ok),
        "completion_tokens": sum(r["completion_tokens"] or 0 for r in ok),
        "drift_measured": len(measured), "far_below": far_below, "far": far, "far_share": _share(far, len(measured)),
        "mean_similarity": sum(r["similarity"] for r in measured) / len(measured) if measured else None,
        "oov_rate": sum(oov) / len(oov) if oov else None,
        "classified": len(classified), "low_confidence": low, "low_confidence_share": _share(low, len(classified)),
        "feedback": len(feedbacks), "negative_feedback": sum((f["rating"] or 0) < 0 for f in feedbacks),
        "corrections": sum(bool(f["corrected"] or f["label"]) for f in feedbacks),
    }
    alerts = []
    if out["far_share"] is not None and out["far_share"] > t.far_share:
        alerts.append(f"input drift: {out['far_share']:.0%} of requests are far from the training data "
                      f"(over {t.far_share:.0%})")
    if out["low_confidence_share"] is not None and out["low_confidence_share"] > t.low_confidence_share:
        alerts.append(f"low confidence: {out['low_confidence_share']:.0%} of classifications below "
                      f"{t.low_confidence:.2f} (over {t.low_confidence_share:.0%})")
    out["alerts"] = alerts
    return out


def _f(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def report_lines(s: dict) -> list[str]:
    lines = [f"requests: {s['requests']} ("
             + (", ".join(f"{e} {n}" for e, n in s["by_endpoint"].items()) or "none") + ")",
             f"errors: {s['errors']} ({_f(s['error_share'], '{:.1%}')})",
             f"latency ms: p50 {_f(s['latency_ms_p50'])}, p95 {_f(s['latency_ms_p95'])}",
             f"tokens: prompt {s['prompt_tokens']}, completion {s['completion_tokens']}",
             f"drift: {s['far']} of {s['drift_measured']} requests far from the training data "
             f"({_f(s['far_share'], '{:.1%}')}; far = nearest training row's TF-IDF similarity below "
             f"{s['far_below']:.3f}), mean similarity {_f(s['mean_similarity'], '{:.3f}')}, "
             f"out-of-vocabulary words {_f(s['oov_rate'], '{:.1%}')}",
             f"low confidence: {s['low_confidence']} of {s['classified']} classifications "
             f"({_f(s['low_confidence_share'], '{:.1%}')})",
             f"feedback: {s['feedback']} ({s['negative_feedback']} negative, {s['corrections']} corrections)"]
    lines.append("ALERT: " + "; ".join(s["alerts"]) if s["alerts"] else "alert: none")
    return lines
