"""Learn the weights of ``ft_lab/cleaners/pii_ja_persons.py`` (which Japanese candidate spans are persons).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/train_ja_persons.py          # writes ja_persons{,_fast}.json
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/train_ja_persons.py --check  # cross-validation only

Training rows are 1000 to 4342 of the shuffled ner_wikipedia_ja set (``bench_pii.japanese_set``); the
bench scores rows 0 to 999, never read here. ``pii_ner``'s own pipeline finds the candidates: this script
swaps the cleaner's ``rank_persons`` step for a recorder, so the features are those the cleaner computes.
A candidate is a person when it overlaps a gold 人名 span (as the bench scores). Two-fold
cross-validation on the training rows prints recall and precision of the rules alone and of the weights
at several thresholds; the lowest one whose precision stays at ``PRECISION_FLOOR`` or more is written with
the weights. Needs scikit-learn (a core dependency) and the
``ner`` extra; takes about 2 minutes on 2 cores. Both ``japanese`` modes are trained, each from its own
rules' spans (``fast`` without GiNZA's labels and network, with static word vectors instead).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pii import japanese_set, score  # noqa: E402

from ft_lab.cleaners import pii_ja_persons as jp  # noqa: E402
from ft_lab.cleaners.pii_ner import PiiNer, load_pipeline  # noqa: E402

TRAIN = (1000, 4343)
GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
# Privacy first: as many names as can be had at this precision (the aim is 0.80; the rest is headroom for
# texts unlike Wikipedia's).
PRECISION_FLOOR = 0.85
C = 1.0


def collect(items, mode: str = "model") -> list[dict]:
    """For each text: its gold spans, the rules' spans (of ``japanese: mode``) and every candidate's features
    and vector."""
    cleaner = PiiNer(PiiNer.Config(japanese=mode))
    oov = jp.sudachi_oov(load_pipeline("ja"))
    rows: dict[str, dict] = {}

    def record(doc, spans):
        # model: texts GiNZA did not run on keep the rules' spans; fast: every text is ranked
        ran = mode == "fast" or bool(doc.tensor.size)
        cands = list(jp.examples(doc, spans, oov, jp.VECTORS[mode][0])) if ran else []
        rows[doc.text] = {"spans": spans, "ran": ran, "cands": cands}
        return spans

    cleaner.ner.rank_persons = record
    cleaner.ner.prepare(t for t, _ in items)
    return [dict(rows.get(t, {"spans": [], "ran": False, "cands": []}), gold=g) for t, g in items]


def _matrix(vectorizer, rows, scale: float):
    import scipy.sparse as sp

    feats = [dict.fromkeys(f, 1) for r in rows for _, _, f, _ in r["cands"]]
    x = vectorizer.fit_transform(feats) if not hasattr(vectorizer, "vocabulary_") else vectorizer.transform(feats)
    vectors = [v for r in rows for *_, v in r["cands"]]
    return sp.hstack([x, sp.csr_matrix(np.array(vectors) * scale)]).tocsr()


def _labels(rows) -> list[bool]:
    return [any(gs < e and s < ge and gk == "PERSON" for gs, ge, gk in r["gold"]) for r in rows for s, e, _, _ in r["cands"]]


def fit(rows, mode: str):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    model = LogisticRegression(C=C, max_iter=5000).fit(_matrix(vectorizer, rows, jp.VECTORS[mode][1]), _labels(rows))
    return vectorizer, model


def to_weights(vectorizer, model, mode: str, threshold: float) -> dict:
    n = len(vectorizer.feature_names_)
    coef = model.coef_[0]
    sparse = {name: round(float(w), 4) for name, w in zip(vectorizer.feature_names_, coef[:n]) if abs(w) >= 1e-3}
    vectors, scale = jp.VECTORS[mode]
    return {"sparse": sparse, "dense": [round(float(w), 5) for w in coef[n:]], "vectors": vectors,
            "dense_scale": scale, "bias": float(model.intercept_[0]), "threshold": threshold,
            "trained_on": f"ner_wikipedia_ja rows {TRAIN[0]}-{TRAIN[1] - 1} of bench_pii.japanese_set "
                          "(Stockmark Inc., Wikipedia, CC BY-SA 3.0)"}


def persons(ranker, row) -> list[tuple[int, int, str]]:
    """The persons the cleaner masks for a collected row: the rules' where the ranker does not run."""
    if not row["ran"]:
        return [s for s in row["spans"] if s[2] == "PERSON"]
    return ranker.persons(row["cands"])


def recall_precision(rows, predict) -> tuple[float, float]:
    """PERSON recall and precision of ``predict(row)`` as the bench scores them (``bench_pii.score``)."""
    s = score([(i, r["gold"]) for i, r in enumerate(rows)], lambda i: predict(rows[i]))
    return s["recall"].get("PERSON", (0.0,))[0], s["precision"].get("PERSON", (0.0,))[0]


def cross_validate(rows, mode: str) -> float:
    """Two-fold figures of the rules alone and of the weights at each of ``GRID``; the lowest threshold (the
    most names masked) whose precision is at least ``PRECISION_FLOOR`` in both folds."""
    half = len(rows) // 2
    worst = dict.fromkeys(GRID, 1.0)
    for train, test in ((rows[:half], rows[half:]), (rows[half:], rows[:half])):
        rules = recall_precision(test, lambda r: [s for s in r["spans"] if s[2] == "PERSON"])
        print(f"rules alone        recall {rules[0]:.3f}  precision {rules[1]:.3f}")
        weights = to_weights(*fit(train, mode), mode, threshold=0.5)
        for t in GRID:
            ranker = jp.PersonRanker(dict(weights, threshold=t), oov=None)
            r, p = recall_precision(test, lambda row: persons(ranker, row))
            worst[t] = min(worst[t], p)
            print(f"weights, t={t:<5}   recall {r:.3f}  precision {p:.3f}")
    best = next((t for t in GRID if worst[t] >= PRECISION_FLOOR), GRID[-1])
    print(f"threshold {best} (precision {worst[best]:.3f} or more in both folds)")
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="cross-validate only; leave the weights file alone")
    ap.add_argument("--mode", choices=("model", "fast", "both"), default="both", help="japanese mode to train for")
    args = ap.parse_args(argv)
    items = japanese_set(TRAIN[1])[TRAIN[0]:]
    for mode in ("model", "fast") if args.mode == "both" else (args.mode,):
        print(f"japanese: {mode}")
        rows = collect(items, mode)
        threshold = cross_validate(rows, mode)
        if not args.check:
            out = jp.WEIGHTS[mode]
            weights = to_weights(*fit(rows, mode), mode, threshold=threshold)
            out.write_text(json.dumps(weights, ensure_ascii=False, sort_keys=True), encoding="utf-8")
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
