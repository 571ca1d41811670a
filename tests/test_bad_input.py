"""Bad data: one-line errors naming the file and what to do, exit status 2, nothing written."""
import json
from pathlib import Path

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
    assert result.returncode == 2  # refused before any work: no run directory, no worker
    assert "has no config.json" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


# --- hostile recipes: validated through ft_lab.cli.main, nothing run --------------------------------
def validate(tmp_path, capsys, text, *extra):
    from ft_lab.cli import main

    recipe = write_recipe(tmp_path, text)
    code = main(["validate", str(recipe), *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def no_code_env(monkeypatch):
    monkeypatch.setenv("FT_LAB_ALLOW_CODE", "")  # restored after the test, even when main() sets it


BOMB = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n")


@pytest.mark.parametrize("text, expected", [
    (BOMB, "expands to more than 100000 values"),
    ("task: " + "[" * 100 + "]" * 100 + "\n", "nests more than 64 levels"),
    ("task: &a [classification, *a]\n", "nests more than 64 levels"),  # a recursive alias
    ("task: classification\n# " + "x" * (3 * 2**20) + "\n", "a recipe may hold at most"),
], ids=["alias-bomb", "deep-nesting", "recursive-alias", "oversized"])
def test_yaml_limits_refuse_before_expanding(tmp_path, capsys, text, expected):
    import time

    started = time.monotonic()
    code, err = validate(tmp_path, capsys, text)
    assert code == 2 and expected in err, err
    assert time.monotonic() - started < 30  # refused at once, not after minutes of expansion


@pytest.mark.parametrize("ref, expected", [
    ("builtins:eval", "would run code named by the recipe"),
    ("os:system", "would run code named by the recipe"),
    ("subprocess:check_output", "would run code named by the recipe"),
    ("not a reference", "is not 'module:function'"),
])
def test_code_references_in_a_recipe_are_refused(tmp_path, capsys, banking_csv, no_code_env, ref, expected):
    code, err = validate(tmp_path, capsys, f"task: classification\ndata: {{path: {banking_csv}}}\n"
                                           f"clean: [{{name: pii_mask, recognizers: ['{ref}']}}]\n")
    assert code == 2 and expected in err and "clean[0]" in err, err


def test_allow_code_lets_a_trusted_recipe_name_a_function(tmp_path, capsys, banking_csv, no_code_env, monkeypatch):
    (tmp_path / "team_recognizers.py").write_text("def nothing(text):\n    return []\n"
                                                  "def words(text):\n    return text.split()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = (f"task: classification\ndata: {{path: {banking_csv}}}\n"
            f"clean: [{{name: pii_mask, recognizers: ['team_recognizers:nothing']}}]\n")
    assert validate(tmp_path, capsys, text)[0] == 2
    code, err = validate(tmp_path, capsys, text, "--allow-code")
    assert code == 0, err
    # a recognizer that answers something other than spans is named, one line, no traceback
    code, err = validate(tmp_path, capsys, text.replace(":nothing", ":words"), "--allow-code")
    assert code == 2 and "'team_recognizers:words' must return a list of (start, end, type) spans" in err


def test_eval_recognizer_never_runs_data_as_code(tmp_path, banking_csv, no_code_env):
    planted = tmp_path / "ran"
    rows = [{"text": f"__import__('pathlib').Path({str(planted)!r}).touch()", "label": "a"}] * 10
    rows += [{"text": "hello", "label": "b"}] * 10
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {data}}}\n"
                                    f"clean: [{{name: pii_mask, recognizers: ['builtins:eval']}}]\n")
    result = ft_lab_cli("run", str(recipe), "--runs-dir", str(tmp_path / "runs"), timeout=120)
    assert result.returncode == 2 and "would run code" in result.stderr
    assert not planted.exists()


JUDGE = "task: generation\ndata: {{path: {data}}}\nevaluate: [{{name: llm_judge, {fields}}}]\n"


