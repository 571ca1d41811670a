"""Split, leakage, formatting, the whole data step for a recipe, its files, and the `ft-lab data` commands."""
import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ft_lab.cli import main
from ft_lab.data.formatting import apply_template, format_prompt, to_chat, verbalize
from ft_lab.data.leakage import find_leaks, remove_leaks
from ft_lab.data.prepare import PreparedData, prepare_data
from ft_lab.data.split import split_rows
from ft_lab.errors import UserError
from ft_lab.core.recipe import Recipe

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def ex(text, label="a", **meta):
    return {"text": text, "label": label, "meta": meta}


def test_split_default_stratified_and_small_class_warnings():
    data = [ex(f"t{i}", "big") for i in range(80)] + [ex(f"s{i}", "small") for i in range(20)] + [ex("r", "rare")]
    warnings = []
    tr, va, te = split_rows(data, [0.8, 0.1, 0.1], 1, "src", label_key="label", warnings=warnings)
    assert (len(tr), len(va), len(te)) == (81, 10, 10)
    assert Counter(r["label"] for r in va) == {"big": 8, "small": 2}
    assert Counter(r["label"] for r in te) == {"big": 8, "small": 2}
    assert any("class 'rare' has 1 example(s), too few for 3 splits" in w for w in warnings)
    plain = split_rows(data, [0.8, 0.1, 0.1], 1, "src")
    assert [len(p) for p in plain] == [81, 10, 10]


def test_group_column_keeps_related_rows_together():
    data = [ex(f"t{i}", customer=f"c{i // 4}") for i in range(60)]
    parts = split_rows(data, [0.8, 0.1, 0.1], 3, "src", group_key="customer")
    owner = {}
    for name, part in zip(("train", "validation", "test"), parts):
        for r in part:
            assert owner.setdefault(r["meta"]["customer"], name) == name
    assert all(parts) and sum(map(len, parts)) == 60
    with pytest.raises(UserError, match="group_column 'nope' is not a column"):
        split_rows(data, [0.8, 0.1, 0.1], 3, "src", group_key="nope")


def test_leakage_finds_exact_and_near_overlaps_and_removes_them():
    base = "カードがまだ届きません。いつ届きますか？発送状況を教えてください。"
    splits = {"train": [ex(base), ex("What is the exchange rate today for euros?")],
              "validation": [ex(base.replace("カード", "ｶｰﾄﾞ")), ex("Completely unrelated text about weather.")],
              "test": [ex(base[:-1] + "！"), ex("What is the exchange rate today for euros?")]}
    found = find_leaks(splits, ["text"], threshold=0.7)
    assert found["pairs"]["train-test"] == {"exact": 1, "near": 1}
    assert found["pairs"]["train-validation"] == {"exact": 1, "near": 0}  # equal after NFKC
    cleaned, dropped = remove_leaks(splits, found)
    assert [len(cleaned[s]) for s in ("train", "validation", "test")] == [2, 1, 0]
    assert all(reason.startswith(("exact duplicate of train", "near duplicate of train", "near duplicate of validation"))
               for _, _, reason in dropped)


def test_templates_system_prompt_and_label_verbalization():
    assert format_prompt("猫を英訳して", "alpaca").endswith("### Instruction:\n猫を英訳して\n\n### Response:\n")
    assert format_prompt("x", "Q: {prompt}\nA:", system_prompt="Be brief.") == "Be brief.\n\nQ: x\nA:"
    with pytest.raises(UserError, match="neither a known template"):
        format_prompt("x", "no placeholder")
    chat = to_chat({"prompt": "hi", "response": "hello"}, system_prompt="丁寧に")
    assert [m["role"] for m in chat] == ["system", "user", "assistant"]
    out = apply_template([{"prompt": "hi", "response": "yo", "meta": {}}], "chat")
    assert out[0]["messages"][-1] == {"role": "assistant", "content": "yo"}
    v = verbalize(ex("card lost", "2"), {"2": "lost_card", "1": "arrival"}, ["1", "2"])
    assert v["response"] == "lost_card" and "one of: arrival, lost_card" in v["prompt"]


class FakeTokenizer:
    name_or_path = "fake"
    chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return "".join(f"<{m['role']}>{m['content']}" for m in messages)


def test_chat_template_comes_from_the_tokenizer():
    from ft_lab.data.formatting import apply_chat_template

    assert apply_chat_template(FakeTokenizer(), [{"role": "user", "content": "hi"}]) == "<user>hi"
    bare = FakeTokenizer()
    bare.chat_template = None
    with pytest.raises(UserError, match="has no chat template"):
        apply_chat_template(bare, [])


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def tickets(tmp_path):
    src = tmp_path / "tickets.csv"
    shutil.copy(FIXTURES / "banking77_sample.csv", src)
    with src.open("a", encoding="utf-8") as f:  # a duplicate carrying PII, dropped before pii_mask runs
        f.write("Mail me at secret.person@example.com please,card_arrival\n")
        f.write("Mail me at secret.person@example.com please,card_arrival\n")
        f.write("電話は０３－１２３４－５６７８です。カードが届きません,card_arrival\n")
        f.write(",card_arrival\n")
    return src


