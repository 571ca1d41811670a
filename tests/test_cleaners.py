"""Built-in cleaners: each alone, on Japanese and English rows, and through the plugin registry."""
import json
from pathlib import Path

import pytest

from ft_lab.core import configs
from ft_lab.cleaners.dedup import Dedup
from ft_lab.cleaners.filters import (EmptyFilter, LabelMap, LanguageFilter, LengthFilter, PatternFilter,
                                     StaleFilter)
from ft_lab.cleaners.measure import approx_tokens, language_of
from ft_lab.cleaners.normalize import Normalize
from ft_lab.cleaners.pii import PiiDetector, PiiMask, luhn_ok, my_number_ok
from ft_lab.errors import UserError
from ft_lab.core.plugins import load_registry

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def rows(*texts, **extra):
    return [{"text": t, "label": "x", "meta": dict(extra)} for t in texts]


def test_registry_has_every_builtin_cleaner_with_valid_configs():
    reg = load_registry(strict=True)
    names = {"normalize", "dedup", "pii_mask", "length_filter", "empty_filter", "language_filter",
             "pattern_filter", "stale_filter", "label_map"}
    assert names <= set(reg.names("cleaner")) and not reg.broken
    for name in names:
        assert configs.json_schema(reg.get("cleaner", name).Config)["type"] == "object"
    cfg, problems = configs.build(Dedup.Config, {"method": "fuzzy"}, "clean[0]")
    assert problems == ['clean[0].method: expected one of "exact", "near", got "fuzzy"']


def test_normalize_defaults_unify_width_but_keep_meaning():
    out = Normalize().clean(rows("ＡＢＣ１２３　ﾃｽﾄﾃﾞｰﾀ\r\n", "Code:\n    x  =  1\n\n\n", "ok"), ["text"])
    assert [r["text"] for r in out.rows] == ["ABC123 テストデータ", "Code:\n    x  =  1", "ok"]
    assert out.changed == 2 and out.changes[0]["before"]["text"].startswith("ＡＢＣ")
    opt = Normalize(Normalize.Config(collapse_spaces=True, lowercase=True, form="NFC", width=True))
    assert opt.normalize_text("ＡＢＣ  ﾃﾞｰﾀ\u200b") == "abc データ"
    assert Normalize(Normalize.Config(form="none", control=False)).normalize_text("Ａ\x07") == "Ａ\x07"


def test_normalize_rewrites_chat_messages():
    row = {"messages": [{"role": "user", "content": "ｈｉ "}, {"role": "assistant", "content": "ok"}], "meta": {}}
    out = Normalize().clean([row], ["messages"])
    assert out.rows[0]["messages"][0]["content"] == "hi" and row["messages"][0]["content"] == "ｈｉ "


def test_exact_dedup_after_normalization_keeps_first_and_reports_clusters():
    data = rows("東京　タワー", "東京 タワー", "Hello", "hello", "東京タワー")
    out = Dedup().clean(data, ["text"])
    assert [r["text"] for r in out.rows] == ["東京　タワー", "Hello", "hello", "東京タワー"]
    assert out.rejected[0][1] == "exact duplicate of row 1"
    assert out.info["largest_clusters"] == [{"kept": 1, "dropped": [2], "size": 2}]
    assert len(Dedup(Dedup.Config(ignore_case=True)).clean(data, ["text"]).rows) == 3


def test_near_dedup_finds_japanese_and_english_near_copies():
    ja = "本項では奈良県奈良市にある東大寺に伝来する仏像について説明する。"
    en = "What can I do if my card still hasn't arrived after two weeks of waiting?"
    data = rows(ja, ja.replace("説明する", "説明します"), en, en.replace("What", "what") + "!",
                "全く関係のない別の文章です。", "A completely different sentence here.")
    out = Dedup(Dedup.Config(method="near", threshold=0.6, ngram=3)).clean(data, ["text"])
    assert [r["text"] for r in out.rows] == [ja, en, data[4]["text"], data[5]["text"]]
    assert {reason for _, reason in out.rejected} == {"near duplicate of row 1", "near duplicate of row 3"}
    assert out.info["clusters"] == 2 and out.info["near_duplicates"] == 2
    strict = Dedup(Dedup.Config(method="near", threshold=0.99, ngram=3)).clean(data, ["text"])
    assert len(strict.rows) == 6


