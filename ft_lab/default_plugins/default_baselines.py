"""Built-in baselines, registered through the same hook as third-party ones.

Classification: tfidf_logreg (word and character n-grams + logistic regression). Generation: retrieval
(the response of the most similar training prompt) and kshot (the base model prompted with k similar
training examples). See docs/evaluation.md. scikit-learn and torch are imported when a baseline runs.
"""
from __future__ import annotations

from ..baselines.classical import Retrieval, TfidfLogReg
from ..baselines.kshot import KShot
from ..core.hookspecs import hookimpl

BUILTIN = (TfidfLogReg, Retrieval, KShot)

__all__ = [cls.__name__ for cls in BUILTIN]


@hookimpl
def register_baselines(register):
    for cls in BUILTIN:
        register(cls)
