"""Plain-text tables for the commands that list things (``ft-lab runs``, ``ft-lab plugins``)."""
from __future__ import annotations


def print_table(rows) -> None:
    """Print ``rows`` (the first is the header) as aligned columns with a rule under the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
