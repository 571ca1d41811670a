"""The recipe: one fine-tuning run as data (YAML file, Python object, or what the panels build).

Sections: ``task``, ``data``, ``clean``, ``model``, ``method``, ``train``, ``evaluate``, and ``launch``
(several processes through Accelerate). Components are written as their registered name plus their
Config fields::

    recipe = Recipe.from_yaml("recipe.yaml")
    recipe = Recipe(task="classification", data={"path": "tickets.csv",
                    "columns": {"text": "body", "label": "queue"}}, method={"name": "lora", "r": 8})
    assert Recipe.from_yaml(recipe.to_yaml()) == recipe

Every problem is reported at once with its path (``method.r: expected an integer, got "eight"``).

Parsing is pure: types, values and names only, nothing that depends on this machine, so that a run
directory copied elsewhere (its data files gone) still loads its own recipe. What this machine must
provide (data files, a DeepSpeed JSON, a sane local model folder, a GPU or a package a method needs) is
checked by ``ft_lab.core.environment.check_environment(recipe)``, or ``Recipe.from_yaml(path,
check_environment=True)`` to get both kinds of problems in one error; run creation, ``ft-lab validate``
and the Studio's Start do that::

    problems = environment_problems(recipe)   # [] or ["data.path: file not found: /data/x.csv", ...]
    check_environment(recipe)                 # the same, raised as one RecipeError
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import RecipeError, UserError, did_you_mean
from ..safety.atomic import atomic_write_text
from ..safety.redact import recipe_secret_problems
from ..safety.yaml_limits import safe_load
from . import configs
from .environment import ZERO3, problems_for_sections
from .method_checks import check_capabilities
from .plugins import get_registry
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
from .search_space import space_problems


@dataclass
class ComponentSpec:
    """A component by registered name, with its Config instance."""

    name: str
    config: Any = None
    #: False for a method the recipe left at ``auto``: ``name`` is the fallback (lora) until the run
    #: starts and ``ft_lab.training.defaults`` picks one for the model; written back as ``auto``
    named: bool = field(default=True, compare=False)

    def to_plain(self, minimal: bool = False) -> dict:
        if not self.named:
            return {"name": AUTO_METHOD}
        return {"name": self.name, **(configs.to_plain(self.config, minimal) if self.config is not None else {})}

    def create(self, kind: str, registry=None):
        cls = (registry or get_registry()).get(kind, self.name)
        return cls(self.config)


SECTIONS = ("task", "data", "clean", "model", "method", "train", "evaluate", "baselines", "launch", "track", "search")
#: sections left out of a recipe's output while empty (older ft-lab versions read such recipes too)
OPTIONAL_SECTIONS = ("track", "search")
#: ``method: auto`` (the default): full fine-tuning for a small encoder with a new head, else this one
AUTO_METHOD, FALLBACK_METHOD = "auto", "lora"


@dataclass
class Recipe:
    """A whole run. Sections may be given as plain data; they are parsed on construction (types,
    values, names: nothing about this machine, see ``check_environment``)."""

    # Each section may be given as plain data (a dict, or a name for task and components); after
    # construction it always has the type written here.
    task: TaskSection = None  # type: ignore[assignment]
    data: DataSection = None  # type: ignore[assignment]
    model: ModelSection = None  # type: ignore[assignment]
    method: ComponentSpec = None  # type: ignore[assignment]
    train: TrainSection = None  # type: ignore[assignment]
    clean: list[ComponentSpec] = None  # type: ignore[assignment]
    evaluate: list[ComponentSpec] = None  # type: ignore[assignment]
    baselines: list[ComponentSpec] = None  # type: ignore[assignment]
    launch: LaunchSection = None  # type: ignore[assignment]
    track: list[str] = None  # type: ignore[assignment]
    search: Optional[SearchSection] = None
    base_dir: Optional[str] = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        plain = {k: configs.to_plain(getattr(self, k)) for k in SECTIONS if getattr(self, k) is not None}
        parsed = _parse(plain, source=None, base_dir=self.base_dir, environment=False)
        for k in SECTIONS:
            object.__setattr__(self, k, getattr(parsed, k))

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str | None = None, base_dir: str | None = None,
                  check_environment: bool = False) -> "Recipe":
        """Parse plain data; with ``check_environment`` also what this machine must provide (data files,
        ...), every problem of both kinds in one RecipeError."""
        if not isinstance(data, dict):
            raise RecipeError([f"expected a mapping of sections ({', '.join(SECTIONS)}), got {type(data).__name__}"],
                              source)
        unknown = [k for k in data if k not in SECTIONS]
        problems = [f"{k}: unknown section" + did_you_mean(k, SECTIONS) + f" (sections: {', '.join(SECTIONS)})"
                    for k in unknown]
        if problems:
            raise RecipeError(problems, source)
        if check_environment:
            return _parse({k: configs.to_plain(v) for k, v in data.items()}, source, base_dir, environment=True)
        try:
            return cls(**{k: v for k, v in data.items()}, base_dir=base_dir)
        except RecipeError as exc:
            raise RecipeError(exc.problems, source) from None

    @classmethod
    def from_yaml(cls, path_or_text: str | os.PathLike, base_dir: str | None = None,
                  check_environment: bool = False) -> "Recipe":
        """Load a recipe from a YAML file path (or YAML text). Relative data paths are read from the
        file's folder (for text: from ``base_dir``, else the current folder). ``check_environment``: as
        in ``from_dict``."""
        text, source, file_dir = _read_source(path_or_text)
        base_dir = file_dir or base_dir
        data = safe_load(text, source)  # aliases, size and depth limited before anything expands
        return cls.from_dict(data if data is not None else {}, source=source, base_dir=base_dir,
                             check_environment=check_environment)

    # --- output -------------------------------------------------------------------------------
    def to_dict(self, minimal: bool = False) -> dict:
        out = {}
        for k in SECTIONS:
            value = configs.to_plain(getattr(self, k), minimal)
            if k in OPTIONAL_SECTIONS and not value:
                continue
            if k == "task" and minimal and set(value) <= {"type"}:
                value = value.get("type", self.task.type)
            if minimal and k == "baselines":
                if value == default_baselines(self.task):
                    continue
            elif minimal and k == "method" and not self.method.named:
                continue
            elif minimal and value in ({}, []) and k not in ("task", "data"):
                continue
            out[k] = value
        return out

    def to_yaml(self, minimal: bool = False) -> str:
        import yaml
        return yaml.safe_dump(self.to_dict(minimal), sort_keys=False, allow_unicode=True)

    def save(self, path: str | os.PathLike, minimal: bool = True) -> Path:
        return atomic_write_text(Path(path), self.to_yaml(minimal))

    def to_python(self) -> str:
        """Python source that builds this same recipe."""
        parts = ",\n    ".join(f"{k}={v!r}" for k, v in self.to_dict(minimal=True).items())
        return f"from ft_lab import Recipe\n\nrecipe = Recipe(\n    {parts},\n)\n"

    def validate(self, check_environment: bool = False) -> "Recipe":
        """Re-check after in-place edits (panels change fields one by one); returns a fresh Recipe."""
        return Recipe.from_dict(self.to_dict(), base_dir=self.base_dir, check_environment=check_environment)

    def resolve_path(self, p: str | None) -> str | None:
        if p is None:
            return None
        path = Path(os.path.expanduser(p))
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        return str(path.resolve())

    def resolved(self) -> "Recipe":
        """A copy with absolute data paths, as written into the run directory."""
        data = self.to_dict()
        for key in ("path", "train", "validation", "test", "replay_file", "general_test"):
            data["data"][key] = self.resolve_path(data["data"].get(key))
        data["model"]["from_run"] = self.resolve_path(data["model"].get("from_run"))
        for key in ("config_file", "deepspeed_config"):
            data["launch"][key] = self.resolve_path(data["launch"].get(key))
        data["model"]["adapter"] = self.resolve_path(data["model"].get("adapter"))
        return Recipe.from_dict(data, base_dir=self.base_dir)

    def model_task(self) -> str:
        """What the model itself does: classification (a head) or generation (also for classifier: lm)."""
        if self.task.type == "classification" and self.task.classifier == "lm":
            return "generation"
        return self.task.type

    def headline_metric(self) -> str:
        """The metric the run is judged on: the first evaluator's main key (``rouge`` -> ``rougeL``), or
        the validation loss when none is listed."""
        if not self.evaluate:
            return "loss"
        try:
            return self.evaluate[0].create("evaluator").headline()
        except KeyError:  # an evaluator whose plugin is gone (an old run's recipe): its name
            return self.evaluate[0].name


def default_baselines(task, registry=None) -> list[dict]:
    """The baselines a recipe gets when it lists none: the cheap ones that apply to its task."""
    registry = registry or get_registry()
    if task is None:
        return []
    return [{"name": n} for n in registry.names("baseline")
            if registry.get("baseline", n).default and task.type in registry.get("baseline", n).tasks]


def _read_source(path_or_text) -> tuple[str, str | None, str | None]:
    s = str(path_or_text)
    if "\n" not in s and (isinstance(path_or_text, os.PathLike) or s.endswith((".yaml", ".yml"))
                          or os.path.exists(s)):
        path = Path(s)
        try:
            return path.read_text(encoding="utf-8"), str(path), str(path.resolve().parent)
        except FileNotFoundError:
            raise UserError(f"{path}: recipe file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read the recipe file ({exc})") from None
    return s, None, None


def _component(kind: str, value: Any, path: str, problems: list[str], registry) -> ComponentSpec | None:
    if isinstance(value, ComponentSpec):
        value = value.to_plain()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        problems.append(f"{path}: expected a {kind} as a name or a mapping with 'name', got {value!r}")
        return None
    fields = dict(value)
    name = fields.pop("name")
    if kind == "method" and name == AUTO_METHOD:
        if fields:
            problems.append(f"{path}: 'auto' takes no settings ({', '.join(map(str, fields))}); name the method "
                            f"to set them, e.g. method: {{name: {FALLBACK_METHOD}, {next(iter(fields))}: ...}}")
            return None
        cls = registry.get(kind, FALLBACK_METHOD)
        return ComponentSpec(FALLBACK_METHOD, cls.Config(), named=False)
    try:
        cls = registry.get(kind, str(name))
    except KeyError as exc:
        problems.append(f"{path}: {exc.args[0]}")
        return None
    config, sub = configs.build(cls.Config, fields, path)
    problems.extend(sub)
    return ComponentSpec(name, config) if not sub else None


def component_spec(kind: str, value: Any, path: str, registry=None) -> ComponentSpec:
    """One component (a name, or a mapping of ``name`` and its Config fields) parsed as the recipe parses
    its sections; a RecipeError whose problem starts with ``path``."""
    problems: list[str] = []
    spec = _component(kind, value, path, problems, registry or get_registry())
    if problems:
        raise RecipeError(problems)
    return spec


class _Parse:
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


def parse_task(raw: Any, ctx: _Parse) -> TaskSection | None:
    if isinstance(raw, str):
        raw = {"type": raw}
    if raw is None:
        ctx.problems.append("task: required section is missing (classification or generation)")
        return None
    return ctx.build(TaskSection, raw, "task")


def parse_data(raw: Any, task_type: str | None, ctx: _Parse) -> DataSection | None:
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


def parse_model(raw: Any, ctx: _Parse) -> ModelSection | None:
    return ctx.build(ModelSection, raw or {}, "model")


def parse_train(raw: Any, ctx: _Parse) -> TrainSection | None:
    return ctx.build(TrainSection, raw or {}, "train")


def parse_method(raw: Any, plain: dict, task: TaskSection | None, train: TrainSection | None,
                 ctx: _Parse) -> ComponentSpec | None:
    method = _component("method", raw or AUTO_METHOD, "method", ctx.problems, ctx.registry)
    if method is not None and task is not None and train is not None:
        ctx.problems.extend(check_capabilities(
            {**plain, "task": configs.to_plain(task), "train": configs.to_plain(train)},
            ctx.registry.get("method", method.name), registry=ctx.registry, machine=False))
    return method


def parse_clean(raw: Any, ctx: _Parse) -> list[ComponentSpec | None]:
    raw = raw or []
    if not isinstance(raw, list):
        ctx.problems.append(f"clean: expected a list of cleaners, got {raw!r}")
        raw = []
    return [_component("cleaner", _files_from(v, ctx.base_dir), f"clean[{i}]", ctx.problems, ctx.registry)
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


def parse_evaluate(raw: Any, task: TaskSection | None, ctx: _Parse) -> list[ComponentSpec | None]:
    task_type = task.type if task else None
    if raw is None and task_type:
        raw = DEFAULT_EVALUATORS[task_type]
    if not isinstance(raw or [], list):
        ctx.problems.append(f"evaluate: expected a list of evaluators, got {raw!r}")
        raw = []
    evaluate = [_component("evaluator", v, f"evaluate[{i}]", ctx.problems, ctx.registry)
                for i, v in enumerate(raw or [])]
    if task_type:
        for i, spec in enumerate(evaluate):
            if spec is not None:
                tasks = ctx.registry.get("evaluator", spec.name).tasks
                if task_type not in tasks:
                    ctx.problems.append(f"evaluate[{i}]: '{spec.name}' does not apply to {task_type} "
                                        f"(it scores: {', '.join(tasks)})")
    return evaluate


def parse_baselines(raw: Any, task: TaskSection | None, ctx: _Parse) -> list:
    """The recipe's baselines; when the section is absent, the cheap defaults for the task ([] for none)."""
    task_type = task.type if task else None
    if raw is None:
        raw = default_baselines(task, ctx.registry)
    if not isinstance(raw, list):
        ctx.problems.append(f"baselines: expected a list of baselines (or [] for none), got {raw!r}")
        raw = []
    baselines = [_component("baseline", v, f"baselines[{i}]", ctx.problems, ctx.registry) for i, v in enumerate(raw)]
    if task_type:
        for i, spec in enumerate(baselines):
            if spec is not None and task_type not in ctx.registry.get("baseline", spec.name).tasks:
                ctx.problems.append(f"baselines[{i}]: '{spec.name}' does not apply to {task_type} (it answers: "
                                    f"{', '.join(ctx.registry.get('baseline', spec.name).tasks)})")
    return baselines


