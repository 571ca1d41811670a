"""Errors a user can act on. The CLI prints them as one line each and exits with status 2."""
from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a file, a field, a column. The message says what, where and what to do."""

    exit_code = 2


class RecipeError(UserError):
    """A recipe with one or more problems; each problem names its path in the recipe."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(self.problems))

    def lines(self) -> list[str]:
        head = f"{self.source}: " if self.source else ""
        return [head + p for p in self.problems]


class PluginError(Exception):
    """A plugin broke a rule (duplicate name, invalid component). Raised in strict mode, listed otherwise."""


def did_you_mean(name: str, choices) -> str:
    """' did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
