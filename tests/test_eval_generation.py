"""Generation evaluators: English equal to sacrebleu / rouge-score; Japanese scored sensibly."""
import math

import pytest

from eval_run_builder import gen_examples
from ft_lab.errors import UserError
from ft_lab.evaluation.cjk_tokenize import detect_language, morph_available, tokenize
from ft_lab.evaluation.generation import Bleu, ChrF, ExactMatch, Perplexity, Rouge
from ft_lab.evaluation.text_scores import normalize_answer

EN = [("q1", "The cat sat on the mat.", "The cat is sitting on the mat."),
      ("q2", "Restart the router and wait two minutes.", "Restart your router, then wait 2 minutes."),
      ("q3", "Refunds take five business days.", "Refunds are processed within five business days."),
      ("q4", "Open Settings, then Accounts.", "Go to the Accounts page.")]

JA_REF = "返品は商品到着後30日以内であれば受け付けております。"
JA_SAME = JA_REF
JA_PARA = "商品到着から30日以内なら返品を受け付けています。"
JA_WRONG = "申し訳ありませんが、パスワードの再設定はできません。"


def _ja(pred):
    return gen_examples([("返品できますか", JA_REF, pred)])


def test_english_bleu_chrf_equal_sacrebleu():
    from sacrebleu.metrics import BLEU, CHRF

    ex = gen_examples(EN)
    preds, refs = [e["prediction"] for e in ex], [e["reference"] for e in ex]
    assert Bleu().score(ex)["bleu"] == pytest.approx(BLEU(tokenize="13a").corpus_score(preds, [refs]).score)
    assert ChrF().score(ex)["chrf"] == pytest.approx(CHRF().corpus_score(preds, [refs]).score)
    assert ChrF(ChrF.Config(word_order=2)).score(ex)["chrf"] == pytest.approx(
        CHRF(word_order=2).corpus_score(preds, [refs]).score)
    det = Bleu().details(ex)
    assert det["language"] == "en" and det["tokenizer"] == "13a" and "tok:13a" in det["signature"]


def test_english_rouge_equals_rouge_score():
    from rouge_score import rouge_scorer

    ex = gen_examples(EN)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    per = [scorer.score(e["reference"], e["prediction"]) for e in ex]
    out = Rouge().score(ex)
    for k in ("rouge1", "rouge2", "rougeL"):
        assert out[k] == pytest.approx(sum(s[k].fmeasure for s in per) / len(per))
    assert Rouge().per_example(ex) == pytest.approx([s["rougeL"].fmeasure for s in per])


@pytest.mark.parametrize("jt", ["char", pytest.param("morph", marks=pytest.mark.skipif(
    not morph_available(), reason="fugashi + unidic-lite not installed"))])
def test_japanese_identical_max_paraphrase_high_wrong_low(jt):
    cfg = dict(japanese_tokenizer=jt)
    evs = {"bleu": (Bleu(Bleu.Config(**cfg)), 100.0), "chrf": (ChrF(), 100.0),
           "rouge1": (Rouge(Rouge.Config(**cfg)), 1.0), "rouge2": (Rouge(Rouge.Config(**cfg)), 1.0),
           "rougeL": (Rouge(Rouge.Config(**cfg)), 1.0), "exact_match": (ExactMatch(), 1.0),
           "exact_match_normalized": (ExactMatch(), 1.0)}
    for metric, (ev, top) in evs.items():
        same = ev.score(_ja(JA_SAME))[metric]
        assert same == pytest.approx(top), metric
        if metric.startswith("exact"):
            continue
        para = ev.score(_ja(JA_PARA))[metric]
        wrong = ev.score(_ja(JA_WRONG))[metric]
        assert para > 0.1 * top, (metric, para)  # well above 0
        assert wrong < 0.5 * para, (metric, wrong, para)  # well below the paraphrase
    det = Bleu(Bleu.Config(**cfg)).details(_ja(JA_PARA))
    assert det["language"] == "ja"
    assert det["tokenizer"] == ("char" if jt == "char" else "ja-fugashi")


def test_language_detection_and_cjk_tokens():
    assert detect_language([JA_REF]) == "ja"
    assert detect_language(["我们明天去北京开会。"]) == "zh"
    assert detect_language(["Call me at 9 (東 is a kanji in one word)." * 3]) == "en"
    assert tokenize("Ｗｉｆｉが繋がらない!", "ja") == ["wifi", "が", "繋", "が", "ら", "な", "い"]
    zh = gen_examples([("q", "我们明天去北京开会。", "我们明天去北京开会。")])
    assert Bleu().details(zh)["tokenizer"] == "zh"
    assert Rouge().details(zh)["tokenizer"] == "cjk-char"


def test_normalized_exact_match():
    assert normalize_answer("ＡＢＣ　です。") == normalize_answer("abc です")
    assert normalize_answer("The answer, is: 42!") == normalize_answer("answer is 42")
    ex = gen_examples([("q", "東京です。", "東京 です"), ("q", "Yes", "no")])
    out = ExactMatch().score(ex)
    assert out == {"exact_match": 0.0, "exact_match_normalized": 0.5}
    assert ExactMatch().per_example(ex) == [1.0, 0.0]


def test_perplexity_from_nll():
    ex = gen_examples(EN[:3])  # nll 2, 3, 4 over 4 tokens each
    assert Perplexity().score(ex)["perplexity"] == pytest.approx(math.exp(9 / 12))
    assert Perplexity().per_example(ex) == pytest.approx([math.exp(2 / 4), math.exp(3 / 4), math.exp(1.0)])
    assert Perplexity.higher_is_better is False
    del ex[1]["nll"]
    with pytest.raises(UserError, match="example 1 has no 'nll'"):
        Perplexity().score(ex)


def test_morph_tokenizer_missing_is_a_clear_error(monkeypatch):
    import builtins

    from ft_lab.evaluation import cjk_tokenize

    cjk_tokenize._fugashi_tagger.cache_clear()
    real_import = builtins.__import__

    def no_fugashi(name, *a, **k):
        if name == "fugashi":
            raise ImportError("no fugashi")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_fugashi)
    with pytest.raises(UserError, match="pip install fugashi unidic-lite"):
        Bleu(Bleu.Config(japanese_tokenizer="morph")).score(_ja(JA_PARA))
    cjk_tokenize._fugashi_tagger.cache_clear()
