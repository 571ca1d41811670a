"""Plugin discovery: entry points in the ``ft_lab`` group plus the built-in ``default_*`` modules.

One broken plugin never takes the others down: a failed import, an exception in a hook or an invalid
component is listed under ``broken`` with its error. Environment variables:

- ``FT_LAB_PLUGINS``: comma-separated entry-point names to load (all when unset; none when empty);
- ``FT_LAB_BLOCK_PLUGINS``: comma-separated entry-point names never to load;
- ``FT_LAB_STRICT_PLUGINS=1``: re-raise the first plugin error (for plugin authors' tests).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from . import hookspecs
from .components import BASES
from .errors import PluginError, did_you_mean

GROUP = "ft_lab"
DEFAULT_PLUGINS = ("ft_lab.default_cleaners", "ft_lab.default_methods", "ft_lab.default_evaluators",
                   "ft_lab.default_baselines")
HOOKS = {"cleaner": "register_cleaners", "method": "register_methods", "evaluator": "register_evaluators",
         "baseline": "register_baselines"}


@dataclass
class PluginInfo:
    name: str
    version: str
    components: dict[str, list[str]] = field(
        default_factory=lambda: {"cleaners": [], "methods": [], "evaluators": [], "baselines": []})
    builtin: bool = False


@dataclass
class Registry:
    """Every component found, by kind and name, with the plugin that supplied it."""

    components: dict[str, dict[str, type]] = field(default_factory=lambda: {k: {} for k in BASES})
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)
    pm: pluggy.PluginManager | None = None

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def get(self, kind: str, name: str) -> type:
        try:
            return self.components[kind][name]
        except KeyError:
            known = self.names(kind)
            raise KeyError(f"unknown {kind} '{name}'" + did_you_mean(name, known)
                           + f" (available: {', '.join(known) or 'none'})") from None

    def owner(self, kind: str, name: str) -> str:
        return self.owners[(kind, name)]

    def as_json(self) -> dict:
        return {"plugins": [{"name": p.name, "version": p.version, "components": p.components}
                            for p in self.plugins],
                "broken": list(self.broken)}


def _env_list(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {x.strip() for x in raw.split(",") if x.strip()}


def _strict_default() -> bool:
    return os.environ.get("FT_LAB_STRICT_PLUGINS", "").lower() in ("1", "true", "yes")


def load_registry(strict: bool | None = None) -> Registry:
    """Discover plugins and collect their components (fresh each call; see ``get_registry``)."""
    strict = _strict_default() if strict is None else strict
    reg = Registry()
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    reg.pm = pm

    def fail(name: str, error: str, exc: BaseException | None = None):
        if strict:
            if exc is not None:
                raise exc
            raise PluginError(f"plugin '{name}': {error}")
        reg.broken.append({"name": name, "error": error})

    from . import __version__
    modules: list[tuple[str, object, PluginInfo]] = []
    for modname in DEFAULT_PLUGINS:
        module = importlib.import_module(modname)
        pm.register(module, name=modname)
        modules.append((modname, module, PluginInfo(modname, __version__, builtin=True)))

    allow, block = _env_list("FT_LAB_PLUGINS"), _env_list("FT_LAB_BLOCK_PLUGINS") or set()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in block or (allow is not None and ep.name not in allow):
            continue
        dist = getattr(ep, "dist", None)
        version = dist.version if dist is not None else "unknown"
        label = dist.metadata["Name"] if dist is not None else ep.name
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must not take ft-lab down
            fail(label, f"could not load entry point '{ep.name} = {ep.value}': "
                        f"{type(exc).__name__}: {exc}", exc)
            continue
        modules.append((ep.name, module, PluginInfo(label, version)))

    for plugin_name, module, info in modules:
        for kind, hook in HOOKS.items():
            impl = getattr(module, hook, None)
            if impl is None:
                continue
            found: list[type] = []
            try:
                impl(register=found.append)
            except Exception as exc:
                fail(info.name, f"hook {hook} raised {type(exc).__name__}: {exc}", exc)
                continue
            for comp in found:
                problem = _admit(reg, kind, comp, info.name)
                if problem:
                    fail(info.name, problem)
                else:
                    info.components[kind + "s"].append(comp.name)
        reg.plugins.append(info)
    return reg


def _admit(reg: Registry, kind: str, comp, plugin: str) -> str | None:
    base = BASES[kind]
    if not (isinstance(comp, type) and issubclass(comp, base)):
        return f"register_{kind}s registered {comp!r}, which is not a subclass of ft_lab.{base.__name__}"
    problems = comp.check()
    if problems:
        return "; ".join(problems)
    if comp.name in reg.components[kind]:
        return (f"{kind} '{comp.name}' is registered by both '{reg.owners[(kind, comp.name)]}' and "
                f"'{plugin}'; the one from '{plugin}' was refused (rename it, or block one plugin "
                f"with FT_LAB_BLOCK_PLUGINS)")
    reg.components[kind][comp.name] = comp
    reg.owners[(kind, comp.name)] = plugin
    return None


_cached: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, discovered once."""
    global _cached
    if _cached is None or refresh:
        _cached = load_registry()
    return _cached
