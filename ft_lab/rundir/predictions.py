"""Reading predictions files and writing metrics files of a run directory.

    examples = PredictionsFile("runs/r1/predictions/finetuned.jsonl")  # lazy: each pass re-reads the file
    for chunk in chunks(examples, 1024): ...
    atomic_write_json(Path("runs/r1/metrics.json"), {"finetuned": {...}})

A ``PredictionsFile`` holds no examples in memory, so evaluators that work chunk by chunk (the
classification ones) score any number of examples in constant memory.
"""
from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import UserError
from ..safety.atomic import atomic_write_json as _atomic_write_json
from ..safety.redact import redact

REQUIRED = ("id", "input", "reference", "prediction")


class PredictionsFile:
    """A predictions JSON-lines file as a re-iterable sequence of example dicts (read lazily)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: predictions file not found (run the evaluation step first, "
                            f"or check the run directory)")
        self._len: int | None = None

    def __iter__(self) -> Iterator[dict]:
        with self.path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    ex = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{self.path}, line {lineno}: not valid JSON ({exc.msg}); "
                                    f"the file may be truncated: re-run the evaluation") from None
                missing = [k for k in REQUIRED if k not in ex] if isinstance(ex, dict) else list(REQUIRED)
                if missing:
                    raise UserError(f"{self.path}, line {lineno}: example lacks field(s) "
                                    f"{', '.join(missing)} (each line needs {', '.join(REQUIRED)})")
                ex.setdefault("meta", {})
                yield ex

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self)
        return self._len

    def load(self) -> list[dict]:
        return list(self)


def chunks(examples: Iterable[dict], size: int = 1024) -> Iterator[list[dict]]:
    it = iter(examples)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def atomic_write_json(path: Path, data) -> Path:
    return _atomic_write_json(path, redact(data), default=_plain)


def _plain(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
