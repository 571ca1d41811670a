"""Generation evaluation keeps memory bounded as prompts grow (k-shot prompts, long documents): batches of
long prompts are split by a prompt-token budget, and the reference NLL never holds more than a budget of
logits; the answers and NLLs are the same as with one big batch."""
from __future__ import annotations

import pytest

from ft_lab.evaluation import predict
from ft_lab.testing import single_thread, tiny_model, tiny_tokenizer


def _examples(n: int) -> list[dict]:
    return [{"prompt": " ".join(f"w{(i * 7 + j) % 290 + 5}" for j in range(6 + 3 * i)),
             "response": " ".join(f"w{(i + j) % 290 + 5}" for j in range(4 + i % 3))} for i in range(n)]


def _plain_nll(model, tokenizer, examples):
    """The reference: one example at a time, log_softmax over the whole vocabulary."""
    import torch

    from ft_lab.data.prompts import encode_generation
    out = []
    for ex in examples:
        enc = encode_generation(tokenizer, ex, None, 120)
        ids, labels = torch.tensor([enc["input_ids"]]), torch.tensor([enc["labels"]])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[:, :-1].float(), dim=-1)
        target = labels[:, 1:]
        valid = target != -100
        picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
        out.append((float(-picked.sum()), int(valid.sum())))
    return out


def test_budgets_split_batches_without_changing_answers_or_nll(monkeypatch):
    model, tokenizer = tiny_model("generation"), tiny_tokenizer()
    examples = _examples(7)
    with single_thread():
        whole = list(predict.generate(model, tokenizer, examples, 8, 5, 120))
        calls = []
        real = predict._generate_batch
        monkeypatch.setattr(predict, "_generate_batch", lambda m, prompts, *a: calls.append(len(prompts)) or real(
            m, prompts, *a))
        monkeypatch.setattr(predict, "PROMPT_TOKENS_PER_BATCH", 60)   # about two prompts a batch
        monkeypatch.setattr(predict, "LOGITS_PER_BATCH", 40 * 300)    # one row of logits at a time
        split = list(predict.generate(model, tokenizer, examples, 8, 5, 120))
        plain = _plain_nll(model, tokenizer, examples)
    assert len(calls) > 2 and max(calls) < len(examples), calls
    assert [r["id"] for r in split] == list(range(len(examples)))
    assert [r["prediction"] for r in split] == [r["prediction"] for r in whole]
    for a, b, (nll, n) in zip(split, whole, plain):
        assert a["n_tokens"] == b["n_tokens"] == n > 0
        assert a["nll"] == pytest.approx(b["nll"], rel=1e-4) and a["nll"] == pytest.approx(nll, rel=1e-4)


def test_rows_per_batch_is_at_least_one_and_at_most_the_batch():
    assert predict.rows_per_batch(10_000, 50_000, 1024, 32) == 1
    assert predict.rows_per_batch(10, 1, 16_384, 32) == 32
    assert predict.rows_per_batch(1000, 1, 16_384, 32) == 16
