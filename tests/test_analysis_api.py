"""Error-analysis API: selections, filters, confused pairs, slices, diff, comparisons, review storage."""
import json

import pytest

from eval_run_builder import cls_examples, gen_examples, make_run
from ft_lab.analysis import (ExampleSet, ReviewStore, base_vs_finetuned, char_diff, compare_runs, diff_html,
                             run_summary, slice_table)
from ft_lab.errors import UserError
from ft_lab.evaluation.classification import Accuracy
from ft_lab.evaluation.generation import ChrF, Perplexity

REFS = ["a", "a", "a", "b", "b", "b", "c", "c", "c", "c"] * 2
FT = ["a", "a", "a", "b", "a", "a", "c", "c", "b", "c"] * 2
BASE = ["a", "b", "a", "b", "b", "c", "b", "b", "b", "c"] * 2
META = [{"source": "email" if i % 2 else "chat", "category": f"k{i % 3}"} for i in range(20)]


@pytest.fixture
def cls_run(tmp_path):
    return make_run(tmp_path, "classification", cls_examples(REFS, BASE, META), cls_examples(REFS, FT, META))


def test_worst_best_random_and_filters(cls_run):
    ex = ExampleSet.from_run(cls_run)
    assert ex.score_names == ["accuracy", "macro_f1"]
    worst = ex.worst(3)
    assert [e["scores"]["accuracy"] for e in worst] == [0.0, 0.0, 0.0]
    assert all(e["scores"]["accuracy"] == 1.0 for e in ex.best(5))
    assert ex.random(4, seed=1) == ex.random(4, seed=1) and len(ex.random(100)) == 20
    assert {e["id"] for e in ex.filter(label="b", predicted="a")} == {4, 5, 14, 15}
    assert len(ex.filter(source="email", category=["k0", "k1"])) == len(
        [m for m in META if m["source"] == "email" and m["category"] in ("k0", "k1")])
    assert len(ex.filter(text="TEXT 1")) == 11  # "text 1", "text 10" .. "text 19"
    assert len(ex.filter(length="short")) == 20 and len(ex.filter(correct=False)) == 6
    with pytest.raises(UserError, match="no metadata column 'sourse'.*category, source"):
        ex.filter(sourse="email")
    with pytest.raises(UserError, match="length: expected one of short, medium, long"):
        ex.filter(length="tiny")
    with pytest.raises(UserError, match="unknown score 'bleu'"):
        ex.worst(by="bleu")


def test_confused_pairs(cls_run):
    pairs = ExampleSet.from_run(cls_run).confused_pairs(2, examples_per_pair=1)
    assert [(p["reference"], p["predicted"], p["count"]) for p in pairs] == [("b", "a", 4), ("c", "b", 2)]
    assert len(pairs[0]["examples"]) == 1 and pairs[0]["examples"][0]["reference"] == "b"


def test_slice_table_flags_low_slices():
    examples = cls_examples(["x"] * 30, ["x"] * 20 + ["y"] * 10,
                            [{"source": "faq"}] * 20 + [{"source": "mail"}] * 10)
    table = slice_table(examples, "source", evaluator=Accuracy(), min_count=5)
    assert table.overall == pytest.approx(20 / 30)
    rows = {r["slice"]: r for r in table.rows}
    assert rows["mail"]["value"] == 0 and rows["mail"]["flagged"] and rows["mail"]["n"] == 10
    assert not rows["faq"]["flagged"] and [r["slice"] for r in table.flagged()] == ["mail"]
    # lower is better: the slice with the higher perplexity is the flagged one
    gen = gen_examples([("q", "r", "p")] * 12, [{"s": "a"}] * 6 + [{"s": "b"}] * 6)
    ppl = slice_table(gen, "s", evaluator=Perplexity(), min_count=3)
    assert [r["slice"] for r in ppl.flagged()] == ["b"]
    with pytest.raises(UserError, match="no example has a value for 'nope'"):
        slice_table(examples, "nope", evaluator=Accuracy())
    by_len = ExampleSet(examples, "classification").slices("length", evaluator=Accuracy())
    assert [r["slice"] for r in by_len.rows] == ["short"]


