"""A plugin whose hook raises KeyboardInterrupt (and one that raises a bare BaseException)."""
from ft_lab import hookimpl


class Impatient(BaseException):
    pass


@hookimpl
def register_cleaners(register):
    raise KeyboardInterrupt


@hookimpl
def register_methods(register):
    raise Impatient("gave up")
