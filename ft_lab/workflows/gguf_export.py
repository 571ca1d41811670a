"""GGUF files (llama.cpp, Ollama, LM Studio) from a merged model, with the gguf package: no llama.cpp to build.

    write_gguf("merged/", "out/model-q8_0.gguf", "q8_0")   # f16 | bf16 | q8_0 | f32 (lossless)
    ollama_modelfile("model-q8_0.gguf", tokenizer, params)    # the Modelfile text beside it

Families: Llama and Mistral (written as llama.cpp's ``llama``, q and k in its rotary layout), Qwen2, Gemma 2
(norms stored as llama.cpp stores them, plus one). Others are refused with the reason: transformers must
read the file back (it checks each export), and it reads GGUF only for the families it maps. The tokenizer
must be byte-level BPE (Llama 3, Qwen2, SmolLM2, ft-lab's tiny model): vocabulary, merges, special ids and
the chat template go into the file's metadata, so Ollama and llama.cpp need nothing else. Norms and other
1-D tensors stay float32; a q8_0 matrix whose rows are not a multiple of 32 is written as f16.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError

TYPES = ("f16", "bf16", "q8_0", "f32")
#: transformers architecture -> (gguf architecture, q/k in llama.cpp's rotary layout, norms stored plus one)
FAMILIES = {"LlamaForCausalLM": ("llama", True, False), "MistralForCausalLM": ("llama", True, False),
            "Qwen2ForCausalLM": ("qwen2", False, False), "Gemma2ForCausalLM": ("gemma2", False, True)}


def check_family(config: dict, where) -> tuple[str, bool, bool]:
    arch = (config.get("architectures") or ["?"])[0]
    if arch not in FAMILIES:
        why = ("GGUF holds language models, not classification heads; serve this run with `ft-lab serve`"
               if arch.endswith("ForSequenceClassification") else
               "transformers cannot read GGUF files of this family back, so the export could not be checked")
        raise UserError(f"{where}: architecture {arch} cannot be exported to GGUF ({why}); "
                        f"supported: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[arch]


def _tokenizer_metadata(folder: Path) -> dict:
    tok = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")) if (folder / "tokenizer.json").is_file() else {}
    model = tok.get("model") or {}
    pre = json.dumps(tok.get("pre_tokenizer") or {})
    if model.get("type") != "BPE" or model.get("byte_fallback") or "ByteLevel" not in pre:
        raise UserError(f"{folder}: the tokenizer is not byte-level BPE (tokenizer.json model "
                        f"{model.get('type', 'missing')}); GGUF export writes byte-level BPE tokenizers only")
    added = {t["id"]: t for t in tok.get("added_tokens", [])}
    by_id = {i: t for t, i in model["vocab"].items()}
    for i, t in added.items():
        by_id[i] = t["content"]
    size = max(by_id) + 1
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(size)]
    types = [3 if (i in added and added[i].get("special")) else 4 if i in added else 1 if i in by_id else 5
             for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return {"tokens": tokens, "types": types, "merges": merges}


def write_gguf(folder, out, kind: str = "f16") -> Path:
    """Write the transformers model in ``folder`` (safetensors, config.json, tokenizer.json) as GGUF ``out``."""
    import gguf
    import numpy as np
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    if kind not in TYPES:
        raise UserError(f"--gguf {kind}: expected one of {', '.join(TYPES)}")
    folder, out = Path(folder), Path(out)
    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    arch, permute, plus_one = check_family(raw, folder)
    meta = _tokenizer_metadata(folder)
    cfg = AutoConfig.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    n_head, n_kv = text.num_attention_heads, text.num_key_value_heads or text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // n_head
    rope = (getattr(text, "rope_parameters", None) or {}).get("rope_theta") or getattr(text, "rope_theta", 10000.0)

    w = gguf.GGUFWriter(str(out), arch)
    w.add_name(folder.name)
    w.add_file_type({"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16, "bf16": gguf.LlamaFileType.MOSTLY_BF16,
                     "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[kind])
    w.add_context_length(text.max_position_embeddings)
    w.add_embedding_length(text.hidden_size)
    w.add_block_count(text.num_hidden_layers)
    w.add_feed_forward_length(text.intermediate_size)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(text.rms_norm_eps)
    w.add_rope_freq_base(float(rope))
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(text.vocab_size)
    if arch == "gemma2":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_sliding_window(text.sliding_window)
        w.add_attn_logit_softcapping(text.attn_logit_softcapping or 0.0)
        w.add_final_logit_softcapping(text.final_logit_softcapping or 0.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre({"qwen2": "qwen2"}.get(arch, "default"))
    w.add_token_list(meta["tokens"])
    w.add_token_types(meta["types"])
    w.add_token_merges(meta["merges"])
    for setter, token_id in ((w.add_bos_token_id, tokenizer.bos_token_id), (w.add_eos_token_id, tokenizer.eos_token_id),
                             (w.add_pad_token_id, tokenizer.pad_token_id), (w.add_unk_token_id, tokenizer.unk_token_id)):
        if token_id is not None:
            setter(token_id)
    w.add_add_bos_token(False)
    if tokenizer.chat_template:
        w.add_chat_template(tokenizer.chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], text.num_hidden_layers)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UserError(f"{folder}: no .safetensors weights")
    seen = set()
    for file in files:
        with safe_open(str(file), framework="np") if _np_ok(file) else safe_open(str(file), framework="pt") as f:
            for key in f.keys():
                name = names.get_name(key, try_suffixes=(".weight", ".bias"))
                if name is None:
                    raise UserError(f"{file.name}: tensor {key} has no GGUF name for {arch}; the model is not a "
                                    f"plain {arch} model")
                data = _as_float32(f.get_tensor(key))
                if permute and name.endswith("attn_q.weight"):
                    data = _rotary_layout(data, n_head)
                elif permute and name.endswith("attn_k.weight"):
                    data = _rotary_layout(data, n_kv)
                if plus_one and name.endswith("norm.weight"):
                    data = data + 1
                if name == "output.weight" and getattr(text, "tie_word_embeddings", False):
                    continue  # llama.cpp ties it to token_embd when absent
                seen.add(name)
                _add(w, gguf, name, data, kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def _np_ok(file: Path) -> bool:
    """numpy cannot hold bfloat16: such files are read through torch."""
    with open(file, "rb") as f:
        head = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return all(v.get("dtype") != "BF16" for k, v in head.items() if k != "__metadata__")


def _as_float32(t):
    import numpy as np

    if hasattr(t, "float"):  # a torch tensor
        return t.float().numpy()
    return np.asarray(t, dtype=np.float32)


def _rotary_layout(w, n_head: int):
    """llama.cpp's order of the rotary halves in q and k (transformers undoes it when it reads the file)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _add(writer, gguf, name: str, data, kind: str) -> None:
    import numpy as np

    if data.ndim < 2 or kind == "f32":
        writer.add_tensor(name, data.astype(np.float32))
    elif kind == "f16" or (kind == "q8_0" and data.shape[-1] % 32):
        writer.add_tensor(name, data.astype(np.float16))
    else:
        qtype = gguf.GGMLQuantizationType.BF16 if kind == "bf16" else gguf.GGMLQuantizationType.Q8_0
        writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)


