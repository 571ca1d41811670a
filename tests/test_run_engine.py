"""The run engine end to end on the tiny model: the worker, the run directory, stop/resume, failures."""
import json
import os

import pytest

import ft_lab
import ft_lab.workflows.runner
from conftest import write_recipe
from waiting import wait_for


pytestmark = pytest.mark.usefixtures("no_orphan_workers")


def classification_recipe(csv_path, **train):
    settings = {"max_steps": 40, "batch_size": 16, "learning_rate": 0.002, "logging_steps": 10, **train}
    return ft_lab.Recipe(task="classification", data={"path": str(csv_path)}, model={"max_length": 48},
                         method="full", train=settings)


def test_lora_classification_run_writes_a_complete_run_directory(completed_classification_run):
    # the session's shared run (conftest.SHARED_RUN_RECIPE: LoRA r=8 on all linear layers, 60 steps)
    handle = completed_classification_run.handle()
    assert handle.status == "completed", handle.error
    d = handle.dir
    for name in ("recipe.yaml", "run.json", "events.jsonl", "metrics.json", "worker.log",
                 "data/train.jsonl", "data/validation.jsonl", "data/test.jsonl", "data/report.json",
                 "predictions/base.jsonl", "predictions/finetuned.jsonl",
                 "final/adapter_model.safetensors", "final/adapter_config.json", "final/tokenizer.json"):
        assert (d / name).exists(), name
    assert not list(d.rglob("*.bin")) and not list(d.rglob("*.pt")) or all(
        p.name in ("training_args.bin", "rng_state.pth", "optimizer.pt", "scheduler.pt") for p in d.rglob("*.bin"))
    metrics = handle.metrics()
    assert metrics["headline"] == "accuracy"
    assert metrics["finetuned"]["accuracy"] > metrics["base"]["accuracy"]
    rows = handle.prediction_rows()
    assert len(rows) == json.loads((d / "data/report.json").read_text())["rows"]["test"]
    assert {"id", "input", "reference", "prediction", "probs"} <= set(rows[0])
    logs = handle.events("log")
    assert logs and all({"step", "loss", "learning_rate", "grad_norm"} <= set(e) for e in logs)
    assert any("tokens_per_second" in e for e in logs)
    model_event = handle.events("model")[0]
    assert 0 < model_event["trainable_parameters"] < model_event["total_parameters"]
    assert ft_lab.Recipe.from_yaml(d / "recipe.yaml").method.config.r == 8


def test_generation_run_masks_the_prompt_and_scores_japanese(qa_jsonl, tiny_model_dir):
    from transformers import AutoTokenizer

    from ft_lab.training.tokenization import encode_generation
    from ft_lab.data.prompts import prompt_ids

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ex = {"prompt": "カードが届きません", "response": "配送状況を確認します"}
    enc = encode_generation(tok, ex, None, 128)
    n_prompt = len(prompt_ids(tok, ex, None))
    assert enc["labels"][:n_prompt] == [-100] * n_prompt
    answer = tok.decode([t for t in enc["labels"] if t != -100], skip_special_tokens=True)
    assert answer.strip() == "配送状況を確認します"

    recipe = ft_lab.Recipe(task={"type": "generation", "max_new_tokens": 12}, data={"path": str(qa_jsonl)},
                           model={"max_length": 64}, method="full", evaluate=["rouge", "exact_match", "chrf"],
                           train={"max_steps": 60, "batch_size": 8, "learning_rate": 0.003, "logging_steps": 20})
    handle = ft_lab.run(recipe)
    assert handle.wait(timeout=300) == "completed", handle.error
    m = handle.metrics()
    assert {"rougeL", "exact_match", "chrf"} <= set(m["finetuned"])
    # rouge returns rouge1, rouge2 and rougeL: the run is judged on rougeL, and the verdict has a winner
    assert m["headline"] == "rougeL" and m["winner"]["metric"] == "rougeL"
    assert handle.headline() == ("rougeL", m["finetuned"]["rougeL"])
    assert m["finetuned"]["chrf"] > m["base"]["chrf"]
    rows = handle.prediction_rows()
    assert all(r["n_tokens"] > 0 and r["nll"] > 0 for r in rows)
    base_nll = sum(r["nll"] for r in handle.predictions("base"))
    assert sum(r["nll"] for r in rows) < base_nll


def test_stop_saves_a_checkpoint_and_resume_waits_for_the_new_attempt(banking_csv, tiny_model_dir):
    handle = ft_lab.run(classification_recipe(banking_csv, max_steps=2000, save_steps=500, logging_steps=5))
    wait_for(lambda: handle.events("log") or handle.status in ft_lab.workflows.runner.TERMINAL, "the first training log")
    handle.stop()
    assert handle.wait(timeout=300) == "stopped"
    stopped = handle.last_status_event()
    assert stopped["checkpoint"] and os.path.isdir(stopped["checkpoint"])
    assert stopped["step"] < 2000

    resumed = ft_lab.resume(handle.dir)
    # written before resume() returned: no waiter (this old handle included) can see the old "stopped"
    assert handle.last_status_event()["status"] == "resuming"
    assert handle.wait(timeout=0) in ("resuming", "running")
    resumed.stop()  # stop again right away: it resumes from the checkpoint, then stops at once
    assert resumed.wait(timeout=300) == "stopped"
    assert handle.wait(timeout=60) == "stopped"
    assert resumed.last_status_event()["step"] >= stopped["step"]
    assert [e["status"] for e in handle.events("status")] == [
        "created", "running", "stopped", "resuming", "running", "stopped"]


