"""``ft-lab plugins [--json]``: installed plugins, the components each one registered, and broken ones.
``ft-lab plugins new NAME [--kind K] [--out DIR] [--force]``: a new plugin package from the template."""
from __future__ import annotations

import json
from pathlib import Path

from ..core.plugins import KINDS, load_registry
from .scaffold import TEMPLATE_KINDS, write_plugin
from .table import print_table


def cmd_plugins(args) -> int:

    data = load_registry().as_json()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    plurals = [k.plural for k in KINDS]
    table = [("plugin", "version", *plurals)]
    for p in data["plugins"]:
        c = p["components"]
        table.append((p["name"], p["version"], *(", ".join(c.get(k, [])) or "-" for k in plurals)))
    print_table(table)
    for b in data["broken"]:
        print(f"broken: {b['name']}: {b['error']}")
    return 0


def cmd_new(args) -> int:

    folder, names = write_plugin(args.name, kind=args.kind, out=Path(args.out) if args.out else None,
                                 force=args.force)
    print(f"created {names.dist} in {folder}: the {names.kind} '{names.component}' (class {names.cls} in "
          f"{names.module}/{names.kind}.py) and its test")
    print(f"next: pip install -e {folder} && pytest {folder}")
    return 0


def add_commands(subparsers) -> None:

    p = subparsers.add_parser("plugins", help="list plugins and their components; start a new plugin",
                              description="Installed plugins, the components each registered, and broken ones.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_plugins)
    sub = p.add_subparsers(dest="plugins_command", metavar="new")
    new = sub.add_parser("new", help="write a new plugin package from the template",
                         description="Write a plugin package: one component with its Config, a test that runs "
                                     "ft-lab's conformance checks, a README, and a pyproject with the ft_lab "
                                     "entry point. NAME 'ticket-tools' gives the package ft-lab-ticket-tools "
                                     "and the component 'ticket_tools'.")
    new.add_argument("name", metavar="NAME", help="the plugin's name: lowercase letters, digits and hyphens")
    new.add_argument("--kind", choices=TEMPLATE_KINDS, default="cleaner", help="the component to start from (default: cleaner)")
    new.add_argument("--out", metavar="DIR", help="the folder to create (default: ./ft-lab-NAME)")
    new.add_argument("--force", action="store_true", help="write into an existing, non-empty folder")
    new.set_defaults(handler=cmd_new)