def _recipe(tmp_path, src, **data):
    return Recipe(task="classification", data={"path": str(src), "columns": {"label": "category"}, **data},
                  clean=["empty_filter", "dedup", "pii_mask", "normalize"], base_dir=str(tmp_path))


def test_prepare_end_to_end_keeps_everything_and_writes_no_pii(tmp_path, tickets):
    before = _digest(tickets)
    prepared = prepare_data(_recipe(tmp_path, tickets))
    rep = prepared.report
    assert rep["rows_in"] == 34 and sum(rep["rows"].values()) == 34 - rep["rejected"]
    reasons = {(r["cleaner"], r["reason"]) for r in prepared.rejected}
    assert ("empty_filter", "empty text") in reasons and any(c == "dedup" for c, _ in reasons)
    assert rep["pii_found"] == {"EMAIL": 1, "PHONE": 1}
    assert rep["loaded"][0]["encoding"] == "utf-8"
    assert prepared.labels == ["card_arrival", "exchange_rate", "lost_or_stolen_card"]
    assert set(rep["splits"]["train"]) >= {"languages", "scripts", "length_chars", "length_tokens", "labels"}
    assert [s["cleaner"] for s in rep["steps"]] == ["empty_filter", "dedup", "pii_mask", "normalize"]
    assert rep["duplicates"]["duplicates"] == 1
    out = tmp_path / "out"
    prepared.write(out)
    written = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert "secret.person" not in written and "1234" not in written and "<EMAIL>" in written
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["rows"] == rep["rows"]
    assert "<svg" in (out / "report.html").read_text(encoding="utf-8")
    back = PreparedData.read(out)
    assert back.train == prepared.train and back.labels == prepared.labels and len(back.changes) == len(prepared.changes)
    assert _digest(tickets) == before  # the input file is never modified


def test_prepare_leakage_remove_and_generation_template(tmp_path):
    src = tmp_path / "qa.jsonl"
    import random

    rng = random.Random(0)
    words = "manual printer invoice refund login password shipping battery screen warranty cable".split()
    lines = [{"instruction": " ".join(rng.choice(words) for _ in range(8)) + "?", "output": f"Answer {i}"}
             for i in range(40)]
    lines += [dict(lines[0], output="copy")] * 3
    src.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    recipe = Recipe(task={"type": "generation", "system_prompt": "Answer briefly."},
                    data={"path": str(src), "leakage": "remove", "template": "alpaca"}, base_dir=str(tmp_path))
    prepared = prepare_data(recipe)
    assert prepared.train[0]["prompt"].startswith("Answer briefly.\n\nBelow is an instruction")
    assert prepared.report["leakage"]["action"] == "remove"
    removed = [r for r in prepared.rejected if r["cleaner"] == "leakage"]
    assert prepared.report["leakage"]["removed"] == len(removed) > 0
    train_prompts = {r["prompt"] for r in prepared.train}
    assert not train_prompts & {r["prompt"] for s in ("validation", "test") for r in prepared.split(s)}


def test_incomplete_folder_is_not_trusted(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "a", "label": "x"}\n', encoding="utf-8")
    with pytest.raises(UserError, match="no report.json, so the data there was not completely written"):
        PreparedData.read(tmp_path)


def _cli(argv, capsys):
    """The real entry point: exit status, and what it printed (one error line for a UserError)."""
    code = main(argv)
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def test_cli_inspect_reports_encoding_schema_and_stats(tmp_path, capsys):
    p = tmp_path / "faq.csv"
    p.write_text("question,answer\n営業時間は？,９時から１７時です\nHow do I reset?,Use the link\n", encoding="cp932")
    code, text = _cli(["data", "inspect", str(p)], capsys)
    assert code == 0
    assert "encoding:  cp932" in text and "layout:    question_answer" in text
    assert "prompt: question" in text and "response: answer" in text and "営業時間は？" in text
    code, text = _cli(["data", "inspect", str(p), "--json"], capsys)
    assert json.loads(text)["stats"]["rows"] == 2


def test_cli_prepare_writes_folder_and_bad_input_exits_2_without_output(tmp_path, tickets, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(_recipe(tmp_path, tickets).to_yaml(), encoding="utf-8")
    code, text = _cli(["data", "prepare", str(recipe), "--out", str(tmp_path / "prep")], capsys)
    assert code == 0 and "34 rows in" in text and (tmp_path / "prep" / "report.json").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "category": "x"}\n{"text": \n', encoding="utf-8")
    recipe.write_text(recipe.read_text(encoding="utf-8").replace(str(tickets), str(bad)), encoding="utf-8")
    code, text = _cli(["data", "prepare", str(recipe), "--out", str(tmp_path / "prep2")], capsys)
    assert code == 2 and "bad.jsonl: line 2: invalid JSON (Expecting value at column 10)" in text
    assert not (tmp_path / "prep2").exists()
    code, text = _cli(["data", "inspect", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "missing.csv: file not found" in text
