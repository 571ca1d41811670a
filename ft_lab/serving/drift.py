"""How far a request is from the training data, measured when it arrives (so that nothing needs the text later).

Two explained figures per request, stored in the request log and summed up by ``ft-lab monitor``:

- ``similarity``: TF-IDF cosine similarity (word and character n-grams, the retrieval baseline's features)
  between the request and its nearest training row, 0 (nothing in common) to 1 (the same text);
- ``oov_rate``: the share of the request's words that no training row contains.

    index = DriftIndex(["how do I reset my PIN?", ...])
    index.measure("Wie spät ist es?")   # (0.05, 1.0)
    index.calibrate(validation_texts)   # the similarity below which a request counts as far (drift.json)

"Far" is calibrated on the run's own held-out rows: a request is far when it is less similar to its nearest
training row than 95% of the validation rows are (``DEFAULT_FAR`` when the run has no validation rows).
"""
from __future__ import annotations

import re

from ..baselines.classical import tfidf_features

DEFAULT_FAR = 0.2
FILE = "drift.json"
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class DriftIndex:
    """The training texts, as a TF-IDF matrix and a vocabulary."""

    def __init__(self, train_texts: list[str]):
        from sklearn.preprocessing import normalize

        texts = [t for t in train_texts if t and t.strip()]
        self.rows = len(texts)
        self.vocabulary = {w for t in texts for w in words(t)}
        self._vec = tfidf_features(100000, (2, 4))
        # the word and character parts are each of norm 1: normalise the pair so that cosine is in [0, 1]
        self._matrix = normalize(self._vec.fit_transform(texts)).T.tocsr() if texts else None

    def measure(self, text: str) -> tuple[float | None, float | None]:
        """(similarity to the nearest training row, out-of-vocabulary rate); None where undefined."""
        from sklearn.preprocessing import normalize

        if self._matrix is None or not text.strip():
            return None, None
        sims = normalize(self._vec.transform([text])) @ self._matrix
        similarity = float(sims.max()) if sims.nnz else 0.0
        ws = words(text)
        oov = sum(w not in self.vocabulary for w in ws) / len(ws) if ws else None
        return round(similarity, 4), oov

    def calibrate(self, held_out: list[str], quantile: float = 0.05) -> dict:
        """``{"far_below": similarity, ...}``: the ``quantile`` of held-out rows' similarities."""
        sims = sorted(s for s, _ in (self.measure(t) for t in held_out if t and t.strip()) if s is not None)
        far = sims[int(quantile * (len(sims) - 1))] if sims else DEFAULT_FAR
        return {"far_below": far, "train_rows": self.rows, "held_out_rows": len(sims), "quantile": quantile}
