"""Moved to ``ft_lab.capabilities`` (the recipe, below the methods, checks it); kept for old imports."""
from ..capabilities import asked, check_capabilities  # noqa: F401
