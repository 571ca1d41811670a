"""A plugin whose hook name has a typo: it would be silently ignored if ft-lab did not say so."""
from ft_lab import hookimpl


@hookimpl
def register_cleaner(register):
    pass
