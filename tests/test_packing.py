"""Padding-free packing trains the same thing as padded batches: same loss, same gradients, and no
row attends to another (full fine-tuning and LoRA, on a small random Llama)."""
from __future__ import annotations

import pytest
import torch

from ft_lab.training.tokenization import PadCollator
from ft_lab.training.packing import (PackedCollator, PackedDataset, budget_for, pack_rows,
                                     padded_tokens, use_packed_attention)


def small_llama(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=97, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         attn_implementation="sdpa")
    return LlamaForCausalLM(config).eval()


def rows(lengths=(7, 19, 3, 12, 25), seed=1):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        ids = torch.randint(1, 97, (n,), generator=g).tolist()
        prompt = max(1, n // 3)
        out.append({"input_ids": ids, "attention_mask": [1] * n, "labels": [-100] * prompt + ids[prompt:]})
    return out


def with_lora(model):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear"))
    torch.manual_seed(3)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # B starts at zero; a non-zero update makes the check mean something
            torch.nn.init.normal_(p, std=0.05)
    return model


def loss_and_grads(model, batch):
    model.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


@pytest.mark.parametrize("method", ["full", "lora"])
def test_packed_loss_and_gradients_equal_padded(method):
    model = small_llama()
    if method == "lora":
        model = with_lora(model)
    data = rows()
    padded_loss, padded_grads = loss_and_grads(model, PadCollator(pad_id=0)(data))
    assert use_packed_attention(model)
    packed_loss, packed_grads = loss_and_grads(model, PackedCollator()(data))
    assert torch.allclose(packed_loss, padded_loss, rtol=1e-5, atol=1e-6), (packed_loss, padded_loss)
    assert padded_grads and packed_grads.keys() == padded_grads.keys()
    for name, g in padded_grads.items():
        assert torch.allclose(packed_grads[name], g, rtol=1e-4, atol=1e-6), name


def test_no_row_attends_to_another():
    model = small_llama()
    assert use_packed_attention(model)
    data = rows()
    collate = PackedCollator()
    batch = collate(data)
    bounds = batch["cu_seq_lens_q"].tolist()
    with torch.no_grad():
        packed = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0]
        for i, row in enumerate(data):  # each row's logits in the pack are its logits alone
            alone = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
            assert torch.allclose(packed[bounds[i]:bounds[i + 1]], alone, atol=1e-5), i
        changed = [dict(r) for r in data]
        changed[0] = {**data[0], "input_ids": [(t % 96) + 1 for t in reversed(data[0]["input_ids"])]}
        other = model(**{k: v for k, v in collate(changed).items() if k != "labels"}).logits[0]
    assert not torch.allclose(other[:bounds[1]], packed[:bounds[1]])  # the change is visible in row 0
    assert torch.equal(other[bounds[1]:], packed[bounds[1]:])  # and nowhere else


def test_first_token_of_each_row_is_never_a_target():
    data = rows()
    batch = PackedCollator()(data)
    starts = batch["cu_seq_lens_q"][:-1].tolist()
    assert all(batch["labels"][0, s].item() == -100 for s in starts)
    assert batch["position_ids"][0, starts].tolist() == [0] * len(data)
    assert batch["input_ids"].shape == (1, sum(len(r["input_ids"]) for r in data))


def test_bins_hold_every_row_once_within_the_budget():
    lengths = [5, 40, 12, 33, 7, 7, 21, 60, 2, 18]
    budget = budget_for(lengths, rows_per_batch=3)
    assert budget == max(60, -(-3 * sum(lengths) // len(lengths)))
    bins = pack_rows(lengths, budget, seed=7)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= budget for b in bins)
    assert bins == pack_rows(lengths, budget, seed=7) != pack_rows(lengths, budget, seed=8)
    assert budget_for(lengths, 3, tokens_per_batch=10) == 60  # never below the longest row
    ds = PackedDataset([{"input_ids": [1] * n, "labels": [1] * n} for n in lengths], bins)
    assert ds.real_tokens() == sum(lengths) < padded_tokens(lengths, 3, seed=7)


def test_padded_evaluation_still_masks_padding_after_the_switch():
    model = small_llama()
    data = rows()
    batch = PadCollator(pad_id=0)(data)
    with torch.no_grad():
        before = model(**batch).loss
        assert use_packed_attention(model)
        after = model(**batch).loss
    assert torch.allclose(before, after, atol=1e-6)


def test_a_model_with_sliding_windows_is_not_switched():
    from transformers import MistralConfig, MistralForCausalLM

    model = MistralForCausalLM(MistralConfig(vocab_size=97, hidden_size=32, intermediate_size=64,
                                             num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                             sliding_window=16, attn_implementation="sdpa"))
    assert not use_packed_attention(model)
    assert model.config._attn_implementation == "sdpa"
