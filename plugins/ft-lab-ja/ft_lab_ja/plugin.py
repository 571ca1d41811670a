"""The entry point module: registers the Japanese cleaners and evaluators (``[project.entry-points.ft_lab]``).

Every module here imports only the standard library and ft_lab at load; fugashi, SudachiPy and sacrebleu
are imported when a score is computed.
"""
from ft_lab import hookimpl

from .boilerplate import JaBoilerplate
from .evaluators import JaBleu, JaRouge, JaWordF1
from .mojibake import JaMojibake
from .normalize import JaNormalize

CLEANERS = (JaNormalize, JaBoilerplate, JaMojibake)
EVALUATORS = (JaBleu, JaRouge, JaWordF1)


@hookimpl
def register_cleaners(register):
    for cls in CLEANERS:
        register(cls)


@hookimpl
def register_evaluators(register):
    for cls in EVALUATORS:
        register(cls)
