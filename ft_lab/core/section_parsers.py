"""The recipe's section parsers and the checks across sections (``Recipe.from_dict`` runs them in order).

Each parser takes its section's raw value and a ``ParseContext`` (the registry, the recipe's folder, the
problems found so far); it returns the parsed section or None and adds every problem it finds with its path,
so that one RecipeError lists them all.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import did_you_mean
from . import configs
from .component_spec import AUTO_METHOD, ComponentSpec, parse_component
from .environment import ZERO3
from .method_checks import check_capabilities
from .plugins import get_registry
from .search_space import space_problems
from .sections import (
    DEFAULT_EVALUATORS,
    ROLES,
    DataSection,
    LaunchSection,
    ModelSection,
    SearchSection,
    TaskSection,
    TrainSection,
)


def default_baselines(task, registry=None) -> list[dict]:
    """The baselines a recipe gets when it lists none: the cheap ones that apply to its task."""
    registry = registry or get_registry()
    if task is None:
        return []
    return [{"name": n} for n in registry.names("baseline")
            if registry.get("baseline", n).default and task.type in registry.get("baseline", n).tasks]


class ParseContext:
    """What the section parsers share: the registry, the recipe's folder, and the problems found so far."""

    def __init__(self, registry, base_dir: str | None, environment: bool = False):
        self.registry = registry
        self.base_dir = base_dir
        self.environment = environment  # also check what this machine provides (check_environment)
        self.problems: list[str] = []

    def build(self, cls, raw: Any, path: str):
        value, sub = configs.build(cls, raw, path)
        self.problems.extend(sub)
        return value


def parse_task(raw: Any, ctx: ParseContext) -> TaskSection | None:
    if isinstance(raw, str):
        raw = {"type": raw}
    if raw is None:
        ctx.problems.append("task: required section is missing (classification or generation)")
        return None
    return ctx.build(TaskSection, raw, "task")


def parse_data(raw: Any, task_type: str | None, ctx: ParseContext) -> DataSection | None:
    if raw is None:
        ctx.problems.append("data: required section is missing (give `path`, or `train` and optionally "
                            "`validation` and `test`)")
        return None
    data = ctx.build(DataSection, raw, "data")
    if data is None:
        return None
    problems = ctx.problems
    if not data.path and not data.train:
        problems.append("data: give `path` (one file to split) or `train` (and optionally `validation`, `test`)")
    if data.path and data.train:
        problems.append("data: give either `path` or `train`, not both")
    if task_type:
        for role in data.columns:
            if role not in ROLES[task_type]:
                problems.append(f"data.columns.{role}: unknown role for {task_type}"
                                + did_you_mean(role, ROLES[task_type])
                                + f" (roles: {', '.join(ROLES[task_type])})")
    return data


def parse_model(raw: Any, ctx: ParseContext) -> ModelSection | None:
    return ctx.build(ModelSection, raw or {}, "model")


def parse_train(raw: Any, ctx: ParseContext) -> TrainSection | None:
    return ctx.build(TrainSection, raw or {}, "train")


def parse_method(raw: Any, plain: dict, task: TaskSection | None, train: TrainSection | None,
                 ctx: ParseContext) -> ComponentSpec | None:
    method = parse_component("method", raw or AUTO_METHOD, "method", ctx.problems, ctx.registry)
    if method is not None and task is not None and train is not None:
        ctx.problems.extend(check_capabilities(
            {**plain, "task": configs.to_plain(task), "train": configs.to_plain(train)},
            ctx.registry.get("method", method.name), registry=ctx.registry, machine=False))
    return method


def parse_clean(raw: Any, ctx: ParseContext) -> list[ComponentSpec | None]:
    raw = raw or []
    if not isinstance(raw, list):
        ctx.problems.append(f"clean: expected a list of cleaners, got {raw!r}")
        raw = []
    return [parse_component("cleaner", _files_from(v, ctx.base_dir), f"clean[{i}]", ctx.problems, ctx.registry)
            for i, v in enumerate(raw)]


def _files_from(value: Any, base_dir: str | None) -> Any:
    """A cleaner's list entries written ``file:PATH`` (pii_ner's allow and deny lists) with PATH relative to
    the recipe's folder made absolute, so that the run directory's copy of the recipe finds them."""
    if not isinstance(value, dict) or not base_dir:
        return value
    out = dict(value)
    for key, items in value.items():
        if isinstance(items, list):
            out[key] = [f"file:{Path(base_dir) / x[5:].strip()}" if isinstance(x, str) and x.startswith("file:")
                        and not Path(x[5:].strip()).expanduser().is_absolute() else x for x in items]
    return out


def parse_evaluate(raw: Any, task: TaskSection | None, ctx: ParseContext) -> list[ComponentSpec | None]:
    task_type = task.type if task else None
    if raw is None and task_type:
        raw = DEFAULT_EVALUATORS[task_type]
    if not isinstance(raw or [], list):
        ctx.problems.append(f"evaluate: expected a list of evaluators, got {raw!r}")
        raw = []
    evaluate = [parse_component("evaluator", v, f"evaluate[{i}]", ctx.problems, ctx.registry)
                for i, v in enumerate(raw or [])]
    if task_type:
        for i, spec in enumerate(evaluate):
            if spec is not None:
                tasks = ctx.registry.get("evaluator", spec.name).tasks
                if task_type not in tasks:
                    ctx.problems.append(f"evaluate[{i}]: '{spec.name}' does not apply to {task_type} "
                                        f"(it scores: {', '.join(tasks)})")
    return evaluate


