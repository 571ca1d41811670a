"""``pii_ner`` with the real models of the ner extra (GiNZA, spaCy en_core_web_sm), and pii_mask's context words.

The models load once per test session (``load_pipeline`` keeps them); the NER tests take a few seconds.
"""
import json
from pathlib import Path

import pytest

from ft_lab.cleaners import pii_ner
from ft_lab.cleaners.pii import PiiDetector
from ft_lab.cleaners.pii_ner import PiiNer, ner_missing
from ft_lab.cli import main
from ft_lab.data.prepare import prepare_data
from ft_lab.errors import UserError
from ft_lab.core.recipe import Recipe

FIXTURES = Path(__file__).parent / "fixtures" / "data"
needs_ner = pytest.mark.skipif(ner_missing() is not None, reason="the ner extra is not installed (make setup does)")


def rows(*texts):
    return [{"text": t, "label": "a", "meta": {}} for t in texts]


@pytest.fixture(scope="module")
def masker():
    return PiiNer(PiiNer.Config(numbered=True, entities=list(pii_ner.ALL_TYPES)))  # places and organisations too


# --- structured types: context words (no model) ------------------------------------------------------
@pytest.mark.parametrize("text, kind, value", [
    ("card 371449635398431", "CREDIT_CARD", "371449635398431"),  # 15 digits, Amex
    ("カード番号 660487647597 で支払い", "CREDIT_CARD", "660487647597"),  # 12 digits, no brand
    ("my credit card is 6011 0009 9013 9424", "CREDIT_CARD", "6011 0009 9013 9424"),
    ("TEL 0312345678", "PHONE", "0312345678"),
    ("電話 555 1234 まで", "PHONE", "555 1234"),
    ("phone 4155552671", "PHONE", "4155552671"),
    ("ＴＥＬ：０９０１２３４５６７８", "PHONE", "０９０１２３４５６７８"),
])
def test_context_words_catch_cards_and_local_phones(text, kind, value):
    found = PiiDetector().find(text)
    assert [(text[s.start:s.end], s.type) for s in found] == [(value, kind)]


@pytest.mark.parametrize("text", [
    "電話 2024-04-01 に受付", "TEL 20240401", "電話受付 10:00-18:00", "phone bill $1,299.00", "カード代 12,800円",
    "注文番号 5555555555554444 の件", "order 5555555555554444 shipped", "card 660487647596",  # Luhn fails
    "番号 660487647597",  # valid Luhn, 12 digits, no card word
])
def test_context_words_leave_look_alikes_alone(text):
    assert PiiDetector().find(text) == [], text


def test_my_number_card_holds_a_my_number_not_a_credit_card():
    text = "マイナンバーカードの番号 123456780410"  # a valid My Number that also passes Luhn
    assert [s.type for s in PiiDetector().find(text)] == ["MY_NUMBER"]


# --- names, places, organisations ------------------------------------------------------------------
@needs_ner
def test_english_names_places_organisations_and_addresses(masker):
    text = ("Call Ms. Jane Doe at 555-123-4567 about Acme Corp in Boston. Jane Doe lives at "
            "1755 Nelson Mandela Drive, Apt. 827, Springfield, IL 62704. Order 20240401 cost $1,299.")
    out = masker.clean(rows(text), ["text"])
    assert out.rows[0]["text"] == ("Call Ms. <PERSON_1> at <PHONE_1> about <ORGANIZATION_1> in <LOCATION_1>. "
                                   "<PERSON_1> lives at <ADDRESS_1>. Order 20240401 cost $1,299.")
    assert out.info["pii_found"] == {"ADDRESS": 1, "LOCATION": 1, "ORGANIZATION": 1, "PERSON": 2, "PHONE": 1}
    assert out.changes[0]["before"] is None and out.changes[0]["entities"] == sorted(out.info["pii_found"])
    stored = json.dumps([out.changes, out.info])
    assert not any(v in stored for v in ("Jane", "Doe", "Acme", "Boston", "Nelson", "4567"))


