"""Character-level diff of a prediction against its reference (works for Japanese: no word splitting).

    char_diff("東京に住む", "東京都に住んでいる")
    # [('equal', '東京'), ('insert', '都'), ('equal', 'に住'), ('replace', 'む', 'んでいる')]
    diff_html("東京に住む", "東京都に住んでいる")   # <del>/<ins> markup, HTML-escaped

Operations read from the prediction to the reference: 'delete' is text the prediction has and the
reference lacks, 'insert' is text the reference has and the prediction lacks.
"""
from __future__ import annotations

import difflib
import html


def char_diff(prediction: str, reference: str) -> list[tuple]:
    """Diff operations: ('equal', text), ('delete', text), ('insert', text), ('replace', old, new)."""
    a, b = str(prediction), str(reference)
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("equal", a[i1:i2]))
        elif tag == "delete":
            ops.append(("delete", a[i1:i2]))
        elif tag == "insert":
            ops.append(("insert", b[j1:j2]))
        else:
            ops.append(("replace", a[i1:i2], b[j1:j2]))
    return ops


def diff_html(prediction: str, reference: str) -> str:
    """The diff as HTML: <del> for the prediction's extra text, <ins> for the reference's missing text."""
    out = []
    for op in char_diff(prediction, reference):
        if op[0] == "equal":
            out.append(html.escape(op[1]))
        elif op[0] == "delete":
            out.append(f"<del>{html.escape(op[1])}</del>")
        elif op[0] == "insert":
            out.append(f"<ins>{html.escape(op[1])}</ins>")
        else:
            out.append(f"<del>{html.escape(op[1])}</del><ins>{html.escape(op[2])}</ins>")
    return "".join(out)