def parse_baselines(raw: Any, task: TaskSection | None, ctx: ParseContext) -> list:
    """The recipe's baselines; when the section is absent, the cheap defaults for the task ([] for none)."""
    task_type = task.type if task else None
    if raw is None:
        raw = default_baselines(task, ctx.registry)
    if not isinstance(raw, list):
        ctx.problems.append(f"baselines: expected a list of baselines (or [] for none), got {raw!r}")
        raw = []
    baselines = [parse_component("baseline", v, f"baselines[{i}]", ctx.problems, ctx.registry) for i, v in enumerate(raw)]
    if task_type:
        for i, spec in enumerate(baselines):
            if spec is not None and task_type not in ctx.registry.get("baseline", spec.name).tasks:
                ctx.problems.append(f"baselines[{i}]: '{spec.name}' does not apply to {task_type} (it answers: "
                                    f"{', '.join(ctx.registry.get('baseline', spec.name).tasks)})")
    return baselines


def check_early_stopping(task: TaskSection | None, train: TrainSection | None, evaluate: list,
                         ctx: ParseContext) -> None:
    """Across sections: the metric watched for early stopping must be one the run computes."""
    task_type = task.type if task else None
    if train is None or not evaluate or not task_type:
        return
    if train.early_stopping_patience is None and train.early_stopping_metric in ("loss", "auto"):
        return
    allowed = {"loss"} | ({"accuracy"} if task_type == "classification" and task.classifier == "head" else set())
    if train.early_stopping_metric not in allowed | {"auto"}:
        ctx.problems.append(f"train.early_stopping_metric: expected one of {', '.join(sorted(allowed))}, "
                            f"got {train.early_stopping_metric!r}" + did_you_mean(train.early_stopping_metric,
                                                                                   allowed))


def check_continual(data: DataSection | None, model: ModelSection | None, train: TrainSection | None,
                    ctx: ParseContext) -> None:
    """Across sections: replay and EWC need an earlier run (``model.from_run``) to take rows from; joint
    retraining takes all of them and starts from the base model."""
    joint = model is not None and model.joint_retrain
    if joint and not model.from_run:
        ctx.problems.append("model.joint_retrain: joint retraining joins an earlier run's training rows with "
                            "this data; set model.from_run")
    if model is None or (model.from_run and not joint):
        return
    replay, ewc = (("model.joint_retrain already trains on every ancestor's rows; remove data.replay and "
                    "data.replay_rows", "model.joint_retrain starts from the base model, not from the earlier "
                    "run's weights; remove train.ewc (train.l2_to_start pulls toward the base)") if joint else
                   ("replay needs an earlier run to take rows from; set model.from_run (or use data.replay_file "
                    "for a general-purpose file)", "EWC needs an earlier run's training rows; set model.from_run "
                    "(or use train.l2_to_start)"))
    if data is not None and (data.replay or data.replay_rows):
        ctx.problems.append(f"data.replay: {replay}")
    if train is not None and train.ewc:
        ctx.problems.append(f"train.ewc: {ewc}")


def parse_launch(raw: Any, train: TrainSection | None, ctx: ParseContext) -> LaunchSection | None:
    launch, sub = configs.build(LaunchSection, raw or {}, "launch")
    ctx.problems.extend(sub)
    if launch is not None:
        ctx.problems.extend(launch_problems(launch, train))
    return launch


def parse_track(raw: Any, ctx: ParseContext) -> list[str]:
    """The trackers that follow the run (names; their keys come from the environment, never the recipe)."""
    raw = raw or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        ctx.problems.append(f"track: expected a list of tracker names, e.g. [mlflow, tensorboard], got {raw!r}")
        return []
    known = sorted(ctx.registry.trackers)
    for i, name in enumerate(raw):
        if name not in known:
            ctx.problems.append(f"track[{i}]: unknown tracker '{name}'" + did_you_mean(name, known)
                                + f" (available: {', '.join(known)})")
    return list(raw)


def parse_search(raw: Any, plain: dict, ctx: ParseContext) -> SearchSection | None:
    if raw is None:
        return None
    search = ctx.build(SearchSection, raw, "search")
    if search is not None:
        ctx.problems.extend(space_problems(search.space, plain, ctx.registry))
    return search


def launch_problems(launch: LaunchSection, train: TrainSection | None) -> list[str]:
    """Launch settings that contradict each other (values are checked by the section; the files it
    names by ``ft_lab.core.environment``)."""
    problems = []
    if train is not None and train.num_processes > 1 and launch.num_processes > 1 \
            and train.num_processes != launch.num_processes:
        problems.append(f"launch.num_processes: {launch.num_processes} contradicts train.num_processes: "
                        f"{train.num_processes}; set only launch.num_processes")
    if launch.deepspeed_config and launch.strategy != "deepspeed":
        problems.append("launch.deepspeed_config: applies only to strategy: deepspeed")
    if launch.strategy == "deepspeed" and not launch.deepspeed_config and launch.deepspeed_stage == 3:
        problems.append(ZERO3)
    return problems
