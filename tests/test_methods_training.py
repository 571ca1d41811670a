"""Every built-in method trains the tiny model on CPU, lowers the loss by a clear margin, and its saved
result reloads onto a fresh base with the same predictions (ft_lab.testing). The one place built-in methods
are trained: tests/test_conformance.py checks that each has a case here with its default Config instead of
running the kit's (looser) training check again."""
import warnings

import pytest

from ft_lab.testing import (check_method, logits, single_thread, tiny_batch, tiny_model,
                                        tiny_tokenizer)
from ft_lab.core.plugins import load_registry

REGISTRY = load_registry(strict=True)

# (method, config, learning rate): rates that fit a 40-step run on the tiny task
CASES = [
    ("full", {}, 1e-2),
    ("freeze", {}, 1e-2),
    ("freeze", {"train_top_layers": 1}, 1e-2),
    ("freeze", {"train_top_layers": 0, "train_modules": [r"layers\.0\.mlp"]}, 1e-2),
    ("head", {}, 1e-2),
    ("lora", {}, 1e-2),
    ("adalora", {}, 1e-2),
    ("ia3", {}, 1e-1),
    ("prefix_tuning", {}, 1e-1),
    ("prompt_tuning", {}, 1e-1),
    ("p_tuning", {}, 1e-2),
    ("adapter", {}, 1e-2),
]


def make(name, **config):
    cls = REGISTRY.get("method", name)
    return cls(cls.Config(**config))


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        yield


TASKS = ("classification", "generation")


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name,config,lr", CASES, ids=[f"{c[0]}{'-' + '-'.join(c[1]) if c[1] else ''}" for c in CASES])
def test_method_learns_and_reloads(name, config, lr, task, tmp_path):
    # AdaLoRA reloads with its pruned ranks cut out of the matrices: same values, other summation order
    result = check_method(make(name, **config), task, tmp_path, lr=lr, drop=0.6, exact=name != "adalora")
    assert result.after < 0.6 * result.before


@pytest.mark.parametrize("variant", [{"rslora": True}, {"dora": True}, {"target_modules": ["all-linear"]},
                                     {"init": "gaussian"}, {"init": "orthogonal"}, {"bias": "lora_only"}],
                         ids=lambda v: "-".join(f"{k}={v}" for k, v in v.items()))
def test_lora_variants_learn_and_reload(variant, tmp_path):
    check_method(make("lora", **variant), "classification", tmp_path, lr=1e-2)


def test_lora_all_linear_adapts_every_linear_layer_but_the_head():
    model = make("lora", target_modules=["all-linear"]).prepare(tiny_model("generation"), "generation")
    adapted = {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n, _ in model.named_parameters() if ".lora_A" in n}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.mark.parametrize("init", ["pissa", "olora"])
def test_residual_inits_save_an_adapter_for_the_untouched_base(init, tmp_path):
    """PiSSA/OLoRA rewrite the base weights; the saved adapter is converted to work on the original base."""
    method = make("lora", init=init, dropout=0.0)
    result = check_method(method, "generation", tmp_path, lr=1e-2, exact=False)
    import json
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    assert saved["r"] == 2 * method.config.r and saved["init_lora_weights"] is True
    assert result.after < 0.5 * result.before


def test_prompt_tuning_starts_from_the_text_embeddings(tmp_path):
    import torch
    tok = tiny_tokenizer()
    method = make("prompt_tuning", num_virtual_tokens=5, init="text", init_text="w7 w8")
    method.bind(tokenizer=tok)
    base = tiny_model("classification")
    words = base.get_input_embeddings().weight.detach().clone()
    model = method.prepare(base, "classification")
    soft = model.prompt_encoder["default"].embedding.weight
    assert torch.equal(soft, words[[7, 8, 7, 8, 7]])
    check_method(make("prompt_tuning", init="text", init_text="w7 w8 w9"), "classification", tmp_path,
                 lr=1e-1, tokenizer=tok)


def test_prompt_tuning_text_init_without_tokenizer_is_refused():
    from ft_lab.errors import UserError
    with pytest.raises(UserError, match="needs the run's tokenizer"):
        make("prompt_tuning", init="text", init_text="hello").prepare(tiny_model("generation"), "generation")


def test_adalora_callback_reallocates_ranks(tmp_path):
    """The callback the engine passes to the Trainer prunes ranks: the final budget is below init_r."""
    method = make("adalora", init_r=8, target_r=2)
    result = check_method(method, "classification", tmp_path, lr=1e-2, exact=False)
    pattern = result.model.peft_config["default"].rank_pattern
    assert pattern, "update_and_allocate never ran"
    kept = sum(sum(mask) for mask in pattern.values())
    assert kept < 8 * len(pattern)


def test_adalora_without_step_count_is_refused():
    from ft_lab.errors import UserError
    with pytest.raises(UserError, match="number of training updates"):
        make("adalora").prepare(tiny_model("generation"), "generation")


def test_freeze_trains_only_the_top_layers_norm_and_head():
    model = make("freeze", train_top_layers=1).prepare(tiny_model("classification"), "classification")
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith(("model.layers.1.", "model.norm.", "score.")) for n in trained)
    assert "score.weight" in trained and "model.norm.weight" in trained


def test_freeze_pattern_matching_nothing_is_refused():
    from ft_lab.errors import UserError
    with pytest.raises(UserError, match="matches no parameter"):
        make("freeze", train_modules=["no_such_module"]).prepare(tiny_model("generation"), "generation")


def test_head_on_tied_embeddings_trains_the_shared_matrix():
    from transformers import LlamaForCausalLM
    base = tiny_model("generation")
    base.config.tie_word_embeddings = True
    tied = LlamaForCausalLM(base.config)
    model = make("head").prepare(tied, "generation")
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained == ["model.embed_tokens.weight"]


def test_merge_folds_lora_into_a_plain_model():
    import torch
    from transformers import LlamaForSequenceClassification
    method = make("lora", init="gaussian")
    model = method.prepare(tiny_model("classification"), "classification")
    batch = tiny_batch("classification")
    want = logits(model, batch)
    merged = method.merge(model)
    assert type(merged) is LlamaForSequenceClassification
    torch.testing.assert_close(logits(merged, batch), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["adapter", "prefix_tuning", "prompt_tuning", "p_tuning"])
def test_merge_of_a_non_mergeable_method_is_refused(name):
    from ft_lab.errors import UserError
    method = make(name)
    model = method.prepare(tiny_model("generation"), "generation")
    with pytest.raises(UserError, match="cannot be merged"):
        method.merge(model)


def test_every_method_config_field_has_help():
    for name in REGISTRY.names("method"):
        from ft_lab.core import configs
        cls = REGISTRY.get("method", name)
        for f in configs.fields_of(cls.Config):
            assert configs.help_of(f), f"{name}.{f.name} has no help text"
