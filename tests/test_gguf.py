"""Models from GGUF files: a tiny Llama written as GGUF, loaded, trained and saved; and ``ft-lab export --gguf``:
f16, bf16 and q8_0 files of Llama, Mistral, Qwen2 and Gemma 2 shapes read back by transformers with the logits
of the model they came from, and the Ollama Modelfile beside them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ft_lab.errors import UserError
from ft_lab.core.recipe import ModelSection

gguf = pytest.importorskip("gguf")


def write_tiny_gguf(model_dir: Path, out: Path) -> Path:
    """The built-in tiny Llama (weights, byte-level BPE tokenizer) as an fp32 GGUF file (ft-lab's own writer)."""
    from ft_lab.workflows.gguf_export import write_gguf

    return write_gguf(model_dir, out, "f32")


@pytest.fixture
def tiny_gguf(tiny_model_dir, tmp_path) -> Path:
    folder = tmp_path / "gguf-model"
    folder.mkdir()
    return write_tiny_gguf(Path(tiny_model_dir), folder / "tiny.f32.gguf")


def test_gguf_model_loads_with_the_same_weights_and_saves(tiny_gguf, tiny_model_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from ft_lab.models.model_loading import load_model, load_tokenizer, resolve_source

    spec = ModelSection(name_or_path=str(tiny_gguf.parent), gguf_file=tiny_gguf.name)
    source = resolve_source(spec)
    tok = load_tokenizer(spec, source)
    model = load_model(spec, source, "generation", None, tok)
    original = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    ids = tok("My card has not arrived yet", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, original(ids).logits, atol=1e-4)
    model.save_pretrained(str(tmp_path / "saved"))  # a GGUF-backed model refuses this; ft-lab's plain copy does not
    assert (tmp_path / "saved" / "model.safetensors").exists()


def test_a_recipe_trains_a_gguf_model(tiny_gguf, qa_jsonl):
    import ft_lab

    handle = ft_lab.run({"task": "generation", "data": {"path": str(qa_jsonl)},
                         "model": {"name_or_path": str(tiny_gguf.parent), "gguf_file": tiny_gguf.name,
                                   "compare_base": False},
                         "method": {"name": "lora"},  # an adapter on the GGUF model (auto trains tiny in full)
                         "train": {"max_steps": 4, "batch_size": 8, "learning_rate": 1e-3}, "baselines": []})
    assert handle.wait(timeout=600) == "completed", handle.error
    assert (handle.dir / "final" / "adapter_model.safetensors").exists()


def test_a_missing_gguf_file_is_named_with_the_ones_there(tiny_gguf):
    from ft_lab.models.model_loading import resolve_source

    with pytest.raises(UserError, match=r"gguf_file: .*missing\.gguf not found \(GGUF files there: tiny\.f32\.gguf\)"):
        resolve_source(ModelSection(name_or_path=str(tiny_gguf.parent), gguf_file="missing.gguf"))


@pytest.mark.parametrize("kind,tolerance", [("f16", 5e-3), ("bf16", 5e-2), ("q8_0", 0.15)])
def test_export_gguf_round_trip_and_modelfile(kind, tolerance, tiny_model_dir, tmp_path, capsys):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ft_lab.cli import main

    out = tmp_path / "gguf"
    assert main(["export", str(tiny_model_dir), "--out", str(out), "--gguf", kind]) == 0
    name = f"{Path(tiny_model_dir).name}-{kind}.gguf"
    assert sorted(p.name for p in out.iterdir()) == sorted(["Modelfile", "README.md", name])
    reader = gguf.GGUFReader(str(out / name))
    assert "<|im_start|>" in bytes(reader.fields["tokenizer.chat_template"].parts[-1]).decode()
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    back_tok = AutoTokenizer.from_pretrained(str(out), gguf_file=name)
    text = "My card has not arrived yet, what can I do?"
    assert back_tok(text)["input_ids"] == tok(text)["input_ids"]
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ref = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()(ids).logits
        back = AutoModelForCausalLM.from_pretrained(str(out), gguf_file=name).eval()(ids).logits
    assert (ref - back).abs().max().item() < tolerance
    assert (ref.argmax(-1) == back.argmax(-1)).float().mean().item() >= 0.9
    modelfile = (out / "Modelfile").read_text()
    assert f"FROM ./{name}" in modelfile and "<|im_start|>assistant" in modelfile
    assert 'PARAMETER stop "</s>"' in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert "largest logit difference" in (out / "README.md").read_text()


@pytest.mark.parametrize("family", ["qwen2", "mistral", "gemma2"])
def test_other_families_round_trip(family, tiny_model_dir, tmp_path):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ft_lab.workflows.gguf_export import write_gguf

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    name = {"qwen2": "Qwen2", "mistral": "Mistral", "gemma2": "Gemma2"}[family]
    config = getattr(transformers, f"{name}Config")(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **({"head_dim": 16} if family == "gemma2" else {}))
    torch.manual_seed(0)
    model = getattr(transformers, f"{name}ForCausalLM")(config).eval()
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    write_gguf(tmp_path / "m", tmp_path / "m" / "m.gguf", "f16")
    ids = tok("How do I reset my PIN?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        back = AutoModelForCausalLM.from_pretrained(str(tmp_path / "m"), gguf_file="m.gguf").eval()
        assert (model(ids).logits - back(ids).logits).abs().max().item() < 5e-3


def test_gguf_refusals(tmp_path, tiny_model_dir, completed_classification_run, capsys):
    import shutil

    from ft_lab.cli import main

    assert main(["export", str(completed_classification_run.dir), "--out", str(tmp_path / "a"), "--gguf", "q8_0"]) == 2
    assert "classification heads" in capsys.readouterr().err
    folder = tmp_path / "gpt2ish"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["GPTNeoXForCausalLM"]}))
    assert main(["export", str(folder), "--out", str(tmp_path / "b"), "--gguf", "f16"]) == 2
    err = capsys.readouterr().err.strip()
    assert "GPTNeoXForCausalLM cannot be exported to GGUF" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
