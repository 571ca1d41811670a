"""Check a local model folder before transformers reads it, so that errors name the file and the fault.

    check_model_folder(Path("models/my-bert"))   # UserError: ".../config.json: not valid JSON (...)"
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

from ..errors import UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer_config.json")
FIX = "re-save the model with save_pretrained, or copy the folder again"


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


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a safetensors file (truncated, bad header), or None; reads only the header."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return f"truncated ({size} bytes; not even a header)"
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 100 * 2**20:
            return f"truncated or not safetensors (header of {n} bytes in a file of {size} bytes)"
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "damaged header (not valid JSON)"
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
    need = 8 + n + max(ends, default=0)
    if size < need:
        return f"truncated: {size} bytes where the header describes {need}"
    return None
