"""Generation metrics as ``evaluate`` modules: BLEU, chrF, ROUGE, exact match and perplexity.

BLEU and ROUGE take ``language`` ("ja", "zh", "en", "other"; default: detected from the references)
and ``japanese_tokenizer`` ("char" or "morph"); the tokenizer used is returned with the score.
"""
from __future__ import annotations

import datasets
import evaluate

from .. import text_scores
from ..cjk_tokenize import resolve_language

_TEXT = datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")})


def _info(description: str, inputs: str, features=_TEXT):
    return evaluate.MetricInfo(description=description, citation="", inputs_description=inputs,
                               features=features)


class Bleu(evaluate.Metric):
    def _info(self):
        return _info("Corpus BLEU (sacrebleu) with a tokenizer chosen for the language: char or fugashi "
                     "words for Japanese, zh for Chinese, 13a otherwise.",
                     "predictions, references (str); language, japanese_tokenizer. Returns bleu (0-100), "
                     "tokenizer, signature.")

    def _compute(self, predictions, references, language="auto", japanese_tokenizer="char"):
        lang = resolve_language(language, references)
        return {**text_scores.bleu(predictions, references, lang, japanese_tokenizer), "language": lang}


class ChrF(evaluate.Metric):
    def _info(self):
        return _info("Corpus chrF (sacrebleu): character n-gram F-score, no word segmentation needed.",
                     "predictions, references (str); word_order (2 gives chrF++). Returns chrf (0-100).")

    def _compute(self, predictions, references, word_order=0):
        return text_scores.chrf(predictions, references, word_order)


class Rouge(evaluate.Metric):
    def _info(self):
        return _info("ROUGE-1/2/L F-measure (rouge-score), averaged over examples, with CJK-aware "
                     "tokenization (rouge-score's own tokenizer drops Japanese and Chinese).",
                     "predictions, references (str); language, japanese_tokenizer, use_stemmer. Returns "
                     "rouge1, rouge2, rougeL (0-1), tokenizer, per_example (rougeL).")

    def _compute(self, predictions, references, language="auto", japanese_tokenizer="char", use_stemmer=False):
        lang = resolve_language(language, references)
        return {**text_scores.rouge(predictions, references, lang, japanese_tokenizer, use_stemmer),
                "language": lang}


class ExactMatch(evaluate.Metric):
    def _info(self):
        return _info("Exact match after trimming, and after normalization (NFKC, case, punctuation, "
                     "articles, spaces around CJK).",
                     "predictions, references (str). Returns exact_match, exact_match_normalized (0-1).")

    def _compute(self, predictions, references):
        return text_scores.exact_match(predictions, references)


class Perplexity(evaluate.Metric):
    def _info(self):
        return _info("Perplexity of the references: exp(sum of token NLL / number of tokens).",
                     "nll (summed negative log-likelihood per example, float), n_tokens (int). "
                     "Returns perplexity.",
                     datasets.Features({"nll": datasets.Value("float64"), "n_tokens": datasets.Value("int64")}))

    def _compute(self, nll, n_tokens):
        return {"perplexity": text_scores.perplexity(nll, n_tokens)}
