"""Loaders, encodings, schema detection and the errors for bad input, on real files written to tmp_path."""
import json
from pathlib import Path

import pytest

from ft_lab.data.charsets import decode_file
from ft_lab.data.loading import load_rows, load_table
from ft_lab.data.roles import resolve_roles, to_examples
from ft_lab.data.schema import detect_schema
from ft_lab.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
JA = "東京都の天気は晴れです。ｶﾀｶﾅも使います"


def test_jsonl_fixture_and_json_lines_in_a_json_file():
    rows = load_rows(FIXTURES / "jcommonsenseqa_sample.jsonl")
    assert len(rows) == 20 and rows[0]["q_id"] == 0 and "question" in rows[0]


def test_json_array_object_of_lists_and_keyed_records(tmp_path):
    t = load_table(FIXTURES / "alpaca_sample.json")
    assert len(t.rows) == 15 and t.columns == ["instruction", "input", "output"]
    p = tmp_path / "cols.json"
    p.write_text(json.dumps({"text": ["a", "b"], "label": ["x", "y"]}), encoding="utf-8")
    assert load_rows(p) == [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]
    p.write_text(json.dumps({"version": 1, "rows": [{"text": "a"}]}), encoding="utf-8")
    assert load_table(p).layout_note == "rows under the key 'rows'"
    p.write_text(json.dumps({"text": ["a", "b"], "label": ["x"]}), encoding="utf-8")
    with pytest.raises(UserError, match="differ in length"):
        load_rows(p)


def test_squad_is_flattened_one_row_per_question():
    t = load_table(FIXTURES / "jaquad_sample.json")
    doc = json.loads((FIXTURES / "jaquad_sample.json").read_text(encoding="utf-8"))
    questions = sum(len(p["qas"]) for a in doc["data"] for p in a["paragraphs"])
    assert len(t.rows) == questions == 5 and t.layout_note.startswith("SQuAD")
    row = t.rows[0]
    assert row["context"] and row["question"] and row["answer"] in row["context"]
    guess = detect_schema(t.columns, t.rows)
    assert guess.layout == "squad" and guess.mapping == {"prompt": "question", "response": "answer"}
    ex = to_examples(t.rows, "generation", resolve_roles("generation", t.columns, guess.mapping, "x"), "x")
    assert ex[0]["prompt"].startswith(row["context"][:20]) and ex[0]["prompt"].endswith(row["question"])


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("cp932", "cp932"), ("euc_jp", "euc_jp"), ("utf-16", "utf-16")])
def test_csv_encodings_are_detected_and_reported(tmp_path, encoding, expected):
    p = tmp_path / f"ja_{encoding}.csv"
    p.write_bytes(f"text,label\n{JA},天気\nＡＢＣ１２３,other\n".encode(encoding))
    t = load_table(p)
    assert t.encoding == expected
    assert t.rows[0] == {"text": JA, "label": "天気"} and t.rows[1]["text"] == "ＡＢＣ１２３"


def test_undecodable_bytes_name_the_byte_offset(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"text": "ok"}\n{"text": "\xff\xfe\xfa\x80\x81"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl: cannot decode the file: line 2 \(byte offset 25\).*Save it as UTF-8"):
        load_rows(p)
    with pytest.raises(UserError, match=r"line 2 \(byte offset 25\): not valid utf-8"):
        decode_file(p, "utf-8")


def test_tsv_parquet_excel_dataframe_and_datasets_folder(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"text": ["a", "b", None], "label": [1, 2, 3]})
    assert load_rows(df)[2] == {"text": None, "label": 3}
    df.to_parquet(tmp_path / "d.parquet")
    assert load_rows(tmp_path / "d.parquet")[1] == {"text": "b", "label": 2}
    df.to_excel(tmp_path / "d.xlsx", sheet_name="tickets", index=False)
    assert load_table(tmp_path / "d.xlsx").rows[0] == {"text": "a", "label": 1}
    with pytest.raises(UserError, match="no sheet named 'nope'; sheets: tickets"):
        load_rows(tmp_path / "d.xlsx", sheet="nope")
    (tmp_path / "d.tsv").write_text("text\tlabel\nこんにちは\tgreet\n", encoding="utf-8")
    assert load_rows(tmp_path / "d.tsv") == [{"text": "こんにちは", "label": "greet"}]
    import datasets

    datasets.Dataset.from_dict({"text": ["x", "y"], "label": ["a", "b"]}).save_to_disk(str(tmp_path / "saved"))
    t = load_table(tmp_path / "saved")
    assert t.format == "datasets" and t.rows[1] == {"text": "y", "label": "b"}