def test_pii_structured_types_with_full_width_and_numbering():
    mask = PiiMask(PiiMask.Config(numbered=True))
    text = ("山田です。TEL ０９０－１２３４－５６７８、会社 03-1234-5678、再掲 090-1234-5678。"
            "ｍａｉｌ：ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ 〒100-0001 カード 4532 2766 4457 7020 "
            "マイナンバーは123456789018 http://example.jp/a?b=1 から 192.168.0.1 に接続")
    out = mask.clean(rows(text), ["text"])
    masked = out.rows[0]["text"]
    assert masked == ("山田です。TEL <PHONE_1>、会社 <PHONE_2>、再掲 <PHONE_1>。ｍａｉｌ：<EMAIL_1> <POSTAL_CODE_1> "
                      "カード <CREDIT_CARD_1> マイナンバーは<MY_NUMBER_1> <URL_1> から <IP_ADDRESS_1> に接続")
    assert out.info["pii_found"] == {"CREDIT_CARD": 1, "EMAIL": 1, "IP_ADDRESS": 1, "MY_NUMBER": 1,
                                     "PHONE": 3, "POSTAL_CODE": 1, "URL": 1}
    assert out.changes[0]["before"] is None  # originals are never kept
    assert "5678" not in json.dumps(out.changes, ensure_ascii=False) + json.dumps(out.info)


def test_pii_postal_code_with_its_mark_right_after_a_phone_number():
    """After a phone word, a 7-digit group would pass as a phone; 〒 or 郵便番号 before it says what it is."""
    det = PiiDetector()
    text = "電話は０３－１２３４－５６７８、〒１００－０００１です。郵便番号：150-0002、電話 0120-123-456"
    assert [s.type for s in det.find(text)] == ["PHONE", "POSTAL_CODE", "POSTAL_CODE", "PHONE"]
    assert det.mask(text)[0] == "電話は<PHONE>、<POSTAL_CODE>です。<POSTAL_CODE>、電話 <PHONE>"


def test_pii_look_alikes_are_left_alone():
    det = PiiDetector()
    for text in ["2024-04-01に発売", "価格は12,800円", "会議は10:30から", "version 1.2.3", "card 4532276644577021",
                 "番号 123456789018 (no keyword)", "注文 20240401", "SSN 531-21-7351"]:
        assert det.find(text) == [], text
    assert luhn_ok("4532276644577020") and not luhn_ok("4532276644577021")
    assert my_number_ok("123456789018") and not my_number_ok("123456789012")


def test_pii_on_presidio_sample_finds_every_in_scope_span():
    data = json.loads((FIXTURES / "presidio_sample.json").read_text(encoding="utf-8"))
    scope = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
             "IP_ADDRESS": "IP_ADDRESS", "DOMAIN_NAME": "URL"}
    det = PiiDetector()
    for r in data:
        found = det.find(r["full_text"])
        for s in r["spans"]:
            if s["entity_type"] in scope:
                assert any(f.type == scope[s["entity_type"]] and f.start < s["end_position"]
                           and s["start_position"] < f.end for f in found), (r["full_text"], s)


def find_names(text):
    """A stand-in recognizer: capitalised words after 'Mr.'."""
    import re
    return [(m.start(1), m.end(1), "person") for m in re.finditer(r"Mr\. ([A-Z][a-z]+)", text)]


def test_pii_pluggable_recognizer_and_its_errors(monkeypatch):
    monkeypatch.setenv("FT_LAB_ALLOW_CODE", "1")  # a function of this test module, not of a plugin
    out = PiiMask(PiiMask.Config(recognizers=[f"{__name__}:find_names"])).clean(rows("Ask Mr. Smith"), ["text"])
    assert out.rows[0]["text"] == "Ask Mr. <PERSON>"
    with pytest.raises(UserError, match="not 'module:function'"):
        PiiMask(PiiMask.Config(recognizers=["nocolon"]))
    with pytest.raises(UserError, match="cannot load 'no_such_mod:f'"):
        PiiMask(PiiMask.Config(recognizers=["no_such_mod:f"]))
    with pytest.raises(ValueError, match="unknown type"):
        PiiMask.Config(entities=["PERSON"])


