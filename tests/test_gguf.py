"""Models from GGUF files: a tiny Llama written as GGUF by the test, loaded, trained and saved."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ft_lab.errors import UserError
from ft_lab.core.recipe import ModelSection

gguf = pytest.importorskip("gguf")


def _permute(w, n_head: int):
    """llama.cpp's layout for q and k (transformers undoes it when it reads the file)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(model_dir: Path, out: Path) -> Path:
    """The built-in tiny Llama (weights, byte-level BPE tokenizer) as an fp32 GGUF file."""
    from safetensors.numpy import load_file

    cfg = json.loads((model_dir / "config.json").read_text())
    tok = json.loads((model_dir / "tokenizer.json").read_text())
    weights = load_file(str(model_dir / "model.safetensors"))
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    added = {t["id"]: t["content"] for t in tok.get("added_tokens", [])}
    tokens = [added.get(i, t) for t, i in vocab]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg.get("rope_theta") or cfg.get("rope_parameters", {}).get("rope_theta", 10000.0))
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3 if i in added else 1 for i in range(len(tokens))])
    w.add_token_merges(merges)
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    w.add_pad_token_id(cfg["pad_token_id"])
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    w.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", weights["model.norm.weight"])
    for i in range(cfg["num_hidden_layers"]):
        for hf, g in names.items():
            t = weights[f"model.layers.{i}.{hf}.weight"]
            if g == "attn_q":
                t = _permute(t, cfg["num_attention_heads"])
            elif g == "attn_k":
                t = _permute(t, cfg["num_key_value_heads"])
            w.add_tensor(f"blk.{i}.{g}.weight", t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


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
                         "train": {"max_steps": 4, "batch_size": 8, "learning_rate": 1e-3}, "baselines": []})
    assert handle.wait(timeout=600) == "completed", handle.error
    assert (handle.dir / "final" / "adapter_model.safetensors").exists()


def test_a_missing_gguf_file_is_named_with_the_ones_there(tiny_gguf):
    from ft_lab.models.model_loading import resolve_source

    with pytest.raises(UserError, match=r"gguf_file: .*missing\.gguf not found \(GGUF files there: tiny\.f32\.gguf\)"):
        resolve_source(ModelSection(name_or_path=str(tiny_gguf.parent), gguf_file="missing.gguf"))
