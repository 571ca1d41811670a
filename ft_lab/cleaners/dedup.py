"""``dedup``: exact duplicates (after optional normalization) and near-duplicates (MinHash LSH).

The first row of each cluster is kept; the others are rejected with the kept row's index, and the
clusters are reported in ``info["clusters"]``::

    Dedup(Dedup.Config(method="near", threshold=0.8)).clean(rows, ["text"])
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ..core.components import Cleaner, CleanResult
from .text import row_text

_WS = re.compile(r"\s+")
MAX_REPORTED_CLUSTERS = 200


def dedup_key(text: str, normalize: bool, ignore_case: bool) -> str:
    """The text a duplicate check compares: NFKC with whitespace collapsed when ``normalize``."""
    if normalize:
        text = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    if ignore_case:
        text = text.casefold()
    return text


class Dedup(Cleaner):
    """Drop exact or near-duplicate rows (MinHash over character n-grams), keeping the first of each cluster."""

    name = "dedup"

    @dataclass
    class Config:
        method: Literal["exact", "near"] = field(default="exact", metadata={
            "help": "exact: identical text after normalization; near: MinHash LSH similarity"})
        normalize: bool = field(default=True, metadata={
            "help": "compare after NFKC and whitespace collapsing (the kept row itself is not changed)"})
        ignore_case: bool = field(default=False, metadata={"help": "treat upper and lower case as equal"})
        threshold: float = field(default=0.85, metadata={
            "help": "near: estimated Jaccard similarity of character n-gram sets at which rows are duplicates"})
        ngram: int = field(default=5, metadata={
            "help": "near: characters per n-gram (3-5 suits Japanese, 5-7 English)"})
        num_perm: int = field(default=128, metadata={"help": "near: MinHash permutations (accuracy vs speed)"})
        seed: int = field(default=0, metadata={"help": "near: seed of the MinHash permutations"})

        def __post_init__(self):
            if not 0 < self.threshold <= 1:
                raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
            if self.ngram < 1:
                raise ValueError("ngram must be at least 1")
            if self.num_perm < 8:
                raise ValueError("num_perm must be at least 8")

    def clean(self, rows, columns):
        c = self.config
        keys = [dedup_key(row_text(r, columns), c.normalize, c.ignore_case) for r in rows]
        # Exact pass first (also for near: identical texts need no MinHash).
        first: dict[str, int] = {}
        parent = list(range(len(rows)))
        for i, k in enumerate(keys):
            j = first.setdefault(k, i)
            parent[i] = j
        exact_dups = sum(1 for i, p in enumerate(parent) if p != i)
        if c.method == "near":
            parent = self._near(keys, parent)
        return self._result(rows, parent, exact_dups)

    def _near(self, keys: list[str], parent: list[int]) -> list[int]:
        from .minhash import MinHasher, UnionFind, candidate_pairs

        c = self.config
        uniques = [i for i, p in enumerate(parent) if p == i]
        sigs = MinHasher(c.ngram, c.num_perm, c.seed).signatures([keys[i] for i in uniques])
        uf = UnionFind(len(parent))
        for i, p in enumerate(parent):
            uf.union(i, p)
        for a, b in candidate_pairs(sigs, c.threshold):
            uf.union(uniques[a], uniques[b])
        return [uf.find(i) for i in range(len(parent))]

    def _result(self, rows, parent, exact_dups) -> CleanResult:
        kept, rejected = [], []
        clusters: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            root = parent[i]
            if root == i:
                kept.append(row)
            else:
                clusters.setdefault(root, []).append(i)
                how = "exact" if self.config.method == "exact" else "near"
                rejected.append((row, f"{how} duplicate of row {root + 1}"))
        listed = [{"kept": k + 1, "dropped": [d + 1 for d in v], "size": len(v) + 1}
                  for k, v in sorted(clusters.items(), key=lambda kv: -len(kv[1]))]
        info = {"duplicates": len(rejected), "exact_duplicates": exact_dups,
                "near_duplicates": len(rejected) - exact_dups if self.config.method == "near" else 0,
                "clusters": len(clusters), "largest_clusters": listed[:MAX_REPORTED_CLUSTERS]}
        return CleanResult(rows=kept, rejected=rejected, info=info)
