"""Small labelled data sets cut from the bundled BANKING77 sample, for tests and benchmarks' smoke modes::

    rows = banking_sample()                                   # 800 rows, 10 intents (ft_lab/assets)
    rows = rows_per_label(rows, per=12, labels=["card_arrival", "exchange_rate"], seed=1)
    write_csv(tmp / "train.csv", rows)                        # text,category
"""
from __future__ import annotations

import csv
import random
from importlib import resources
from pathlib import Path


def banking_sample() -> list[dict]:
    """The rows of ft_lab/assets/banking77_sample.csv (``text``, ``category``; CC BY 4.0, see ATTRIBUTION.md)."""
    text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def rows_per_label(rows: list[dict], per: int | None = None, labels=None, seed: int | None = None,
                   column: str = "category") -> list[dict]:
    """The rows whose ``column`` is one of ``labels`` (all labels without it), at most ``per`` of each label,
    in file order or, with ``seed``, in a shuffled order."""
    rows = [r for r in rows if labels is None or r[column] in labels]
    if seed is not None:
        rows = list(rows)
        random.Random(seed).shuffle(rows)
    if per is None:
        return rows
    seen: dict = {}
    out = []
    for r in rows:
        if seen.get(r[column], 0) < per:
            seen[r[column]] = seen.get(r[column], 0) + 1
            out.append(r)
    return out


def write_csv(path, rows: list[dict], fields=("text", "category")) -> Path:
    """``rows`` (only ``fields``) as a CSV file with a header; returns the path."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return Path(path)
