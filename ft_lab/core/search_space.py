"""The ``search`` section's space: recipe fields and their ranges, parsed without touching Optuna.

    dims = dimensions({"train.learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
                       "method.r": [4, 8, 16]})
    dims[0].kind                              # "float"
    apply_params(plain_recipe, {"method.r": 8, "train.learning_rate": 3e-4})   # a trial's recipe (plain)

A range is ``{low, high}`` (ints when both are ints) with ``log`` (log scale), ``step`` (a grid step)
and ``points`` (how many values a grid takes from a float range); a list, or ``{choices: [...]}``, is a
choice of at least two values. A path is ``section.field`` of task, data, model, train or launch, or
``method.FIELD`` of the recipe's method (or of any method ``method.name`` chooses), or ``method.name``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import did_you_mean
from . import configs
from .sections import DataSection, LaunchSection, ModelSection, TaskSection, TrainSection

SECTION_CLASSES = {"task": TaskSection, "data": DataSection, "model": ModelSection, "train": TrainSection,
                   "launch": LaunchSection}
RANGE_KEYS = ("low", "high", "log", "step", "points")


@dataclass(frozen=True)
class Dimension:
    """One searched field: ``kind`` float, int or choice."""

    path: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    points: int | None = None
    choices: tuple = ()

    def grid(self) -> list:
        """The values a grid search takes (every choice; every step of an int range; ``points`` of a float range)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int" and not self.log:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9))
            return [self.low + i * self.step for i in range(n + 1)]
        n = self.points or (int(math.log2(self.high / self.low)) + 1 if self.kind == "int" else 3)
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            values = [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)] if n > 1 else [self.low]
        else:
            values = [self.low + (self.high - self.low) * i / (n - 1) for i in range(n)] if n > 1 else [self.low]
        if self.kind == "int":
            return sorted({int(round(v)) for v in values})
        return [float(f"{v:.6g}") for v in values]

    def extremes(self) -> list:
        """The values a recipe is checked with before the search starts."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_dimension(path: str, spec: Any) -> tuple[Dimension | None, list[str]]:
    where = f"search.space.{path}"
    if isinstance(spec, dict) and "choices" in spec:
        if set(spec) - {"choices"}:
            return None, [f"{where}: a choice takes only 'choices', got {', '.join(sorted(set(spec) - {'choices'}))}"]
        spec = spec["choices"]
    if isinstance(spec, (list, tuple)):
        values = tuple(spec)
        if len(values) < 2:
            return None, [f"{where}: a choice needs at least two values, got {list(values)!r} (fix the value "
                          f"in the recipe itself instead of searching it)"]
        if len({repr(v) for v in values}) != len(values):
            return None, [f"{where}: a value is listed twice in {list(values)!r}"]
        return Dimension(path, "choice", choices=values), []
    if not isinstance(spec, dict):
        return None, [f"{where}: expected a range {{low, high}} or a list of choices, got {spec!r}"]
    unknown = [k for k in spec if k not in RANGE_KEYS]
    if unknown:
        return None, [f"{where}.{unknown[0]}: unknown key" + did_you_mean(str(unknown[0]), RANGE_KEYS)
                      + f" (keys: {', '.join(RANGE_KEYS)}, or choices)"]
    low, high = spec.get("low"), spec.get("high")
    if not (_number(low) and _number(high)):
        return None, [f"{where}: a range needs numbers low and high, got low={low!r}, high={high!r}"]
    if low >= high:
        return None, [f"{where}: empty or inverted range (low {low} must be below high {high})"]
    log = spec.get("log", False)
    if not isinstance(log, bool):
        return None, [f"{where}.log: expected true or false, got {log!r}"]
    if log and low <= 0:
        return None, [f"{where}: a log-scale range needs low > 0, got {low}"]
    step, points = spec.get("step"), spec.get("points")
    if step is not None and (not _number(step) or step <= 0 or step > high - low):
        return None, [f"{where}.step: expected a number in (0, high - low], got {step!r}"]
    if step is not None and log:
        return None, [f"{where}: give either step or log, not both"]
    if points is not None and (not isinstance(points, int) or isinstance(points, bool) or points < 2):
        return None, [f"{where}.points: expected an integer of at least 2, got {points!r}"]
    kind = "int" if isinstance(low, int) and isinstance(high, int) and not isinstance(step, float) else "float"
    return Dimension(path, kind, low, high, log, step, points), []


def dimensions(space: dict) -> list[Dimension]:
    """The space's dimensions; raises ValueError with every problem (``space_problems`` lists them)."""
    dims, problems = _parse_all(space)
    if problems:
        raise ValueError("; ".join(problems))
    return dims


