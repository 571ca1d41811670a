"""A new plugin package from the template (``ft-lab plugins new NAME``): one component with its Config, a
test running ft-lab's conformance checks, a README, and a pyproject with the ``ft_lab`` entry point.

    write_plugin("ticket-tools", kind="cleaner", out=Path("ft-lab-ticket-tools"))
    # ft-lab-ticket-tools/pyproject.toml, README.md, ft_lab_ticket_tools/{__init__,plugin,cleaner}.py,
    # tests/test_ft_lab_ticket_tools.py; the cleaner is registered as 'ticket_tools'

The template is the folder ``plugins/template`` of the repository, shipped in the wheel as
``ft_lab/plugin_template``; its files end in ``.tmpl`` and hold ``{{placeholder}}`` marks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..core.plugins import get_registry
from ..errors import UserError
from ..safety.output_paths import check_out_folder

TEMPLATE_KINDS = ("cleaner", "evaluator", "method")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME = 50


def template_folder(package: Path | None = None) -> Path:
    """The template: inside the installed package (a wheel), else in the source tree (a git checkout).
    ``package`` is the ``ft_lab`` folder to look in (default: this one)."""
    package = Path(package) if package is not None else Path(__file__).resolve().parent.parent
    for folder in (package / "plugin_template", package.parent / "plugins" / "template"):
        if (folder / "common" / "pyproject.toml.tmpl").is_file():
            return folder
    raise UserError(f"the plugin template is missing from this ft-lab installation (looked in "
                    f"{package / 'plugin_template'}); reinstall ft-lab")


@dataclass(frozen=True)
class PluginNames:
    """Every name the template needs, derived from the one the user gives (``ticket-tools``)."""

    dist: str       # ft-lab-ticket-tools: the package name on PyPI and in `ft-lab plugins`
    module: str     # ft_lab_ticket_tools: the import name
    entry: str      # ticket_tools: the entry point's name
    component: str  # ticket_tools: the component's registered name
    cls: str        # TicketToolsCleaner
    kind: str

    def marks(self) -> dict[str, str]:
        return {"dist": self.dist, "module": self.module, "entry": self.entry, "component": self.component,
                "class": self.cls, "kind": self.kind, "ft_lab_version": __version__}


def plugin_names(name: str, kind: str = "cleaner") -> PluginNames:
    """The names for plugin ``name``; a UserError (one line) for a name that cannot be a package."""
    if kind not in TEMPLATE_KINDS:
        raise UserError(f"--kind {kind}: choose one of {', '.join(TEMPLATE_KINDS)}")
    base = name[len("ft-lab-"):] if name.startswith("ft-lab-") else name
    if not NAME_RE.match(base) or len(base) > MAX_NAME:
        raise UserError(f"plugin name {name!r}: use lowercase letters, digits and hyphens, starting with a "
                        f"letter and at most {MAX_NAME} characters, such as ticket-tools")
    snake = base.replace("-", "_")
    words = snake.split("_")
    cls = "".join(w[:1].upper() + w[1:] for w in words)
    if words[-1] != kind:
        cls += kind.capitalize()
    return PluginNames(dist=f"ft-lab-{base.replace('_', '-')}", module=f"ft_lab_{snake}", entry=snake,
                       component=snake, cls=cls, kind=kind)


def _check_unused(names: PluginNames) -> None:
    registry = get_registry()
    if names.component in registry.names(names.kind):
        raise UserError(f"plugin name {names.entry!r}: a {names.kind} named {names.component!r} is already "
                        f"registered by {registry.owner(names.kind, names.component)!r}; choose another name")


def _fill(text: str, marks: dict[str, str]) -> str:
    for key, value in marks.items():
        text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{\w+\}\}", text)
    if left:  # a template edited with a mark this code does not know
        raise UserError(f"the plugin template has an unknown placeholder {left[0]}; reinstall ft-lab")
    return text


def plan(names: PluginNames) -> list[tuple[Path, str]]:
    """(template file, path in the new package) for each file to write."""
    t = template_folder()
    return [(t / "common" / "pyproject.toml.tmpl", "pyproject.toml"),
            (t / "common" / "README.md.tmpl", "README.md"),
            (t / "common" / "__init__.py.tmpl", f"{names.module}/__init__.py"),
            (t / "common" / "plugin.py.tmpl", f"{names.module}/plugin.py"),
            (t / names.kind / "component.py.tmpl", f"{names.module}/{names.kind}.py"),
            (t / names.kind / "test_component.py.tmpl", f"tests/test_{names.module}.py")]


def write_plugin(name: str, kind: str = "cleaner", out: Path | None = None, force: bool = False) -> tuple[Path, PluginNames]:
    """Write the new package into ``out`` (default: ``./<dist>``); returns the folder and the names."""
    names = plugin_names(name, kind)
    _check_unused(names)
    folder = check_out_folder(out if out is not None else Path.cwd() / names.dist, force=force)
    marks = names.marks()
    files = [(target, _fill(source.read_text(encoding="utf-8"), marks)) for source, target in plan(names)]
    for target, text in files:
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder, names
