"""Built-in evaluators, registered through the same hook as third-party ones.

Classification: accuracy, macro_f1, precision_recall_f1. Generation: exact_match, chrf, bleu, rouge,
perplexity, llm_judge. Both: scenarios. See docs/evaluation.md for each one's Config fields.
The modules below import only the standard library at load; sacrebleu, rouge-score, evaluate and
torch are imported when an evaluator runs. Classification metrics are counted here (no scikit-learn).
"""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from ..evaluation.classification import Accuracy, MacroF1, PrecisionRecallF1
from ..evaluation.generation import Bleu, ChrF, ExactMatch, Perplexity, Rouge
from ..evaluation.judge import LlmJudge
from ..evaluation.scenarios import Scenarios

BUILTIN = (Accuracy, MacroF1, PrecisionRecallF1, ExactMatch, ChrF, Bleu, Rouge, Perplexity, LlmJudge, Scenarios)

__all__ = [cls.__name__ for cls in BUILTIN]


@hookimpl
def register_evaluators(register):
    for cls in BUILTIN:
        register(cls)
