"""A plugin that breaks the rules: a duplicate cleaner name, and a hook that raises."""
from ft_lab import Cleaner, CleanResult, hookimpl


class AnotherDedup(Cleaner):
    """Claims the built-in name 'dedup'."""

    name = "dedup"

    def clean(self, rows, columns):
        return CleanResult(rows=rows)


class Lowercase(Cleaner):
    """Lower-case the text columns."""

    name = "lowercase"

    def clean(self, rows, columns):
        return CleanResult(rows=[{**r, **{c: r[c].lower() for c in columns}} for r in rows])


@hookimpl
def register_cleaners(register):
    register(AnotherDedup)
    register(Lowercase)


@hookimpl
def register_evaluators(register):
    raise RuntimeError("evaluator hook exploded")
