"""Adaptive defaults (auto), the learning-rate range test, and the baselines beside every run."""
from __future__ import annotations

import json

import pytest
import yaml

from ft_lab.cli import main
from ft_lab.errors import RecipeError
from ft_lab.core.recipe import Recipe
from tests.conftest import write_recipe


def _recipe(path, **extra) -> Recipe:
    return Recipe.from_dict({"task": "classification", "data": {"path": str(path), "columns": {"label": "category"}},
                             **extra})


def test_auto_settings_resolve_from_method_model_and_data(banking_csv):
    from ft_lab.data.prepare import prepare_data
    from ft_lab.training.defaults import TOY_RATE, resolve_defaults

    recipe = _recipe(banking_csv).resolved()
    data = prepare_data(recipe)
    resolved, choices = resolve_defaults(recipe, data)
    t = resolved.train
    assert resolved.method.name == "full" and t.learning_rate == TOY_RATE  # tiny: 1M parameters, every one trains
    assert t.head_learning_rate > t.learning_rate
    assert 1 <= t.epochs <= 10 and 0 < t.warmup_ratio <= 0.1 and t.keep_best is True
    assert 16 <= resolved.model.max_length <= 512 and resolved.model.max_length % 8 == 0
    assert {c.field for c in choices} >= {"train.learning_rate", "model.max_length", "train.epochs"}
    pinned, pinned_choices = resolve_defaults(_recipe(banking_csv, train={"learning_rate": 0.01, "epochs": 2},
                                                      method="full").resolved(), data)
    assert pinned.train.learning_rate == 0.01 and pinned.train.epochs == 2.0
    assert pinned.train.head_learning_rate is None  # a pinned rate is the head's rate too
    assert "train.learning_rate" not in {c.field for c in pinned_choices}
    full, _ = resolve_defaults(_recipe(banking_csv, method="full").resolved(), data)
    assert full.train.learning_rate == TOY_RATE  # tiny (1M parameters): a small model takes a high rate


def test_model_kind_tells_encoders_from_causal_models():
    from transformers import BertConfig, LlamaConfig

    from ft_lab.training.defaults import model_kind

    assert model_kind(BertConfig(architectures=["BertModel"])) == "encoder"
    assert model_kind(LlamaConfig(architectures=["LlamaForCausalLM"])) == "causal"
    # read from transformers' own mappings, not a list kept by hand: Gemma 3 from a GGUF has no
    # architectures and was taken for an encoder (LoRA's encoder rate, "lora on an encoder")
    from transformers import AutoConfig, Gemma3TextConfig
    assert model_kind(Gemma3TextConfig()) == "causal"
    assert model_kind(AutoConfig.for_model("qwen3")) == model_kind(AutoConfig.for_model("gpt2")) == "causal"
    assert model_kind(AutoConfig.for_model("modernbert")) == model_kind(AutoConfig.for_model("roberta")) == "encoder"


def test_method_auto_trains_small_encoders_fully_and_adapts_the_rest(banking_csv):
    from transformers import BertConfig, LlamaConfig

    from ft_lab.data.prepare import prepare_data
    from ft_lab.training.defaults import LEARNING_RATES, resolve_defaults

    recipe = _recipe(banking_csv).resolved()  # no method named: auto survives the round trip through to_dict
    assert recipe.method.named is False and recipe.to_dict()["method"] == {"name": "auto"}
    assert "method" not in yaml.safe_load(recipe.to_yaml(minimal=True))
    assert _recipe(banking_csv, method="lora").method.named is True
    with pytest.raises(RecipeError, match=r"method: 'auto' takes no settings \(r\)"):
        _recipe(banking_csv, method={"name": "auto", "r": 4})
    data = prepare_data(recipe)
    tokenizer = object()  # max_length is pinned below, so the tokenizer is not used
    pinned = _recipe(banking_csv, model={"max_length": 32}).resolved()
    small = BertConfig(architectures=["BertModel"], hidden_size=384, num_hidden_layers=6, intermediate_size=1536)
    resolved, choices = resolve_defaults(pinned, data, config=small, tokenizer=tokenizer)
    assert resolved.method.name == "full" and resolved.method.named
    assert resolved.train.learning_rate == LEARNING_RATES["full"]["encoder"]
    assert [c.line() for c in choices if c.field == "method"] == [
        "method = full  (an encoder of about 22M parameters with a new head: every weight trains, cheap at this "
        "size and more accurate than LoRA)"]
    large = BertConfig(architectures=["BertModel"], hidden_size=1024, num_hidden_layers=24, intermediate_size=4096)
    assert resolve_defaults(pinned, data, config=large, tokenizer=tokenizer)[0].method.name == "lora"
    causal = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=576, intermediate_size=1536,
                         num_hidden_layers=30, vocab_size=49152)  # SmolLM2-135M's shape
    assert resolve_defaults(pinned, data, config=causal, tokenizer=tokenizer)[0].method.name == "lora"
    toy = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=64, num_hidden_layers=2, vocab_size=4096)
    assert resolve_defaults(pinned, data, config=toy, tokenizer=tokenizer)[0].method.name == "full"
    named, choices = resolve_defaults(_recipe(banking_csv, method="lora", model={"max_length": 32}).resolved(), data,
                                      config=small, tokenizer=tokenizer)
    assert named.method.name == "lora" and "method" not in {c.field for c in choices}