def check_early_stopping(task: TaskSection | None, train: TrainSection | None, evaluate: list,
                         ctx: _Parse) -> None:
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
                    ctx: _Parse) -> None:
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


def _parse(plain: dict, source: str | None, base_dir: str | None, environment: bool) -> Recipe:
    """Every section through its parser; all problems are gathered, then raised as one RecipeError.
    ``environment``: also what this machine must provide, for each section that parsed."""
    ctx = _Parse(get_registry(), base_dir, environment)
    task = parse_task(plain.get("task"), ctx)
    data = parse_data(plain.get("data"), task.type if task else None, ctx)
    model = parse_model(plain.get("model"), ctx)
    train = parse_train(plain.get("train"), ctx)
    method = parse_method(plain.get("method"), plain, task, train, ctx)
    clean = parse_clean(plain.get("clean"), ctx)
    evaluate = parse_evaluate(plain.get("evaluate"), task, ctx)
    check_early_stopping(task, train, evaluate, ctx)
    check_continual(data, model, train, ctx)
    baselines = parse_baselines(plain.get("baselines"), task, ctx)
    launch = parse_launch(plain.get("launch"), train, ctx)
    track = parse_track(plain.get("track"), ctx)
    search = parse_search(plain.get("search"), plain, ctx)
    ctx.problems.extend(recipe_secret_problems(plain))
    if environment:
        ctx.problems.extend(problems_for_sections(data, model, method, launch, plain, base_dir, ctx.registry))
    if ctx.problems:
        raise RecipeError(ctx.problems, source)
    out = object.__new__(Recipe)
    object.__setattr__(out, "base_dir", base_dir)
    for k, v in dict(task=task, data=data, model=model, method=method, train=train, clean=clean,
                     evaluate=evaluate, baselines=baselines, launch=launch, track=track, search=search).items():
        object.__setattr__(out, k, v)
    return out


