"""The entry point module: registers the ``reft`` method with ft-lab (``[project.entry-points.ft_lab]``)."""
from ft_lab import hookimpl

from .loreft import LoReFTMethod


@hookimpl
def register_methods(register):
    register(LoReFTMethod)
