"""Bad data: one-line errors naming the file and what to do, exit status 2, nothing written."""
import json

import pytest

from conftest import ft_lab_cli, write_recipe


def run_cli(tmp_path, data_path, extra=""):
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {data_path}{extra}}}\n")
    result = ft_lab_cli("run", str(recipe), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    runs = tmp_path / "runs"
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert not runs.exists() or not list(runs.iterdir())
    return result.stderr.strip()


def test_missing_column_lists_the_columns_that_exist(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("body,queue\nhello,a\nbye,b\n", encoding="utf-8")
    err = run_cli(tmp_path, path, ", columns: {text: body, label: team}")
    assert err == (f"error: {path}: data.columns.label names column 'team', which does not exist; "
                   f"columns: body, queue")


def test_no_role_column_suggests_the_mapping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("body,queue\nhello,a\nbye,b\n", encoding="utf-8")
    err = run_cli(tmp_path, path)
    assert "no column for text, label; columns: body, queue" in err and "data.columns" in err


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert run_cli(tmp_path, path) == f"error: {path}: the file is empty; it needs at least one row of data"


def test_broken_json_line_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', encoding="utf-8")
    err = run_cli(tmp_path, path)
    assert err.startswith(f"error: {path}: line 2: invalid JSON")


def test_single_class_label(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text("".join(json.dumps({"text": f"t{i}", "label": "same"}) + "\n" for i in range(20)))
    err = run_cli(tmp_path, path)
    assert "single class ('same')" in err and "at least two" in err


def test_unknown_model_folder(tmp_path, banking_csv):
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {banking_csv}}}\n"
                                    f"model: {{name_or_path: {tmp_path}}}\n")
    result = ft_lab_cli("run", str(recipe), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 1
    assert "has no config.json" in result.stderr
