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
from . import section_parsers as sp
from .component_spec import ComponentSpec
from .environment import problems_for_sections
from .plugins import get_registry
from .sections import (
    DataSection,
    LaunchSection,
    ModelSection,
    SearchSection,
    TaskSection,
    TrainSection,
)


SECTIONS = ("task", "data", "clean", "model", "method", "train", "evaluate", "baselines", "launch", "track", "search")
#: sections left out of a recipe's output while empty (older ft-lab versions read such recipes too)
OPTIONAL_SECTIONS = ("track", "search")


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
                if value == sp.default_baselines(self.task):
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


def _parse(plain: dict, source: str | None, base_dir: str | None, environment: bool) -> Recipe:
    """Every section through its parser; all problems are gathered, then raised as one RecipeError.
    ``environment``: also what this machine must provide, for each section that parsed."""
    ctx = sp.ParseContext(get_registry(), base_dir, environment)
    task = sp.parse_task(plain.get("task"), ctx)
    data = sp.parse_data(plain.get("data"), task.type if task else None, ctx)
    model = sp.parse_model(plain.get("model"), ctx)
    train = sp.parse_train(plain.get("train"), ctx)
    method = sp.parse_method(plain.get("method"), plain, task, train, ctx)
    clean = sp.parse_clean(plain.get("clean"), ctx)
    evaluate = sp.parse_evaluate(plain.get("evaluate"), task, ctx)
    sp.check_early_stopping(task, train, evaluate, ctx)
    sp.check_continual(data, model, train, ctx)
    baselines = sp.parse_baselines(plain.get("baselines"), task, ctx)
    launch = sp.parse_launch(plain.get("launch"), train, ctx)
    track = sp.parse_track(plain.get("track"), ctx)
    search = sp.parse_search(plain.get("search"), plain, ctx)
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


# --- how many processes a recipe trains on (read by the run starter and the launcher) -------------
def processes(recipe) -> int:
    """Processes on this machine: ``launch.num_processes``, else the older ``train.num_processes``."""
    launch = getattr(recipe, "launch", None)
    n = launch.num_processes if launch is not None else 1
    return n if n > 1 else recipe.train.num_processes


def is_distributed(recipe) -> bool:
    launch = getattr(recipe, "launch", None)
    return processes(recipe) > 1 or bool(launch and (launch.num_machines > 1 or launch.config_file))
