"""The built-in ``tiny`` model: a small Llama-style model and a byte-level BPE tokenizer trained here.

Built on first use from ``assets/tiny_corpus.txt`` (English and Japanese text, see ATTRIBUTION.md),
briefly pre-trained as a causal LM so that adapters have something to adapt, and cached in the user
cache folder (``FT_LAB_CACHE`` overrides it). It lets the demo, examples and tests run offline on a CPU::

    path = ensure_tiny()          # folder loadable with AutoModelForCausalLM / AutoTokenizer
"""
from __future__ import annotations

import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

VERSION = "tiny-v1"
VOCAB_SIZE = 4096
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>"]
PRETRAIN_STEPS = 300


def cache_dir() -> Path:
    env = os.environ.get("FT_LAB_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir
    return Path(user_cache_dir("ft-lab"))


def ensure_tiny(log=print) -> Path:
    """The cached tiny model folder, built (about half a minute on 2 cores) if it is not there yet."""
    target = cache_dir() / "models" / VERSION
    if (target / "config.json").exists() and (target / "tokenizer.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"Building the built-in tiny model once, in {target} ...")
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        build_tiny(tmp)
        try:
            os.replace(tmp, target)  # atomic; another process may have won the race
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def corpus_lines() -> list[str]:
    text = resources.files("ft_lab").joinpath("assets/tiny_corpus.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def build_tokenizer():
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"], chat_template=CHAT_TEMPLATE,
        model_max_length=512, padding_side="right")


def build_tiny(folder: Path, pretrain_steps: int = PRETRAIN_STEPS) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    _pretrain(model, tokenizer, pretrain_steps)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text(
        "# ft-lab tiny model\n\nA small Llama-style model (2 layers, hidden size 128) with a byte-level BPE "
        f"tokenizer of {len(tokenizer)} tokens, built by ft-lab from its bundled text and pre-trained for "
        f"{pretrain_steps} steps. For demos and tests only: it knows little language.\n", encoding="utf-8")


def _pretrain(model, tokenizer, steps: int, seq_len: int = 64, batch: int = 16) -> None:
    import torch

    ids: list[int] = []
    for line in corpus_lines():
        ids += tokenizer(line)["input_ids"] + [tokenizer.eos_token_id]
    data = torch.tensor(ids[: (len(ids) // seq_len) * seq_len]).view(-1, seq_len)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(steps, 1), pct_start=0.1)
    model.train()
    for _ in range(steps):
        batch_ids = data[torch.randint(0, len(data), (batch,), generator=gen)]
        loss = model(input_ids=batch_ids, labels=batch_ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
    model.eval()