@needs_ner
def test_japanese_names_addresses_and_consistent_numbers(masker):
    text = "山田太郎さんの住所は東京都千代田区丸の内1-2-3です。電話 0312345678。山田太郎さんに折り返します。"
    out = masker.clean(rows(text, "注文番号 20240401、価格は12,800円、2024-04-01に発送しました。"), ["text"])
    assert out.rows[0]["text"] == "<PERSON_1>さんの住所は<ADDRESS_1>です。電話 <PHONE_1>。<PERSON_1>さんに折り返します。"
    assert out.rows[1]["text"] == "注文番号 20240401、価格は12,800円、2024-04-01に発送しました。"
    assert out.changed == 1 and "山田" not in json.dumps(out.changes, ensure_ascii=False)


@needs_ner
def test_english_look_alikes_stay(masker):
    texts = ["I have 3 questions about the way to pay.", "We put 2 dogs in a row.", "We see 100 ms latency since 2024-04-01.",
             "Order 20240401 costs $1,299.00 and ships on 12/27/2024.", "TEL support opens 10:00-18:00."]
    out = masker.clean(rows(*texts), ["text"])
    assert [r["text"] for r in out.rows] == texts and out.changed == 0


@needs_ner
def test_japanese_wikipedia_sample_recall(masker):
    """Person and place names of a Stockmark NER sample (CC BY-SA 3.0) are masked: recall over 0.75."""
    data = json.loads((FIXTURES / "ner_wikipedia_ja_sample.json").read_text(encoding="utf-8"))
    masker.ner.prepare(r["text"] for r in data)
    gold = found = 0
    for r in data:
        spans = masker.detector.find(r["text"])
        for e in r["entities"]:
            if e["type"] in ("人名", "地名"):
                s, t = e["span"]
                gold += 1
                found += any(x.start < t and s < x.end for x in spans)
    assert gold == 46 and found / gold >= 0.75, (found, gold)


@needs_ner
def test_language_is_read_per_text_or_fixed(masker):
    ner = pii_ner.NerSpans(["PERSON"], language="auto")
    assert ner.lang_of("田中さんが来た") == "ja" and ner.lang_of("Tanaka came") == "en" and ner.lang_of("123") is None
    fixed = PiiNer(PiiNer.Config(language="en", entities=["PERSON"]))
    assert fixed.ner.lang_of("田中さんが来た") == "en"
    chat = [{"messages": [{"role": "user", "content": "I am John Smith from Chicago."}], "meta": {}}]
    out = masker.clean(chat, ["messages"])
    assert out.rows[0]["messages"][0]["content"] == "I am <PERSON_1> from <LOCATION_1>."


@needs_ner
def test_english_rules_on_top_of_the_model(masker):
    """Names after cue words, persons the small model calls organisations, and a multi-line address."""
    texts = ["I'm Jane and this is about my card.", "Regards,\nTom Baker", "She was a huge Megan Payne fan.",
             "I bought shares of IBM.", "Thanks Apple Support for the help",
             "Ship to:\n12 Baker Street\nSpringfield\nUnited States 62704"]
    out = [r["text"] for r in masker.clean(rows(*texts), ["text"]).rows]
    assert out[:3] == ["I'm <PERSON_1> and this is about my card.", "Regards,\n<PERSON_1>", "She was a huge <PERSON_1> fan."]
    assert out[3] == "I bought shares of <ORGANIZATION_1>."  # an acronym stays an organisation
    assert "PERSON" not in out[4]  # an organisation word after the cue
    assert out[5] == "Ship to:\n<ADDRESS_1>"  # street, town, country and postcode: one address


@needs_ner
@pytest.mark.parametrize("text, runs", [
    ("How do I pay? Where is my card?", False),  # only "I" and common words opening a sentence
    ("I met Will yesterday.", True), ("My card is with Jane", True),
    ("hi my name is john smith", True),  # no capital at all: names are in lower case too
])
def test_english_model_runs_only_where_a_name_could_be(text, runs):
    assert pii_ner.may_hold_a_name(text) is runs


@needs_ner
def test_english_pipeline_runs_the_ner_component_alone():
    assert pii_ner.load_pipeline("en").pipe_names == ["ner"]
    assert pii_ner.load_pipeline("ja").pipe_names == ["tok2vec", "ner"]


