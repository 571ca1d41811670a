"""Writing the prepared data folder so that a reader never trusts a half-written one.

Each file is written to a temporary name and renamed into place; ``report.json`` is removed first and
written last, so a folder without it is incomplete (``PreparedData.read`` says so)::

    write_folder(folder, {"train.jsonl": text, ...}, marker="report.json")
"""
from __future__ import annotations

from pathlib import Path

from ..safety.atomic import atomic_write_text as atomic_write


def write_folder(folder: Path, files: dict[str, str], marker: str) -> None:
    """Write ``files`` (name -> text) into ``folder``, the ``marker`` file last."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / marker).unlink(missing_ok=True)
    for name, text in files.items():
        if name != marker:
            atomic_write(folder / name, text)
    atomic_write(folder / marker, files[marker])
