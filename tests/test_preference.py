"""Preference objectives (train.objective dpo, orpo, kto, simpo) through TRL, their data, and ``ft-lab pairs``."""
from __future__ import annotations

import importlib.metadata
import json
import math
import os
import shutil
from pathlib import Path

import pytest

from ft_lab.cli import main
from ft_lab.core.recipe import Recipe
from ft_lab.errors import RecipeError
from tests.conftest import write_recipe

OBJECTIVES = ("dpo", "orpo", "kto", "simpo")


def pair_rows(n: int = 24) -> list[dict]:
    return [{"prompt": f"What is {i} plus {i + 3}?", "chosen": f"{2 * i + 3}.",
             "rejected": f"I would say {i * 7 + 1}, or so.", "id": i} for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def recipe_text(data: str, objective: str = "dpo", method: str = "{name: lora, r: 4, target_modules: [all-linear]}",
                extra: str = "", train: str = "") -> str:
    return (f"task: generation\ndata: {{path: {data}}}\nmodel: {{max_length: 48}}\nmethod: {method}\n"
            f"train: {{objective: {objective}, max_steps: 2, batch_size: 4, logging_steps: 1{train}}}\n{extra}")


#: the train settings a run resolves from `auto`, given here for a trainer built in process
RESOLVED = (", learning_rate: 0.001, epochs: 1, warmup_ratio: 0.0, early_stopping_patience: null, keep_best: false, "
            "early_stopping_metric: loss")


# --- validation ----------------------------------------------------------------------------------------------

def test_a_method_that_does_not_take_the_objective_is_refused_with_the_reason(tmp_path, capsys):
    write_jsonl(tmp_path / "pairs.jsonl", pair_rows())
    recipe = write_recipe(tmp_path, recipe_text("pairs.jsonl", method="{name: prefix_tuning}"))
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    (line,) = [e for e in err if "objective" in e]
    assert "'prefix_tuning' does not take train.objective: dpo" in line and "lora" in line


def test_a_preference_objective_on_classification_is_refused(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("text,label\na,x\nb,y\n", encoding="utf-8")
    recipe = write_recipe(tmp_path, "task: classification\ndata: {path: t.csv}\ntrain: {objective: kto}\n")
    assert main(["validate", str(recipe)]) == 2
    assert "train.objective: kto learns from good and bad answers" in capsys.readouterr().err


def test_a_trl_outside_the_pinned_range_is_one_line_at_validation(tmp_path, capsys, monkeypatch):
    write_jsonl(tmp_path / "pairs.jsonl", pair_rows())
    recipe = write_recipe(tmp_path, recipe_text("pairs.jsonl"))
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.9.6" if name == "trl" else real(name))
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs trl>=1.16,<1.17" in err[0] and "trl 0.9.6 is installed" in err[0]
    monkeypatch.setattr(importlib.metadata, "version", real)
    assert main(["validate", str(recipe)]) == 0  # the installed one is in range


# --- data --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("row, words", [
    ({"prompt": "q", "chosen": "", "rejected": "b"}, ["row 2", "'chosen'", "empty"]),
    ({"prompt": "q", "chosen": "same", "rejected": " same "}, ["row 2", "'chosen' and 'rejected'", "same answer"]),
    ({"prompt": "q", "chosen": "a"}, ["row 2", "'rejected'", "missing"]),
])
def test_bad_pairs_are_one_line_naming_row_and_field_and_nothing_is_written(tmp_path, capsys, row, words):
    write_jsonl(tmp_path / "pairs.jsonl", [pair_rows(1)[0], row, *pair_rows(10)])
    recipe = write_recipe(tmp_path, recipe_text("pairs.jsonl"))
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "pairs.jsonl" in line and all(w in line for w in words), line
    assert not (tmp_path / "out").exists()


