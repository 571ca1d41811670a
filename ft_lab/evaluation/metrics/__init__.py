"""ft-lab's metrics as ``evaluate`` metric modules, defined in the package (hub loading does not work offline).

    from ft_lab.evaluation.metrics import load
    bleu = load("ft_lab_bleu")
    bleu.compute(predictions=["今日は晴れ"], references=["今日は晴れ"], language="ja")
    # {'bleu': 100.0, 'tokenizer': 'char', 'signature': 'nrefs:1|case:mixed|eff:no|tok:char|...'}

Each is an ``evaluate.Metric`` subclass, so ``add_batch`` / ``compute`` and evaluate's combinators work.
``evaluate`` is imported only when a metric is loaded.
"""
from __future__ import annotations

from ...errors import UserError, did_you_mean

NAMES = {
    "ft_lab_classification": ("ft_lab.evaluation.metrics.classification_metrics", "ClassificationMetrics"),
    "ft_lab_bleu": ("ft_lab.evaluation.metrics.generation_metrics", "Bleu"),
    "ft_lab_chrf": ("ft_lab.evaluation.metrics.generation_metrics", "ChrF"),
    "ft_lab_rouge": ("ft_lab.evaluation.metrics.generation_metrics", "Rouge"),
    "ft_lab_exact_match": ("ft_lab.evaluation.metrics.generation_metrics", "ExactMatch"),
    "ft_lab_perplexity": ("ft_lab.evaluation.metrics.generation_metrics", "Perplexity"),
}


def load(name: str, **kwargs):
    """An instance of one of ft-lab's ``evaluate`` metrics by name (see ``NAMES``), kept in memory."""
    import importlib


    if name not in NAMES:
        raise UserError(f"unknown metric {name!r}" + did_you_mean(name, NAMES)
                        + f" (available: {', '.join(NAMES)})")
    module, cls = NAMES[name]
    kwargs.setdefault("keep_in_memory", True)
    return getattr(importlib.import_module(module), cls)(**kwargs)
