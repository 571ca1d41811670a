"""ft-lab-reft: LoReFT trains the tiny model with the base frozen, reloads exactly, and edits only the
chosen positions. Uses ft-lab's method conformance kit, as any third-party method would."""
import warnings

import pytest

from ft_lab.testing import check_method, parametrize_with_checks, single_thread, tiny_batch, tiny_model
from ft_lab_reft.loreft import LoReFTMethod, position_mask


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings(), single_thread():
        warnings.simplefilter("ignore")
        yield


@parametrize_with_checks([LoReFTMethod])
def test_conformance(component, check):
    check(component)


def test_position_mask_skips_padding():
    import torch
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]])
    got = position_mask(mask, first=1, last=2)
    assert got.tolist() == [[True, False, False, True, True, False, False],
                            [True, True, True, False, False, False, False]]


def test_classification_learns_with_the_base_frozen_and_reloads(tmp_path):
    import torch
    base_state = {k: v.clone() for k, v in tiny_model("classification").state_dict().items()}
    result = check_method(LoReFTMethod(LoReFTMethod.Config(rank=4)), "classification", tmp_path, drop=0.5)
    trained = dict(result.model.named_parameters())
    assert {n for n, p in trained.items() if p.requires_grad} >= {"score.weight"}
    for name, value in base_state.items():
        if name != "score.weight":
            assert torch.equal(result.model.state_dict()[name], value), f"{name} changed: the base must stay frozen"
    r = result.model.model.layers[0].ft_lab_reft.rotate.weight
    torch.testing.assert_close(r @ r.T, torch.eye(4), atol=1e-5, rtol=0)  # rows stay orthonormal


def test_generation_learns_and_reloads(tmp_path):
    # edit every prompt position of the 12-token rows at both layers
    check_method(LoReFTMethod(LoReFTMethod.Config(rank=4, first=12, last=0)), "generation", tmp_path, drop=0.5)


def test_only_the_chosen_positions_change():
    import torch
    batch = tiny_batch("generation", n=2)
    base = tiny_model("generation")
    with torch.no_grad():
        plain = base.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    model = LoReFTMethod(LoReFTMethod.Config(layers=[1], first=2, last=0)).prepare(tiny_model("generation"), "generation")
    with torch.no_grad():
        edited = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    changed = (edited - plain).abs().amax(-1) > 1e-6
    # the top layer is edited at positions 0 and 1 only; nothing above it spreads the change
    assert changed[:, :2].all() and not changed[:, 2:].any()


def test_cached_generation_matches_uncached():
    """With the KV cache, the prompt is edited once at prefill; without it, on every step: same tokens."""
    import torch
    model = LoReFTMethod(LoReFTMethod.Config(first=3, last=0)).prepare(tiny_model("generation"), "generation")
    prompt = tiny_batch("generation", n=1)["input_ids"][:, :6]
    kwargs = dict(max_new_tokens=6, do_sample=False, pad_token_id=0)
    with torch.no_grad():
        cached = model.generate(prompt, use_cache=True, **kwargs)
        uncached = model.generate(prompt, use_cache=False, **kwargs)
    assert torch.equal(cached, uncached)


def test_bad_layers_are_refused():
    from ft_lab.errors import UserError
    with pytest.raises(UserError, match="out of range"):
        LoReFTMethod(LoReFTMethod.Config(layers=[5])).prepare(tiny_model("generation"), "generation")
    with pytest.raises(ValueError, match="no position to edit"):
        LoReFTMethod.Config(first=0, last=0)


def test_trains_with_gradient_checkpointing_as_declared():
    import torch
    assert LoReFTMethod.capabilities.gradient_checkpointing
    model = tiny_model("generation")
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()
    model = LoReFTMethod(LoReFTMethod.Config(first=3, last=0)).prepare(model, "generation")
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        model(**tiny_batch("generation", n=4)).loss.backward()
        opt.step()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing
