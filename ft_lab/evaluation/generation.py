"""Generation evaluators: exact match, BLEU, chrF, ROUGE and perplexity.

Each computes its corpus score through ft-lab's ``evaluate`` modules (``ft_lab.evaluation.metrics``)
and reports, in ``details()``, the language and tokenizer it used::

    ev = Bleu(Bleu.Config(language="auto"))
    ev.score(examples)      # {'bleu': 41.3}
    ev.details(examples)    # {'language': 'ja', 'tokenizer': 'char', 'signature': 'nrefs:1|...'}

Language "auto" looks at the references: kana -> Japanese, Han characters only -> Chinese, else English.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..core.components import Evaluator
from ..errors import UserError
from . import metrics, text_scores
from .cjk_tokenize import bleu_tokenizer, resolve_language

Language = Literal["auto", "ja", "zh", "en", "other"]
JapaneseTokenizer = Literal["char", "morph"]


def _texts(examples) -> tuple[list[str], list[str]]:
    preds, refs = [], []
    for e in examples:
        preds.append(str(e["prediction"]))
        refs.append(str(e["reference"]))
    return preds, refs


@dataclass
class LanguageConfig:
    language: Language = field(default="auto", metadata={
        "help": "language of the references: auto (detect), ja, zh, en or other; picks the tokenizer"})
    japanese_tokenizer: JapaneseTokenizer = field(default="char", metadata={
        "help": "Japanese segmentation: char (every character; no extra package) or morph "
                "(words from fugashi + unidic-lite, an optional install)"})


class GenerationEvaluator(Evaluator):
    tasks = ("generation",)

    def _language(self, refs: list[str]) -> str:
        return resolve_language(getattr(self.config, "language", "auto"), refs)


class ExactMatch(GenerationEvaluator):
    """Share of answers identical to the reference (trimmed), and identical after normalization.

    Normalization: NFKC (full/half width), case, punctuation and symbols, English articles, and spaces
    around Japanese/Chinese text. Per example: 1 when the normalized answer matches.
    """

    name = "exact_match"

    def score(self, examples):
        preds, refs = _texts(examples)
        return metrics.load("ft_lab_exact_match").compute(predictions=preds, references=refs)

    def per_example(self, examples):
        return [float(text_scores.normalize_answer(e["prediction"]) == text_scores.normalize_answer(e["reference"]))
                for e in examples]


class ChrF(GenerationEvaluator):
    """Character n-gram F-score (sacrebleu chrF), which needs no word segmentation, so suits Japanese."""

    name = "chrf"

    @dataclass
    class Config:
        word_order: int = field(default=0, metadata={"help": "word n-gram order (2 gives chrF++)"})

    def score(self, examples):
        preds, refs = _texts(examples)
        if not preds:
            return {"chrf": 0.0}
        out = metrics.load("ft_lab_chrf").compute(predictions=preds, references=refs,
                                                   word_order=self.config.word_order)
        return {"chrf": out["chrf"]}

    def per_example(self, examples):
        return [text_scores.sentence_chrf(e["prediction"], e["reference"], self.config.word_order)
                for e in examples]

    def details(self, examples):
        preds, refs = _texts(examples)
        out = text_scores.chrf(preds, refs, self.config.word_order) if preds else {}
        return {"tokenizer": out.get("tokenizer", "characters"), "signature": out.get("signature", "")}


class Bleu(GenerationEvaluator):
    """Corpus BLEU (sacrebleu) with the tokenizer for the language: char or morph (ja), zh, 13a (en)."""

    name = "bleu"
    Config = LanguageConfig

    def score(self, examples):
        preds, refs = _texts(examples)
        if not preds:
            return {"bleu": 0.0}
        out = metrics.load("ft_lab_bleu").compute(predictions=preds, references=refs,
                                                   language=self._language(refs),
                                                   japanese_tokenizer=self.config.japanese_tokenizer)
        return {"bleu": out["bleu"]}

    def per_example(self, examples):
        from sacrebleu.metrics import BLEU

        preds, refs = _texts(examples)
        name, pre = bleu_tokenizer(self._language(refs), self.config.japanese_tokenizer)
        metric = BLEU(tokenize="none" if pre else name, effective_order=True)
        if pre:
            preds, refs = [pre(p) for p in preds], [pre(r) for r in refs]
        return [float(metric.sentence_score(p, [r]).score) for p, r in zip(preds, refs)]

    def details(self, examples):
        preds, refs = _texts(examples)
        lang = self._language(refs)
        out = text_scores.bleu(preds, refs, lang, self.config.japanese_tokenizer)
        return {"language": lang, "tokenizer": out["tokenizer"], "signature": out["signature"]}


class Rouge(GenerationEvaluator):
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measure (rouge-score), with CJK-aware tokenization."""

    name = "rouge"

    def headline(self) -> str:
        return "rougeL"

    @dataclass
    class Config(LanguageConfig):
        use_stemmer: bool = field(default=False, metadata={"help": "Porter stemming of English words"})

    def _compute(self, examples) -> dict:
        preds, refs = _texts(examples)
        return metrics.load("ft_lab_rouge").compute(
            predictions=preds, references=refs, language=self._language(refs),
            japanese_tokenizer=self.config.japanese_tokenizer, use_stemmer=self.config.use_stemmer)

    def score(self, examples):
        out = self._compute(examples)
        return {k: float(out[k]) for k in ("rouge1", "rouge2", "rougeL")}

    def per_example(self, examples):
        return list(self._compute(examples)["per_example"])

    def details(self, examples):
        out = self._compute(examples)
        return {"language": out["language"], "tokenizer": out["tokenizer"]}


class Perplexity(GenerationEvaluator):
    """Perplexity of the reference answers under the model, from each example's ``nll`` and ``n_tokens``."""

    name = "perplexity"
    higher_is_better = False

    def _values(self, examples) -> tuple[list[float], list[int]]:
        nlls, counts = [], []
        for e in examples:
            if e.get("nll") is None or not e.get("n_tokens"):
                raise UserError(f"perplexity: example {e.get('id')} has no 'nll'/'n_tokens'; the predictions "
                                f"were written without reference log-likelihoods (re-run the evaluation "
                                f"step, or drop perplexity from evaluate)")
            nlls.append(float(e["nll"]))
            counts.append(int(e["n_tokens"]))
        return nlls, counts

    def score(self, examples):
        nlls, counts = self._values(examples)
        if not nlls:
            return {"perplexity": float("nan")}
        return metrics.load("ft_lab_perplexity").compute(nll=nlls, n_tokens=counts)

    def per_example(self, examples):
        nlls, counts = self._values(examples)
        return [math.exp(n / c) for n, c in zip(nlls, counts)]
