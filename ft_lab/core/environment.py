"""What this machine must provide to run a recipe, checked apart from parsing (which is pure).

    problems = environment_problems(recipe)   # [] or ["data.path: file not found: /data/x.csv", ...]
    check_environment(recipe)                 # the same, raised as one RecipeError

Data files that exist, launch files and a DeepSpeed JSON that read (and do not ask for ZeRO stage 3), a
sane local model folder, a GPU and the packages the method needs. Run creation, ``ft-lab validate``, the
Studio's Start and ``Recipe.from_yaml(path, check_environment=True)`` call it; reading a run's own
recipe never does, so a run directory copied elsewhere loads.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import RecipeError, UserError
from ..safety.model_folder import check_model_spec
from .method_checks import check_capabilities
from .packaged_models import packaged_location
from .plugins import get_registry
from .sections import DataSection, LaunchSection

ZERO3 = ("launch: DeepSpeed ZeRO stage 3 partitions the weights, which ft-lab cannot gather for the final save "
         "yet; use deepspeed_stage: 2, or strategy: fsdp to shard the weights")


def _local(p: str, base_dir: str | None) -> Path:
    full = Path(os.path.expanduser(p))
    return Path(base_dir) / full if not full.is_absolute() and base_dir else full


def _data_file_problems(data: DataSection, base_dir: str | None) -> list[str]:
    return [f"data.{key}: file not found: {_local(getattr(data, key), base_dir)}"
            for key in ("path", "train", "validation", "test", "replay_file", "general_test")
            if getattr(data, key) is not None and not _local(getattr(data, key), base_dir).exists()]


def _launch_file_problems(launch: LaunchSection, base_dir: str | None) -> list[str]:
    """The files launch names exist; a DeepSpeed JSON reads and does not ask for ZeRO stage 3."""
    problems = [f"launch.{key}: file not found: {_local(getattr(launch, key), base_dir)}"
                for key in ("config_file", "deepspeed_config")
                if getattr(launch, key) is not None and not _local(getattr(launch, key), base_dir).is_file()]
    if launch.strategy == "deepspeed" and launch.deepspeed_config:
        try:
            if _zero_stage(launch, base_dir) == 3:
                problems.append(ZERO3)
        except ValueError as exc:
            problems.append(f"launch.deepspeed_config: {exc}")
    return problems


def problems_for_sections(data, model, method, launch, plain: dict, base_dir: str | None, registry) -> list[str]:
    """What this machine must provide, for the sections given (None: a section that did not parse)."""
    problems = []
    if data is not None:
        problems += _data_file_problems(data, base_dir)
    if launch is not None:
        problems += _launch_file_problems(launch, base_dir)
    if method is not None:
        try:
            cls = registry.get("method", method.name)
        except KeyError:
            cls = None  # reported by the parse
        if cls is not None:
            problems += check_capabilities(plain, cls, registry=registry, settings=False)
    if model is not None and model.adapter and not (_local(model.adapter, base_dir) / "adapter_config.json").is_file():
        problems.append(f"model.adapter: {_local(model.adapter, base_dir)} is not an adapter folder (no "
                        f"adapter_config.json); give an earlier run's final/ folder")
    if model is not None:
        try:
            check_model_spec(model)  # a damaged local model folder is named before any work
            packaged_location(model.name_or_path)  # a packaged model (minilm, smollm2) that is not installed
        except UserError as exc:
            problems.append(str(exc))
    return problems


def environment_problems(recipe) -> list[str]:
    """What this machine lacks to run ``recipe`` ([] when nothing): data files that exist, launch files
    and a DeepSpeed JSON that read, a sane local model folder, a GPU and the packages its method needs."""
    return problems_for_sections(recipe.data, recipe.model, recipe.method, recipe.launch, recipe.to_dict(),
                                 recipe.base_dir, get_registry())


def check_environment(recipe, source: str | None = None):
    """``recipe`` when this machine can run it, else a RecipeError listing every problem (see above)."""
    problems = environment_problems(recipe)
    if problems:
        raise RecipeError(problems, source)
    return recipe


def _zero_stage(launch: LaunchSection, base_dir: str | None) -> int | None:
    if not launch.deepspeed_config:
        return launch.deepspeed_stage
    path = _local(launch.deepspeed_config, base_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None  # a missing file is reported on its own
    try:
        return int(json.loads(text).get("zero_optimization", {}).get("stage", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a DeepSpeed JSON config ({exc})") from None
