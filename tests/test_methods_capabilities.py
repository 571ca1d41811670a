"""Capabilities are checked before training: known bad combinations are refused with why and what instead,
and the declared capabilities match what the methods really do (gradient checkpointing is tried)."""
import importlib.util
import warnings
from dataclasses import dataclass

import pytest

from ft_lab.errors import RecipeError

from ft_lab.core.components import Capabilities, Method
from ft_lab.errors import UserError
from ft_lab.core.method_checks import asked, check_capabilities
from ft_lab.testing import single_thread, tiny_batch, tiny_model, tiny_tokenizer
from ft_lab.core.plugins import load_registry

REGISTRY = load_registry(strict=True)
BUILTIN = [n for n in REGISTRY.names("method") if REGISTRY.owner("method", n) == "ft_lab.default_plugins.default_methods"]


def method(name):
    return REGISTRY.get("method", name)


def check(recipe, name, **kwargs):
    return check_capabilities(recipe, method(name), registry=REGISTRY, **kwargs)


def test_prefix_tuning_with_packed_sequences_is_refused_with_alternatives():
    problems = check({"task": "generation", "train": {"packing": True}}, "prefix_tuning")
    assert len(problems) == 1
    msg = problems[0]
    assert "'prefix_tuning' does not work with packed sequences" in msg
    assert "set train.packing: false" in msg
    alternatives = msg.split("choose a method that does: ")[1].split(", ")
    assert "lora" in alternatives and "prompt_tuning" not in alternatives and "qlora" not in alternatives


@pytest.mark.parametrize("name", ["adapter", "prefix_tuning", "prompt_tuning", "p_tuning"])
def test_non_mergeable_method_with_merge_is_refused(name):
    problems = check({"task": "generation"}, name, merge=True)
    assert len(problems) == 1 and "merging into the base (--merge)" in problems[0]
    assert "export the adapter without --merge" in problems[0] and "lora" in problems[0]
    assert check({"task": "generation", "export": {"merge": True}}, name) == problems


def test_prefix_tuning_with_gradient_checkpointing_is_refused():
    problems = check({"task": "classification", "train": {"gradient_checkpointing": True}}, "prefix_tuning")
    assert len(problems) == 1 and "gradient checkpointing" in problems[0]
    assert "train.gradient_checkpointing: false" in problems[0]


@pytest.mark.parametrize("name", ["full", "freeze", "head", "adapter"])
def test_methods_that_train_or_save_base_weights_refuse_a_quantized_base(name):
    problems = check({"task": "generation", "model": {"quantization": "4bit"}}, name)
    assert len(problems) == 1 and "a quantized base" in problems[0] and "qlora" not in problems[0].split(": ")[-1]


def test_qlora_without_cuda_is_refused_and_points_to_lora():
    problems = check({"task": "classification"}, "qlora", cuda_available=False)
    assert any("needs a CUDA GPU and none is visible" in p and "choose lora" in p for p in problems)


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is not None, reason="bitsandbytes is installed")
def test_qlora_without_bitsandbytes_says_what_to_install():
    problems = check({"task": "classification"}, "qlora", cuda_available=True)
    assert problems == ["method: 'qlora' needs the Python package 'bitsandbytes', which is not installed; "
                        "pip install 'ft-lab[bitsandbytes]' (or pip install bitsandbytes)"]


def test_qlora_refuses_an_unquantized_base():
    with pytest.raises(UserError, match="needs the base loaded quantized"):
        method("qlora")().prepare(tiny_model("generation"), "generation")


def test_qlora_config_refuses_residual_inits():
    with pytest.raises(ValueError, match="rewrites the base weights"):
        method("qlora").Config(init="pissa")


def test_a_task_the_method_does_not_support_is_refused():
    class GenerationOnly(Method):
        """Only for generation."""
        name = "generation_only"
        capabilities = Capabilities(tasks=("generation",))

        @dataclass
        class Config:
            pass

    problems = check_capabilities({"task": {"type": "classification"}}, GenerationOnly, registry=REGISTRY)
    assert len(problems) == 1 and "does not support classification" in problems[0]
    assert "lora" in problems[0].split("choose one of: ")[1]


def test_multi_process_is_read_from_num_processes():
    assert asked({"train": {"num_processes": 4}})["multi_process"]
    assert not asked({"train": {"num_processes": 1}})["multi_process"]


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "qlora"])
def test_a_plain_recipe_passes_every_method(name):
    assert check({"task": "classification", "train": {"num_processes": 2}}, name) == []


def test_a_recipe_object_is_checked_too(tmp_path):
    from ft_lab.core.recipe import Recipe
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,x\nb,y\n", encoding="utf-8")
    recipe = Recipe(task="generation", data={"path": str(data)}, method={"name": "prefix_tuning"})
    assert check(recipe, "prefix_tuning") == []
    recipe.train.gradient_checkpointing = True  # an in-place edit, as the panels make
    problems = check(recipe, "prefix_tuning")
    assert len(problems) == 1 and "gradient checkpointing" in problems[0]
    # the recipe itself refuses the combination when it is validated, before any training
    with pytest.raises(RecipeError, match="'prefix_tuning' does not work with gradient checkpointing"):
        recipe.validate()


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "qlora"])
def test_declared_gradient_checkpointing_matches_reality(name):
    """Methods that declare it train with checkpointing on (every trainable weight gets a gradient);
    the one that does not is refused by peft itself."""
    import torch
    cls = method(name)
    m = cls(cls.Config())
    m.bind(tokenizer=tiny_tokenizer(), total_steps=20)
    model = tiny_model("generation")
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        if not cls.capabilities.gradient_checkpointing:
            with pytest.raises(UserError, match="gradient checkpointing"):
                m.prepare(model, "generation")
            return
        model = m.prepare(model, "generation")
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-2)
        for _ in range(2):  # two steps: zero-initialised halves (LoRA B, adapter up) give nothing at first
            opt.zero_grad()
            model(**tiny_batch("generation", n=4)).loss.backward()
            opt.step()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing, f"no gradient with checkpointing on: {missing[:3]}"


def test_a_language_model_classifier_is_checked_as_generation():
    from ft_lab import Capabilities, Method

    class GenerationOnly(Method):
        """Works on causal language models only."""
        name = "generation_only"
        capabilities = Capabilities(tasks=("generation",))

        def prepare(self, model, task):
            return model

    # what the model is prepared for decides: with classifier: lm it generates the label words
    lm = {"task": {"type": "classification", "classifier": "lm"}}
    assert check_capabilities(lm, GenerationOnly, registry=REGISTRY) == []
    head = {"task": {"type": "classification", "classifier": "head"}}
    problems = check_capabilities(head, GenerationOnly, registry=REGISTRY)
    assert len(problems) == 1 and "does not support classification" in problems[0]