def test_kto_labels_must_be_booleans(tmp_path, capsys):
    rows = [{"prompt": f"q{i}", "completion": f"a{i}", "label": i % 2 == 0} for i in range(12)]
    rows[3]["label"] = "yes"
    write_jsonl(tmp_path / "kto.jsonl", rows)
    recipe = write_recipe(tmp_path, recipe_text("kto.jsonl", objective="kto"))
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "row 4, field 'label'" in line and "true" in line and "'yes'" in line
    rows[3]["label"] = "False"  # CSV-style strings are read as booleans
    write_jsonl(tmp_path / "kto.jsonl", rows)
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "out")]) == 0
    train = [json.loads(x) for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert {type(r["label"]) for r in train} == {bool} and {"prompt", "completion"} <= set(train[0])


def test_llama_factory_preference_file_is_detected_with_its_mapping_and_prepares_as_chat(tmp_path, capsys):
    rows = [{"conversations": [{"from": "human", "value": f"Say {i}."}], "chosen": {"from": "gpt", "value": f"{i}"},
             "rejected": {"from": "gpt", "value": f"no {i}"}} for i in range(12)]
    write_jsonl(tmp_path / "lf.jsonl", rows)
    assert main(["data", "inspect", str(tmp_path / "lf.jsonl"), "--json"]) == 0
    schema = json.loads(capsys.readouterr().out)["schema"]
    assert schema["layout"] == "preference"
    assert schema["mapping"] == {"prompt": "conversations", "chosen": "chosen", "rejected": "rejected"}
    recipe = write_recipe(tmp_path, recipe_text("lf.jsonl") + "")
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "out")]) == 0
    row = json.loads((tmp_path / "out" / "train.jsonl").read_text().splitlines()[0])
    assert row["prompt"][0]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    assert row["rejected"][0]["content"].startswith("no ")


def test_pii_masking_covers_every_field_of_a_pair_and_leakage_counts_a_pair_once(tmp_path):
    from ft_lab.data.prepare import prepare_data

    rows = pair_rows(20)
    rows[0] = {"prompt": "Mail bob@example.com please", "chosen": "Sent to bob@example.com.",
               "rejected": "I mailed alice@example.org", "id": 0}
    write_jsonl(tmp_path / "pairs.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", [rows[5], *pair_rows(30)[25:]])  # one pair also in train
    recipe = Recipe.from_yaml(write_recipe(tmp_path, (
        "task: generation\ndata: {train: pairs.jsonl, test: test.jsonl, leakage_threshold: 0.99}\n"
        "clean: [pii_mask]\ntrain: {objective: dpo}\n")))
    data = prepare_data(recipe)
    text = json.dumps(data.train + data.validation + data.test)
    assert "@example" not in text and "bob" not in text
    assert data.report["leakage"]["pairs"] == {"train-test": {"exact": 1, "near": 0}}


# --- training ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_pairs():
    from ft_lab.data.pairs import pair_examples
    return pair_examples(pair_rows(8), {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}, "rows")


@pytest.mark.parametrize("method", ["lora", "full"])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_each_objective_trains_saves_reloads_and_merges(tmp_path, tiny_pairs, objective, method):
    """Two TRL steps on the tiny model, in process; with an adapter no second model is held."""
    from ft_lab.models.from_run import load_base
    from ft_lab.training.preference import build_preference_trainer, pair_figures, trained_model

    spec = "{name: lora, r: 4, target_modules: [all-linear]}" if method == "lora" else "{name: full}"
    recipe = Recipe.from_yaml(write_recipe(tmp_path, recipe_text("p.jsonl", objective, spec, train=RESOLVED)))
    model, tokenizer = load_base(recipe)
    base_parameters = sum(p.numel() for p in model.parameters())
    m = recipe.method.create("method")
    model = m.prepare(model, "generation")
    trainer, _ = build_preference_trainer(recipe, model, tokenizer, tiny_pairs[:8], tiny_pairs[:4], tmp_path,
                                          test_rows=tiny_pairs[4:])
    held = sum(p.numel() for p in trainer.model.parameters())
    if method == "lora":
        adapter = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n and ".default." in n)
        assert held <= base_parameters + 2 * adapter  # the base once; at most a frozen copy of the adapter
    else:
        assert held == base_parameters
    assert getattr(trainer, "ref_model", None) is None  # no second model, for every objective
    trainer.train()
    assert trainer.state.global_step == 2
    figures = pair_figures(trainer)
    assert figures["pairs"] == (8 if objective == "kto" else 4)  # kto splits each pair into a good and a bad row
    assert "reward_margin" in figures and (objective == "kto" or 0.0 <= figures["reward_accuracy"] <= 1.0)
    final = trained_model(trainer)
    m.save(final, tmp_path / "final")
    names = sorted(p.name for p in (tmp_path / "final").iterdir())
    assert "ref" not in names  # TRL's reference adapter is not part of the result
    again = type(m).load(load_base(recipe)[0], tmp_path / "final")
    assert m.merge(again) is not None


