"""Runs that continue from earlier runs (model.from_run): replay, grown label sets, regularization,
the forgetting report and lineage (docs/continual.md).

The chain: A (the session's shared LoRA run, 5 intents) -> B (keeps training A's adapter, 3 new intents,
20% of A's rows replayed) -> C (a new LoRA stacked on B merged, 2 new intents, no replay, old labels kept,
L2-to-start and EWC on).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ft_lab.cli import main
from ft_lab.data.prepare import PreparedData
from ft_lab.rundir.reader import RunFiles
from ft_lab.testing.sample_data import rows_per_label, write_csv

from conftest import banking_rows, write_recipe

A_LABELS = sorted({r["category"] for r in banking_rows(classes=5)})
ALL = sorted({r["category"] for r in banking_rows()})
B_NEW, C_NEW = [l for l in ALL if l not in A_LABELS][:3], [l for l in ALL if l not in A_LABELS][3:5]


def _csv(path: Path, labels: list[str], per_class: int) -> Path:
    return write_csv(path, rows_per_label(banking_rows(), per=per_class, labels=labels))


def _only_run(folder: Path, before: set) -> Path:
    (new,) = {p for p in folder.iterdir() if not p.name.startswith(".")} - before
    return new


class Chain:
    def __init__(self, root: Path, a: Path, b: Path, c: Path, j: Path):
        self.root, self.a, self.b, self.c, self.j = root, a, b, c, j


@pytest.fixture(scope="module")
def chain(completed_classification_run, tmp_path_factory) -> Chain:
    root = tmp_path_factory.mktemp("continual")
    runs = root / "runs"
    a = completed_classification_run.copy(root).dir
    _csv(root / "b.csv", B_NEW, 30)
    _csv(root / "c.csv", C_NEW, 30)
    write_csv(root / "general.csv", rows_per_label(banking_rows()[::-1], per=4, labels=A_LABELS))
    (root / "b").mkdir()
    (root / "c").mkdir()
    b_recipe = write_recipe(root / "b", f"""\
task: classification
data: {{path: ../b.csv, replay: 0.2}}
model: {{max_length: 32, from_run: ../runs/{a.name}}}
baselines: []
train: {{max_steps: 15, batch_size: 16, learning_rate: 0.005, logging_steps: 5}}
""")
    before = set(runs.iterdir())
    assert main(["run", str(b_recipe), "--runs-dir", str(runs)]) == 0
    b = _only_run(runs, before)
    c_recipe = write_recipe(root / "c", f"""\
task: classification
data: {{path: ../c.csv, general_test: ../general.csv}}
model: {{max_length: 32, from_run: ../runs/{b.name}, from_run_adapter: stack, old_labels: keep}}
method: {{name: lora, r: 4, target_modules: [all-linear]}}
baselines: []
train: {{max_steps: 10, batch_size: 16, learning_rate: 0.005, logging_steps: 5, l2_to_start: 0.01, ewc: 1.0,
        ewc_rows: 32}}
""")
    before = set(runs.iterdir())
    assert main(["run", str(c_recipe), "--runs-dir", str(runs)]) == 0
    c = _only_run(runs, before)
    (root / "j").mkdir()
    j_recipe = write_recipe(root / "j", f"""\
