"""ft-lab-ja's analyzers: UniDic (fugashi + unidic-lite) and Sudachi (sudachidict-core), both from PyPI."""
import sys

import pytest

from ft_lab.errors import UserError
from ft_lab_ja import analyzer
from ft_lab_ja.analyzer import morphemes, words

BOTH = pytest.mark.parametrize("name", ["sudachi", "unidic"])


@BOTH
def test_inflections_and_spelling_variants_are_unified(name):
    text = "附属のコンピュータでシュミレーションを行いました。"
    assert words(text, name, "surface") == ["附属", "の", "コンピュータ", "で", "シュミレーション", "を",
                                           "行い", "まし", "た"]
    assert words(text, name, "base")[-3:] == ["行う", "ます", "た"]  # dictionary forms of the verb and auxiliary
    normalized = words(text, name, "normalized")
    assert normalized[:5] == ["付属", "の", "コンピューター", "で", "シミュレーション"]


@BOTH
def test_content_only_drops_particles_auxiliaries_and_punctuation(name):
    assert words("カードが届きませんでした。", name, "base", content_only=True) == ["カード", "届く"]
    with_punct = words("届きました！", name, "surface", punctuation=True)
    assert with_punct[-1] in ("!", "！") and "!" not in words("届きました！", name, "surface")


@BOTH
def test_width_and_case_do_not_count(name):
    assert words("ＰＡＳＳＷＯＲＤを再設定", name) == words("passwordを再設定", name)
    assert words("ｽﾏﾎが壊れた", name, "surface")[0] == "スマホ"


def test_sudachi_split_modes_keep_compounds_whole_in_c():
    text = "選挙管理委員会に問い合わせる"
    assert words(text, "sudachi", split_mode="A") == ["選挙", "管理", "委員", "会", "に", "問い", "合わせる"]
    assert words(text, "sudachi", split_mode="B") == ["選挙", "管理", "委員会", "に", "問い合わせる"]
    assert words(text, "sudachi", split_mode="C") == ["選挙管理委員会", "に", "問い合わせる"]


def test_long_text_is_analyzed_in_pieces_with_nothing_lost():
    text = ("お問い合わせありがとうございます。" * 400) + "以上"  # 6,802 characters, over Sudachi's input limit
    got = morphemes(text, "sudachi")
    assert "".join(m.surface for m in got) == text
    assert "".join(analyzer._chunks("あ" * 9000)) == "あ" * 9000


def test_bad_names_and_missing_packages_are_one_line_errors(monkeypatch):
    with pytest.raises(UserError, match="analyzer: expected one of unidic, sudachi, got 'mecab'"):
        words("テスト", "mecab")
    with pytest.raises(UserError, match="form: expected one of surface, base, normalized"):
        words("テスト", "unidic", form="lemma")
    monkeypatch.setitem(sys.modules, "sudachipy", None)  # as if it were not installed
    analyzer._sudachi.cache_clear()
    try:
        with pytest.raises(UserError) as err:
            words("テスト", "sudachi")
        assert "pip install sudachipy sudachidict-core" in str(err.value) and "\n" not in str(err.value)
    finally:
        analyzer._sudachi.cache_clear()
