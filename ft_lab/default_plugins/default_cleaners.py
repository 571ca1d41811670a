"""Built-in cleaners, registered through the same hook as third-party ones.

The cleaners live in ``ft_lab.cleaners`` (one module per idea); see docs/data.md for each Config.
"""
from __future__ import annotations

from ..cleaners.dedup import Dedup
from ..cleaners.filters import (
    EmptyFilter,
    LabelMap,
    LanguageFilter,
    LengthFilter,
    PatternFilter,
    StaleFilter,
)
from ..cleaners.normalize import Normalize
from ..cleaners.pii import PiiMask
from ..cleaners.pii_ner import PiiNer
from ..core.hookspecs import hookimpl

BUILTIN_CLEANERS = (Normalize, Dedup, PiiMask, LengthFilter, EmptyFilter, LanguageFilter, PatternFilter,
                    StaleFilter, LabelMap, PiiNer)  # PiiNer needs the ner extra when used
ExactDedup = Dedup  # the name this module exported before near-duplicate search existed


@hookimpl
def register_cleaners(register):
    for cleaner in BUILTIN_CLEANERS:
        register(cleaner)
