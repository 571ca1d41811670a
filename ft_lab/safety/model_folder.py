"""Check a local model folder before transformers reads it, so that errors name the file and the fault.

    check_model_folder(Path("models/my-bert"))   # UserError: ".../config.json: not valid JSON (...)"
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from .file_checks import safetensors_problem

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer_config.json")
FIX = "re-save the model with save_pretrained, or copy the folder again"


def check_model_spec(model_spec) -> None:
    """Check ``model.name_or_path`` when it is a local folder (cheap: no model is loaded)."""
    import os

    path = Path(os.path.expanduser(model_spec.name_or_path))
    if getattr(model_spec, "gguf_file", None) or path.suffix == ".gguf":
        return  # a GGUF file carries its own config and tokenizer (checked when it is read)
    if model_spec.name_or_path != "tiny" and path.exists():
        check_model_folder(path)


def check_model_folder(path: Path, need_tokenizer: bool = True) -> None:
    path = Path(path)
    config = path / "config.json"
    if not config.is_file():
        raise UserError(f"model.name_or_path: folder {path} has no config.json; "
                        f"give a folder saved with save_pretrained, a hub id, or 'tiny'")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{config}: not valid JSON ({exc}); the file is damaged: {FIX}") from None
    if not isinstance(data, dict) or "model_type" not in data and "architectures" not in data:
        raise UserError(f"{config}: has no model_type; it is not a transformers model configuration: {FIX}")
    for weights in sorted(path.glob("*.safetensors")):
        problem = safetensors_problem(weights)
        if problem:
            raise UserError(f"{weights}: {problem}: {FIX}")
    if need_tokenizer and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"model.name_or_path: folder {path} has no tokenizer files (one of "
                        f"{', '.join(TOKENIZER_FILES[:5])}); save the tokenizer into it with "
                        f"tokenizer.save_pretrained(folder)")
