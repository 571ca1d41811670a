"""Save and reload only the weights a method trains, for methods that add their own modules.

A method folder holds ``method.json`` (method name, task, config) and ``trainable.safetensors``::

    save_trainable(model, folder, method="adapter", task="classification", config={"size": 16})
    meta = read_meta(folder)                      # {"method": "adapter", "task": ..., "config": {...}}
    model = method.prepare(base_model, meta["task"]); load_trainable(model, folder)
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError

META = "method.json"
WEIGHTS = "trainable.safetensors"


def save_trainable(model, folder, method: str, task: str, config: dict) -> Path:
    """Write every parameter with ``requires_grad`` and the metadata needed to rebuild the model."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}
    if not tensors:
        raise UserError(f"method '{method}': the model has no trainable parameters to save")
    tmp = folder / (WEIGHTS + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(folder / WEIGHTS)
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps({"method": method, "task": task, "config": config,
                               "parameters": sorted(tensors)}, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / META)
    return folder


def read_meta(folder) -> dict:
    path = Path(folder) / META
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; this folder was not saved by an ft-lab method that trains "
                        f"its own modules (is it a peft adapter or a whole model?)") from None


def load_trainable(model, folder) -> None:
    """Copy the saved weights into ``model`` (already prepared by the same method and config)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    tensors = load_file(str(folder / WEIGHTS))
    own = dict(model.named_parameters())
    missing = [n for n in tensors if n not in own]
    if missing:
        raise UserError(f"{folder / WEIGHTS}: weights {', '.join(missing[:3])} have no place in "
                        f"{type(model).__name__}; was it saved from a different base model?")
    import torch
    with torch.no_grad():
        for name, value in tensors.items():
            target = own[name]
            if target.shape != value.shape:
                raise UserError(f"{folder / WEIGHTS}: {name} has shape {tuple(value.shape)}, the model "
                                f"expects {tuple(target.shape)}; was it saved from a different base model?")
            target.copy_(value.to(dtype=target.dtype, device=target.device))


class SavesTrainableWeights:
    """``save``/``load`` for a Method that adds its own modules to the base model (adapters, ReFT).

    Only the trained weights are written (safetensors), with the method's settings and task; ``load``
    applies ``prepare`` to a fresh base and loads them back. Its ``prepare`` must set ``self._task``.
    """

    _task = None

    def save(self, model, folder) -> None:
        from dataclasses import asdict

        save_trainable(model, folder, self.name, self._task or "generation", asdict(self.config))

    def restore_pairs(self, model, folder) -> dict:
        """{name: (saved tensor, the prepared model's parameter)} of saved weights, to keep training them."""
        from safetensors.torch import load_file

        own = dict(model.named_parameters())
        return {k: (v, own.get(k)) for k, v in load_file(str(Path(folder) / WEIGHTS)).items()}

    @classmethod
    def load(cls, base_model, folder):
        meta = read_meta(folder)
        method = cls(cls.Config(**meta["config"]))
        model = method.prepare(base_model, meta["task"])
        load_trainable(model, folder)
        return model