def parse_launch(raw: Any, train: TrainSection | None, ctx: _Parse) -> LaunchSection | None:
    launch, sub = configs.build(LaunchSection, raw or {}, "launch")
    ctx.problems.extend(sub)
    if launch is not None:
        ctx.problems.extend(_launch_problems(launch, train))
    return launch


def parse_track(raw: Any, ctx: _Parse) -> list[str]:
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


def parse_search(raw: Any, plain: dict, ctx: _Parse) -> SearchSection | None:
    if raw is None:
        return None
    search = ctx.build(SearchSection, raw, "search")
    if search is not None:
        ctx.problems.extend(space_problems(search.space, plain, ctx.registry))
    return search


def _launch_problems(launch: LaunchSection, train: TrainSection | None) -> list[str]:
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


# --- how many processes a recipe trains on (read by the run starter and the launcher) -------------
def processes(recipe) -> int:
    """Processes on this machine: ``launch.num_processes``, else the older ``train.num_processes``."""
    launch = getattr(recipe, "launch", None)
    n = launch.num_processes if launch is not None else 1
    return n if n > 1 else recipe.train.num_processes


def is_distributed(recipe) -> bool:
    launch = getattr(recipe, "launch", None)
    return processes(recipe) > 1 or bool(launch and (launch.num_machines > 1 or launch.config_file))
