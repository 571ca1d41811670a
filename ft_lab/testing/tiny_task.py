"""The tiny task the conformance kit trains methods on; ``check_method`` is the detailed form of
``ft_lab.testing.check_method_learns_and_reloads`` (choose the learning rate, the margin, exactness).

    from ft_lab.testing import check_method
    result = check_method(MyMethod(MyMethod.Config()), "classification", tmp_path)
    # trains a tiny Llama on CPU, asserts the loss fell by a clear margin and that
    # save -> load gives the same logits; returns the losses for the test to report.

Everything is built at run time from a fixed seed: a tiny Llama (2 layers, hidden size 32), a
word-level tokenizer of 300 words, and a small task to memorise (random labels for classification,
fixed token sequences for generation).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

VOCAB = 300
PAD = 0


@contextmanager
def single_thread():
    """Run torch on one thread: on a shared small machine, threads fighting over tiny matrices make
    these runs several times slower. Restores the previous setting."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tiny_model(task: str, seed: int = 0):
    """A 2-layer Llama with hidden size 32 (random weights, same for the same seed).

    Weights are drawn wider than a real init (std 0.25): with std 0.02 the frozen LM head of a
    32-wide model cannot produce confident logits, and no adapter method could lower the loss.
    """
    import torch
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        LlamaForSequenceClassification,
    )

    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=PAD, num_labels=2, initializer_range=0.25)
    torch.manual_seed(seed)
    cls = LlamaForSequenceClassification if task == "classification" else LlamaForCausalLM
    return cls(cfg).float().eval()


def tiny_tokenizer():
    """A word-level tokenizer whose words are w0 .. w299 (w0 is the pad token)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(VOCAB)}, unk_token="w1"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="w0", unk_token="w1")


def tiny_batch(task: str, n: int = 16, seed: int = 1) -> dict:
    """One fixed batch, rows of 6-12 tokens, right-padded: random labels to memorise (classification)
    or cyclic sequences of 8 tokens to continue (generation)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    length = 12
    ids = torch.randint(2, VOCAB, (n, length), generator=g)
    lengths = torch.randint(6, length + 1, (n,), generator=g)
    lengths[0] = length
    mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    ids = ids * mask + PAD * (1 - mask)
    if task == "classification":
        labels = torch.randint(0, 2, (n,), generator=g)
    else:  # cycles through 8 tokens from a random phase: next token = successor of this one
        cycle = torch.arange(10, 18)
        phase = torch.randint(0, 8, (n, 1), generator=g)
        ids = cycle[(phase + torch.arange(length)[None, :]) % 8] * mask + PAD * (1 - mask)
        labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def train_steps(model, method, batch: dict, steps: int, lr: float) -> list[float]:
    """Plain AdamW on one batch; runs the method's callbacks like the Trainer does. Returns the losses."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    assert params, f"method '{method.name}' left nothing to train"
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    callbacks = method.callbacks()
    state = SimpleNamespace(global_step=0)
    losses = []
    model.train()
    for step in range(steps):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        for cb in callbacks:  # the Trainer calls on_optimizer_step between step() and zero_grad()
            cb.on_optimizer_step(None, state, None, model=model)
        opt.zero_grad()
        state.global_step = step + 1
        losses.append(loss.item())
    model.eval()
    return losses


def eval_loss(model, batch: dict) -> float:
    import torch
    model.eval()
    with torch.no_grad():
        return float(model(**batch).loss)


def logits(model, batch: dict):
    import torch
    model.eval()
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


@dataclass
class Result:
    before: float
    after: float
    model: object
    reloaded: object


def check_method(method, task: str, folder, steps: int = 40, lr: float = 1e-2, drop: float = 0.5,
                 tokenizer=None, exact: bool = True) -> Result:
    """Train ``method`` on the tiny task, assert the loss falls below ``drop`` times its start, then
    save to ``folder``, reload on a fresh base and assert the logits match (bit for bit when ``exact``)."""
    import torch

    batch = tiny_batch(task)
    method.bind(tokenizer=tokenizer or tiny_tokenizer(), total_steps=steps)
    model = method.prepare(tiny_model(task), task)
    before = eval_loss(model, batch)
    train_steps(model, method, batch, steps, lr)
    after = eval_loss(model, batch)
    assert after < drop * before, (f"method '{method.name}' ({task}): loss {before:.3f} -> {after:.3f}, "
                                   f"expected below {drop * before:.3f}")
    method.save(model, folder)
    reloaded = type(method).load(tiny_model(task), folder)
    want, got = logits(model, batch), logits(reloaded, batch)
    if exact:
        assert torch.equal(want, got), (f"method '{method.name}': reloaded logits differ by "
                                        f"{(want - got).abs().max():.3g}")
    else:
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    return Result(before, after, model, reloaded)
