"""Masking that keeps the data useful (issue 25): ``pii_ner``'s defaults mask personal data (persons,
street addresses, contact details, identifiers) and keep brands, payment services, products, model
numbers, places and organisations; allow- and deny-lists; the cost of masking in the data report; the
Studio's "never mask" button. ``benchmarks/bench_pii.py`` measures the same on whole corpora.
"""
import json

import pytest

from ft_lab.cleaners.pii import PiiMask
from ft_lab.cleaners.pii_keep import gazetteer_terms, keep_products
from ft_lab.cleaners.pii_ner import ALL_TYPES, PiiNer, ner_missing
from ft_lab.cli import main
from ft_lab.safety.atomic import read_jsonl

needs_ner = pytest.mark.skipif(ner_missing() is not None, reason="the ner extra is not installed (make setup does)")

# Personal data written after each example: it must still be masked in the same text.
EN_PII = " My name is Jane Doe, I live at 1755 Nelson Mandela Drive; call 555-123-4567 or mail jane.doe@example.com."
EN_MASKED = " My name is <PERSON>, I live at <ADDRESS>; call <PHONE> or mail <EMAIL>."
JA_PII = "担当は山田太郎です。住所は東京都千代田区丸の内1-2-3、電話 03-1234-5678、メール taro@example.jp"
JA_MASKED = "担当は<PERSON>です。住所は<ADDRESS>、電話 <PHONE>、メール <EMAIL>"
# The issue's examples (BANKING77 and JCommonsenseQA rows, a product code): masked before, kept now.
EXAMPLES = [
    "Is it possible to top up with Google Pay?",
    "Am I able to top up with Apple Pay?",
    "Can I add funds directly from my Apple Watch?",
    "Your ATM pin can be changed at any VISA or MasterCard ATM with PIN services.",
    "I got my American Express in Apple Pay, why is top up not working?",
    "Someone stole my wallet with my card in it while vacationing in Spain.",
    "Top up is not working even though I have my AMEX in apple pay.",
    "この中で鳥取にあって岡山や兵庫にないものは？",
    "アメリカ合衆国の中でマイアミがある州は？",
    "フィンランドやデンマーク、カリフォルニア州などで導入されている税金は？",
    "フランスではワンルームマンションの意味で用いられる施設を何という？",
    "巣箱で飼い、ロイヤルゼリーなども珍重されるものは？",
    "ドラえもんが寝ている場所は？",
    "型番 ABC-1234-5678 の在庫はありますか？",
]


@pytest.fixture(scope="module")
def defaults():
    return PiiNer()


def masked(cleaner, *texts):
    return [r["text"] for r in cleaner.clean([{"text": t, "meta": {}} for t in texts], ["text"]).rows]


@needs_ner
@pytest.mark.parametrize("example", EXAMPLES)
def test_issue_example_kept_and_personal_data_beside_it_masked(defaults, example):
    japanese = not example.isascii()
    text = example + (JA_PII if japanese else EN_PII)
    assert masked(defaults, text) == [example + (JA_MASKED if japanese else EN_MASKED)]


@needs_ner
def test_places_and_organisations_are_opt_in_and_products_stay_kept_then():
    every = PiiNer(PiiNer.Config(entities=list(ALL_TYPES)))
    out = masked(every, "I'm on vacation in Spain and my Apple Watch broke.", "型番 ABC-1234-5678 の在庫")
    assert out == ["I'm on vacation in <LOCATION> and my Apple Watch broke.", "型番 ABC-1234-5678 の在庫"]


def test_product_rules_without_the_gazetteer():
    """Rules that need no listed name: a product word after or at the end, a currency, a code, a possessive."""
    cases = [("Can I use Zorbo Pay here?", (10, 15)), ("I swapped Russian Ruble for pounds", (10, 23)),
             ("the XR-500 broke", (4, 6)), ("How do I verify my Identity?", (19, 27)),
             ("Delete this account!", (0, 6))]
    for text, (s, e) in cases:
        assert keep_products(text, [(s, e, "PERSON")]) == [], text
    person = "Please ask Jane Doe about it"
    assert keep_products(person, [(11, 19, "PERSON")]) == [(11, 19, "PERSON")]
    assert keep_products("Harrison Ford called", [(0, 13, "PERSON")]) == [(0, 13, "PERSON")]
    assert {"Google Pay", "American Express", "ドラえもん"} <= set(gazetteer_terms())


