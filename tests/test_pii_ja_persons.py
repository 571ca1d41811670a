"""The learned check of Japanese persons (``pii_ja_persons``) in both of ``pii_ner``'s ``japanese`` modes, with
the real GiNZA model, the shipped weights and the script that learns them."""
import json
import sys
from pathlib import Path

import pytest

from ft_lab.cleaners import pii_ner
from ft_lab.cleaners.pii_ja_persons import VECTORS, WEIGHTS, PersonRanker, examples, static_table
from ft_lab.cleaners.pii_ner import ALL_TYPES, NerSpans, PiiNer, ner_missing

ROOT = Path(__file__).resolve().parents[1]
needs_ner = pytest.mark.skipif(ner_missing() is not None, reason="the ner extra is not installed (make setup does)")

# Names the rules alone leave (a katakana surname the dictionary lacks, a given name that is also a word)
# next to a team and a country that must keep their types.
TEXTS = ["ホーナングはその後ラッフルズから離れた。", "ネヴィンソンは設置が提案された慰霊館の設計を担当した。",
         "椎名林檎は、日本のシンガーソングライター。"]


def masked(texts, **config):
    cleaner = PiiNer(PiiNer.Config(numbered=True, **{"entities": list(ALL_TYPES), **config}))
    return [r["text"] for r in cleaner.clean([{"text": t, "label": "a", "meta": {}} for t in texts], ["text"]).rows]


@needs_ner
def test_learned_check_masks_names_the_rules_miss():
    assert masked(TEXTS) == ["<PERSON_1>はその後<ORGANIZATION_1>から離れた。", "<PERSON_1>は設置が提案された慰霊館の設計を担当した。",
                             "<PERSON_1>は、<LOCATION_1>のシンガーソングライター。"]


@needs_ner
def test_fast_mode_masks_names_the_dictionary_lacks():
    """``fast`` has no GiNZA network: the katakana names come from its static word vectors and context."""
    assert masked(TEXTS, japanese="fast") == [
        "<PERSON_1>はその後<ORGANIZATION_1>から離れた。", "<PERSON_1>は設置が提案された慰霊館の設計を担当した。",
        "<PERSON_1>林檎は、<LOCATION_1>のシンガーソングライター。"]


@needs_ner
def test_person_threshold_trades_names_for_certainty():
    strict = masked(TEXTS, person_threshold=0.99)
    assert strict[0] == "ホーナングはその後<ORGANIZATION_1>から離れた。" and "椎名林檎" in strict[2]
    # a name before さん is as sure as it gets
    assert masked(["山田太郎さんは東京都の会社に勤めている。"], person_threshold=0.99) == ["<PERSON_1>さんは<LOCATION_1>の会社に勤めている。"]


def test_person_threshold_is_checked():
    with pytest.raises(ValueError, match="person_threshold must be between 0 and 1, got 1.5"):
        PiiNer.Config(person_threshold=1.5)


@needs_ner
def test_ginza_wakes_for_katakana_words_the_dictionary_lacks():
    nlp = pii_ner.load_pipeline("ja")
    docs = list(NerSpans(["PERSON"])._japanese_docs(nlp, ["パソコンが起動しません。", "ネヴィンソンは来た。", "マザーボードを交換した。"]))
    assert [bool(d.tensor.size) for d in docs] == [False, True, False]


@needs_ner
@pytest.mark.parametrize("mode", ["model", "fast"])
def test_shipped_weights_know_the_features_the_code_computes(mode):
    """A renamed feature would silently weigh nothing: most features of real sentences have a weight."""
    weights = json.loads(WEIGHTS[mode].read_text(encoding="utf-8"))
    assert 0 < weights["threshold"] < 1 and "rows 1000-4342" in weights["trained_on"]
    assert (weights["vectors"], weights["dense_scale"]) == VECTORS[mode]
    nlp = pii_ner.load_pipeline("ja")
    ranker = NerSpans(["PERSON"], japanese=mode).ranker()
    feats, width = [], 0
    texts = TEXTS + ["山田太郎さんは東京都の株式会社ABCに勤めている。"]
    for doc in nlp.pipe(texts) if mode == "model" else map(nlp.make_doc, texts):
        for _, _, f, vec in examples(doc, [], ranker.oov, ranker.vectors):
            feats += f
            width = len(vec)
    known = sum(f in weights["sparse"] for f in feats) / len(feats)
    assert known > 0.8 and width == len(weights["dense"]), (known, width)
    families = {f.split(":")[0] for f in weights["sparse"]}
    assert {f.split(":")[0] for f in feats} <= families  # no kind of feature the weights never saw


@needs_ner
def test_static_vectors_of_a_text():
    """One row per token and a row of zeros before and after the text; words the table lacks are zeros."""
    nlp = pii_ner.load_pipeline("ja")
    doc = nlp.make_doc("山田さんはネヴィンソンと来た。")
    table = static_table(doc)
    assert table.shape == (len(doc) + 2, nlp.vocab.vectors.shape[1])
    assert not table[0].any() and not table[-1].any()
    assert [bool(row.any()) for row in table[1:-1]] == [t.has_vector for t in doc]
    assert doc[0].has_vector and (table[1] == doc[0].vector).all()
    assert static_table(nlp.make_doc("")).shape == (2, nlp.vocab.vectors.shape[1])


@needs_ner
@pytest.mark.parametrize("mode", ["model", "fast"])
def test_training_script_learns_weights_the_ranker_uses(tmp_path, mode):
    """``benchmarks/train_ja_persons.py``'s steps on the shipped Wikipedia sample: collect, fit, write, load."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import train_ja_persons as train
        from bench_pii import JA_TYPES
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    data = json.loads((ROOT / "tests/fixtures/data/ner_wikipedia_ja_sample.json").read_text(encoding="utf-8"))
    items = [(r["text"], [(*e["span"], JA_TYPES.get(e["type"], "OTHER")) for e in r["entities"]]) for r in data]
    rows = train.collect(items, mode)
    assert sum(len(r["cands"]) for r in rows) > len(rows) and any(r["ran"] for r in rows)
    weights = train.to_weights(*train.fit(rows, mode), mode, threshold=0.5)
    assert weights["vectors"] == VECTORS[mode][0]
    out = tmp_path / "w.json"
    out.write_text(json.dumps(weights, ensure_ascii=False), encoding="utf-8")
    ranker = PersonRanker.load(pii_ner.load_pipeline("ja"), out)
    recall, precision = train.recall_precision(rows, lambda row: train.persons(ranker, row))
    assert recall > 0.8 and precision > 0.8, (recall, precision)  # its own training rows: it must fit them
