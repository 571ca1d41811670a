"""Loading YAML with limits, so that a small file cannot take minutes or gigabytes (an alias "bomb").

    data = safe_load(text, "recipe.yaml")   # RecipeError naming the file, line and limit on bad input

The node graph is composed first (aliases are shared nodes there, nothing is expanded yet) and measured
as it would expand, stopping as soon as a limit is passed; only then is it turned into Python objects.
"""
from __future__ import annotations

from ..errors import RecipeError

MAX_BYTES = 2 * 2**20        # a recipe is a few kilobytes
MAX_NODES = 100_000          # scalars, lists and mappings after expanding every alias
MAX_DEPTH = 64               # nesting of lists and mappings


def safe_load(text: str, source: str | None = None):
    """``yaml.safe_load`` with the limits above; any problem is a ``RecipeError`` (one line)."""
    import yaml

    if len(text) > MAX_BYTES:
        raise RecipeError([f"the file is {len(text)} bytes; a recipe may hold at most {MAX_BYTES} bytes"], source)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RecipeError([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"], source) from None
    except _TooBig as exc:
        raise RecipeError([str(exc)], source) from None
    finally:
        loader.dispose()


class _TooBig(Exception):
    pass


def _measure(root) -> None:
    """Walk the node graph as if every alias were expanded; stop at the first limit passed."""
    import yaml

    nodes = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _TooBig(f"the YAML expands to more than {MAX_NODES} values (anchors and aliases repeat "
                          f"content); write the values out instead of aliasing them")
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise _TooBig(f"line {mark.line + 1}: the YAML nests more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            continue
        # PyYAML resolves ``*a`` to the very node of ``&a``: walking children expands every alias use
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        stack.extend((child, depth + 1) for child in children)
