"""Generation scores as plain functions: BLEU, chrF, ROUGE, exact match, perplexity.

The ``evaluate`` metric modules in ``ft_lab.evaluation.metrics`` and the evaluators call these; they
take lists of strings and a language, and report which tokenizer they used::

    bleu(["the cat sat"], ["the cat sat"], "en")          # {'bleu': 100.0, 'tokenizer': '13a', ...}
    rouge(["今日は晴れ"], ["今日は晴れ"], "ja")["rougeL"]   # 1.0
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Sequence

from .cjk_tokenize import bleu_tokenizer, tokenize

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def normalize_answer(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols removed, English articles removed, spaces collapsed.

    Spaces are removed entirely around CJK text, where they carry no meaning: ``"東京 です。"`` and
    ``"東京です"`` normalize to the same string.
    """
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    s = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in s)
    s = _ARTICLES.sub(" ", s)
    s = " ".join(s.split())
    if _CJK.search(s):
        s = _drop_cjk_spaces(s)
    return s


def _drop_cjk_spaces(s: str) -> str:
    # drop a space when a CJK character stands on either side of it; keep spaces between latin words
    out = []
    for i, ch in enumerate(s):
        if ch == " " and (_CJK.match(s[i - 1]) or (i + 1 < len(s) and _CJK.match(s[i + 1]))):
            continue
        out.append(ch)
    return "".join(out)


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    n = len(predictions)
    exact = sum(str(p).strip() == str(r).strip() for p, r in zip(predictions, references))
    norm = sum(normalize_answer(p) == normalize_answer(r) for p, r in zip(predictions, references))
    return {"exact_match": exact / n if n else 0.0, "exact_match_normalized": norm / n if n else 0.0}


def bleu(predictions: Sequence[str], references: Sequence[str], language: str,
         japanese_tokenizer: str = "char") -> dict:
    """Corpus BLEU (sacrebleu, 0-100) with the tokenizer for ``language``; returns score and tokenizer."""
    from sacrebleu.metrics import BLEU

    name, pre = bleu_tokenizer(language, japanese_tokenizer)
    preds, refs = list(map(str, predictions)), list(map(str, references))
    if pre is not None:
        preds, refs = [pre(p) for p in preds], [pre(r) for r in refs]
    metric = BLEU(tokenize="none" if pre is not None else name)
    result = metric.corpus_score(preds, [refs])
    return {"bleu": float(result.score), "tokenizer": name, "signature": str(metric.get_signature())}


def chrf(predictions: Sequence[str], references: Sequence[str], word_order: int = 0) -> dict:
    """Corpus chrF (sacrebleu, 0-100). Character n-grams need no word segmentation, for any language."""
    from sacrebleu.metrics import CHRF

    metric = CHRF(word_order=word_order)
    result = metric.corpus_score(list(map(str, predictions)), [list(map(str, references))])
    return {"chrf": float(result.score), "tokenizer": "characters (no segmentation)",
            "signature": str(metric.get_signature())}


def sentence_chrf(prediction: str, reference: str, word_order: int = 0) -> float:
    from sacrebleu.metrics import CHRF

    return float(CHRF(word_order=word_order).sentence_score(str(prediction), [str(reference)]).score)


class _RougeTokenizer:
    """rouge-score's tokenizer protocol (``tokenize(text) -> list[str]``) over ft-lab's CJK tokenizer."""

    def __init__(self, language: str, japanese_tokenizer: str):
        self.language, self.japanese_tokenizer = language, japanese_tokenizer

    def tokenize(self, text):
        return tokenize(text, self.language, self.japanese_tokenizer)


def rouge_scorer(language: str, japanese_tokenizer: str = "char", use_stemmer: bool = False):
    """A ``rouge_score.rouge_scorer.RougeScorer`` for rouge1/2/L; English keeps rouge-score's tokenizer."""
    from rouge_score import rouge_scorer as rs

    types = ["rouge1", "rouge2", "rougeL"]
    if language in ("ja", "zh"):
        return rs.RougeScorer(types, tokenizer=_RougeTokenizer(language, japanese_tokenizer)), \
            ("fugashi words" if language == "ja" and japanese_tokenizer == "morph" else "cjk-char")
    return rs.RougeScorer(types, use_stemmer=use_stemmer), "rouge-score default"


def rouge(predictions: Sequence[str], references: Sequence[str], language: str,
          japanese_tokenizer: str = "char", use_stemmer: bool = False) -> dict:
    """Mean F-measure of ROUGE-1, ROUGE-2 and ROUGE-L (0-1) over examples, and per-example ROUGE-L."""
    scorer, tok = rouge_scorer(language, japanese_tokenizer, use_stemmer)
    sums = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    per = []
    for p, r in zip(predictions, references):
        s = scorer.score(str(r), str(p))  # rouge-score's order: target, prediction
        for k in sums:
            sums[k] += s[k].fmeasure
        per.append(s["rougeL"].fmeasure)
    n = len(per)
    return {**{k: (v / n if n else 0.0) for k, v in sums.items()}, "tokenizer": tok, "per_example": per}


def perplexity(nlls: Sequence[float], n_tokens: Sequence[int]) -> float:
    """exp(total negative log-likelihood / total tokens): the corpus perplexity of the references."""
    total = sum(n_tokens)
    if total <= 0:
        return float("nan")
    return math.exp(sum(nlls) / total)
