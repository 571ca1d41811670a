"""Models from GGUF files (llama.cpp, Ollama): ``model: {name_or_path: folder, gguf_file: name.gguf}``.

transformers reads the file with the ``gguf`` package and de-quantizes the weights to the training
precision. The model it returns remembers the GGUF origin (``config.quantization_config``) and
refuses ``save_pretrained``; ``as_plain_model`` rebuilds it as an ordinary model with the same
weights, so that every method can train and save it::

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file="smollm2.gguf")
    model = as_plain_model(model)
"""
from __future__ import annotations

import os
from pathlib import Path

from ..core.packaged_models import packaged_location
from ..errors import UserError


def gguf_location(model_spec) -> tuple[str, str] | None:
    """(folder, file name) when the recipe names a GGUF file (``gguf_file``, or a ``.gguf`` path), else None."""
    packaged = packaged_location(model_spec.name_or_path)
    if packaged is not None:
        return packaged if packaged[1] else None
    name = os.path.expanduser(model_spec.name_or_path)
    gguf = getattr(model_spec, "gguf_file", None)
    if gguf is None and name.endswith(".gguf"):
        name, gguf = str(Path(name).parent), Path(name).name
    if gguf is None:
        return None
    path = Path(name) / gguf
    if Path(name).exists() and not path.is_file():
        found = sorted(p.name for p in Path(name).glob("*.gguf"))
        raise UserError(f"model.gguf_file: {path} not found"
                        + (f" (GGUF files there: {', '.join(found)})" if found else " (no .gguf file in that folder)"))
    return str(Path(name).resolve()) if Path(name).exists() else name, gguf


def gguf_kwargs(model_spec) -> dict:
    """``{"gguf_file": name}`` for from_pretrained when the recipe names a GGUF file, else {}."""
    found = gguf_location(model_spec)
    return {"gguf_file": found[1]} if found else {}


def check_gguf_support() -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise UserError("model.gguf_file: reading GGUF files needs the gguf package: "
                        "pip install 'ft-lab[gguf]'") from None


def as_plain_model(model):
    """The same weights in a model built from the config without the GGUF marker (save_pretrained works)."""
    config = model.config
    if getattr(config, "quantization_config", None) is None:
        return model
    import torch

    plain_config = type(config).from_dict({k: v for k, v in config.to_dict().items() if k != "quantization_config"})
    dtype = next(model.parameters()).dtype
    plain = type(model)(plain_config).to(dtype)  # built on the CPU: non-persistent buffers (RoPE) stay real
    with torch.no_grad():
        plain.load_state_dict(model.state_dict(), strict=False)
    if hasattr(plain, "tie_weights"):
        plain.tie_weights()
    plain.generation_config = model.generation_config
    return plain
