"""Plugin discovery through pluggy: the built-in ``ft_lab.default_plugins``, then entry points in the
``ft_lab`` group, then plugin objects registered in-process with ``register_plugin``.

pluggy is the dispatcher: each collection hook is called through ``pm.hook.<name>.get_hookimpls()``
(so ``specname=`` and in-process ``pm.register`` work), one implementation at a time so that one broken
plugin never takes the others down. A failed import (``sys.exit()`` and ``KeyboardInterrupt`` included),
an exception in a hook, an invalid component or a hook name that is not an ft-lab hook is listed under
``broken`` with its error. Environment variables:

- ``FT_LAB_PLUGINS``: comma-separated entry-point names to load (all when unset; none when empty);
- ``FT_LAB_BLOCK_PLUGINS``: comma-separated entry-point names never to load;
- ``FT_LAB_STRICT_PLUGINS=1``: raise the first plugin error (for plugin authors' tests).

In a test, without installing a package::

    class MyPlugin:
        @ft_lab.hookimpl
        def register_cleaners(self, register):
            register(Shout)

    register_plugin(MyPlugin(), "my-plugin")      # get_registry() now lists it
    ...
    unregister_plugin("my-plugin")
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from .. import __version__
from ..errors import PluginError, did_you_mean
from . import hookspecs
from .components import Baseline, Cleaner, Evaluator, Method

GROUP = "ft_lab"
#: The built-in plugins (imported by name, so that this core module does not import the steps).
DEFAULT_PLUGINS = ("ft_lab.default_plugins.default_cleaners", "ft_lab.default_plugins.default_methods",
                   "ft_lab.default_plugins.default_evaluators", "ft_lab.default_plugins.default_baselines",
                   "ft_lab.default_plugins.default_trackers")


@dataclass(frozen=True)
class Kind:
    """A kind of component: its name, its base class, its title in the docs; the hook ``register_<name>s``
    registers it."""

    name: str
    base: type
    title: str

    @property
    def plural(self) -> str:
        return self.name + "s"

    @property
    def hook(self) -> str:
        return f"register_{self.plural}"


#: Every component kind, in display order: the one table of kinds (the registry, the conformance kit, the
#: reference docs and ``ft-lab plugins`` read it). A new kind is one line here plus its hookspec.
KINDS = (Kind("cleaner", Cleaner, "Cleaners"), Kind("method", Method, "Tuning methods"),
         Kind("evaluator", Evaluator, "Evaluators"), Kind("baseline", Baseline, "Baselines"))
KIND_BY_NAME = {k.name: k for k in KINDS}


@dataclass
class PluginInfo:
    name: str
    version: str
    components: dict[str, list[str]] = field(default_factory=lambda: {k.plural: [] for k in KINDS})
    builtin: bool = False


@dataclass
class Registry:
    """Every component found, by kind and name, with the plugin that supplied it."""

    components: dict[str, dict[str, type]] = field(default_factory=lambda: {k.name: {} for k in KINDS})
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)
    #: ``register_commands`` implementations, (plugin name, function): the CLI calls them.
    commands: list[tuple[str, object]] = field(default_factory=list)
    #: ``register_trackers``: tracker name -> (plugin name, factory(run_dir, recipe) -> tracker)
    trackers: dict[str, tuple[str, object]] = field(default_factory=dict)

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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit: it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"


#: Plugin objects registered in-process (tests, notebooks): (name, object).
_in_process: list[tuple[str, object]] = []


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Add a plugin object (a module, class or instance with ``@hookimpl`` methods) to every registry
    built from now on; returns its name. The process-wide registry is rebuilt on next use. Registering
    a name again replaces the earlier plugin (a notebook cell run twice)."""
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    _in_process[:] = [(n, p) for n, p in _in_process if n != name]
    _in_process.append((name, plugin))
    _forget()
    return name


def unregister_plugin(name: str) -> None:
    """Remove a plugin added with ``register_plugin``."""
    _in_process[:] = [(n, p) for n, p in _in_process if n != name]
    _forget()


def in_process_plugins() -> list[tuple[str, object]]:
    """The plugins added with ``register_plugin``, as (name, object), in registration order."""
    return list(_in_process)