@pytest.mark.parametrize("fields, expected", [
    ("endpoint: 'http://localhost:8000/v1', api_key_env: sk-abcdefghijklmnopqrstuvwx",
     "api_key_env: must name an environment variable"),
    ("endpoint: 'https://me:hunter2@api.example.com/v1', api_key_env: JUDGE_KEY",
     "the URL holds credentials"),
    ("endpoint: 'http://localhost:8000/v1', endpoint_model: hf_abcdefghijklmnopqrstuvwxyz123",
     "looks like a secret key"),
], ids=["key-in-api_key_env", "credentials-in-url", "key-elsewhere"])
def test_secrets_in_a_recipe_are_refused(tmp_path, capsys, qa_jsonl, fields, expected):
    code, err = validate(tmp_path, capsys, JUDGE.format(data=qa_jsonl, fields=fields))
    assert code == 2 and expected in err, err
    assert "hunter2" not in err or "credentials" in err


def test_a_planted_key_never_reaches_the_run_directory(banking_csv):
    from ft_lab.workflows import runner as runs
    from ft_lab.rundir.predictions import atomic_write_json
    from ft_lab.safety.redact import RedactingStream

    key = "sk-proj-" + "A1b2C3d4" * 5
    run_dir = runs.create_run(ft_lab.Recipe(task="classification", data={"path": str(banking_csv)}))
    runs.append_event(run_dir, {"type": "warning", "message": f"judge said 401 for {key}"})
    atomic_write_json(run_dir / "eval_details.json", {"finetuned": {"llm_judge": {"error": f"bad key {key}"}}})
    import io
    buffer = io.StringIO()
    RedactingStream(buffer).write(f"Authorization: Bearer {key}\n")
    written = "".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    assert key not in written and key not in buffer.getvalue()
    assert written.count("[REDACTED]") >= 2 and "[REDACTED]" in buffer.getvalue()


# --- bad data: data prepare through ft_lab.cli.main, nothing written -------------------------------
import ft_lab  # noqa: E402


