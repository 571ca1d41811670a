"""``greedy_ner``: spaCy's greedy NER decoded with numpy gives spaCy's own entities, with the real GiNZA and
English models, on the shipped samples and on edge cases (empty texts, spaces, one token, line breaks)."""
import csv
import json
from pathlib import Path

import pytest

from ft_lab.cleaners import greedy_ner, pii_ner
from ft_lab.cleaners.pii_ner import ner_missing

DATA = Path(__file__).resolve().parent / "fixtures/data"
pytestmark = pytest.mark.skipif(ner_missing() is not None, reason="the ner extra is not installed (make setup does)")

EDGE = ["", " ", "山田", "東京", "Jane", "\n\n", "山田太郎さん\n\n鈴木花子さん", "Call  Jane Doe ", "  Paris\tLondon  ",
        "ジョン・スミス。メアリー・ジョーンズ。", "Dr. Who met Mr. Smith in New York City on Monday."]


def texts(lang: str) -> list[str]:
    if lang == "ja":
        rows = json.loads((DATA / "ner_wikipedia_ja_sample.json").read_text(encoding="utf-8"))
        return [r["text"] for r in rows] + EDGE
    with open(DATA / "banking77_sample.csv", encoding="utf-8") as f:
        banking = [r["text"] for r in csv.DictReader(f)]
    presidio = [r["full_text"] for r in json.loads((DATA / "presidio_sample.json").read_text(encoding="utf-8"))]
    return banking + presidio + EDGE


def entities(docs):
    return [[(e.start, e.end, e.label_) for e in d.ents] for d in docs]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_same_entities_as_spacy(lang):
    nlp = pii_ner.load_pipeline(lang)
    items = texts(lang)
    theirs = entities(nlp.pipe(items, batch_size=16))
    ours = entities(greedy_ner.pipe(nlp, items, batch_size=16))
    assert sum(map(len, theirs)) > len(items) / 4  # the sample holds entities to compare
    assert ours == theirs


def test_docs_in_and_tensor_kept():
    """Docs made by ``make_doc`` go in as they are; the tok2vec still runs and fills their tensors."""
    nlp = pii_ner.load_pipeline("ja")
    made = [nlp.make_doc(t) for t in ("山田太郎さんは東京都に住む。", "")]
    out = list(greedy_ner.pipe(nlp, made))
    assert out[0] is made[0] and out[0].tensor.shape[0] == len(made[0])
    assert [e.text for e in out[0].ents] == [e.text for e in nlp("山田太郎さんは東京都に住む。").ents]
    assert list(out[1].ents) == []


def test_beam_search_is_left_to_spacy():
    nlp = pii_ner.load_pipeline("en")
    ner = nlp.get_pipe("ner")
    assert greedy_ner.usable(ner)
    ner.cfg["beam_width"] = 4
    try:
        assert not greedy_ner.usable(ner)
    finally:
        ner.cfg["beam_width"] = 1


def test_no_entity_across_a_sentence_start():
    """Where a sentence starts inside a name (a splitter said so), both stop the entity there."""
    nlp = pii_ner.load_pipeline("en")
    text = "Yesterday Jane Doe and John Smith met Mary Ann Jones in New York City."
    plain = entities([nlp.get_pipe("ner")(nlp.make_doc(text))])[0]
    assert any(e - s > 1 for s, e, _ in plain)  # names of two and three tokens
    split = []
    for make in (lambda d: nlp.get_pipe("ner")(d), lambda d: next(greedy_ner.pipe(nlp, [d]))):
        doc = nlp.make_doc(text)
        for k, tok in enumerate(doc):
            tok.is_sent_start = k in (0, 2, 5, 9, 12)  # inside each name
        split.append(entities([make(doc)])[0])
    assert split[0] != plain and split[1] == split[0]


def test_benchmark_script_compares_with_spacy(tmp_path, monkeypatch, capsys):
    """``benchmarks/bench_greedy_ner.py`` on the shipped samples: three runs a language, all identical."""
    import shutil
    import sys

    (tmp_path / "ner_wikipedia_ja").mkdir()
    (tmp_path / "banking77").mkdir()
    shutil.copy(DATA / "ner_wikipedia_ja_sample.json", tmp_path / "ner_wikipedia_ja/ner.json")
    shutil.copy(DATA / "banking77_sample.csv", tmp_path / "banking77/train.csv")
    monkeypatch.syspath_prepend(str(DATA.parents[2] / "benchmarks"))
    import bench_greedy_ner

    monkeypatch.setattr(bench_greedy_ner, "DATA", tmp_path)
    try:
        assert bench_greedy_ner.main(["--rows", "40"]) == 0
    finally:
        sys.modules.pop("bench_greedy_ner", None)
    out = capsys.readouterr().out
    assert out.count("entities identical") == 6 and "x spacy" in out and "DIFFER" not in out