def test_allow_and_deny_lists_inline():
    mask = PiiMask(PiiMask.Config(allow=["help@acme.example"], deny=["Project Falcon"]))
    out = masked(mask, "Write to help@acme.example or to jo@x.example about project falcon.")
    assert out == ["Write to help@acme.example or to <EMAIL> about <MASKED>."]


@needs_ner
def test_allow_list_keeps_a_name_the_model_finds():
    assert masked(PiiNer(PiiNer.Config(allow=["Jane Doe"])), "Ask Jane Doe or John Smith.") == \
        ["Ask Jane Doe or <PERSON>."]


def _recipe(tmp_path, clean: str) -> str:
    rows = ["text,label"] + [f"message {i} about my card,{'ab'[i % 2]}" for i in range(20)]
    rows += ["Mail help@acme.example or jo@x.example about Project Falcon,a", "call 555-123-4567 now,b",
             "write to jo@x.example,a"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(f"task: classification\ndata:\n  path: t.csv\nclean:\n{clean}", encoding="utf-8")
    return str(tmp_path / "r.yaml")


def test_lists_from_files_next_to_the_recipe_and_report_counts_match_the_changes_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "allow.txt").write_text("# our own address\nhelp@acme.example\n", encoding="utf-8")
    (tmp_path / "deny.txt").write_text("project falcon\n", encoding="utf-8")
    recipe = _recipe(tmp_path, "  - name: pii_mask\n    allow: ['file:allow.txt']\n    deny: ['file:deny.txt']\n")
    monkeypatch.chdir(tmp_path.parent)  # relative to the recipe's folder, not the working directory
    assert main(["data", "prepare", recipe, "--out", str(tmp_path / "out")]) == 0
    assert "pii_mask: 3 of 23 rows altered (13.04%); masked: EMAIL 2, MASKED 1, PHONE 1" in capsys.readouterr().out
    changes = read_jsonl(tmp_path / "out" / "changes.jsonl")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["masking"]["pii_mask"]
    assert report["rows_altered"] == len(changes) == 3 and report["rows"] == 23
    assert report["rows_by_type"] == {"EMAIL": 2, "MASKED": 1, "PHONE": 1}
    assert list(report["tokens_masked"].items()) == [("EMAIL", 2), ("MASKED", 1), ("PHONE", 1)]
    assert report["examples"]["MASKED"] == ["Mail help@acme.example or <EMAIL> about <MASKED>"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Masking: pii_mask" in html and "3 of 23 rows altered" in html


@pytest.mark.parametrize("clean, expected", [
    ("  - name: pii_mask\n    allow: ['file:missing.txt']\n", "allow: file not found"),
    ("  - name: pii_mask\n    deny: ['file:binary.bin']\n", "deny:"),
    ("  - name: pii_ner\n    entities: [PERSON, BRAND]\n", "entities: unknown type(s) BRAND"),
])
def test_bad_lists_and_types_are_one_line_exit_2(tmp_path, capsys, clean, expected):
    (tmp_path / "binary.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    recipe = _recipe(tmp_path, clean)
    assert main(["data", "prepare", recipe, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert "not a UTF-8 text file" in err[0] if "binary" in clean else True
    assert not (tmp_path / "out").exists()


def test_studio_sample_never_mask_adds_the_term_to_the_allow_list():
    from ft_lab.widgets.forms import ComponentListForm
    from ft_lab.widgets.masking_sample import MaskingSample

    cleaners = ComponentListForm("cleaner", ["normalize", {"name": "pii_mask"}])
    sample = MaskingSample()
    rows = [{"text": "mail help@acme.example", "meta": {}}, {"text": "help@acme.example or 555-123-4567", "meta": {}}]
    terms = sample.show(cleaners, rows, ["text"])
    assert terms[0] == ("EMAIL", "help@acme.example", 2) and ("PHONE", "555-123-4567", 1) in terms
    buttons = [c.children[0] for c in sample.children[1:-1]]
    buttons[0].click()
    assert cleaners.value()[1]["allow"] == ["help@acme.example"]
    assert "added 'help@acme.example'" in sample.note.value
    assert ("EMAIL", "help@acme.example", 2) not in sample.show(cleaners, rows, ["text"])
