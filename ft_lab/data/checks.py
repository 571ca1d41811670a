"""Checks on the examples before any work, each problem named by file, row and column.

    examples, rejected = check_examples(examples, "classification", roles, "tickets.csv", recipe.data)

- a text column (text, prompt, response) holding a number, a list or an object is an error;
- a label that is a list or an object is an error; an empty or missing label ("", "NaN", "N/A", null)
  drops the row into rejected.jsonl with the reason (``data.missing_labels: reject``, the default) or is
  an error (``missing_labels: error``);
- a text longer than ``data.max_chars`` characters is cut there (``long_rows: truncate``) or rejected
  (``long_rows: reject``), so that one huge row never reaches the tokenizer.
"""
from __future__ import annotations

import math

from ..errors import UserError

TEXT_ROLES = ("text", "prompt", "response")
MISSING_LABELS = {"", "nan", "n/a", "na", "null", "none", "nil", "-", "?", "#n/a"}


def is_missing_label(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING_LABELS


def check_value(role: str, value, source: str, row: int, column: str) -> None:
    """Raise for a value of the wrong kind in a role column (row is 1-based)."""
    where = f"{source}: row {row}, column '{column}'"
    if role in TEXT_ROLES and value is not None and not isinstance(value, str):
        kind = "a number" if isinstance(value, (int, float)) else f"a {type(value).__name__}"
        raise UserError(f"{where}: holds {kind} ({str(value)[:40]}), not text; text columns must hold "
                        f"strings: fix the row, or map another column with data.columns.{role}")
    if role == "label" and isinstance(value, (list, dict, tuple)):
        raise UserError(f"{where}: the label is a {type(value).__name__} ({str(value)[:40]}); each row needs "
                        f"one label (multi-label classification is not supported): fix the row")


def check_examples(examples: list[dict], task: str, roles: dict, source: str, data) -> tuple[list, list]:
    """Kept examples (labels as strings, long texts cut) and rejected records ``{reason, row, line}``."""
    kept, rejected = [], []
    limit = data.max_chars
    for i, ex in enumerate(examples):
        line = i + 1
        if task == "classification":
            if is_missing_label(ex.get("label")):
                if data.missing_labels == "error":
                    raise UserError(f"{source}: row {line}, column '{roles.get('label', 'label')}': the label "
                                    f"is empty or missing ({ex.get('label')!r}); fill it, or set "
                                    f"data.missing_labels: reject to drop such rows")
                rejected.append({"cleaner": "data_check", "reason": "missing label", "line": line,
                                 "row": {**ex, "label": None if ex.get("label") is None else str(ex["label"])}})
                continue
            ex["label"] = str(ex["label"])
        too_long = [r for r in TEXT_ROLES if isinstance(ex.get(r), str) and len(ex[r]) > limit]
        if too_long:
            if data.long_rows == "reject":
                rejected.append({"cleaner": "data_check", "line": line, "row": _cut(ex, too_long, 200),
                                 "reason": f"longer than data.max_chars ({limit}) in {', '.join(too_long)}"})
                continue
            ex = _cut(ex, too_long, limit)
            ex.setdefault("meta", {})["truncated_chars"] = limit
        kept.append(ex)
    return kept, rejected


def _cut(ex: dict, roles: list[str], limit: int) -> dict:
    return {**ex, **{r: ex[r][:limit] for r in roles}}


def check_split_sizes(given: dict, source: str) -> None:
    """A validation or test split left empty is an error (metrics on nothing would be a lie)."""
    for name in ("validation", "test"):
        if not given.get(name):
            raise UserError(f"{source}: the {name} split is empty ({len(given.get('train') or [])} training "
                            f"rows); add rows, give data.{name}: FILE, or change data.split so that "
                            f"{name} gets a share")
