"""``ft-lab plugins [--json]``: installed plugins, the components each one registered, and broken ones."""
from __future__ import annotations

import json

from .table import print_table


def cmd_plugins(args) -> int:
    from ..plugins import KINDS, load_registry

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


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list plugins and their components",
                              description="Installed plugins, the components each registered, and broken ones.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_plugins)