@needs_ner
@pytest.mark.parametrize("mode, expected", [
    ("model", ["<PERSON_1>さんと<PERSON_2>さんは<LOCATION_1>を見学した。", "<ORGANIZATION_1>の<PERSON_1>部長が<LOCATION_1>に来た。"]),
    # the dictionary alone: persons and places, and a person's name inside a castle's or a company's name is
    # the castle (山田城) or the company (ヒギンズ社)
    ("fast", ["<PERSON_1>さんと<PERSON_2>さんは<LOCATION_1>を見学した。", "<ORGANIZATION_1>の<PERSON_1>部長が<LOCATION_1>に来た。"]),
])
def test_japanese_dictionary_names_in_both_modes(mode, expected):
    cleaner = PiiNer(PiiNer.Config(numbered=True, japanese=mode, entities=list(pii_ner.ALL_TYPES)))
    texts = ["佐藤花子さんと川崎さんは山田城を見学した。", "ヒギンズ社の鈴木部長が大阪府に来た。",
             "注文番号 20240401、価格は12,800円、2024-04-01に発送しました。"]
    out = cleaner.clean(rows(*texts), ["text"])
    assert [r["text"] for r in out.rows] == expected + [texts[2]]


@needs_ner
def test_japanese_dictionary_rules():
    from ft_lab.cleaners.pii_ja import dictionary_names

    nlp = pii_ner.load_pipeline("ja")
    doc = next(nlp.pipe(["ジョン・スミスと鶴の一声、川崎さん。"], disable=nlp.pipe_names))
    found = [(doc.text[s:e], k) for s, e, k in dictionary_names(doc)]
    assert ("ジョン・スミス", "PERSON") in found and ("川崎", "PERSON") in found  # a place-like surname before さん
    assert not any(v == "鶴" for v, _ in found)  # one character, no suffix: not a name
    from ft_lab.cleaners.pii_ja import dictionary_organisations

    doc = next(nlp.pipe(["ジョン・スミスはトヨタ自動車の社員です。"], disable=nlp.pipe_names))
    assert [(doc.text[s:e], k) for s, e, k in dictionary_organisations(doc)] == [("トヨタ自動車", "ORGANIZATION")]


def test_config_refuses_unknown_types():
    with pytest.raises(ValueError, match="unknown type"):
        PiiNer.Config(entities=["PERSON", "SHOE_SIZE"])


def test_missing_extra_is_one_line_with_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(pii_ner.MODELS, "ja", "no_such_ginza_model")
    with pytest.raises(ValueError, match=r"no_such_ginza_model not installed\): pip install 'ft-lab\[ner\]'"):
        PiiNer.Config()
    PiiNer(PiiNer.Config(entities=["ADDRESS", "EMAIL"]))  # patterns only: no model needed
    (tmp_path / "t.csv").write_text("text,label\nhello Jane,a\nhi Bob,b\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("task: classification\ndata:\n  path: t.csv\nclean:\n  - pii_ner\n",
                                     encoding="utf-8")
    assert main(["validate", str(tmp_path / "r.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pii_ner" in err[0] and "pip install 'ft-lab[ner]'" in err[0], err


@needs_ner
def test_rows_rejected_before_pii_ner_are_masked_too(tmp_path):
    lines = ["text,label"] + [f"message number {i} about cards,{'ab'[i % 2]}" for i in range(20)]
    lines += ["Please ask Jane Doe in Boston,a"] * 2  # a duplicate: dedup drops one before pii_ner runs
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("task: classification\ndata:\n  path: t.csv\nclean:\n  - dedup\n  - pii_ner\n",
                                     encoding="utf-8")
    prepared = prepare_data(Recipe.from_yaml(tmp_path / "r.yaml"))
    assert prepared.report["pii_found"] == {"PERSON": 1}  # a city alone is no personal data (LOCATION is opt-in)
    prepared.write(tmp_path / "out")
    written = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir())
    assert "Jane" not in written and "<PERSON> in Boston" in written


def test_studio_form_lists_pii_ner_with_its_fields():
    from ft_lab.widgets.forms import ComponentListForm

    lst = ComponentListForm("cleaner", ["normalize"])
    lst.add("pii_ner")
    value = lst.value()[1]
    assert value["name"] == "pii_ner" and value["language"] == "auto" and "PERSON" in value["entities"]