@pytest.mark.parametrize("objective", ["dpo", "orpo", "kto", "simpo"])
def test_padding_free_pairs_train_as_the_padded_ones(tmp_path, tiny_pairs, objective):
    """train.packing for a preference objective: the same per-step losses and reward margin as padded batches
    (rows kept apart by ft_lab_packed attention; a leak between rows would change them), fewer tokens computed."""
    from transformers import set_seed

    from ft_lab.models.from_run import load_base
    from ft_lab.training.preference import build_preference_trainer, padding_report, pair_figures, trained_model
    from ft_lab.training.speed import SpeedPlan

    recipe = Recipe.from_yaml(write_recipe(tmp_path, recipe_text("p.jsonl", objective, train=RESOLVED)))
    seen = []
    for packing in (False, True):
        set_seed(0)
        model, tokenizer = load_base(recipe)
        model = recipe.method.create("method").prepare(model, "generation")
        plan = SpeedPlan(packing=packing, compile=False, optimizer="adamw_torch", liger=False, frozen_dtype=None)
        trainer, _ = build_preference_trainer(recipe, model, tokenizer, tiny_pairs[:8], tiny_pairs[:2], tmp_path / str(packing),
                                              plan=plan, test_rows=tiny_pairs[4:])
        trainer.train()
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        seen.append((losses, pair_figures(trainer)["reward_margin"], padding_report(trainer)))
        trained_model(trainer)
        assert type(trainer.model.get_base_model().model).forward is not None
        assert "forward" not in vars(trainer.model.get_base_model().model)  # generation runs the model's own
    (padded, margin, none), (flat, flat_margin, report) = seen
    assert none is None and len(padded) == len(flat) == 2
    assert flat == pytest.approx(padded, abs=2e-5) and flat_margin == pytest.approx(margin, abs=2e-5)
    assert all(math.isfinite(x) for x in flat)
    assert report["batches"] >= 2 and 0 < report["real_tokens"] < report["padded_tokens"]
    assert report["padding_saved"] == pytest.approx(1 - report["real_tokens"] / report["padded_tokens"], abs=1e-4)


