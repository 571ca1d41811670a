"""Seeded train/validation/test split (8:1:1 by default), stratified by label or kept whole by group.

    train, val, test = split_rows(rows, [0.8, 0.1, 0.1], seed=42, source="tickets.csv",
                                  label_key="label", warnings=warnings)
    split_rows(rows, fracs, 42, src, group_key="customer_id")   # one customer's rows stay together
"""
from __future__ import annotations

import random
from collections import defaultdict

from ..errors import UserError

SPLIT_NAMES = ("train", "validation", "test")


def _sizes(n: int, fractions: list[float], min_one: bool = True) -> list[int]:
    """Largest-remainder allocation of ``n`` items; each split with a share gets one when ``min_one``."""
    raw = [f * n for f in fractions]
    sizes = [int(x) for x in raw]
    order = sorted(range(3), key=lambda i: raw[i] - sizes[i], reverse=True)
    for i in order[:n - sum(sizes)]:
        sizes[i] += 1
    if min_one:
        for i, f in enumerate(fractions):
            if f > 0 and sizes[i] == 0:
                donor = max(range(3), key=lambda j: sizes[j])
                if sizes[donor] > 1:
                    sizes[donor] -= 1
                    sizes[i] += 1
    return sizes


def _value(row: dict, key: str):
    if key in row:
        return row[key]
    return (row.get("meta") or {}).get(key)


def split_rows(rows: list[dict], fractions: list[float], seed: int, source: str, label_key: str | None = None,
               group_key: str | None = None, warnings: list[str] | None = None) -> tuple[list, list, list]:
    """Shuffle with ``seed`` and cut by ``fractions``; every split with a non-zero share gets a row."""
    warnings = warnings if warnings is not None else []
    n = len(rows)
    wanted = sum(1 for f in fractions if f > 0)
    if n < wanted:
        raise UserError(f"{source}: {n} row(s) cannot be split into {wanted} parts; add data or change data.split")
    rng = random.Random(seed)
    if group_key:
        if label_key:
            warnings.append(f"split: rows are kept together by '{group_key}', so the split is not stratified by label")
        parts = _split_groups(rows, fractions, rng, source, group_key, warnings)
    elif label_key:
        parts = _split_stratified(rows, fractions, rng, label_key, warnings)
    else:
        order = list(range(n))
        rng.shuffle(order)
        sizes = _sizes(n, fractions)
        a, b = sizes[0], sizes[0] + sizes[1]
        pick = [rows[i] for i in order]
        parts = (pick[:a], pick[a:b], pick[b:])
    if not parts[0]:
        raise UserError(f"{source}: {n} rows leave no training rows after the split; add data or change data.split")
    return parts


def _split_stratified(rows, fractions, rng, label_key, warnings):
    by_label: dict[str, list] = defaultdict(list)
    for r in rows:
        by_label[str(r.get(label_key))].append(r)
    parts: tuple[list, list, list] = ([], [], [])
    needed = sum(1 for f in fractions if f > 0)
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        if len(members) < needed:
            missing = [SPLIT_NAMES[i] for i in range(1, 3) if fractions[i] > 0][:needed - len(members)]
            warnings.append(f"class '{label}' has {len(members)} example(s), too few for {needed} splits: "
                            f"{' and '.join(reversed(missing))} get none of it; add examples of this class")
            sizes = [len(members), 0, 0]
        else:
            sizes = _sizes(len(members), fractions)
            if len(members) < 10:
                warnings.append(f"class '{label}' has only {len(members)} examples; its validation and test "
                                f"scores will be noisy")
        a, b = sizes[0], sizes[0] + sizes[1]
        parts[0].extend(members[:a])
        parts[1].extend(members[a:b])
        parts[2].extend(members[b:])
    for p in parts:
        rng.shuffle(p)
    return parts


def _split_groups(rows, fractions, rng, source, group_key, warnings):
    groups: dict[str, list] = defaultdict(list)
    missing = 0
    for i, r in enumerate(rows):
        g = _value(r, group_key)
        if g is None:
            missing += 1
            g = f"__row_{i}"
        groups[str(g)].append(r)
    if missing == len(rows):
        raise UserError(f"{source}: data.group_column '{group_key}' is not a column of the data; set it to a "
                        f"column whose value ties related rows together (for example a customer or thread id)")
    if missing:
        warnings.append(f"split: {missing} row(s) have no '{group_key}' value; each is its own group")
    names = sorted(groups)
    rng.shuffle(names)
    n = len(rows)
    targets = _sizes(n, fractions, min_one=False)
    parts: tuple[list, list, list] = ([], [], [])
    for name in names:  # fill validation and test first so small data still gets them
        members = groups[name]
        deficit = [targets[i] - len(parts[i]) for i in range(3)]
        i = next((k for k in (1, 2) if fractions[k] > 0 and deficit[k] > 0 and (
            not parts[k] or len(members) <= deficit[k] * 1.5)), 0)
        parts[i].extend(members)
    if len(groups) < 3:
        warnings.append(f"split: only {len(groups)} group(s) in '{group_key}'; some splits are empty")
    return parts
