"""MinHash signatures over character n-grams and LSH banding: near-duplicate search for any script.

Character n-grams need no word segmentation, so Japanese and English are handled the same way::

    mh = MinHasher(ngram=5, num_perm=128, seed=0)
    sigs = mh.signatures(["the same text", "the same text!", "other"])
    pairs = candidate_pairs(sigs, threshold=0.8)     # {(0, 1)}
    estimated_jaccard(sigs[0], sigs[1])
"""
from __future__ import annotations

import numpy as np

_MASK61 = np.uint64((1 << 61) - 1)


class MinHasher:
    """Stable (process-independent) MinHash of the set of character ``ngram``-grams of each text."""

    def __init__(self, ngram: int = 5, num_perm: int = 128, seed: int = 0):
        self.ngram, self.num_perm = ngram, num_perm
        rng = np.random.default_rng(seed)
        # Multiply-shift hashing: odd 64-bit multipliers and offsets, one pair per permutation.
        self.a = (rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self._powers = np.array([pow(1_000_003, j, 2**64) for j in range(ngram)], dtype=np.uint64)

    def shingles(self, text: str) -> np.ndarray:
        """Unique 64-bit hashes of the text's character n-grams (the whole text when it is shorter)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        n = self.ngram
        if len(codes) == 0:
            return np.zeros(1, dtype=np.uint64)
        if len(codes) < n:
            codes = np.concatenate([codes, np.zeros(n - len(codes), dtype=np.uint64)])
        windows = np.lib.stride_tricks.sliding_window_view(codes, n)
        with np.errstate(over="ignore"):
            h = (windows * self._powers).sum(axis=1, dtype=np.uint64)
            h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
        return np.unique(h)

    def signatures(self, texts: list[str], chunk: int = 512) -> np.ndarray:
        """A (len(texts), num_perm) uint32 matrix; rows are batched so numpy does the work in bulk."""
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        for start in range(0, len(texts), chunk):
            parts = [self.shingles(t) for t in texts[start:start + chunk]]
            lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
            flat = np.concatenate(parts)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            with np.errstate(over="ignore"):
                for k in range(self.num_perm):
                    v = (flat * self.a[k] + self.b[k]) >> np.uint64(32)
                    out[start:start + len(parts), k] = np.minimum.reduceat(v, offsets).astype(np.uint32)
        return out


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band whose S-curve rises a little below ``threshold`` (few misses; pairs are verified)."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        if num_perm % r:
            continue
        b = num_perm // r
        knee = (1 / b) ** (1 / r)
        if knee <= threshold - 0.05:
            best = (b, r)
    return best


def candidate_pairs(sigs: np.ndarray, threshold: float, max_bucket: int = 64) -> set[tuple[int, int]]:
    """Index pairs sharing at least one LSH band whose estimated Jaccard similarity is >= ``threshold``.

    A bucket with more than ``max_bucket`` members is linked as a star (each to its first member)
    rather than all pairs, so a very common text cannot make the search quadratic.
    """
    n, num_perm = sigs.shape
    bands, r = lsh_params(threshold, num_perm)
    found: set[tuple[int, int]] = set()
    for b in range(bands):
        band = np.ascontiguousarray(sigs[:, b * r:(b + 1) * r])
        keys = band.view(np.dtype((np.void, band.dtype.itemsize * r))).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        if n < 2:
            break
        same = sorted_keys[1:] == sorted_keys[:-1]
        if not same.any():
            continue
        starts = np.flatnonzero(np.concatenate([[True], ~same]))
        ends = np.concatenate([starts[1:], [n]])
        for s, e in zip(starts, ends):
            if e - s < 2:
                continue
            members = order[s:e]
            if e - s > max_bucket:
                pairs = [(members[0], m) for m in members[1:]]
            else:
                pairs = [(members[i], members[j]) for i in range(len(members)) for j in range(i + 1, len(members))]
            for i, j in pairs:
                i, j = (int(i), int(j)) if i < j else (int(j), int(i))
                if (i, j) not in found and estimated_jaccard(sigs[i], sigs[j]) >= threshold:
                    found.add((i, j))
    return found


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller index stays the root: the first row of a cluster is kept
            self.parent[max(ra, rb)] = min(ra, rb)
