"""What ``ft-lab serve`` serves: a completed run directory, or a folder written by ``ft-lab export``.

    served = open_source("runs/r1", serve_dir)   # Served(name, kind, model_folder, recipe, labels, ...)

A generation run is merged once into ``SERVE_DIR/model`` (``ft-lab export --merge``), the plain folder the
engine loads with the run's tokenizer (its chat template) and generation config. A classification run
with a head is answered in-process by ``/v1/classify`` (no engine serves classification heads).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..cleaners.pii import PiiMask
from ..core.plugins import get_registry
from ..data.prompts import prompt_text
from ..errors import UserError
from ..rundir.layout import RunLayout, is_run_dir
from ..safety.atomic import read_jsonl
from ..workflows.export import export_run
from ..workflows.runner import completed_run


@dataclass
class Served:
    name: str
    kind: str  # "generation" (chat and completions) or "classification" (/v1/classify)
    source: Path
    model_folder: Path | None = None  # a plain transformers model folder (the engine's, or the classifier's)
    run_dir: Path | None = None
    recipe: object = None
    labels: list[str] | None = None
    system_prompt: str | None = None
    max_new_tokens: int = 48
    train_texts: list[str] = field(default_factory=list)
    held_out_texts: list[str] = field(default_factory=list)  # validation rows: calibrate what "far" means

    def masker(self):
        """The run's first cleaner that masks personal data (``pii_mask``, ``pii_ner``, a plugin's), or
        ``pii_mask`` with its defaults when the run has none (or there is no run): logs are masked anyway."""
        registry = get_registry()
        for spec in (self.recipe.clean if self.recipe is not None else []):
            if registry.get("cleaner", spec.name).masks_personal_data:
                return spec.create("cleaner", registry)
        return PiiMask()


def open_source(path, serve_dir) -> Served:
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{path}: no such run directory or export folder")
    if is_run_dir(path):
        return _from_run(path, Path(serve_dir))
    if (path / "config.json").is_file():
        return _from_export(path.resolve())
    if (path / "adapter_config.json").is_file():
        raise UserError(f"{path}: an adapter export needs its base model; serve the run directory, or export "
                        f"it with `ft-lab export RUN --out DIR --merge` and serve DIR")
    raise UserError(f"{path}: neither a run directory (run.json) nor an exported model folder (config.json)")


def _from_run(path: Path, serve_dir: Path) -> Served:
    run_dir, recipe = completed_run(path)
    layout = RunLayout(run_dir)
    train = [prompt_text(r) for r in read_jsonl(layout.data / "train.jsonl")]
    served = Served(name=run_dir.name, kind=recipe.model_task(), source=run_dir, run_dir=run_dir, recipe=recipe,
                    labels=(json.loads(layout.data_report.read_text(encoding="utf-8")).get("labels")
                            if layout.data_report.is_file() else None),
                    system_prompt=recipe.task.system_prompt, max_new_tokens=recipe.task.max_new_tokens,
                    train_texts=train,
                    held_out_texts=[prompt_text(r) for r in read_jsonl(layout.data / "validation.jsonl")])
    if served.kind == "generation":
        folder = serve_dir / "model"
        if not (folder / "config.json").is_file():
            export_run(run_dir, folder, merge=True)
        served.model_folder = folder.resolve()
    return served


def _from_export(folder: Path) -> Served:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    archs = config.get("architectures") or []
    if any(a.endswith("ForSequenceClassification") for a in archs):
        id2label = config.get("id2label") or {}
        labels = [id2label[k] for k in sorted(id2label, key=int)]
        return Served(name=folder.name, kind="classification", source=folder, model_folder=folder, labels=labels)
    return Served(name=folder.name, kind="generation", source=folder, model_folder=folder)
