"""Baselines that need only the data: TF-IDF + logistic regression, and nearest-prompt retrieval.

Character n-grams (``char_wb``) make both work on Japanese, which has no spaces between words::

    TfidfLogReg().predict(train, test, context=None)   # one label per test example
    Retrieval().predict(train, test, context=None)     # the response of the most similar train prompt
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.components import Baseline
from ..data.prompts import prompt_text, reference_text


def tfidf_features(max_features: int, char_ngrams: tuple[int, int], sublinear: bool = True):
    """Word uni/bigrams and character n-grams, side by side."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=sublinear,
                                 max_features=max_features, token_pattern=r"(?u)\b\w+\b")),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams), sublinear_tf=sublinear,
                                 max_features=max_features)),
    ])


class TfidfLogReg(Baseline):
    """TF-IDF (word and character n-grams) + logistic regression, trained on the train split."""

    name = "tfidf_logreg"
    title = "TF-IDF + logistic regression"
    tasks = ("classification",)
    default = True

    @dataclass
    class Config:
        c: float = field(default=10.0, metadata={"help": "inverse regularisation strength of the regression"})
        max_features: int = field(default=200000, metadata={"help": "most n-grams kept per kind"})
        char_ngrams: list[int] = field(default_factory=lambda: [2, 5], metadata={
            "help": "shortest and longest character n-gram"})

        def __post_init__(self):
            if len(self.char_ngrams) != 2 or not 1 <= self.char_ngrams[0] <= self.char_ngrams[1]:
                raise ValueError(f"char_ngrams: expected [shortest, longest], got {self.char_ngrams}")
            if self.c <= 0:
                raise ValueError(f"c must be greater than 0, got {self.c}")

    def predict(self, train, test, context) -> list:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        cfg = self.config
        model = make_pipeline(tfidf_features(cfg.max_features, cfg.char_ngrams),
                              LogisticRegression(C=cfg.c, max_iter=1000))
        model.fit([ex["text"] for ex in train], [ex["label"] for ex in train])
        return [str(x) for x in model.predict([ex["text"] for ex in test])]


def nearest_train(train_prompts: list[str], queries: list[str], k: int = 1) -> list[list[int]]:
    """Indexes of the ``k`` most similar training prompts for each query (TF-IDF cosine), best first."""
    import numpy as np

    vec = tfidf_features(100000, (2, 4))
    matrix = vec.fit_transform(train_prompts)
    out = []
    for start in range(0, len(queries), 256):  # bounded memory: one block of similarities at a time
        sims = (vec.transform(queries[start:start + 256]) @ matrix.T).toarray()
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        out.extend(row.tolist() for row in order)
    return out


class Retrieval(Baseline):
    """Answer with the response of the most similar training prompt (TF-IDF cosine over word and character n-grams)."""

    name = "retrieval"
    title = "nearest-prompt retrieval"
    tasks = ("generation",)
    default = True

    @dataclass
    class Config:
        pass

    def predict(self, train, test, context) -> list:
        prompts = [prompt_text(ex) for ex in train]
        best = nearest_train(prompts, [prompt_text(ex) for ex in test], k=1)
        return [reference_text(train[row[0]]) for row in best]