def test_lora_learning_rate_of_a_causal_model_follows_its_size(banking_csv):
    from transformers import LlamaConfig

    from ft_lab.data.prepare import prepare_data
    from ft_lab.training.defaults import LEARNING_RATES, SMALL_CAUSAL_LORA_RATE, resolve_defaults

    recipe = _recipe(banking_csv, method="lora", model={"max_length": 32}).resolved()
    data = prepare_data(recipe)
    tokenizer = object()  # max_length is pinned, so the tokenizer is not used
    small = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=576, intermediate_size=1536,
                        num_hidden_layers=30, vocab_size=49152)  # SmolLM2-135M's shape
    large = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=4096, intermediate_size=11008,
                        num_hidden_layers=32, vocab_size=32000)  # a 7B model's shape
    rates = [resolve_defaults(recipe, data, config=c, tokenizer=tokenizer)[0].train.learning_rate for c in (small, large)]
    assert rates == [SMALL_CAUSAL_LORA_RATE, LEARNING_RATES["lora"]["causal"]]
    pinned = _recipe(banking_csv, method="lora", model={"max_length": 32}, train={"learning_rate": 1e-4}).resolved()
    assert resolve_defaults(pinned, data, config=small, tokenizer=tokenizer)[0].train.learning_rate == 1e-4


def test_validate_prints_the_resolved_settings_before_training(banking_csv, tmp_path, capsys):
    path = write_recipe(tmp_path, f"task: classification\ndata: {{path: {banking_csv}, columns: {{label: category}}}}\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid (classification, model tiny, method auto)" in out
    assert "method = full  (a model of about 1M parameters: too small for adapters to learn much" in out
    assert "train.learning_rate = 0.001  (full on a model of about 1M parameters: small models take a high" in out
    assert "model.max_length = " in out and "train.epochs = " in out
    assert "baselines beside the run: tfidf_logreg" in out


def test_baselines_are_switchable_and_checked(banking_csv):
    assert [b.name for b in _recipe(banking_csv).baselines] == ["tfidf_logreg"]
    off = _recipe(banking_csv, baselines=[])
    assert off.baselines == [] and yaml.safe_load(off.to_yaml(minimal=True))["baselines"] == []
    assert "baselines" not in yaml.safe_load(_recipe(banking_csv).to_yaml(minimal=True))
    with pytest.raises(RecipeError, match=r"baselines\[0\]: 'retrieval' does not apply to classification"):
        _recipe(banking_csv, baselines=["retrieval"])
    with pytest.raises(RecipeError, match=r"baselines\[0\]: unknown baseline 'tfidf'"):
        _recipe(banking_csv, baselines=["tfidf"])


def test_a_classification_run_finds_its_rate_and_reports_the_baseline(banking_csv):
    import ft_lab
    from ft_lab.analysis.html_report import build_report
    from ft_lab.cli.terminal import metric_table

    handle = ft_lab.run(_recipe(banking_csv, model={"compare_base": False},
                                train={"learning_rate": "find", "lr_find_steps": 24, "max_steps": 6, "batch_size": 16}))
    assert handle.wait(timeout=900) == "completed", handle.error
    found = json.loads((handle.dir / "lr_find.json").read_text())
    assert len(found["learning_rates"]) == len(found["losses"]) == found["steps"] > 6
    assert found["learning_rates"] == sorted(found["learning_rates"]) and found["seconds"] > 0
    assert handle.recipe().train.learning_rate == found["chosen"]  # the run's recipe keeps the rate it used
    assert [e["learning_rate"] for e in handle.events("lr_find")] == [found["chosen"]]
    from ft_lab.widgets.train_panel import TrainPanel
    panel = TrainPanel()  # the Train step draws the range test's curve once its event arrives
    panel.handle = handle
    assert panel.lr_plot.value == ""
    panel.apply_events(handle.events())
    assert "ft-lab-mark" in panel.lr_plot.value and f"chosen {found['chosen']:.3g}" in panel.lr_plot.value
    assert panel.lr_plot.value.count("<polyline") == 1
    assert isinstance(handle.recipe().model.max_length, int)
    metrics = handle.metrics()
    tfidf = metrics["baselines"]["tfidf_logreg"]
    assert set(tfidf) == {"accuracy", "macro_f1"} and tfidf["accuracy"] > 0.5  # 5 intents, well separated
    assert metrics["winner"]["metric"] == "accuracy" and {metrics["winner"]["best"], metrics["winner"]["runner_up"]} == {
        "tfidf_logreg", "finetuned"}
    table = metric_table(metrics)
    assert "tfidf_logreg" in table.splitlines()[0] and " is best: " in table.splitlines()[-1]
    assert "baseline: tfidf_logreg" in build_report(handle.dir)
    assert (handle.dir / "predictions" / "baseline_tfidf_logreg.jsonl").exists()
    from ft_lab.evaluation.rescore import evaluate_run
    again = evaluate_run(handle.dir, ["accuracy"])  # re-evaluation re-scores the baselines' answers too
    assert again["baselines"]["tfidf_logreg"]["accuracy"] == tfidf["accuracy"]


def test_generation_baselines_retrieve_and_prompt_with_examples(qa_jsonl):
    import ft_lab

    handle = ft_lab.run({"task": "generation", "data": {"path": str(qa_jsonl)},
                         "model": {"compare_base": False, "max_length": 48},
                         "train": {"max_steps": 3, "batch_size": 8, "learning_rate": 1e-3},
                         "baselines": [{"name": "kshot", "k": 2}, "retrieval"]})
    assert handle.wait(timeout=900) == "completed", handle.error
    base = handle.metrics()["baselines"]
    # every test prompt also appears in the training split: retrieval answers each one exactly
    assert base["retrieval"]["exact_match"] == 1.0
    assert set(base["kshot"]) >= {"exact_match", "chrf"}
    rows = [json.loads(x) for x in (handle.dir / "predictions" / "baseline_kshot.jsonl").read_text().splitlines()]
    assert rows and all(set(r) >= {"id", "input", "reference", "prediction"} for r in rows)