def load_registry(strict: bool | None = None) -> Registry:
    """Discover plugins and collect their components (fresh each call; see ``get_registry``)."""
    strict = _strict_default() if strict is None else strict
    reg = Registry()
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}

    def fail(name: str, error: str, exc: BaseException | None = None):
        if strict:
            if isinstance(exc, Exception):
                raise exc
            raise PluginError(f"plugin '{name}': {error}") from exc
        reg.broken.append({"name": name, "error": error})

    def add(plugin_name: str, obj: object, info: PluginInfo, load_error: str) -> None:
        try:
            pm.register(obj, name=plugin_name)
        except BaseException as exc:  # noqa: BLE001 - a hook signature pluggy refuses
            fail(info.name, f"{load_error}: {_describe(exc)}", exc)
            return
        infos[plugin_name] = info

    for modname in DEFAULT_PLUGINS:
        add(modname, importlib.import_module(modname), PluginInfo(modname, __version__, builtin=True),
            "could not register")

    allow, block = _env_list("FT_LAB_PLUGINS"), _env_list("FT_LAB_BLOCK_PLUGINS") or set()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in block or (allow is not None and ep.name not in allow):
            continue
        dist = getattr(ep, "dist", None)
        version = dist.version if dist is not None else "unknown"
        label = dist.metadata["Name"] if dist is not None else ep.name
        where = f"could not load entry point '{ep.name} = {ep.value}'"
        try:
            module = ep.load()
        except BaseException as exc:  # noqa: BLE001 - sys.exit() or Ctrl-C in a plugin must not end ft-lab
            fail(label, f"{where}: {_describe(exc)}", exc)
            continue
        add(ep.name, module, PluginInfo(label, version), where)

    for name, obj in _in_process:
        add(name, obj, PluginInfo(name, "in-process"), "could not register")

    _refuse_unknown_hooks(pm, infos, fail)
    for kind in KINDS:
        for impl in getattr(pm.hook, kind.hook).get_hookimpls():  # registration order: built-ins first
            info = infos[impl.plugin_name]
            found: list[type] = []
            try:
                impl.function(register=found.append)
            except BaseException as exc:  # noqa: BLE001 - isolation, as for imports
                fail(info.name, f"hook {kind.hook} raised {_describe(exc)}", exc)
                continue
            for comp in found:
                problem = _admit(reg, kind.name, comp, info.name)
                if problem:
                    fail(info.name, problem)
                else:
                    info.components[kind.plural].append(comp.name)
    reg.commands = [(infos[impl.plugin_name].name, impl.function)
                    for impl in pm.hook.register_commands.get_hookimpls()]
    _collect_trackers(pm, reg, infos, fail)
    reg.plugins = list(infos.values())
    return reg


def _collect_trackers(pm: pluggy.PluginManager, reg: Registry, infos: dict[str, PluginInfo], fail) -> None:
    """``register_trackers(register)``: ``register(name, factory)``; a name registered twice keeps the first."""
    for impl in pm.hook.register_trackers.get_hookimpls():
        info = infos[impl.plugin_name]
        found: list[tuple] = []
        try:
            impl.function(register=lambda name, factory: found.append((name, factory)))
        except BaseException as exc:  # noqa: BLE001 - isolation, as for the components
            fail(info.name, f"hook register_trackers raised {_describe(exc)}", exc)
            continue
        for name, factory in found:
            if not isinstance(name, str) or not callable(factory):
                fail(info.name, f"register_trackers: expected register(name, factory), got {name!r}")
            elif name in reg.trackers:
                fail(info.name, f"tracker '{name}' is registered by both '{reg.trackers[name][0]}' and "
                                f"'{info.name}'; the one from '{info.name}' was refused")
            else:
                reg.trackers[name] = (info.name, factory)


def _refuse_unknown_hooks(pm: pluggy.PluginManager, infos: dict[str, PluginInfo], fail) -> None:
    """A ``@hookimpl`` whose name is not an ft-lab hook (a typo) would be silently ignored: list it."""
    known = [n for n in dir(hookspecs) if n.startswith("register_")]
    for name in sorted(vars(pm.hook)):
        caller = getattr(pm.hook, name)
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            fail(infos[impl.plugin_name].name,
                 f"'{name}' is not an ft-lab hook" + did_you_mean(name, known) + f" (hooks: {', '.join(known)})")


def _admit(reg: Registry, kind: str, comp, plugin: str) -> str | None:
    base = KIND_BY_NAME[kind].base
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


def _forget() -> None:
    global _cached
    _cached = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, discovered once."""
    global _cached
    if _cached is None or refresh:
        _cached = load_registry()
    return _cached
