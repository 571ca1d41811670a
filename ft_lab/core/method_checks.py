"""Refuse a recipe that asks a method for something it cannot do, before any training starts.

    problems = check_capabilities(recipe, registry.get("method", "prefix_tuning"))
    # ["method: 'prefix_tuning' does not work with packed sequences (...); set train.packing: false,
    #   or choose a method that does: adapter, adalora, ..."]

What is read from the recipe (a ``Recipe`` or its plain dict); absent keys are taken as "not asked":

- ``task`` (a name, or ``{"type": ...}``)                   -> ``Capabilities.tasks``
- ``train.gradient_checkpointing``                          -> ``gradient_checkpointing``
- ``train.packing`` (true; ``auto`` asks nothing)           -> ``packing``
- ``train.compile``, ``train.liger`` (likewise)              -> ``compile``, ``liger``
- ``launch.num_processes`` (or ``train.num_processes``) > 1 -> ``multi_process``
- ``launch.strategy: fsdp`` / ``deepspeed`` with several processes -> ``fsdp`` / ``deepspeed``; a
  quantized base cannot be sharded, and DeepSpeed must be installed
- ``model.quantization`` other than null / "none"           -> ``quantized``
- ``export.merge``, or the ``merge`` argument (export --merge) -> ``mergeable``
- ``train.objective`` (sft, dpo, orpo, kto, simpo)              -> ``objectives``; a preference objective
  needs task generation and, on this machine, TRL within ``TRL_RANGE``
- ``model.adapter`` (an adapter folder to continue from)      -> a method with ``adapter = True``
- ``train.l2_to_start`` or ``train.ewc`` above 0              -> ``regularize``
- always: ``needs_cuda`` (a CUDA GPU is visible) and ``needs_modules`` (importable).

The last ones (a GPU, installed packages) depend on this machine, not on the recipe: ``machine=False``
leaves them out (the recipe parser, so that a run directory copied elsewhere still loads) and
``settings=False`` keeps only them (``ft_lab.core.environment.check_environment``).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import Any

from .plugins import get_registry

#: capability field -> (what the recipe asks, why a method may not do it, how to stop asking)
_ASKS = {
    "gradient_checkpointing": ("gradient checkpointing", "set train.gradient_checkpointing: false"),
    "packing": ("packed sequences", "set train.packing: false"),
    "compile": ("a compiled model (train.compile)", "set train.compile: false"),
    "liger": ("Liger kernels (train.liger)", "set train.liger: false"),
    "multi_process": ("several training processes", "set launch.num_processes: 1"),
    "fsdp": ("FSDP (launch.strategy: fsdp)", "set launch.strategy: ddp"),
    "deepspeed": ("DeepSpeed ZeRO (launch.strategy: deepspeed)", "set launch.strategy: ddp"),
    "quantized": ("a quantized base (model.quantization)", "set model.quantization: none"),
    "mergeable": ("merging into the base (--merge)", "export the adapter without --merge"),
    "regularize": ("regularization toward the starting weights (train.l2_to_start, train.ewc)",
                   "set train.l2_to_start: 0 and train.ewc: 0"),
}
_WHY = {
    "packing": "its trained positions or virtual tokens belong to one sequence, and a packed row holds several",
    "mergeable": "what it learns is not a change of the base weights",
    "gradient_checkpointing": "it feeds the model inputs that checkpointed layers cannot recompute",
    "quantized": "it trains or saves base weights, which a 4/8-bit base cannot hold",
    "multi_process": "it has not been made safe for distributed training",
    "fsdp": "its trained weights or saving have not been made safe for weights sharded across processes",
    "deepspeed": "its trained weights or saving have not been made safe for DeepSpeed ZeRO partitions",
    "compile": "its layers do not trace under torch.compile",
    "liger": "it replaces modules that Liger's kernels patch",
    "regularize": "what it saves is not the weights it trains, so a continued run has no starting point for them",
}


#: TRL versions whose trainers' arguments ft-lab's preference objectives are written and tested against
#: (pyproject's ``preference`` extra pins the same range): TRL renames and moves them between releases.
TRL_RANGE = ((1, 16), (1, 17))
_OBJECTIVE_WHY = "TRL's preference trainers keep a reference copy of its trained weights, which it cannot give"


def _plain(recipe_like: Any) -> dict:
    if hasattr(recipe_like, "to_dict"):
        return recipe_like.to_dict()
    return dict(recipe_like or {})


def _section(plain: dict, key: str) -> dict:
    value = plain.get(key)
    return value if isinstance(value, dict) else {}


def asked(recipe_like: Any, merge: bool | None = None) -> dict[str, bool]:
    """Which capabilities the recipe asks for."""
    plain = _plain(recipe_like)
    train, model, launch = _section(plain, "train"), _section(plain, "model"), _section(plain, "launch")
    quant = model.get("quantization")
    several = max(int(train.get("num_processes") or 1), int(launch.get("num_processes") or 1)) > 1 \
        or int(launch.get("num_machines") or 1) > 1
    return {
        "gradient_checkpointing": bool(train.get("gradient_checkpointing")),
        "packing": train.get("packing") is True,
        "compile": train.get("compile") is True,
        "liger": train.get("liger") is True,
        "multi_process": several,
        "fsdp": several and launch.get("strategy") == "fsdp",
        "deepspeed": several and launch.get("strategy") == "deepspeed",
        "quantized": quant not in (None, False, "none", ""),
        "mergeable": bool(merge if merge is not None else _section(plain, "export").get("merge")),
        "regularize": bool(train.get("l2_to_start") or train.get("ewc")),
    }


def _task_of(plain: dict) -> str | None:
    """The task the model itself is prepared for: a language model used as classifier generates."""
    task = plain.get("task")
    if isinstance(task, dict):
        return "generation" if task.get("classifier") == "lm" else task.get("type")
    return task


def _alternatives(field: str, task: str | None, exclude: str, registry) -> str:
    names = []
    for name in registry.names("method"):
        caps = registry.get("method", name).capabilities
        if name != exclude and getattr(caps, field) and (task is None or task in caps.tasks) \
                and not caps.needs_cuda:
            names.append(name)
    return ", ".join(names) or "none installed"


def cuda_visible() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def check_capabilities(recipe_like: Any, method_cls, *, merge: bool | None = None,
                       cuda_available: bool | None = None, registry=None, settings: bool = True,
                       machine: bool = True) -> list[str]:
    """Problems (empty when fine) between a recipe and a method class (or instance), each saying why
    and what to choose instead. ``merge`` stands for export --merge; ``cuda_available`` overrides the
    check for a visible GPU (tests); ``registry`` lists the alternatives (default: the process's).
    ``settings``: what the recipe asks of the method; ``machine``: what this machine must have."""
    if registry is None:
        registry = get_registry()
    plain = _plain(recipe_like)
    caps = method_cls.capabilities
    name = method_cls.name
    task = _task_of(plain)
    problems: list[str] = []
    if settings:
        problems += _setting_problems(plain, caps, name, task, merge, registry)
    if machine:
        problems += _machine_problems(plain, caps, name, merge, cuda_available)
    return problems


def _setting_problems(plain: dict, caps, name: str, task: str | None, merge, registry) -> list[str]:
    problems: list[str] = []
    if task and task not in caps.tasks:
        others = [n for n in registry.names("method") if task in registry.get("method", n).capabilities.tasks]
        problems.append(f"method: '{name}' does not support {task} (it supports: {', '.join(caps.tasks)}); "
                        f"choose one of: {', '.join(others) or 'none installed'}")
    for field, wanted in asked(plain, merge).items():
        if wanted and not getattr(caps, field):
            what, stop = _ASKS[field]
            problems.append(f"method: '{name}' does not work with {what}: {_WHY[field]}; {stop}, or choose "
                            f"a method that does: {_alternatives(field, task, name, registry)}")
    problems += _objective_problems(plain, caps, name, task, registry)
    wanted = asked(plain, merge)
    strategy = "fsdp" if wanted["fsdp"] else "deepspeed" if wanted["deepspeed"] else None
    if strategy and wanted["quantized"]:
        problems.append(f"launch.strategy: {strategy} cannot shard a quantized base (model.quantization): "
                        f"its 4/8-bit weights are not plain tensors; set launch.strategy: ddp, or "
                        f"model.quantization: none")
    if _sharding_without_gpu(plain, wanted) and _section(plain, "launch").get("cpu"):
        problems.append(_no_cpu_path(_sharding_without_gpu(plain, wanted), "launch.cpu is set"))
    return problems


def _objective_problems(plain: dict, caps, name: str, task: str | None, registry) -> list[str]:
    objective = _section(plain, "train").get("objective") or "sft"
    problems = []
    if objective != "sft" and task and task != "generation":
        problems.append(f"train.objective: {objective} learns from good and bad answers to a prompt, so it needs "
                        f"task: generation (this recipe's task is {task}); set train.objective: sft")
    if objective != "sft" and _section(plain, "train").get("tokens_per_batch"):
        problems.append(f"train.tokens_per_batch does not apply to train.objective: {objective} (TRL batches it by "
                        f"train.batch_size pairs; train.packing runs each batch padding-free, not in token-budget "
                        f"bins); drop train.tokens_per_batch")
    if objective not in caps.objectives:
        others = [n for n in registry.names("method") if objective in registry.get("method", n).capabilities.objectives
                  and not registry.get("method", n).capabilities.needs_cuda]
        problems.append(f"method: '{name}' does not take train.objective: {objective} ({_OBJECTIVE_WHY}; it takes: "
                        f"{', '.join(caps.objectives)}); set train.objective: sft, or choose a method that does: "
                        f"{', '.join(others) or 'none installed'}")
    if _section(plain, "model").get("from_run") and objective != "sft":
        if _section(plain, "model").get("adapter"):
            problems.append("model.from_run and model.adapter both name where the run starts; keep one")
        mixed = [f"data.{k}" for k in ("replay", "replay_rows", "replay_file") if _section(plain, "data").get(k)]
        mixed += [f"train.{k}" for k in ("l2_to_start", "ewc") if _section(plain, "train").get(k)]
        mixed += ["model.joint_retrain"] if _section(plain, "model").get("joint_retrain") else []
        if mixed:
            problems.append(f"{', '.join(mixed)}: replay and regularization toward the earlier run apply to "
                            f"train.objective: sft only (a {objective} run learns from pairs); drop them")
    if _section(plain, "model").get("adapter") and objective == "sft":
        problems.append("model.adapter continues a preference run (train.objective dpo, orpo, kto, simpo) from an "
                        "adapter; set train.objective, or drop model.adapter")
    if _section(plain, "model").get("adapter") and not _trains_adapter(name, registry):
        problems.append(f"model.adapter: method '{name}' does not train an adapter, so it cannot continue from "
                        f"one; choose lora (or the method that trained the adapter), or drop model.adapter")
    return problems


def _trains_adapter(name: str, registry) -> bool:
    try:
        return bool(registry.get("method", name).adapter)
    except KeyError:
        return False


def trl_problem(plain: dict) -> str | None:
    """TRL outside ``TRL_RANGE`` (or missing) for a recipe with a preference objective, as one line; else None."""
    objective = _section(plain, "train").get("objective") or "sft"
    if objective == "sft":
        return None
    (lo, hi) = TRL_RANGE
    wanted = f"trl>={lo[0]}.{lo[1]},<{hi[0]}.{hi[1]}"
    try:
        installed = importlib.metadata.version("trl")
    except importlib.metadata.PackageNotFoundError:
        return (f"train.objective: {objective} trains through TRL, which is not installed; "
                f"pip install 'ft-lab[preference]' (it pins {wanted})")
    parts = tuple(int(p) if p.isdigit() else 0 for p in installed.split(".")[:2])
    if not lo <= parts < hi:
        return (f"train.objective: {objective} needs {wanted} (the range ft-lab is tested with; TRL changes its "
                f"trainers' arguments between releases), but trl {installed} is installed; "
                f"pip install 'ft-lab[preference]'")
    return None


def _sharding_without_gpu(plain: dict, wanted: dict) -> str | None:
    """fsdp or deepspeed on one machine (where the GPU must be here), else None."""
    strategy = "fsdp" if wanted["fsdp"] else "deepspeed" if wanted["deepspeed"] else None
    return strategy if strategy and int(_section(plain, "launch").get("num_machines") or 1) == 1 else None


def _no_cpu_path(strategy: str, why: str) -> str:
    return (f"launch.strategy: {strategy} shards the model across GPUs and has no CPU path; {why}: "
            f"set launch.strategy: ddp (gloo processes on the CPU), or run on a GPU machine")


def _machine_problems(plain: dict, caps, name: str, merge, cuda_available: bool | None) -> list[str]:
    problems: list[str] = []
    wanted = asked(plain, merge)
    strategy = _sharding_without_gpu(plain, wanted)
    if strategy and not _section(plain, "launch").get("cpu") and not (
            cuda_visible() if cuda_available is None else cuda_available):
        problems.append(_no_cpu_path(strategy, "no CUDA GPU is visible here"))
    if wanted["deepspeed"] and importlib.util.find_spec("deepspeed") is None:
        problems.append("launch.strategy: deepspeed needs the Python package 'deepspeed', which is not "
                        "installed; pip install deepspeed, or set launch.strategy: ddp or fsdp")
    if caps.needs_cuda and not (cuda_visible() if cuda_available is None else cuda_available):
        problems.append(f"method: '{name}' needs a CUDA GPU and none is visible on this machine (bitsandbytes "
                        f"has no CPU path for it); run on a GPU machine, or choose lora (same adapter, "
                        f"full-precision base)")
    trl = trl_problem(plain)
    if trl:
        problems.append(trl)
    for module in caps.needs_modules:
        if importlib.util.find_spec(module) is None:
            problems.append(f"method: '{name}' needs the Python package '{module}', which is not installed; "
                            f"pip install 'ft-lab[{module}]' (or pip install {module})")
    return problems
