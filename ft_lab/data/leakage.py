"""Leakage between splits: exact and near-duplicate rows shared by train, validation and test.

    found = find_leaks(splits, columns=["text"], threshold=0.85)
    found["pairs"]["train-test"]       # {"exact": 3, "near": 1}
    cleaned, dropped = remove_leaks(splits, found)   # drops the later split's copy
"""
from __future__ import annotations

from ..cleaners.dedup import dedup_key
from ..cleaners.text import row_text

ORDER = ("train", "validation", "test")
MAX_EXAMPLES = 50


def find_leaks(splits: dict[str, list[dict]], columns: list[str], threshold: float = 0.85,
               near: bool = True, ngram: int = 5) -> dict:
    """Overlaps between splits; each leak names the two rows (split and 1-based index) and its kind."""
    owners: list[tuple[str, int]] = []
    keys: list[str] = []
    for name in ORDER:
        for i, r in enumerate(splits.get(name, [])):
            owners.append((name, i))
            keys.append(dedup_key(row_text(r, columns), True, False))
    leaks: list[dict] = []
    seen_pairs: set[tuple[int, int]] = set()
    first: dict[str, int] = {}
    for k, key in enumerate(keys):
        j = first.setdefault(key, k)
        if j != k and owners[j][0] != owners[k][0]:
            leaks.append(_leak(owners, j, k, "exact", 1.0))
            seen_pairs.add((j, k))
    if near and len(keys) > 1:
        from ..cleaners.minhash import MinHasher, candidate_pairs, estimated_jaccard

        sigs = MinHasher(ngram=ngram, num_perm=64, seed=0).signatures(keys)
        for a, b in sorted(candidate_pairs(sigs, threshold)):
            if owners[a][0] != owners[b][0] and (a, b) not in seen_pairs and keys[a] != keys[b]:
                leaks.append(_leak(owners, a, b, "near", round(estimated_jaccard(sigs[a], sigs[b]), 3)))
    pairs: dict[str, dict[str, int]] = {}
    for lk in leaks:
        p = pairs.setdefault(f"{lk['a'][0]}-{lk['b'][0]}", {"exact": 0, "near": 0})
        p[lk["kind"]] += 1
    return {"total": len(leaks), "threshold": threshold if near else None, "pairs": pairs,
            "examples": leaks[:MAX_EXAMPLES], "_all": leaks}


def _leak(owners, a, b, kind, sim):
    (sa, ia), (sb, ib) = owners[a], owners[b]
    if ORDER.index(sa) > ORDER.index(sb):
        (sa, ia), (sb, ib) = (sb, ib), (sa, ia)
    return {"a": [sa, ia + 1], "b": [sb, ib + 1], "kind": kind, "similarity": sim}


def remove_leaks(splits: dict[str, list[dict]], found: dict) -> tuple[dict[str, list[dict]], list[tuple[str, dict, str]]]:
    """Drop the later split's copy of every leak (validation before test, train always kept)."""
    drop: dict[str, dict[int, str]] = {name: {} for name in ORDER}
    for lk in found["_all"]:
        (sa, ia), (sb, ib) = lk["a"], lk["b"]
        drop[sb].setdefault(ib - 1, f"{lk['kind']} duplicate of {sa} row {ia}")
    out, dropped = {}, []
    for name in ORDER:
        rows = splits.get(name, [])
        out[name] = [r for i, r in enumerate(rows) if i not in drop[name]]
        dropped += [(name, rows[i], reason) for i, reason in sorted(drop[name].items())]
    return out, dropped
