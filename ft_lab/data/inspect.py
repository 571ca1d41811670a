"""What ``ft-lab data inspect FILE`` shows: encoding, layout, suggested mapping, a preview, quick stats.

    info = inspect_file("faq.csv")
    info["encoding"], info["schema"]["mapping"], info["stats"]["rows"]
"""
from __future__ import annotations

from collections import Counter

from ..cleaners.measure import language_of
from .loading import load_table
from .report import distribution
from .schema import detect_schema

PREVIEW_CHARS = 80


def _short(value) -> str:
    s = value if isinstance(value, str) else repr(value)
    s = s.replace("\n", "⏎")
    return s if len(s) <= PREVIEW_CHARS else s[:PREVIEW_CHARS - 1] + "…"


def inspect_file(path, fmt: str = "auto", encoding: str = "auto", sheet: str | None = None,
                 preview_rows: int = 5) -> dict:
    table = load_table(path, fmt, encoding, sheet)
    rows, columns = table.rows, table.columns
    guess = detect_schema(columns, rows[:20])
    stats: dict = {"rows": len(rows), "columns": {}}
    for c in columns:
        values = [r.get(c) for r in rows]
        texts = [v for v in values if isinstance(v, str)]
        col = {"empty": sum(1 for v in values if v is None or (isinstance(v, str) and not v.strip())),
               "distinct": len({v if isinstance(v, (str, int, float, bool)) else repr(v) for v in values})}
        if texts:
            col["length_chars"] = {k: v for k, v in distribution([len(t) for t in texts]).items() if k != "histogram"}
            col["languages"] = dict(Counter(language_of(t) for t in texts[:5000]).most_common())
        stats["columns"][c] = col
    label = guess.mapping.get("label")
    if label:
        stats["labels"] = dict(Counter(str(r.get(label)) for r in rows).most_common(30))
    keyed = [tuple(str(r.get(c)) for c in guess.mapping.values()) for r in rows] if guess.mapping else []
    stats["exact_duplicates"] = len(keyed) - len(set(keyed))
    return {"source": table.source, "format": table.format, "encoding": table.encoding,
            "layout_note": table.layout_note, "columns": columns, "schema": guess.as_dict(),
            "preview": [{c: _short(r.get(c)) for c in columns} for r in rows[:preview_rows]], "stats": stats}


def format_inspection(info: dict) -> str:
    """Plain text for the terminal."""
    s = info["schema"]
    lines = [f"file:      {info['source']}", f"format:    {info['format']}"
             + (f" ({info['layout_note']})" if info.get("layout_note") else ""),
             f"encoding:  {info['encoding'] or 'binary format'}",
             f"rows:      {info['stats']['rows']}", f"columns:   {', '.join(info['columns'])}",
             f"layout:    {s['layout']} (confidence {s['confidence']})"
             + (f", task {s['task']}" if s["task"] else "")]
    if s["mapping"]:
        lines.append("suggested mapping (data.columns):")
        lines += [f"  {role}: {col}" for role, col in s["mapping"].items()]
    lines += [f"note:      {n}" for n in s["notes"]]
    lines.append(f"exact duplicates (mapped columns): {info['stats']['exact_duplicates']}")
    for c, st in info["stats"]["columns"].items():
        extra = ""
        if "length_chars" in st:
            lc = st["length_chars"]
            extra = (f", chars p50 {lc.get('p50')} p90 {lc.get('p90')} max {lc.get('max')}, languages "
                     + ", ".join(f"{k} {v}" for k, v in st["languages"].items()))
        lines.append(f"  {c}: {st['empty']} empty, {st['distinct']} distinct{extra}")
    if info["stats"].get("labels"):
        lines.append("labels:    " + ", ".join(f"{k} {v}" for k, v in info["stats"]["labels"].items()))
    lines.append("preview:")
    for i, r in enumerate(info["preview"], 1):
        lines.append(f"  [{i}] " + " | ".join(f"{k}={v}" for k, v in r.items()))
    return "\n".join(lines)