def prepare(tmp_path, capsys, rows, extra="", task="classification"):
    from ft_lab.cli import main

    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    data = folder / "d.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recipe = write_recipe(tmp_path, f"task: {task}\ndata: {{path: {data}{extra}}}\n")
    out = tmp_path / "out"
    code = main(["data", "prepare", str(recipe), "--out", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err.strip(), out


def labelled(n=30, **override):
    return [{"text": f"message number {i}", "label": "ab"[i % 2], **override} for i in range(n)]


@pytest.mark.parametrize("value, kind", [(42, "a number"), (3.5, "a number"), ({"a": 1}, "a dict"),
                                         (["x"], "a list"), (True, "a number")])
def test_text_that_is_not_a_string_names_row_and_column(tmp_path, capsys, value, kind):
    rows = labelled()
    rows[6]["text"] = value
    code, err, out = prepare(tmp_path, capsys, rows)
    assert code == 2 and f"row 7, column 'text': holds {kind}" in err, err
    assert not out.exists()


def test_generation_prompt_that_is_a_number(tmp_path, capsys):
    rows = [{"prompt": f"q{i}", "response": f"a{i}"} for i in range(20)]
    rows[3]["response"] = 12
    code, err, _ = prepare(tmp_path, capsys, rows, task="generation")
    assert code == 2 and "row 4, column 'response': holds a number" in err, err


@pytest.mark.parametrize("value", [["a", "b"], {"name": "a"}], ids=["list", "object"])
def test_labels_that_are_lists_or_objects(tmp_path, capsys, value):
    rows = labelled()
    rows[2]["label"] = value
    code, err, _ = prepare(tmp_path, capsys, rows)
    assert code == 2 and "row 3, column 'label': the label is a" in err and "one label" in err, err


@pytest.mark.parametrize("value", ["", "NaN", "N/A", None, "  ", "null"])
def test_missing_labels_are_rejected_with_the_reason(tmp_path, capsys, value):
    rows = labelled()
    rows[4]["label"] = value
    rows[9]["label"] = value
    code, err, out = prepare(tmp_path, capsys, rows)
    assert code == 0, err
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejected] == ["missing label", "missing label"]
    assert [r["line"] for r in rejected] == [5, 10]
    labels = {json.loads(x)["label"] for s in ("train", "validation", "test")
              for x in (out / f"{s}.jsonl").read_text().splitlines()}
    assert labels == {"a", "b"}


def test_missing_label_key_is_rejected(tmp_path, capsys):
    rows = labelled()
    del rows[0]["label"]
    code, err, out = prepare(tmp_path, capsys, rows)
    assert code == 0, err
    assert json.loads((out / "rejected.jsonl").read_text().splitlines()[0])["reason"] == "missing label"


def test_missing_labels_can_be_an_error(tmp_path, capsys):
    rows = labelled()
    rows[11]["label"] = "N/A"
    code, err, _ = prepare(tmp_path, capsys, rows, ", missing_labels: error")
    assert code == 2 and "row 12, column 'label': the label is empty or missing ('N/A')" in err, err


@pytest.mark.parametrize("split, empty", [([0.9, 0.0, 0.1], "validation"), ([0.9, 0.1, 0.0], "test")])
def test_a_split_that_leaves_validation_or_test_empty(tmp_path, capsys, split, empty):
    code, err, out = prepare(tmp_path, capsys, labelled(), f", split: {split}")
    assert code == 2 and f"the {empty} split is empty" in err, err
    assert not out.exists()


def test_a_huge_row_is_truncated_not_a_crash(tmp_path, capsys):
    rows = labelled()
    rows[5]["text"] = "x" * (20 * 2**20)  # 20 MB in one row
    code, err, out = prepare(tmp_path, capsys, rows)
    assert code == 0, err
    texts = [json.loads(x)["text"] for s in ("train", "validation", "test")
             for x in (out / f"{s}.jsonl").read_text().splitlines()]
    assert max(len(t) for t in texts) == 100_000


def test_long_rows_can_be_rejected(tmp_path, capsys):
    rows = labelled()
    rows[5]["text"] = "y" * 500
    code, err, out = prepare(tmp_path, capsys, rows, ", max_chars: 100, long_rows: reject")
    assert code == 0, err
    (rejected,) = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert "longer than data.max_chars (100)" in rejected["reason"] and rejected["line"] == 6


# --- outputs never overwrite user data --------------------------------------------------------------
def test_prepare_out_inside_the_input_folder_is_refused(tmp_path, capsys):
    from ft_lab.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in labelled()))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {data}}}\n")
    for out in (folder, tmp_path):  # the data's folder, and a folder that holds it
        assert main(["data", "prepare", str(recipe), "--out", str(out), "--force"]) == 2
        assert "overlaps the input data" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_prepare_out_that_exists_needs_force(tmp_path, capsys):
    code, err, out = prepare(tmp_path, capsys, labelled())
    assert code == 0
    (out / "mine.txt").write_text("keep me")
    code, err, _ = prepare(tmp_path, capsys, labelled())
    assert code == 2 and "exists and is not empty" in err and "--force" in err
    from ft_lab.cli import main
    assert main(["data", "prepare", str(tmp_path / "recipe.yaml"), "--out", str(out), "--force"]) == 0
    assert (out / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("command", [["report", "RUN"], ["sweep", "RECIPE", "--methods", "full"]])
def test_an_existing_out_file_is_not_overwritten(tmp_path, capsys, command):
    from ft_lab.cli import main

    existing = tmp_path / "table.md"
    existing.write_text("mine")
    args = [str(tmp_path) if a in ("RUN", "RECIPE") else a for a in command]
    assert main([*args, "--out", str(existing)]) == 2
    err = capsys.readouterr().err
    assert "the file exists" in err and "--force" in err
    assert existing.read_text() == "mine"


# --- model folders: the file and the fault are named -------------------------------------------------
@pytest.fixture
def model_copy(tmp_path, tiny_model_dir):
    import shutil
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _resolve(folder):
    from ft_lab.models.model_loading import resolve_source
    return resolve_source(ft_lab.Recipe(task="classification", data={"path": __file__},
                                         model={"name_or_path": str(folder)}).model)


def test_corrupt_config_json_is_named(model_copy):
    (model_copy / "config.json").write_text('{"model_type": "llama",')
    with pytest.raises(ft_lab.UserError, match=r"config.json: not valid JSON .*damaged"):
        _resolve(model_copy)


def test_truncated_safetensors_is_named(model_copy):
    weights = next(model_copy.glob("*.safetensors"))
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size - 100)
    with pytest.raises(ft_lab.UserError, match=rf"{weights.name}: truncated"):
        _resolve(model_copy)