def ollama_modelfile(gguf_name: str, tokenizer, temperature: float | None = None, max_new_tokens: int = 256) -> str:
    """An Ollama Modelfile: the GGUF, a Go template equivalent to the chat template (ChatML-style
    ``<|im_start|>`` templates, else the plain prompt), and the end-of-turn tokens as stop words, so that
    Ollama stops where the model was trained to stop."""
    stops = [t for t in (tokenizer.eos_token, "<|im_end|>" if "<|im_end|>" in tokenizer.get_vocab() else None) if t]
    chat_template = tokenizer.chat_template or ""
    if "<|im_start|>" in chat_template:
        template = ('{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}'
                    '{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}'
                    '<|im_start|>assistant\n{{ .Response }}<|im_end|>\n')
    else:
        template = "{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}{{ .Response }}"
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{template}"""']
    lines += [f'PARAMETER stop "{s}"' for s in dict.fromkeys(stops)]
    lines.append(f"PARAMETER num_predict {max_new_tokens}")
    if temperature is not None:
        lines.append(f"PARAMETER temperature {temperature}")
    return "\n".join(lines) + "\n"


def gguf_check(merged: Path, folder: Path, name: str, prompt: str = "How do I reset my PIN? Thank you.") -> tuple[float, float]:
    """(largest logit difference, share of positions whose top token agrees) between the merged model and
    the GGUF file read back by transformers, on ``prompt``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ids = AutoTokenizer.from_pretrained(str(merged))(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        ref = AutoModelForCausalLM.from_pretrained(str(merged), dtype=torch.float32).eval()(ids).logits
        back = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=name, dtype=torch.float32).eval()(ids).logits
    agree = (ref.argmax(-1) == back.argmax(-1)).float().mean().item()
    return (ref - back).abs().max().item(), agree