def test_killed_worker_resumes_to_the_same_metrics_as_an_uninterrupted_run(banking_csv, tiny_model_dir):
    settings = dict(max_steps=120, batch_size=8, save_steps=20, eval_steps=40, logging_steps=20)
    reference = ft_lab.run(classification_recipe(banking_csv, **settings))
    assert reference.wait(timeout=300) == "completed", reference.error

    victim = ft_lab.run(classification_recipe(banking_csv, **settings))
    wait_for(lambda: victim.events("checkpoint") or victim.status in ft_lab.workflows.runner.TERMINAL, "a checkpoint")
    victim.kill()
    assert victim.status == "failed" and victim.last_status_event()["reason"] == "worker_died"
    assert victim.events("checkpoint") and not (victim.dir / "metrics.json").exists() or \
        "finetuned" not in victim.metrics()
    resumed = ft_lab.resume(victim.dir)
    assert resumed.wait(timeout=300) == "completed", resumed.error
    assert any(e.get("resume_from") for e in resumed.events("phase"))
    a, b = reference.metrics(), resumed.metrics()
    assert b["finetuned"] == pytest.approx(a["finetuned"], abs=1e-6)
    assert b["validation_loss"] == pytest.approx(a["validation_loss"], rel=1e-4)
    assert [r["prediction"] for r in resumed.predictions()] == [r["prediction"] for r in reference.predictions()]


def test_non_finite_loss_stops_the_run_with_a_clear_status(banking_csv, tiny_model_dir):
    handle = ft_lab.run(classification_recipe(banking_csv, learning_rate=1e12, max_grad_norm=1e12,
                                              max_steps=200, logging_steps=1))
    assert handle.wait(timeout=300) == "failed"
    last = handle.last_status_event()
    assert last["reason"] == "non_finite_loss"
    assert "the training loss became" in last["error"] and "lower train.learning_rate" in last["error"]
    assert last["step"] < 200


def test_language_model_as_classifier_learns_verbalized_labels(banking_csv, tiny_model_dir):
    words = {"apple_pay_or_google_pay": "wallet", "card_arrival": "arrival", "cash_withdrawal_charge": "fee",
             "change_pin": "pin", "declined_card_payment": "declined"}
    recipe = ft_lab.Recipe(
        task={"type": "classification", "classifier": "lm", "label_words": words},
        data={"path": str(banking_csv)}, model={"max_length": 96}, method="full",
        train={"max_steps": 60, "batch_size": 16, "learning_rate": 0.002, "logging_steps": 20})
    assert ft_lab.Recipe.from_yaml(recipe.to_yaml()) == recipe
    handle = ft_lab.run(recipe)
    assert handle.wait(timeout=300) == "completed", handle.error
    rows = handle.prediction_rows()
    assert all(set(r["probs"]) == set(words) and abs(sum(r["probs"].values()) - 1) < 1e-4 for r in rows)
    m = handle.metrics()
    assert m["finetuned"]["accuracy"] >= m["base"]["accuracy"] + 0.1
    losses = [e["metrics"]["loss"] for e in handle.events("eval") if e.get("split") == "validation"]
    assert losses[-1] < losses[0] / 2  # validation loss on the label words falls by more than half
    assert (handle.dir / "final" / "config.json").exists()
    config = json.loads((handle.dir / "final" / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]


def test_lm_classifier_settings_are_checked():
    with pytest.raises(ft_lab.RecipeError, match="label_words, classify_prompt apply only to type: classification"):
        ft_lab.Recipe(task={"type": "generation", "label_words": {"a": "b"}, "classify_prompt": "{text}"},
                      data={"path": __file__.replace(".py", ".missing")})
    with pytest.raises(ft_lab.RecipeError, match=r"classify_prompt must contain the \{text\} placeholder"):
        ft_lab.Recipe(task={"type": "classification", "classifier": "lm", "classify_prompt": "Label:"},
                      data={"path": __file__})


def test_early_stopping_ends_the_run_when_validation_stops_improving(banking_csv, tiny_model_dir):
    # a learning rate this small cannot improve validation accuracy: patience 1 stops at the second check
    handle = ft_lab.run(classification_recipe(banking_csv, learning_rate=1e-12, max_steps=400, eval_steps=5,
                                              logging_steps=5, early_stopping_patience=1,
                                              early_stopping_metric="accuracy"))
    assert handle.wait(timeout=300) == "completed", handle.error
    validations = [e for e in handle.events("eval") if e.get("split") == "validation"]
    assert [e["step"] for e in validations] == [5, 10]
    assert handle.last_status_event()["step"] == 10
    assert "finetuned" in handle.metrics()
