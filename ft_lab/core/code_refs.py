"""Recipes are data, not code: the policy for ``module:function`` values in a recipe.

    check_code_refs(["my_plugin.names:find_names"], "recognizers")   # ValueError when refused

A reference is accepted when its module belongs to an installed ft-lab plugin (a package that
registers an entry point in the ``ft_lab`` group), or when the user allows code explicitly with
``--allow-code`` or ``FT_LAB_ALLOW_CODE=1``. Anything else (``builtins:eval``, ``os:system``, a module
of the user's folder) is refused when the recipe is validated, before any data is read.
"""
from __future__ import annotations

import os
import re

from ..errors import UserError
from .plugins import GROUP


class CodeRefError(UserError, ValueError):
    """A refused ``module:function`` value: a recipe problem (ValueError) and a UserError alike."""

ALLOW_ENV = "FT_LAB_ALLOW_CODE"
_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def code_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def plugin_packages() -> set[str]:
    """Top-level packages of the installed plugins' entry points."""
    from importlib.metadata import entry_points

    return {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group=GROUP)}


def refusal(ref: str, field: str) -> str | None:
    """Why ``ref`` may not be loaded, or None when it may."""
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        return (f"{field}: {ref!r} is not 'module:function' (for example 'my_package.names:find_names')")
    if code_allowed():
        return None
    top = ref.split(":")[0].split(".")[0]
    if top in plugin_packages():
        return None
    return (f"{field}: {ref!r} would run code named by the recipe; only functions of installed ft-lab "
            f"plugins are allowed. If you trust this recipe, pass --allow-code (or set {ALLOW_ENV}=1)")


def check_code_refs(refs, field: str) -> None:
    """Raise ``CodeRefError`` (a recipe problem) for the first reference that is refused."""
    for ref in refs or ():
        reason = refusal(ref, field)
        if reason:
            raise CodeRefError(reason)