def test_char_diff_japanese():
    ops = char_diff("東京に住む", "東京都に住んでいる")
    assert ops == [("equal", "東京"), ("insert", "都"), ("equal", "に住"), ("replace", "む", "んでいる")]
    assert diff_html("<a>です", "<a>でした") == "&lt;a&gt;で<del>す</del><ins>した</ins>"
    assert char_diff("同じ", "同じ") == [("equal", "同じ")]


def test_base_vs_finetuned_and_compare_runs(tmp_path, cls_run):
    cmp = base_vs_finetuned(cls_run)
    expected = {"fixed": 0, "broken": 0, "still_wrong": 0, "still_right": 0}
    for r, b, f in zip(REFS, BASE, FT):
        key = {(False, True): "fixed", (True, False): "broken", (False, False): "still_wrong",
               (True, True): "still_right"}[(b == r, f == r)]
        expected[key] += 1
    assert cmp.counts == expected and sum(cmp.counts.values()) == 20
    assert {r["id"] for r in cmp.where("fixed")} == {1, 6, 7, 11, 16, 17}
    row = cmp.rows[1]
    assert (row["base"], row["finetuned"], row["outcome"]) == ("b", "a", "fixed")

    other = make_run(tmp_path, "classification", None, cls_examples(REFS, REFS, META), name="run2",
                     metrics={"finetuned": {"accuracy": 1.0}, "headline": "accuracy"})
    (cls_run / "metrics.json").write_text(json.dumps({"finetuned": {"accuracy": 0.7}, "headline": "accuracy"}))
    diff = compare_runs(cls_run, other)
    assert diff["metrics"]["accuracy"] == {"a": 0.7, "b": 1.0, "delta": pytest.approx(0.3)}
    assert diff["examples"].counts["fixed"] == 6 and diff["examples"].counts["broken"] == 0
    third = make_run(tmp_path, "classification", None, cls_examples(REFS[:5], REFS[:5]), name="run3")
    with pytest.raises(UserError, match="not on the same test set"):
        compare_runs(cls_run, third)


def test_generation_compare_by_score_threshold(tmp_path):
    base = gen_examples([("q1", "今日は晴れです", "雨です"), ("q2", "東京", "東京")])
    ft = gen_examples([("q1", "今日は晴れです", "今日は晴れです"), ("q2", "東京", "大阪")])
    run = make_run(tmp_path, "generation", base, ft)
    cmp = base_vs_finetuned(run, by="chrf", threshold=50)
    assert cmp.counts == {"fixed": 1, "broken": 1, "still_wrong": 0, "still_right": 0}
    ex = ExampleSet.from_run(run, evaluators=[ChrF()])
    assert ex.worst(1)[0]["prediction"] == "大阪"


def test_review_store(cls_run):
    store = ReviewStore(cls_run)
    store.add(3, rating=2, comment="敬語が不自然", reviewer="sato")
    store.add(3, rating=4, reviewer="sato")          # the latest review by a reviewer wins
    store.add(5, rating=5, reviewer="kim")
    store.add(5, comment="fine", reviewer="lee")
    assert store.reviews()[3]["rating"] == 4
    assert store.reviews()[5]["rating"] == 5.0 and store.reviews()[5]["comment"] == "fine"
    s = store.summary()
    assert (s["reviewed"], s["reviews"], s["mean_rating"], s["ratings"]) == (2, 3, 4.5, {"4": 1, "5": 1})
    assert json.loads((cls_run / "review" / "summary.json").read_text())["mean_rating"] == 4.5
    assert run_summary(cls_run)["review"]["reviewed"] == 2 and "headline" in run_summary(cls_run)
    lines = (cls_run / "review" / "reviews.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and "敬語が不自然" in lines[0]
    with pytest.raises(UserError, match="rating: expected an integer from 1 to 5"):
        store.add(1, rating=7)
