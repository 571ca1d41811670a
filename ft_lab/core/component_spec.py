"""A recipe's components (cleaners, the method, evaluators, baselines): a registered name and its Config.

    spec = component_spec("method", {"name": "lora", "r": 8}, "method")   # ComponentSpec("lora", LoraConfig(r=8))
    spec.create("method")                                                 # the method itself
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RecipeError
from . import configs
from .plugins import get_registry

#: ``method: auto`` (the default): full fine-tuning for a small encoder with a new head, else this one
AUTO_METHOD, FALLBACK_METHOD = "auto", "lora"


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


def parse_component(kind: str, value: Any, path: str, problems: list[str], registry) -> ComponentSpec | None:
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
    spec = parse_component(kind, value, path, problems, registry or get_registry())
    if problems:
        raise RecipeError(problems)
    return spec
