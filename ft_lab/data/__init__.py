"""The data step: load files, map columns to roles, clean, split, and write the prepared splits.

Modules: ``charsets`` (detect text encodings), ``loading`` (every source format), ``schema`` (layout and
suggested column mapping), ``roles`` (columns -> roles), ``split`` (stratified / grouped split),
``leakage`` (overlap between splits), ``formatting`` (prompt templates), ``report`` (JSON + HTML),
``prepare`` (the whole step for a recipe), ``inspect`` (what ``ft-lab data inspect`` shows).
"""