def test_missing_tokenizer_files_are_named(model_copy):
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model"):
        (model_copy / name).unlink(missing_ok=True)
    with pytest.raises(ft_lab.UserError, match="has no tokenizer files"):
        _resolve(model_copy)


def test_damaged_run_files_are_one_error_for_every_reader(banking_csv):
    from ft_lab.workflows import runner as runs
    from ft_lab.rundir.reader import RunFiles

    run_dir = runs.create_run(ft_lab.Recipe(task="classification", data={"path": str(banking_csv)}))
    (run_dir / "metrics.json").write_text('{"finetuned": ')
    for reader in (runs.open_run(run_dir), RunFiles(run_dir)):
        with pytest.raises(ft_lab.UserError, match=r"metrics.json: not valid JSON .*damaged"):
            reader.metrics()


def test_a_huge_csv_cell_is_truncated_not_a_quoting_error(tmp_path, capsys):
    from ft_lab.cli import main

    data = tmp_path / "in" / "t.csv"
    data.parent.mkdir()
    lines = ["text,label"] + [f"message {i},{'ab'[i % 2]}" for i in range(30)] + ['"' + "z" * 500_000 + '",a']
    data.write_text("\n".join(lines) + "\n")
    recipe = write_recipe(tmp_path, f"task: classification\ndata: {{path: {data}}}\n")
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    texts = [json.loads(x)["text"] for s in ("train", "validation", "test")
             for x in (tmp_path / "out" / f"{s}.jsonl").read_text().splitlines()]
    assert max(len(t) for t in texts) == 100_000


def test_redaction_keeps_ordinary_words_and_paths():
    from ft_lab.safety.redact import recipe_secret_problems, redact

    ordinary = "/home/u/desk-top-projects-data/f.csv task-classification-lora-run hf_model_name"
    assert redact(ordinary) == ordinary and recipe_secret_problems({"data": {"path": ordinary}}) == []
    assert redact("key=sk-abcdefghijklmnopqrstu") == "key=[REDACTED]"


@pytest.mark.parametrize("name,text", [
    ("deep.json", "[" * 300_000 + "]" * 300_000),
    ("deep.jsonl", '{"text": "a", "label": "x"}\n{"text": ' + "[" * 300_000 + "]" * 300_000 + ', "label": "y"}\n'),
    ("deep_objects.json", '[{"text": "a", "label": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}]"),
])
def test_json_nested_hundreds_of_thousands_deep_is_one_line_not_a_recursion_error(tmp_path, capsys, name, text):
    from ft_lab.cli import main
    from ft_lab.safety.json_limits import MAX_DEPTH

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert main(["data", "inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    where = f"{path}: line 2" if name.endswith(".jsonl") else str(path)
    assert err == (f"error: {where}: the JSON nests more than {MAX_DEPTH} levels of arrays or objects; a data row "
                   f"needs a few: flatten the file")
