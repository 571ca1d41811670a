"""Classification metrics as an ``evaluate`` module: accuracy, precision/recall/F1, confusion matrix."""
from __future__ import annotations

import datasets
import evaluate

from ..confusion import AVERAGES, ConfusionCounts

_DESCRIPTION = ("Accuracy; precision, recall and F1 (macro, micro, weighted and per class); confusion "
                "matrix. Equal to scikit-learn's with zero_division=0.")
_INPUTS = """
Args:
    predictions (list of str): predicted labels.
    references (list of str): reference labels.
    labels (list of str, optional): label order (default: sorted union of both).
    averages (list of str, optional): among "macro", "micro", "weighted" (default: all three).
Returns:
    accuracy, precision_<avg>, recall_<avg>, f1_<avg> (floats), per_class (dict label -> precision,
    recall, f1, support), confusion_matrix ({"labels": [...], "matrix": rows = reference}).
"""


class ClassificationMetrics(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references, labels=None, averages=AVERAGES):
        counts = ConfusionCounts(labels)
        counts.update(references, predictions)
        labels_, matrix = counts.matrix()
        return {**counts.report(averages), "per_class": counts.per_class(),
                "confusion_matrix": {"labels": labels_, "matrix": matrix}}