def test_token_budget_batches_are_refused_for_a_preference_objective(tmp_path, capsys):
    write_jsonl(tmp_path / "pairs.jsonl", pair_rows())
    recipe = write_recipe(tmp_path, recipe_text("pairs.jsonl", "kto", train=", packing: true, tokens_per_batch: 512"))
    assert main(["validate", str(recipe)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "train.tokens_per_batch does not apply to train.objective: kto" in line and "drop" in line
    recipe = write_recipe(tmp_path, recipe_text("pairs.jsonl", "kto", train=", packing: true"))
    assert main(["validate", str(recipe)]) == 0  # padding-free alone is taken


def test_preference_events_are_typed():
    from ft_lab.rundir.events import check_event
    assert check_event({"type": "preference", "split": "train", "step": 1, "reward_accuracy": 0.5,
                        "reward_margin": 0.1, "rewards_chosen": 0.2, "rewards_rejected": 0.1}) == []
    assert check_event({"type": "preference", "step": 1}) != []


# --- pairs from a run, and a DPO run on them -----------------------------------------------------------------

def finished_generation_run(root: Path) -> Path:
    """A generation run as the engine leaves it (tests/eval_run_builder.make_run), with answers of mixed quality."""
    from tests.eval_run_builder import make_run

    answers = []
    for i in range(24):
        reference = f"It is {2 * i + 3}."
        prediction = reference if i % 6 == 0 else "" if i % 6 == 1 else f"It is {2 * i + 3 + i % 3}." if i % 2 \
            else f"Maybe {i * 7}, I am not sure at all."
        answers.append({"id": i, "input": f"What is {i} plus {i + 3}?", "reference": reference,
                        "prediction": prediction})
    return make_run(root, "generation", None, answers, evaluate=["exact_match", "chrf"])


def test_pairs_take_the_worst_answers_with_their_provenance(tmp_path, capsys):
    run = finished_generation_run(tmp_path / "runs")
    assert main(["pairs", str(run), "--worst", "5", "--out", str(tmp_path / "p.jsonl")]) == 0
    assert "wrote 5 pairs" in capsys.readouterr().out
    pairs = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    preds = {p["id"]: p for p in map(json.loads, (run / "predictions" / "finetuned.jsonl").read_text().splitlines())}
    for row in pairs:
        source = preds[row["example_id"]]
        assert (row["prompt"], row["chosen"], row["rejected"]) == (source["input"], source["reference"],
                                                                    source["prediction"])
        assert (row["source_run"], row["chosen_by"], row["rejected_by"], row["split"]) == (
            run.name, "reference", "model:finetuned", "test")
        assert row["scored_by"] == "chrf"  # the graded score, not exact_match's ties
    assert [r["score"] for r in pairs] == sorted(r["score"] for r in pairs)
    assert pairs[0]["rejected"].startswith("Maybe")  # the worst answers come first
    capsys.readouterr()
    assert main(["pairs", str(run), "--worst", "100", "--out", str(tmp_path / "all.jsonl"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["pairs"], report["skipped_same_as_reference"], report["skipped_empty_answer"]) == (12, 8, 4)
    assert main(["pairs", str(run), "--out", str(tmp_path / "all.jsonl")]) == 2  # exists: nothing replaced


def test_pairs_feed_a_dpo_run_from_an_adapter_that_reports_reward_accuracy(tmp_path, capsys, tiny_model_dir):
    """ft-lab pairs -> a DPO run starting from an SFT adapter (model.adapter) -> reward accuracy, the base
    (starting) model compared, the judge's win rate, live preference events, export --merge."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = finished_generation_run(tmp_path / "runs")
    assert main(["pairs", str(run), "--worst", "100", "--out", str(tmp_path / "pairs.jsonl")]) == 0
    sft = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                         LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM", init_lora_weights=False))
    sft.save_pretrained(str(tmp_path / "sft_adapter"))  # stands for an SFT run's final/
    from tests.eval_run_builder import tiny_fixed_output_model

    says_a = tiny_fixed_output_model(tmp_path / "judge", "A")  # a judge that always prefers answer A
    judge = f"{{name: llm_judge, mode: pairwise, model: {says_a}, max_new_tokens: 1}}"
    dpo = write_recipe(tmp_path, recipe_text("pairs.jsonl", extra=f"evaluate: [chrf, {judge}]\n").replace(
        "model: {max_length: 48}", f"model: {{max_length: 48, adapter: {tmp_path / 'sft_adapter'}}}").replace(
        "task: generation", "task: {type: generation, max_new_tokens: 8}"))
    assert main(["run", str(dpo), "--runs-dir", str(tmp_path / "out")]) == 0
    (dpo_run,) = (tmp_path / "out").iterdir()
    metrics = json.loads((dpo_run / "metrics.json").read_text())
    assert 0.0 <= metrics["preference"]["reward_accuracy"] <= 1.0 and metrics["preference"]["pairs"] >= 1
    assert "chrf" in metrics["base"] and "chrf" in metrics["finetuned"]
    assert metrics["finetuned"]["judge_failed"] == 0.0 and 0.0 <= metrics["finetuned"]["judge_win_rate"] <= 1.0
    events = [json.loads(x) for x in (dpo_run / "events.jsonl").read_text().splitlines()]
    assert {"train", "validation", "test"} <= {e["split"] for e in events if e["type"] == "preference"}
    (packing,) = [e for e in events if e["type"] == "packing"]  # train.packing auto: the pairs ran padding-free
    assert packing["padding_saved"] > 0 and packing["real_tokens"] < packing["padded_tokens"]
    model_event = next(e for e in events if e["type"] == "model")
    assert model_event["trainable_parameters"] < model_event["total_parameters"] / 10  # the adapter trains
    assert main(["export", str(dpo_run), "--out", str(tmp_path / "export"), "--merge"]) == 0
    assert (tmp_path / "export" / "config.json").exists()
    # the tuned model answers its own training split (preference rows: scored against their chosen answers)
    capsys.readouterr()
    assert main(["pairs", str(dpo_run), "--split", "train", "--worst", "2", "--json", "--out",
                 str(tmp_path / "again.jsonl")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "train" and report["examples"] >= 8 and report["pairs"] <= 2


def sft_parent(root: Path, method: str) -> Path:
    """A completed SFT run as ``model.from_run`` finds one, built by hand (no training): the tiny model with a
    LoRA adapter moved off its start (``lora``) or a whole changed model (``full``) in final/, and its test
    answers made by that very model (predictions/finetuned.jsonl), on the prompts of ``pair_rows``."""
    import torch

    from ft_lab.data.prepare import PreparedData
    from ft_lab.evaluation.predict import predict_split
    from ft_lab.models.from_run import load_base
    from tests.eval_run_builder import make_run

    answers = [{"id": i, "input": r["prompt"], "reference": r["chosen"], "prediction": ""}
               for i, r in enumerate(pair_rows(16))]
    run = make_run(root, "generation", None, answers, evaluate=["chrf"], name="sft-parent")
    rows = [{"prompt": a["input"], "response": a["reference"]} for a in answers]
    shutil.rmtree(run / "data")
    PreparedData(train=rows, validation=rows[:4], test=rows).write(run / "data")
    spec = {"lora": "{name: lora, r: 4, target_modules: [all-linear]}", "full": "{name: full}"}[method]
    recipe = Recipe.from_yaml(write_recipe(run, recipe_text("data/test.jsonl", "sft", spec).replace(
        "task: generation", "task: {type: generation, max_new_tokens: 4}")))
    (run / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
    torch.manual_seed(0)
    model, tokenizer = load_base(recipe)
    m = recipe.method.create("method")
    model = m.prepare(model, "generation")
    with torch.no_grad():  # "trained": every trainable weight moved
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    m.save(model, run / "final")
    tokenizer.save_pretrained(str(run / "final"))
    model.eval()
    predict_split(recipe, model, tokenizer, rows, None, run / "predictions" / "finetuned.jsonl")
    (run / "run.json").write_text(json.dumps({"id": run.name, "task": "generation", "method": method}))
    (run / "events.jsonl").write_text(json.dumps({"type": "status", "status": "completed", "step": 3}) + "\n")
    return run


@pytest.mark.parametrize("parent_method, objective, method, stack", [
    ("lora", "dpo", "{name: lora, r: 4, target_modules: [all-linear]}", True),  # adapter merged, a new one stacked
    ("full", "orpo", "{name: full}", False),                                   # a whole model's weights
])
def test_a_preference_run_from_a_merged_or_full_weights_parent_and_its_forgetting_report(
        tmp_path, monkeypatch, parent_method, objective, method, stack):
    """model.from_run with a preference objective, the worker's train_run in this process: the run starts from
    the parent's model (its "before" answers are the parent's own), trains, and reports what it kept of the
    parent's test set (the forgetting report, in metrics.json, the CLI table and the HTML report)."""
    from ft_lab.analysis.html_report import build_report
    from ft_lab.cli.terminal import metric_table
    from ft_lab.models.from_run import load_trained
    from ft_lab.workflows.runner import create_run
    from ft_lab.workflows.worker import train_run

    monkeypatch.setenv("FT_LAB_THREADS", "1")
    parent = sft_parent(tmp_path / "runs", parent_method)
    write_jsonl(tmp_path / "pairs.jsonl", pair_rows(16))
    extra = ", from_run_adapter: stack" if stack else ""
    text = recipe_text("pairs.jsonl", objective, method, extra="evaluate: [chrf]\n").replace(
        "model: {max_length: 48}", f"model: {{max_length: 48, from_run: {parent}{extra}}}").replace(
        "task: generation", "task: {type: generation, max_new_tokens: 4}")
    run = create_run(Recipe.from_yaml(write_recipe(tmp_path, text)), tmp_path / "out")
    assert train_run(run, resume=False) == "completed"
    assert json.loads((run / "run.json").read_text())["from_run"]["id"] == parent.name
    # the model before this run's training is the parent's: same answers to the same prompts
    theirs = {p["input"]: p["prediction"] for p in map(json.loads, (parent / "predictions" / "finetuned.jsonl")
                                                       .read_text().splitlines())}
    before = [json.loads(x) for x in (run / "predictions" / "base.jsonl").read_text().splitlines()]
    assert before and all(b["prediction"] == theirs[b["input"]] for b in before)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["preference"]["objective"] == objective and "chrf" in metrics["finetuned"]
    report = metrics["forgetting"]
    (entry,) = report["ancestors"]
    assert entry["run"] == parent.name and entry["rows"] == 16
    chrf = entry["metrics"]["chrf"]  # the parent's own answers, then this run's, to the parent's test set
    assert chrf["change"] == pytest.approx(chrf["after"] - chrf["before"], abs=0.01)
    assert report["verdict"] == "kept" or report["verdict"].startswith("forgot")
    assert (run / "predictions" / f"ancestor_{parent.name}.jsonl").is_file()
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    assert [e["verdict"] for e in events if e["type"] == "forgetting"] == [report["verdict"]]
    assert f"forgetting: {report['verdict']}" in metric_table(metrics)
    page = build_report(run)
    assert parent.name in page and "forgetting" in page.lower()
    model, _, run_method = load_trained(run)  # the parent's model, then this run's own result on it
    assert bool(run_method.adapter) == (method != "{name: full}")


@pytest.mark.skipif(not os.environ.get("FT_LAB_SLOW_TESTS"),
                    reason="set FT_LAB_SLOW_TESTS=1: two worker runs (an SFT run, then DPO from it), ~40 s on 2 cores")
def test_a_dpo_run_continues_the_sft_run_that_model_from_run_names(tmp_path, capsys, qa_jsonl):
    """model.from_run with train.objective: dpo: the SFT run's adapter is trained further (not a new one), the
    SFT model is the "base" compared; replay toward the earlier run is refused (it mixes SFT rows in)."""
    from safetensors.torch import load_file

    sft = write_recipe(tmp_path, f"task: {{type: generation, max_new_tokens: 4}}\ndata: {{path: {qa_jsonl}}}\n"
                                 "model: {max_length: 48, compare_base: false}\n"
                                 "method: {name: lora, r: 4, target_modules: [all-linear]}\n"
                                 "train: {max_steps: 3, batch_size: 8, learning_rate: 0.01}\nevaluate: [chrf]\n")
    assert main(["run", str(sft), "--runs-dir", str(tmp_path / "sft")]) == 0
    (parent,) = (tmp_path / "sft").iterdir()
    write_jsonl(tmp_path / "pairs.jsonl", pair_rows(16))
    text = recipe_text("pairs.jsonl", extra="evaluate: [chrf]\n").replace(
        "model: {max_length: 48}", f"model: {{max_length: 48, from_run: {parent}}}").replace(
        "task: generation", "task: {type: generation, max_new_tokens: 4}")
    with pytest.raises(RecipeError, match="data.replay: replay and regularization toward the earlier run apply to "
                                          "train.objective: sft only"):
        Recipe.from_yaml(write_recipe(tmp_path, text.replace("data: {", "data: {replay: 0.5, ")))
    assert main(["run", str(write_recipe(tmp_path, text)), "--runs-dir", str(tmp_path / "dpo")]) == 0
    (child,) = (tmp_path / "dpo").iterdir()
    assert json.loads((child / "run.json").read_text())["from_run"]["id"] == parent.name
    before, after = (load_file(str(run / "final" / "adapter_model.safetensors")) for run in (parent, child))
    assert before.keys() == after.keys()
    a = [k for k in before if "lora_A" in k]
    # trained further from the SFT adapter: 2 small DPO updates away from it (a new adapter would be a new draw)
    assert max(float((after[k] - before[k]).abs().max()) for k in a) < 0.1 * max(float(before[k].abs().max()) for k in a)
    assert any(float((after[k] - before[k]).abs().max()) > 0 for k in before)
    metrics = json.loads((child / "metrics.json").read_text())
    assert "chrf" in metrics["base"] and metrics["preference"]["pairs"] >= 1
    (kept,) = metrics["forgetting"]["ancestors"]  # the SFT run's test set, answered again after DPO
    assert kept["run"] == parent.name and set(kept["metrics"]["chrf"]) == {"before", "after", "change"}
    assert main(["export", str(child), "--out", str(tmp_path / "merged"), "--merge"]) == 0