def _parse_all(space) -> tuple[list[Dimension], list[str]]:
    if not isinstance(space, dict) or not space:
        return [], ["search.space: give at least one field to search, e.g. train.learning_rate: "
                    "{low: 1e-5, high: 1e-2, log: true}"]
    dims, problems = [], []
    for path, spec in space.items():
        dim, sub = parse_dimension(str(path), spec)
        problems += sub
        if dim is not None:
            dims.append(dim)
    return dims, problems


def space_problems(space: dict, plain: dict, registry) -> list[str]:
    """Every problem of ``space`` for the recipe ``plain``: ranges, and fields that do not exist."""
    dims, problems = _parse_all(space)
    method_names = _method_names(plain, dims)
    for dim in dims:
        problems += _field_problems(dim.path, method_names, registry)
    return problems


def _method_names(plain: dict, dims: list[Dimension]) -> list[str]:
    chosen = next((d.choices for d in dims if d.path == "method.name"), None)
    if chosen is not None:
        return [str(c) for c in chosen]
    method = plain.get("method") or "auto"
    name = method.get("name") if isinstance(method, dict) else method
    return [str(name)]


def _field_problems(path: str, method_names: list[str], registry) -> list[str]:
    where = f"search.space.{path}"
    section, _, name = path.partition(".")
    if not name or "." in name:
        return [f"{where}: expected SECTION.FIELD, e.g. train.learning_rate or method.r"]
    if section == "method":
        if name == "name":
            return []
        fields: set[str] = set()
        for m in method_names:
            if m == "auto":
                return [f"{where}: the recipe's method is auto; name it (method: {{name: lora}}) to search its fields"]
            try:
                fields |= {f.name for f in configs.fields_of(registry.get("method", m).Config)}
            except KeyError:
                continue  # the recipe's own check reports the unknown method
        return [] if name in fields else [f"{where}: unknown field of method {'/'.join(method_names)}"
                                          + did_you_mean(name, fields) + f" (fields: {', '.join(sorted(fields))})"]
    cls = SECTION_CLASSES.get(section)
    if cls is None:
        return [f"{where}: unknown section '{section}'" + did_you_mean(section, [*SECTION_CLASSES, "method"])
                + f" (searchable: {', '.join([*SECTION_CLASSES, 'method'])})"]
    known = [f.name for f in configs.fields_of(cls)]
    if name not in known:
        return [f"{where}: unknown field" + did_you_mean(name, known) + f" (fields of {section}: {', '.join(known)})"]
    return []


def apply_params(plain: dict, params: dict) -> dict:
    """A copy of the recipe ``plain`` (its dict) with each ``section.field`` set to the trial's value; the
    ``search`` section is left out (a trial is an ordinary run). A chosen ``method.name`` other than the
    recipe's starts that method from its defaults."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in plain.items() if k != "search"}
    if "method.name" in params:
        method = out.get("method")
        current = method.get("name") if isinstance(method, dict) else method
        if params["method.name"] != current:
            out["method"] = {"name": params["method.name"]}
    for path, value in params.items():
        section, _, name = path.partition(".")
        if section == "method" and name == "name":
            continue
        target = out.get(section)
        if isinstance(target, str):
            target = {"type" if section == "task" else "name": target}
        out[section] = {**(target or {}), name: value}
    return out
