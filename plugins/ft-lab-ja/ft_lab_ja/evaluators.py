"""Generation evaluators on Japanese morphemes: ``ja_bleu``, ``ja_rouge`` and ``ja_word_f1``.

The core ``bleu``/``rouge`` split Japanese into characters (or fugashi surface words). These score
the words a Japanese reader counts, with inflection and spelling variants unified, so that
「確認しました」 and 「確認します」 share the word 確認/する and 附属/付属 match::

    JaWordF1().score([{"prediction": "付属のケーブルを使いました", "reference": "附属ケーブルを使います"}])
    # {'ja_word_f1': 1.0, 'ja_word_precision': 1.0, 'ja_word_recall': 1.0}

``details()`` records the analyzer, split mode and form with the score (``sudachi-core-A/normalized``).
sacrebleu is imported when BLEU is computed; ROUGE and word F1 are counted here.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from ft_lab import Evaluator
from ft_lab.errors import UserError

from .analyzer import check_analyzer, describe, words


@dataclass
class JaConfig:
    analyzer: Literal["sudachi", "unidic"] = field(default="sudachi", metadata={
        "help": "sudachi: SudachiPy + sudachidict-core (spelling variants unified); unidic: fugashi + unidic-lite"})
    split_mode: Literal["A", "B", "C"] = field(default="A", metadata={
        "help": "sudachi only: A short units (like UniDic), B middle, C long (compounds and names whole)"})
    form: Literal["surface", "base", "normalized"] = field(default="normalized", metadata={
        "help": "word form compared: surface (as written), base (dictionary form: 食べ -> 食べる), "
                "normalized (base form, spelling variants unified: 附属 -> 付属)"})
    content_only: bool = field(default=False, metadata={
        "help": "compare content words only: drop particles (助詞) and auxiliary verbs (助動詞)"})


class _JaEvaluator(Evaluator):
    tasks = ("generation",)
    Config = JaConfig
    keep_punctuation = False

    def _words(self, text) -> list[str]:
        c = self.config
        return words(str(text), c.analyzer, c.form, c.split_mode, c.content_only, self.keep_punctuation)

    def _pairs(self, examples) -> list[tuple[list[str], list[str]]]:
        c = self.config
        check_analyzer(c.analyzer, c.split_mode)
        return [(self._words(e["prediction"]), self._words(e["reference"])) for e in examples]

    def details(self, examples):
        c = self.config
        return {"language": "ja", "tokenizer": describe(c.analyzer, c.split_mode, c.form),
                "content_only": c.content_only}


class JaBleu(_JaEvaluator):
    """Corpus BLEU (sacrebleu) on Japanese morphemes, inflections and spelling variants unified."""

    name = "ja_bleu"
    keep_punctuation = True  # BLEU counts punctuation, as sacrebleu's own tokenizers do

    def _corpus(self, examples) -> tuple[float, str]:
        from sacrebleu.metrics import BLEU

        pairs = self._pairs(examples)
        if not pairs:
            return 0.0, ""
        metric = BLEU(tokenize="none")
        result = metric.corpus_score([" ".join(p) for p, _ in pairs], [[" ".join(r) for _, r in pairs]])
        return float(result.score), str(metric.get_signature())

    def score(self, examples):
        return {"ja_bleu": self._corpus(examples)[0]}

    def per_example(self, examples):
        from sacrebleu.metrics import BLEU

        metric = BLEU(tokenize="none", effective_order=True)
        return [float(metric.sentence_score(" ".join(p), [" ".join(r)]).score) for p, r in self._pairs(examples)]

    def details(self, examples):
        return {**super().details(examples), "signature": self._corpus(examples)[1]}


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    if not overlap:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def rouge_f(pred: list[str], ref: list[str]) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measure of two word lists (rouge-score's definitions)."""
    out = {}
    for n in (1, 2):
        p, r = _ngrams(pred, n), _ngrams(ref, n)
        out[f"rouge{n}"] = _f1(sum((p & r).values()), sum(p.values()), sum(r.values()))
    out["rougeL"] = _f1(_lcs(pred, ref), len(pred), len(ref))
    return out


class JaRouge(_JaEvaluator):
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measure on Japanese morphemes."""

    name = "ja_rouge"

    def headline(self) -> str:
        return "ja_rougeL"

    def _scores(self, examples) -> list[dict]:
        return [rouge_f(p, r) for p, r in self._pairs(examples)]

    def score(self, examples):
        per = self._scores(examples)
        n = len(per)
        return {f"ja_{k}": (sum(s[k] for s in per) / n if n else 0.0) for k in ("rouge1", "rouge2", "rougeL")}

    def per_example(self, examples):
        return [s["rougeL"] for s in self._scores(examples)]


class JaWordF1(_JaEvaluator):
    """Word overlap F1 (SQuAD-style, per answer, averaged) on Japanese content morphemes."""

    name = "ja_word_f1"

    @dataclass
    class Config(JaConfig):
        content_only: bool = field(default=True, metadata={
            "help": "compare content words only: drop particles (助詞) and auxiliary verbs (助動詞)"})

    @staticmethod
    def _prf(pred: list[str], ref: list[str]) -> tuple[float, float, float]:
        if not pred or not ref:  # both empty: the same (empty) answer
            same = float(not pred and not ref)
            return same, same, same
        common = sum((Counter(pred) & Counter(ref)).values())
        if not common:
            return 0.0, 0.0, 0.0
        p, r = common / len(pred), common / len(ref)
        return p, r, 2 * p * r / (p + r)

    def score(self, examples):
        scores = [self._prf(p, r) for p, r in self._pairs(examples)]
        if not scores:
            raise UserError("ja_word_f1: no examples to score; check that the test split is not empty")
        n = len(scores)
        return {"ja_word_f1": sum(s[2] for s in scores) / n, "ja_word_precision": sum(s[0] for s in scores) / n,
                "ja_word_recall": sum(s[1] for s in scores) / n}

    def per_example(self, examples):
        return [self._prf(p, r)[2] for p, r in self._pairs(examples)]
