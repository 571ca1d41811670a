"""Reading and rewriting the text of a row, whatever its shape (plain columns or chat messages).

A row is an example dict: role keys (``text``/``label``, ``prompt``/``response`` or ``messages``) plus
``meta``. A column may hold a string or a list of ``{"role", "content"}`` messages::

    row_text({"messages": [{"role": "user", "content": "hi"}]}, ["messages"])   # 'hi'
"""
from __future__ import annotations

from typing import Callable, Iterator

from ..core.components import CleanResult


def texts_of(row: dict, columns: list[str]) -> Iterator[str]:
    """Every string in the row's text ``columns`` (message contents for a messages column)."""
    for c in columns:
        v = row.get(c)
        if isinstance(v, str):
            yield v
        elif isinstance(v, list):
            for m in v:
                if isinstance(m, dict) and isinstance(m.get("content"), str):
                    yield m["content"]


def row_text(row: dict, columns: list[str], sep: str = "\n") -> str:
    """The row's text columns joined into one string (used for dedup keys, language and length)."""
    return sep.join(texts_of(row, columns))


def map_texts(row: dict, columns: list[str], fn: Callable[[str], str]) -> dict:
    """A copy of ``row`` with ``fn`` applied to every text in ``columns``; the same row when nothing changed."""
    new = None
    for c in columns:
        v = row.get(c)
        if isinstance(v, str):
            out = fn(v)
            if out != v:
                new = new or dict(row)
                new[c] = out
        elif isinstance(v, list):
            msgs, touched = [], False
            for m in v:
                if isinstance(m, dict) and isinstance(m.get("content"), str):
                    out = fn(m["content"])
                    if out != m["content"]:
                        m = {**m, "content": out}
                        touched = True
                msgs.append(m)
            if touched:
                new = new or dict(row)
                new[c] = msgs
    return row if new is None else new


def lookup(row: dict, column: str):
    """A column's value from the row itself or, for columns not mapped to a role, from ``row['meta']``."""
    if column in row:
        return row[column]
    meta = row.get("meta")
    if isinstance(meta, dict) and column in meta:
        return meta[column]
    raise KeyError(column)


def available_columns(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    first = rows[0]
    return [k for k in first if k != "meta"] + list((first.get("meta") or {}).keys())


def map_rows(rows: list[dict], columns: list[str], fn: Callable[[str], str]):
    """The ``CleanResult`` of a cleaner that rewrites text and drops nothing: ``fn`` on every text of
    ``columns`` in every row, each changed row recorded in ``changes``."""
    return rewrite_rows(rows, columns, lambda text: (fn(text), ()))


def rewrite_rows(rows: list[dict], columns: list[str], fn: Callable, reject: Callable | None = None,
                 counted: str | None = None):
    """The ``CleanResult`` of a cleaner that rewrites text: ``fn(text) -> (new_text, labels)`` on every text
    of ``columns``; a row is dropped when ``reject(row, new_row)`` gives a reason; each changed row kept is
    recorded in ``changes``, and the labels are counted in ``info[counted]``."""

    kept, rejected, changes, counts = [], [], [], {}
    for i, row in enumerate(rows):
        labels: list[str] = []

        def one(text: str) -> str:
            out, found = fn(text)
            labels.extend(found)
            return out

        new = map_texts(row, columns, one)
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        reason = reject(row, new) if reject else None
        if reason:
            rejected.append((row, reason))
            continue
        if new is not row:
            changes.append({"index": i, "before": row, "after": new})
        kept.append(new)
    return CleanResult(rows=kept, rejected=rejected, changed=len(changes), changes=changes,
                       info={counted: counts} if counted else {})

