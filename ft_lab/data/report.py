"""The data report: what each step did to the rows, and what the prepared splits look like.

``build_report`` gathers rows in and out per step, rejected counts by reason, PII found by type,
duplicate clusters, language and script mix, length distributions (characters and tokens) and the
label distribution per split. ``render_html`` draws it as one self-contained page (inline SVG)::

    report = build_report(steps, rejected, splits, columns, task, count_tokens)
    Path("report.html").write_text(render_html(report))
"""
from __future__ import annotations

import html
import re
from collections import Counter

from ..cleaners.measure import language_of, script_counts
from ..cleaners.text import row_text

_NUMBER = re.compile(r"\d[\d.,:\-]*")
BINS = 20


def reason_kind(reason: str) -> str:
    """A reason with its numbers taken out, so rejections group by kind ('too short: # chars < min #')."""
    return _NUMBER.sub("#", reason)[:120]


def distribution(values: list[int]) -> dict:
    if not values:
        return {"count": 0}
    s = sorted(values)
    n = len(s)

    def q(p):
        return s[min(n - 1, int(p * (n - 1) + 0.5))]

    lo, hi = s[0], s[-1]
    width = max(1, -(-(hi - lo + 1) // BINS))
    hist = Counter((v - lo) // width for v in s)
    return {"count": n, "min": lo, "max": hi, "mean": round(sum(s) / n, 2), "p50": q(0.5), "p90": q(0.9),
            "p99": q(0.99), "histogram": {"start": lo, "width": width,
                                          "counts": [hist.get(i, 0) for i in range(max(hist) + 1)]}}


def split_stats(rows: list[dict], columns: list[str], count_tokens) -> dict:
    langs: Counter = Counter()
    scripts: Counter = Counter()
    chars, tokens = [], []
    for r in rows:
        text = row_text(r, columns)
        langs[language_of(text)] += 1
        scripts.update(script_counts(text))
        chars.append(len(text))
        tokens.append(count_tokens(text))
    out = {"rows": len(rows), "languages": dict(langs.most_common()), "scripts": dict(scripts.most_common()),
           "length_chars": distribution(chars), "length_tokens": distribution(tokens)}
    if rows and "label" in rows[0]:
        out["labels"] = dict(sorted(Counter(str(r.get("label")) for r in rows).items()))
    return out


def masking_cost(steps: list[dict], changes: list[dict], columns: list[str], examples: int = 3) -> dict:
    """What each masking step (one reporting ``pii_found``) did to the data: rows in, rows altered (the
    change records of that step, so the figures match changes.jsonl), placeholders per type, rows per type,
    and a few altered rows per type as masked (original values are never kept)."""
    out: dict[str, dict] = {}
    for st in steps:
        if "pii_found" not in st:
            continue
        d = out.setdefault(st["cleaner"], {"rows": 0, "rows_altered": 0, "tokens_masked": Counter(),
                                           "rows_by_type": Counter(), "examples": {}})
        d["rows"] += st["rows_in"]
        d["tokens_masked"].update(st["pii_found"])
    for ch in changes:
        d = out.get(ch.get("cleaner"))
        if d is None:
            continue
        d["rows_altered"] += 1
        for kind in ch.get("entities") or []:
            d["rows_by_type"][kind] += 1
            shown = d["examples"].setdefault(kind, [])
            if len(shown) < examples and isinstance(ch.get("after"), dict):
                shown.append(row_text(ch["after"], [c for c in columns if c in ch["after"]])[:200])
    for d in out.values():
        d["share_altered"] = round(d["rows_altered"] / d["rows"], 4) if d["rows"] else 0.0
        for key in ("tokens_masked", "rows_by_type"):  # most first, then by name
            d[key] = dict(sorted(d[key].items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def build_report(steps: list[dict], rejected: list[dict], splits: dict[str, list[dict]], columns: list[str],
                 count_tokens, token_method: str = "approx", changes: list[dict] | None = None) -> dict:
    by_reason: dict[str, dict[str, int]] = {}
    for r in rejected:
        d = by_reason.setdefault(r["cleaner"], {})
        kind = reason_kind(r["reason"])
        d[kind] = d.get(kind, 0) + 1
    pii: Counter = Counter()
    dups = {"duplicates": 0, "exact": 0, "near": 0, "clusters": 0, "largest_clusters": []}
    for st in steps:
        pii.update(st.get("pii_found") or {})
        if "duplicates" in st:
            dups["duplicates"] += st["duplicates"]
            dups["exact"] += st.get("exact_duplicates", 0)
            dups["near"] += st.get("near_duplicates", 0)
            dups["clusters"] += st.get("clusters", 0)
            dups["largest_clusters"] += [{"split": st["split"], **c} for c in st.get("largest_clusters", [])[:20]]
    return {
        "steps": [{k: v for k, v in st.items() if k != "largest_clusters"} for st in steps],
        "rejected_by_reason": by_reason,
        "pii_found": dict(pii.most_common()),
        "masking": masking_cost(steps, changes or [], columns),
        "duplicates": dups,
        "token_lengths": token_method,
        "splits": {name: split_stats(rows, columns, count_tokens) for name, rows in splits.items()},
    }


# --- HTML -----------------------------------------------------------------------------------------
def _bars(title: str, data: dict, width: int = 420) -> str:
    """One chart (its title inside the same grid cell): a label column wide enough for the labels (long
    ones shortened, the full label on hover), bars, and each count."""
    if not data:
        return f"<div class=chart><h3>{html.escape(title)}</h3><p class=empty>none</p></div>"
    items = list(data.items())[:30]
    top = max(v for _, v in items) or 1
    h = 18
    label_w = min(220, 12 + 6.5 * max(len(str(k)) for k, _ in items))
    rows = []
    for i, (k, v) in enumerate(items):
        w = int((width - label_w - 40) * v / top)
        y = i * h
        name = str(k) if len(str(k)) <= 32 else str(k)[:31] + "…"
        rows.append(f'<text x="{label_w - 6:.0f}" y="{y + 13}" font-size="11" text-anchor="end">'
                    f'<title>{html.escape(str(k))}</title>{html.escape(name)}</text>'
                    f'<rect x="{label_w:.0f}" y="{y + 3}" width="{w}" height="{h - 6}" fill="#4c78a8"/>'
                    f'<text x="{label_w + 4 + w:.0f}" y="{y + 13}" font-size="11">{v}</text>')
    return (f"<div class=chart><h3>{html.escape(title)}</h3><svg viewBox='0 0 {width} {len(items) * h + 4}' "
            f"width='100%' style='max-width:{width}px' role='img' aria-label='{html.escape(title)}'>"
            f"{''.join(rows)}</svg></div>")


def _histogram(title: str, dist: dict, width: int = 420, height: int = 100) -> str:
    """A histogram with axes: counts on the left (0 and the highest bar), lengths along the bottom."""
    hist = dist.get("histogram")
    if not hist:
        return f"<div class=chart><h3>{html.escape(title)}</h3><p class=empty>no rows</p></div>"
    counts = hist["counts"]
    top = max(counts) or 1
    left, bottom = 40, 18
    plot_w, plot_h = width - left - 8, height
    bw = plot_w / len(counts)
    bars = "".join(f'<rect x="{left + i * bw:.1f}" y="{plot_h - plot_h * c / top:.1f}" width="{max(bw - 1, 1):.1f}" '
                   f'height="{plot_h * c / top:.1f}" fill="#f58518"><title>{hist["start"] + i * hist["width"]}-'
                   f'{hist["start"] + (i + 1) * hist["width"] - 1}: {c}</title></rect>' for i, c in enumerate(counts))
    end = hist["start"] + len(counts) * hist["width"]
    axes = (f'<line x1="{left}" y1="0" x2="{left}" y2="{plot_h}" stroke="#999"/>'
            f'<line x1="{left}" y1="{plot_h}" x2="{left + plot_w}" y2="{plot_h}" stroke="#999"/>'
            f'<text x="{left - 4}" y="10" font-size="10" text-anchor="end">{top}</text>'
            f'<text x="{left - 4}" y="{plot_h}" font-size="10" text-anchor="end">0</text>'
            f'<text x="{left}" y="{plot_h + 13}" font-size="10">{hist["start"]}</text>'
            f'<text x="{left + plot_w / 2:.0f}" y="{plot_h + 13}" font-size="10" text-anchor="middle">length</text>'
            f'<text x="{left + plot_w}" y="{plot_h + 13}" font-size="10" text-anchor="end">{end}</text>')
    caption = (f"min {dist['min']} · p50 {dist['p50']} · p90 {dist['p90']} · p99 {dist['p99']} · "
               f"max {dist['max']} · mean {dist['mean']}")
    return (f"<div class=chart><h3>{html.escape(title)}</h3><svg viewBox='0 0 {width} {height + bottom}' "
            f"width='100%' style='max-width:{width}px' role='img' aria-label='{html.escape(title)}'>{axes}{bars}"
            f"</svg><p class=cap>{caption}</p></div>")


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _masking_html(masking: dict) -> str:
    """The cost of masking: rows altered per masking step, and per type the placeholders, rows and examples."""
    parts = []
    for cleaner, d in masking.items():
        parts.append(f"<h2>Masking: {html.escape(cleaner)}</h2><p>{d['rows_altered']} of {d['rows']} rows altered "
                     f"({100 * d['share_altered']:.2f}%); check the examples for words your task needs and add "
                     f"them to the cleaner's <code>allow</code> list</p>")
        kinds = list(dict.fromkeys([*d["tokens_masked"], *d["rows_by_type"]]))
        if kinds:
            parts.append(_table(["type", "placeholders", "rows", "examples (masked)"],
                                [[k, d["tokens_masked"].get(k, 0), d["rows_by_type"].get(k, 0),
                                  " ‖ ".join(d["examples"].get(k, []))] for k in kinds]))
    return "".join(parts)


def render_html(report: dict, fragment: bool = False) -> str:
    """The report as a standalone HTML page, or (``fragment``) as one ``<div class="ft-lab-report">`` whose
    styles apply inside it only (for the notebook panels)."""
    parts = [f"<h1>Data report</h1><p>{html.escape(str(report.get('source', '')))} · task "
             f"{html.escape(str(report.get('task', '')))} · rows in {report.get('rows_in', '')}</p>"]
    loads = report.get("loaded") or []
    if loads:
        parts.append("<h2>Sources</h2>" + _table(["split", "file", "format", "encoding", "rows"],
                     [[x["split"], x["source"], x["format"], x.get("encoding") or "", x["rows"]] for x in loads]))
    parts.append("<h2>Steps</h2>" + _table(["split", "step", "rows in", "rows out", "rejected", "changed"],
                 [[s["split"], s["cleaner"], s["rows_in"], s["rows_out"], s["rejected"], s["changed"]]
                  for s in report.get("steps", [])]))
    for cleaner, reasons in report.get("rejected_by_reason", {}).items():
        parts.append(_bars(f"Rejected by {cleaner}", reasons))
    parts.append(_bars("PII found by type", report.get("pii_found", {})))
    parts.append(_masking_html(report.get("masking") or {}))
    d = report.get("duplicates") or {}
    parts.append(f"<h2>Duplicates</h2><p>{d.get('duplicates', 0)} dropped ({d.get('exact', 0)} exact, "
                 f"{d.get('near', 0)} near) in {d.get('clusters', 0)} clusters</p>")
    if d.get("largest_clusters"):
        parts.append(_table(["split", "kept row", "size", "dropped rows"],
                            [[c["split"], c["kept"], c["size"], ", ".join(map(str, c["dropped"][:10]))]
                             for c in d["largest_clusters"][:20]]))
    lk = report.get("leakage")
    if lk:
        parts.append("<h2>Leakage between splits</h2>" + (_table(
            ["splits", "exact", "near"], [[k, v["exact"], v["near"]] for k, v in lk["pairs"].items()])
            if lk["pairs"] else "<p>none found</p>") + f"<p>action: {html.escape(str(lk.get('action')))}</p>")
    for w in report.get("warnings") or []:
        parts.append(f"<p class=warn>⚠ {html.escape(w)}</p>")
    for name, st in (report.get("splits") or {}).items():
        parts.append(f"<h2>{html.escape(name)} ({st['rows']} rows)</h2><div class=grid>")
        parts.append(_bars("languages", st["languages"]) + _bars("scripts (letters)", st["scripts"]))
        parts.append(_histogram("length in characters", st["length_chars"]))
        method = str(report.get("token_lengths", ""))
        counted = "approximate tokens" if method.startswith("approx") else f"tokens ({method})"
        parts.append(_histogram(f"length in {counted}", st["length_tokens"]))
        if "labels" in st:
            parts.append(_bars("labels", st["labels"]))
        parts.append("</div>")
    rules = ("table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}"
             ".warn{color:#a60}.cap{font-size:11px;color:#555;margin:0}.empty{color:#888}"
             ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px 24px;"
             "align-items:start}.chart h3{margin:4px 0;font-size:13px}")
    if fragment:  # inside the Studio: headings no larger than the Studio's own (h1 as its h3, h2 as h4)
        rules += "h1{font-size:15px;margin:6px 0}h2{font-size:13px;margin:6px 0}"
        scoped = "".join(",".join(f".ft-lab-report {sel}" for sel in r.split("{")[0].split(","))
                         + "{" + r.split("{", 1)[1] + "}" for r in rules.split("}") if r.strip())
        return f"<div class='ft-lab-report'><style>{scoped}</style>{''.join(parts)}</div>"
    style = "body{font-family:sans-serif;margin:1.5em;max-width:1000px}" + rules
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>ft-lab data report</title><style>{style}"
            f"</style></head><body>{''.join(parts)}</body></html>")