def test_length_and_empty_filters_keep_reasons():
    out = LengthFilter(LengthFilter.Config(min=3, max=10)).clean(rows("ab", "abcd", "x" * 11), ["text"])
    assert [r["text"] for r in out.rows] == ["abcd"]
    assert [why for _, why in out.rejected] == ["too short: 2 chars < min 3", "too long: 11 chars > max 10"]
    tok = LengthFilter(LengthFilter.Config(min=4, unit="tokens")).clean(rows("東京都", "two words"), ["text"])
    assert [r["text"] for r in tok.rows] == [] and approx_tokens("東京都です hello") == 6
    data = [{"prompt": "q", "response": "  ", "meta": {}}, {"prompt": "q", "response": "a", "meta": {}}]
    out = EmptyFilter().clean(data, ["prompt", "response"])
    assert len(out.rows) == 1 and out.rejected[0][1] == "empty response"


def test_language_filter_is_script_based():
    assert language_of("これは日本語です") == "ja" and language_of("This is English") == "en"
    assert language_of("这是中文") == "other" and language_of("1234") == "none"
    out = LanguageFilter(LanguageFilter.Config(keep=["ja"])).clean(rows("東京は晴れ", "Tokyo is sunny"), ["text"])
    assert [r["text"] for r in out.rows] == ["東京は晴れ"] and out.info["languages"] == {"ja": 1, "en": 1}


def test_pattern_filter_keep_and_drop():
    f = PatternFilter(PatternFilter.Config(keep=["カード|card"], drop=[r"\btest\b"], ignore_case=True))
    out = f.clean(rows("カードが届かない", "Card lost", "TEST card", "天気"), ["text"])
    assert [r["text"] for r in out.rows] == ["カードが届かない", "Card lost"]
    assert [why for _, why in out.rejected] == ["matches drop pattern '\\\\btest\\\\b'", "matches no keep pattern"]
    with pytest.raises(ValueError, match="invalid regular expression"):
        PatternFilter.Config(drop=["("])


def test_stale_filter_reads_dates_from_meta():
    data = [{"text": "a", "label": "x", "meta": {"updated": d}}
            for d in ["2022-12-31", "2023/01/01", "２０２３年５月１日", "unknown"]]
    out = StaleFilter(StaleFilter.Config(column="updated", before="2023-01-01")).clean(data, ["text"])
    assert [r["meta"]["updated"] for r in out.rows] == ["2023/01/01", "２０２３年５月１日"]
    assert [why for _, why in out.rejected] == ["stale: 2022-12-31 is before 2023-01-01", "unreadable date in 'updated'"]
    with pytest.raises(UserError, match="no column 'date'; columns: text, label, updated"):
        StaleFilter(StaleFilter.Config(column="date", before="2023-01-01")).clean(data, ["text"])
    with pytest.raises(ValueError, match="expected a date"):
        StaleFilter.Config(column="updated", before="last year")


def test_label_map_unifies_spellings():
    data = [{"text": "t", "label": lab, "meta": {}} for lab in ["Bug", "bug", "不具合", "ＢＵＧ", "feature", "Feature-Request"]]
    out = LabelMap(LabelMap.Config(mapping={"bug": ["不具合"], "feature_request": ["feature"]})).clean(data, ["text"])
    assert [r["label"] for r in out.rows] == ["bug", "bug", "bug", "bug", "feature_request", "feature_request"]
    assert out.changed == 5 and out.info["label_changes"]["不具合 -> bug"] == 1
    strict = LabelMap(LabelMap.Config(mapping={"bug": []}, unknown="drop", fuzzy=False)).clean(data, ["text"])
    assert [r["label"] for r in strict.rows] == ["bug"] and len(strict.rejected) == 5
