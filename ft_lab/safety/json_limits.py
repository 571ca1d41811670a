"""Parsing JSON data files with a nesting limit, as ``yaml_limits`` does for recipes: a file nested a few
hundred thousand levels deep is one clear error, never a ``RecursionError`` (file sizes are limited by
``ft_lab.data.loading.max_bytes``).

    row = loads(line, "data.jsonl: line 3")   # UserError naming the place when it nests too deeply
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import UserError

MAX_DEPTH = 100  # nesting of arrays and objects; a data row needs a few levels


def loads(text: str, where: str) -> Any:
    """``json.loads`` that refuses nesting deeper than MAX_DEPTH (JSONDecodeError passes through)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep(where) from None
    stack = [(data, 1)]
    while stack:  # iterative: the check itself must not recurse
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(where)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return data


def _too_deep(where: str) -> UserError:
    return UserError(f"{where}: the JSON nests more than {MAX_DEPTH} levels of arrays or objects; a data row "
                     f"needs a few: flatten the file")
