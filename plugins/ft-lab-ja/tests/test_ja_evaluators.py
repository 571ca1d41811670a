"""ft-lab-ja's evaluators on Japanese answers: morpheme BLEU, ROUGE and word F1, inflections unified."""
import json

import pytest

from ft_lab.errors import UserError
from ft_lab.evaluation.generation import Bleu
from ft_lab_ja.evaluators import JaBleu, JaRouge, JaWordF1

# (prediction, reference): the same answer in other words' forms, a paraphrase, and a wrong answer
EXAMPLES = [
    {"id": 0, "input": "ケーブルは？", "prediction": "付属のケーブルを使いました", "reference": "附属ケーブルを使います"},
    {"id": 1, "input": "ログインできない", "prediction": "パスワードを再設定してください。",
     "reference": "パスワードを再設定して下さい。"},
    {"id": 2, "input": "天気は？", "prediction": "明日は雨が降るでしょう。", "reference": "カードは一週間で届きます。"},
]


@pytest.mark.parametrize("analyzer", ["sudachi", "unidic"])
def test_word_f1_counts_the_same_words_whatever_their_inflection(analyzer):
    ev = JaWordF1(JaWordF1.Config(analyzer=analyzer))
    assert ev.per_example(EXAMPLES) == [1.0, 1.0, 0.0]
    assert ev.score(EXAMPLES) == pytest.approx({"ja_word_f1": 2 / 3, "ja_word_precision": 2 / 3,
                                                "ja_word_recall": 2 / 3})
    surface = JaWordF1(JaWordF1.Config(analyzer=analyzer, form="surface")).per_example(EXAMPLES)
    assert surface[0] == pytest.approx(2 / 3)  # as written, 附属 and 付属 differ
    assert ev.details(EXAMPLES)["tokenizer"] in ("sudachi-core-A/normalized", "unidic-lite/normalized")


def test_word_f1_partial_overlap_and_empty_answers():
    ev = JaWordF1()
    pred, ref = "再発行を申請する", "再発行はアプリから申請できます"
    assert ev._words(pred) == ["再", "発行", "申請", "為る"]  # Sudachi's normalized form of する is 為る
    assert ev._words(ref) == ["再", "発行", "アプリ", "申請", "出来る"]
    p, r, f = ev._prf(ev._words(pred), ev._words(ref))
    assert (p, r, f) == (pytest.approx(3 / 4), pytest.approx(3 / 5), pytest.approx(2 / 3))
    assert ev.per_example([{"prediction": "", "reference": ""}, {"prediction": "はい", "reference": ""}]) == [1.0, 0.0]
    with pytest.raises(UserError, match="no examples"):
        ev.score([])


def test_bleu_on_normalized_morphemes_beats_surface_and_matches_it_on_identical_text():
    normalized = JaBleu().score(EXAMPLES)["ja_bleu"]
    surface = JaBleu(JaBleu.Config(form="surface", analyzer="unidic")).score(EXAMPLES)["ja_bleu"]
    assert normalized > surface + 10
    # on surface forms it is the core bleu with japanese_tokenizer: morph (fugashi + UniDic words)
    core = Bleu(Bleu.Config(language="ja", japanese_tokenizer="morph")).score(EXAMPLES)["bleu"]
    assert surface == pytest.approx(core)
    same = [{"prediction": e["reference"], "reference": e["reference"]} for e in EXAMPLES]
    assert JaBleu().score(same)["ja_bleu"] == pytest.approx(100.0)
    per = JaBleu().per_example(EXAMPLES)
    assert per[1] == pytest.approx(100.0) and per[2] < 10
    details = JaBleu().details(EXAMPLES)
    assert details["tokenizer"] == "sudachi-core-A/normalized" and "tok:none" in details["signature"]
    assert JaBleu().score([]) == {"ja_bleu": 0.0}


def test_rouge_on_morphemes():
    ev = JaRouge(JaRouge.Config(content_only=True))
    scores = ev.score(EXAMPLES)
    assert set(scores) == {"ja_rouge1", "ja_rouge2", "ja_rougeL"}
    assert ev.per_example(EXAMPLES) == pytest.approx([1.0, 1.0, 0.0])
    assert scores["ja_rouge1"] == pytest.approx(2 / 3)
    # word order counts for ROUGE-L: the same words reversed share only one in sequence
    swapped = [{"prediction": "カードを届ける", "reference": "届けるカード"}]
    assert JaRouge(JaRouge.Config(content_only=True)).per_example(swapped) == [pytest.approx(0.5)]


def test_rouge_counts_as_rouge_score_does():
    from rouge_score import rouge_scorer

    from ft_lab_ja.evaluators import rouge_f

    class Words:
        def tokenize(self, text):
            return text.split()

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=Words())
    ev = JaRouge()
    texts = [e[k] for e in EXAMPLES for k in ("prediction", "reference")] + [
        "お問い合わせいただいた件について、担当者から折り返しご連絡いたします。",
        "担当者から折り返し連絡します。お問い合わせの件、少々お待ちください。", "", "はい"]
    for pred in texts:
        for ref in texts:
            p, r = ev._words(pred), ev._words(ref)
            want = {k: v.fmeasure for k, v in scorer.score(" ".join(r), " ".join(p)).items()}
            assert rouge_f(p, r) == pytest.approx(want), (pred, ref)


def _write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_ft_lab_eval_rescores_a_run_with_the_pack(tmp_path, capsys):
    """`ft-lab eval RUN` and `ft-lab eval RUN --evaluators ja_rouge` on a finished Japanese run."""
    from ft_lab.cli import main
    from ft_lab.core.recipe import Recipe

    run = tmp_path / "run1"
    data = [{"prompt": e["input"], "response": e["reference"]} for e in EXAMPLES]
    for split in ("train", "validation", "test"):
        _write_jsonl(run / "data" / f"{split}.jsonl", data)
    splits = ("train", "validation", "test")
    recipe = {"task": "generation", "data": {s: str(run / "data" / f"{s}.jsonl") for s in splits},
              "evaluate": [{"name": "ja_word_f1", "analyzer": "unidic"}, "ja_bleu"]}
    (run / "recipe.yaml").write_text(Recipe.from_dict(recipe).to_yaml(), encoding="utf-8")
    (run / "events.jsonl").write_text("", encoding="utf-8")
    finetuned = [{**e, "meta": {}} for e in EXAMPLES]
    base = [{**e, "prediction": "わかりません", "meta": {}} for e in EXAMPLES]
    _write_jsonl(run / "predictions" / "finetuned.jsonl", finetuned)
    _write_jsonl(run / "predictions" / "base.jsonl", base)
    (run / "metrics.json").write_text(json.dumps({"base": {}, "finetuned": {}, "headline": "ja_word_f1"}))

    assert main(["eval", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ja_word_f1" in out and "ja_bleu" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["finetuned"]["ja_word_f1"] == pytest.approx(2 / 3)
    assert metrics["base"]["ja_word_f1"] == 0.0
    details = (run / "eval_details.json").read_text(encoding="utf-8")
    assert "unidic-lite/normalized" in details and "sudachi-core-A/normalized" in details
    # an evaluator the recipe did not list, on a run trained before the pack was installed
    assert main(["eval", str(run), "--evaluators", "ja_rouge", "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["finetuned"]["ja_rougeL"] == pytest.approx(JaRouge().score(EXAMPLES)["ja_rougeL"])