def test_broken_json_line_names_file_and_line(tmp_path):
    p = tmp_path / "broken.jsonl"
    p.write_text('{"text": "a"}\n{"text": "b", }\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"broken.jsonl: line 2: invalid JSON \(.* at column 15\).*fix or remove"):
        load_rows(p)
    p.write_text('{"text": "a"}\n["not", "an object"]\n', encoding="utf-8")
    with pytest.raises(UserError, match="line 2: expected a JSON object per line, got list"):
        load_rows(p)
    q = tmp_path / "broken.json"
    q.write_text('[\n {"text": "a"},\n {"text": }\n]', encoding="utf-8")
    with pytest.raises(UserError, match=r"broken.json: line 3, column 11: invalid JSON"):
        load_rows(q)


def test_ragged_csv_row_names_the_line(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text('text,label\n"hello, world",a\nonly one field\nok,b\n', encoding="utf-8")
    with pytest.raises(UserError, match="ragged.csv: line 3: 1 fields where the header has 2; check the quoting"):
        load_rows(p)


def test_empty_missing_enormous_and_unknown_files(tmp_path, monkeypatch):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(UserError, match=r"empty.csv: the file is empty; it needs at least one row"):
        load_rows(tmp_path / "empty.csv")
    (tmp_path / "header_only.csv").write_text("text,label\n", encoding="utf-8")
    with pytest.raises(UserError, match="header_only.csv: no rows found"):
        load_rows(tmp_path / "header_only.csv")
    with pytest.raises(UserError, match="nope.jsonl: file not found"):
        load_rows(tmp_path / "nope.jsonl")
    (tmp_path / "d.txt").write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="extension '.txt'; set data.format"):
        load_rows(tmp_path / "d.txt")
    big = tmp_path / "big.jsonl"
    big.write_text('{"text": "a"}\n' * 100, encoding="utf-8")
    monkeypatch.setenv("FT_LAB_MAX_DATA_BYTES", "1000")
    with pytest.raises(UserError, match="big.jsonl: the file is .* MiB, over the .*FT_LAB_MAX_DATA_BYTES"):
        load_rows(big)


def test_missing_column_lists_the_columns_and_suggests():
    with pytest.raises(UserError, match=r"data.columns.label names column 'categry'.*did you mean 'category'"):
        resolve_roles("classification", ["text", "category"], {"label": "categry"}, "f.csv")
    with pytest.raises(UserError, match=r"f.csv: no column for label; columns: body, queue"):
        resolve_roles("classification", ["body", "queue"], {"text": "body"}, "f.csv")


@pytest.mark.parametrize("columns,first,layout,mapping", [
    (["instruction", "input", "output"], {}, "alpaca", {"prompt": "instruction", "response": "output"}),
    (["messages"], {"messages": [{"role": "user", "content": "hi"}]}, "chat", {"messages": "messages"}),
    (["id", "conversations"], {"conversations": [{"from": "human", "value": "hi"}]}, "chat",
     {"messages": "conversations"}),
    (["text", "category"], {}, "text_label", {"text": "text", "label": "category"}),
    (["question", "answer"], {}, "question_answer", {"prompt": "question", "response": "answer"}),
    (["prompt", "completion"], {}, "prompt_completion", {"prompt": "prompt", "response": "completion"}),
])
def test_schema_detection(columns, first, layout, mapping):
    guess = detect_schema(columns, [first])
    assert guess.layout == layout and guess.mapping == mapping


def test_sharegpt_messages_become_role_content():
    rows = [{"conversations": [{"from": "human", "value": "こんにちは"}, {"from": "gpt", "value": "はい"}]}]
    ex = to_examples(rows, "generation", {"messages": "conversations"}, "x")
    assert ex[0]["messages"] == [{"role": "user", "content": "こんにちは"}, {"role": "assistant", "content": "はい"}]