task: classification
data: {{path: ../c.csv}}
model: {{max_length: 32, from_run: ../runs/{b.name}, joint_retrain: true, compare_base: false}}
baselines: []
train: {{max_steps: 4, batch_size: 16, learning_rate: 0.005, logging_steps: 2}}
""")
    before = set(runs.iterdir())
    assert main(["run", str(j_recipe), "--runs-dir", str(runs)]) == 0
    return Chain(root, a, b, c, _only_run(runs, before))


def _accuracy(rows: list[dict]) -> float:
    return sum(r["prediction"] == r["reference"] for r in rows) / len(rows)


def test_replay_mixes_the_ancestors_rows_stratified_by_label(chain):
    report = json.loads((chain.b / "data" / "report.json").read_text(encoding="utf-8"))
    a_train = PreparedData.read(chain.a / "data").train
    counts = {l: sum(r["label"] == l for r in a_train) for l in A_LABELS}
    expected = {l: round(0.2 * n) for l, n in counts.items()}
    replay = report["replay"]
    assert replay["by_label"] == expected
    assert replay["replayed_rows"] == sum(expected.values()) == replay["by_source"][chain.a.name]
    b_train = PreparedData.read(chain.b / "data").train
    assert len(b_train) == replay["new_rows"] + replay["replayed_rows"]
    assert {r["label"] for r in b_train} == set(A_LABELS) | set(B_NEW)
    assert report["labels"] == A_LABELS + B_NEW  # the parent's labels keep their places
    (event,) = RunFiles(chain.b).events("replay")
    assert event["replayed_rows"] == replay["replayed_rows"]
    # C: no replay, so A's and B's labels are kept (old_labels: keep) though no C row has them
    c_report = json.loads((chain.c / "data" / "report.json").read_text(encoding="utf-8"))
    assert c_report["replay"]["replayed_rows"] == 0
    assert c_report["labels"] == A_LABELS + B_NEW + C_NEW


def test_forgetting_figures_match_the_prediction_files(chain):
    for run, ancestors in ((chain.b, [chain.a]), (chain.c, [chain.a, chain.b])):
        report = RunFiles(run).metrics()["forgetting"]
        assert [e["run"] for e in report["ancestors"]] == [a.name for a in ancestors]
        worst = []
        for entry, anc in zip(report["ancestors"], ancestors):
            before = [json.loads(l) for l in (anc / "predictions" / "finetuned.jsonl").read_text().splitlines()]
            after = [json.loads(l) for l in
                     (run / "predictions" / f"ancestor_{anc.name}.jsonl").read_text().splitlines()]
            acc = entry["metrics"]["accuracy"]
            assert acc["before"] == pytest.approx(_accuracy(before))
            assert acc["after"] == pytest.approx(_accuracy(after))
            assert acc["change"] == pytest.approx(round((_accuracy(after) - _accuracy(before)) * 100, 2))
            label = sorted({r["reference"] for r in after})[0]
            mine = [r for r in after if r["reference"] == label]
            assert entry["per_class"][label]["after"] == pytest.approx(_accuracy(mine))
            assert entry["per_class"][label]["rows"] == len(mine)
            worst.append((-acc["change"], anc.name))
        loss, name = max(worst)
        assert report["verdict"] == ("kept" if loss <= 2 else f"forgot {loss:.1f} points of accuracy on {name}")
        (event,) = RunFiles(run).events("forgetting")
        assert event["verdict"] == report["verdict"]


def test_general_test_set_is_answered_before_and_after_training(chain):
    report = RunFiles(chain.c).metrics()["forgetting"]
    general = report["general"]
    assert general["run"] == "general set general.csv" and general["rows"] == 4 * len(A_LABELS)
    start = [json.loads(l) for l in (chain.c / "predictions" / "general_start.jsonl").read_text().splitlines()]
    end = [json.loads(l) for l in (chain.c / "predictions" / "general.jsonl").read_text().splitlines()]
    general_rows = PreparedData.read(chain.c / "data").general_test
    assert [r["reference"] for r in start] == [r["reference"] for r in end] == [r["label"] for r in general_rows]
    assert [r["input"] for r in start] == [r["input"] for r in end]
    acc = general["metrics"]["accuracy"]
    assert (acc["before"], acc["after"]) == (pytest.approx(_accuracy(start)), pytest.approx(_accuracy(end)))
    assert acc["change"] == pytest.approx(round((_accuracy(end) - _accuracy(start)) * 100, 2))
    # the verdict weighs the general set like an ancestor's test set
    losses = [-e["metrics"]["accuracy"]["change"] for e in report["ancestors"]] + [-acc["change"]]
    names = [e["run"] for e in report["ancestors"]] + [general["run"]]
    loss, name = max(zip(losses, names))
    assert report["verdict"] == ("kept" if loss <= 2 else f"forgot {loss:.1f} points of accuracy on {name}")


def test_joint_retraining_trains_the_base_on_the_chains_rows_and_the_new(chain):
    from ft_lab.data.replay import _key
    from ft_lab.models.from_run import load_base, start_model
    from ft_lab.rundir.lineage import parent_of

    report = json.loads((chain.j / "data" / "report.json").read_text(encoding="utf-8"))
    replay = report["replay"]
    new = PreparedData.read(chain.c / "data").train  # C's data is J's new data (no replay in C)
    keys = {_key(r, ["text"]) for r in new}
    union: dict = {}
    for run in (chain.a, chain.b):
        for r in PreparedData.read(run / "data").train:
            union.setdefault(_key(r, ["text"]), run.name)
    old = {k: src for k, src in union.items() if k not in keys}
    assert replay["joint"] and replay["replayed_rows"] == len(old) and replay["new_rows"] == len(new)
    assert replay["by_source"] == {n: list(old.values()).count(n) for n in (chain.a.name, chain.b.name)}
    assert len(PreparedData.read(chain.j / "data").train) == len(new) + len(old)
    assert report["labels"] == A_LABELS + B_NEW + C_NEW
    info = json.loads((chain.j / "run.json").read_text())
    assert info["joint_retrain"] and info["ancestors"] == [chain.a.name, chain.b.name]
    assert info["method"] != "lora"  # method: auto is the base model's default, not the parent's adapter
    # it starts from the base model, not from B's result
    j = RunFiles(chain.j)
    start, _ = start_model(j.recipe(), report["labels"], parent_of(j))
    base, _ = load_base(j.recipe(), report["labels"])
    body = [n for n, _ in base.named_parameters() if "score" not in n]
    assert all(torch_equal(start.get_parameter(n), base.get_parameter(n)) for n in body)
    forgetting = j.metrics()["forgetting"]
    assert [e["run"] for e in forgetting["ancestors"]] == [chain.a.name, chain.b.name]


def torch_equal(a, b) -> bool:
    import torch
    return torch.equal(a, b)


def test_cli_table_and_html_report_show_forgetting(chain, tmp_path, capsys):
    from ft_lab.cli.terminal import metric_table

    metrics = RunFiles(chain.c).metrics()
    table = metric_table(metrics)
    assert f"forgetting: {metrics['forgetting']['verdict']}" in table
    assert chain.a.name in table and chain.b.name in table and "general set general.csv" in table
    assert main(["report", str(chain.c), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h2>Forgetting</h2>" in html and metrics["forgetting"]["verdict"] in html
    assert "general set general.csv" in html


def _head(model):
    from ft_lab.methods.model_parts import head_modules
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    (module,) = head_modules(base, "classification").values()
    return getattr(getattr(module, "modules_to_save", None) or {}, "get", lambda k: None)("default") or module


def test_grown_label_set_keeps_old_head_rows_and_trains_new_ones(chain):
    import torch
    from safetensors.torch import load_file

    from ft_lab.models.from_run import load_trained, restore_adapter, start_model
    from ft_lab.rundir.lineage import parent_of

    # B continues A's adapter: after restoring, each old label's row is A's saved row, by name
    run = RunFiles(chain.b)
    recipe, labels = run.recipe(), json.loads((chain.b / "data" / "report.json").read_text())["labels"]
    parent = parent_of(run)
    model, _ = start_model(recipe, labels, parent)
    method = recipe.method.create("method")
    model = method.prepare(model, "classification")
    restore_adapter(method, model, parent, labels)
    saved = load_file(str(chain.a / "final" / "adapter_model.safetensors"))
    (key,) = [k for k in saved if ".score." in k and k.endswith("weight")]
    head = _head(model).weight
    for i, label in enumerate(A_LABELS):
        assert torch.equal(head[labels.index(label)], saved[key][i]), label
    # the new rows were trained: B answers its new intents
    rows = [json.loads(l) for l in (chain.b / "predictions" / "finetuned.jsonl").read_text().splitlines()]
    assert any(r["prediction"] == r["reference"] for r in rows if r["reference"] in B_NEW)
    # C stacks on B merged: its starting head is B's merged head with C's labels added, rows by name
    b_model, _, b_method = load_trained(chain.b)
    b_head = _head(b_method.merge(b_model)).weight
    c = RunFiles(chain.c)
    c_labels = json.loads((chain.c / "data" / "report.json").read_text())["labels"]
    c_start, _ = start_model(c.recipe(), c_labels, parent_of(c))
    c_head = _head(c_start).weight
    assert c_head.shape[0] == len(A_LABELS + B_NEW + C_NEW)
    for i, label in enumerate(labels):
        assert torch.equal(c_head[c_labels.index(label)], b_head[i]), label


def _reload_predictions(folder: Path, labels: list[str], test: list[dict], adapter: bool) -> list[str]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ft_lab.evaluation.predict import classify
    from ft_lab.models.tiny import ensure_tiny

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if adapter:
        from peft import PeftModel
        base = AutoModelForSequenceClassification.from_pretrained(str(ensure_tiny()), num_labels=len(labels))
        base.config.pad_token_id = tokenizer.pad_token_id
        model = PeftModel.from_pretrained(base, str(folder))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    return [r["prediction"] for r in classify(model, tokenizer, test, labels, 16, 32)]


def test_continued_and_stacked_adapters_reload_after_export(chain, tmp_path, capsys):
    for run, merge in ((chain.b, False), (chain.c, True)):
        out = tmp_path / run.name
        assert main(["export", str(run), "--out", str(out), *(["--merge"] if merge else [])]) == 0
        labels = json.loads((run / "data" / "report.json").read_text())["labels"]
        test = PreparedData.read(run / "data").test
        expected = [json.loads(l)["prediction"] for l in (run / "predictions" / "finetuned.jsonl").read_text().splitlines()]
        assert _reload_predictions(out, labels, test, adapter=not merge) == expected
    # a stacked adapter alone does not load on the base: export says so and writes nothing
    assert main(["export", str(chain.c), "--out", str(tmp_path / "alone")]) == 2
    assert "--merge" in capsys.readouterr().err
    assert not (tmp_path / "alone").exists()


def test_regularization_estimates_fisher_on_the_ancestors_rows(chain):
    phases = [e["phase"] for e in RunFiles(chain.c).events("phase")]
    assert "fisher" in phases and phases.index("fisher") < phases.index("train")
    (fisher,) = [e for e in RunFiles(chain.c).events("phase") if e["phase"] == "fisher"]
    assert fisher["examples"] == 32


def test_runs_tree_shows_the_chain_of_three(chain, capsys):
    assert main(["runs", "--tree", "--runs-dir", str(chain.root / "runs")]) == 0
    out = capsys.readouterr().out
    assert f"chain: {chain.a.name} -> {chain.b.name} -> {chain.c.name}" in out
    lines = out.splitlines()
    assert lines[0].startswith(chain.a.name) and "accuracy=" in lines[0]
    assert lines[1].strip().startswith(f"-> {chain.b.name}") and "forgetting:" in lines[1]
    (joint,) = [l for l in lines if chain.j.name in l]
    assert joint.startswith("      -> ") and "(joint retraining)" in joint  # under B, beside C
    assert json.loads((chain.c / "run.json").read_text())["ancestors"] == [chain.a.name, chain.b.name]


def test_runs_panel_shows_the_lineage(chain):
    from ft_lab.widgets.runs_panel import RunsPanel

    panel = RunsPanel(chain.root / "runs")
    assert f"{chain.a.name} -&gt; {chain.b.name} -&gt; {chain.c.name}" in panel.table.value


def test_sidebar_summary_carries_the_lineage(chain):
    from ft_lab.server.summary import run_summary
    from ft_lab.workflows.runner import open_run

    c = run_summary(open_run(chain.c), chain.root)
    assert c["lineage"] == [chain.a.name, chain.b.name, chain.c.name] and not c["joint_retrain"]
    assert run_summary(open_run(chain.j), chain.root)["joint_retrain"]
    assert run_summary(open_run(chain.a), chain.root)["lineage"] == []


def test_model_step_starts_from_a_run_chosen_with_its_lineage(chain):
    from ft_lab.widgets.model_panel import ModelPanel
    from ft_lab.widgets.state import RecipeState

    panel = ModelPanel(RecipeState(runs_dir=chain.root / "runs"))
    labels = dict((v, l) for l, v in panel.from_run.choice.options)
    assert labels[""].startswith("the base model")
    assert labels[str(chain.c)].startswith(f"{chain.a.name} -> {chain.b.name} -> {chain.c.name} · accuracy ")
    panel.from_run.choice.value = str(chain.c)
    shown = panel.from_run.chain_html.value
    assert all(name in shown for name in (chain.a.name, chain.b.name, chain.c.name)) and "this run" in shown
    panel.from_run.joint.value = True
    panel.sync()
    model = panel.state.sections["model"]
    assert model["from_run"] == str(chain.c) and model["joint_retrain"] is True
    assert model["name_or_path"] == json.loads((chain.c / "run.json").read_text())["model"]
    panel.from_run.choice.value = ""  # back to the base model: no from_run, no joint retraining
    panel.sync()
    assert panel.state.sections["model"]["from_run"] is None and not panel.state.sections["model"]["joint_retrain"]


def test_a_copied_chain_still_reports_its_lineage(chain, tmp_path, capsys):
    from ft_lab.rundir.lineage import ancestors

    copy = tmp_path / "elsewhere" / "runs"
    shutil.copytree(chain.root / "runs", copy, ignore=shutil.ignore_patterns("worker.lock", "checkpoints"))
    found = ancestors(copy / chain.c.name)
    assert [r.dir for r in found] == [(copy / chain.a.name).resolve(), (copy / chain.b.name).resolve()]
    assert main(["runs", "--tree", "--runs-dir", str(copy)]) == 0
    assert f"chain: {chain.a.name} -> {chain.b.name} -> {chain.c.name}" in capsys.readouterr().out
