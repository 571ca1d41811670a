"""Charts and tables: live bqplot figures for the panels, static HTML and SVG for snapshots.

bqplot figures are ipywidgets whose traits (``x``, ``y``, ``color``) update in place, so a loss curve
grows while training runs without redrawing the notebook output. The static versions (plain HTML
tables, an inline SVG line chart) are what ``Studio.snapshot()`` writes as text/html, readable in a
notebook opened without a kernel.
"""
from __future__ import annotations

import html
import math

_E = html.escape


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return _E(str(v))


def table_html(headers: list[str], rows: list[list], cls: str = "ft-lab-table", raw_columns=()) -> str:
    """A plain HTML table; cells in ``raw_columns`` are HTML already (a diff), the rest are escaped."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{_E(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            num = isinstance(c, (int, float)) and not isinstance(c, bool)
            text = c if i in raw_columns else fmt(c)
            align = "right" if num else "left"
            cells.append(f"<td style='text-align:{align};padding:2px 8px;vertical-align:top'>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="{cls}">' f"<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def metrics_table_html(metrics: dict) -> str:
    """Base against fine-tuned: ``<table class="ft-lab-metrics">`` with metric / base / fine-tuned / change."""
    base, tuned = metrics.get("base") or {}, metrics.get("finetuned") or {}
    names = [k for k in dict.fromkeys([*tuned, *base])
             if isinstance(tuned.get(k, base.get(k)), (int, float)) or tuned.get(k, base.get(k)) is None]
    rows = []
    for n in names:
        b, t = base.get(n), tuned.get(n)
        change = (t - b) if isinstance(b, (int, float)) and isinstance(t, (int, float)) else None
        color = "" if change is None or change == 0 else ("#070" if change > 0 else "#b00")
        if n in ("perplexity",) and change:
            color = "#b00" if change > 0 else "#070"
        shown = f"<span style='color:{color}'>{change:+.4f}</span>" if change is not None else "–"
        name = f"<b>{_E(n)}</b>" if n == metrics.get("headline") else _E(n)
        rows.append([name, fmt(b), fmt(t), shown])
    if "validation_loss" in metrics and "validation_loss" not in names:
        rows.append(["validation_loss", "–", fmt(metrics["validation_loss"]), "–"])
    return table_html(["metric", "base", "fine-tuned", "change"], rows, cls="ft-lab-metrics",
                      raw_columns=(0, 1, 2, 3))


def svg_lines(series: dict[str, list[tuple[float, float]]], width: int = 480, height: int = 200,
              title: str = "loss") -> str:
    """An inline SVG line chart of named (x, y) series (no script, no external resource)."""
    points = [p for s in series.values() for p in s if p[1] is not None and math.isfinite(p[1])]
    if not points:
        return "<p style='color:#777'>(no curve yet)</p>"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-9 + abs(y0) * 0.01 + 1e-6)
    pad = 36
    sx = lambda x: pad + (x - x0) / (x1 - x0) * (width - 2 * pad)  # noqa: E731
    sy = lambda y: height - pad + (y0 - y) / (y1 - y0) * (height - 2 * pad)  # noqa: E731
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    parts = [f"<svg class='ft-lab-curve' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' style='font:11px sans-serif'>",
             f"<text x='{pad}' y='14'>{_E(title)}</text>",
             f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#999'/>",
             f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#999'/>",
             f"<text x='2' y='{pad + 4}'>{y1:.3g}</text><text x='2' y='{height - pad}'>{y0:.3g}</text>",
             f"<text x='{pad}' y='{height - pad + 14}'>{x0:g}</text>"
             f"<text x='{width - pad - 20}' y='{height - pad + 14}'>{x1:g}</text>"]
    for i, (name, pts) in enumerate(series.items()):
        pts = [p for p in pts if p[1] is not None and math.isfinite(p[1])]
        color = colors[i % len(colors)]
        if len(pts) == 1:
            parts.append(f"<circle cx='{sx(pts[0][0]):.1f}' cy='{sy(pts[0][1]):.1f}' r='3' fill='{color}'/>")
        elif pts:
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{d}'/>")
        parts.append(f"<text x='{width - pad - 110}' y='{14 + 12 * i}' fill='{color}'>{_E(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def curves_from_events(events: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """Train loss, validation loss and learning rate by step, from a run's events."""
    out: dict[str, list] = {"train loss": [], "validation loss": [], "learning rate": []}
    for e in events:
        if e.get("type") == "log" and "loss" in e:
            out["train loss"].append((e["step"], e["loss"]))
            if "learning_rate" in e:
                out["learning rate"].append((e["step"], e["learning_rate"]))
        elif e.get("type") == "eval" and e.get("split") == "validation" and "loss" in (e.get("metrics") or {}):
            out["validation loss"].append((e.get("step", 0), e["metrics"]["loss"]))
    return out


class LossChart:
    """A live bqplot figure: train and validation loss (left axis), learning rate (right axis)."""

    def __init__(self, title: str = "loss", width: str = "620px", height: str = "300px"):
        import bqplot as bq
        self.bq = bq
        self.x = bq.LinearScale()
        self.y = bq.LinearScale()
        self.y_lr = bq.LinearScale()
        self.train = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y}, colors=["#1f77b4"],
                              labels=["train loss"], display_legend=True)
        self.val = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y}, colors=["#ff7f0e"], marker="circle",
                            labels=["validation loss"], display_legend=True)
        self.lr = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y_lr}, colors=["#2ca02c"],
                           line_style="dashed", labels=["learning rate"], display_legend=True)
        axes = [bq.Axis(scale=self.x, label="step"),
                bq.Axis(scale=self.y, orientation="vertical", label="loss"),
                bq.Axis(scale=self.y_lr, orientation="vertical", side="right", label="lr", tick_format=".1e")]
        self.figure = bq.Figure(marks=[self.train, self.val, self.lr], axes=axes, title=title,
                                layout={"width": width, "height": height}, legend_location="top-right")
        self.figure.add_class("ft-lab-loss-chart")

    def set(self, curves: dict[str, list[tuple[float, float]]]) -> None:
        import numpy as np
        for mark, key in ((self.train, "train loss"), (self.val, "validation loss"), (self.lr, "learning rate")):
            pts = curves.get(key) or []
            with mark.hold_sync():
                mark.x = np.array([p[0] for p in pts], dtype=float)
                mark.y = np.array([p[1] for p in pts], dtype=float)


class CompareChart:
    """Train loss of several runs on one bqplot figure."""

    def __init__(self, title: str = "train loss"):
        import bqplot as bq
        self.bq = bq
        self.x, self.y = bq.LinearScale(), bq.LinearScale()
        self.figure = bq.Figure(marks=[], axes=[bq.Axis(scale=self.x, label="step"),
                                                bq.Axis(scale=self.y, orientation="vertical", label="loss")],
                                title=title, layout={"width": "620px", "height": "280px"})

    def set(self, named: dict[str, list[tuple[float, float]]]) -> None:
        colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
        self.figure.marks = [self.bq.Lines(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                           scales={"x": self.x, "y": self.y}, colors=[colors[i % 4]],
                                           labels=[name], display_legend=True)
                             for i, (name, pts) in enumerate(named.items()) if pts]


def heatmap(labels: list[str], matrix: list[list[int]], title: str = "confusion (fine-tuned)"):
    """A bqplot GridHeatMap of a confusion matrix (rows: reference, columns: predicted)."""
    import bqplot as bq
    import numpy as np
    row = bq.OrdinalScale(reverse=True)
    col = bq.OrdinalScale()
    color = bq.ColorScale(scheme="Blues")
    grid = bq.GridHeatMap(row=list(labels), column=list(labels), color=np.array(matrix, dtype=float),
                          scales={"row": row, "column": col, "color": color}, display_format=".0f",
                          font_style={"font-size": "12px"})
    size = f"{max(300, 60 * len(labels) + 160)}px"
    fig = bq.Figure(marks=[grid], axes=[bq.Axis(scale=row, orientation="vertical", label="reference"),
                                        bq.Axis(scale=col, label="predicted"),
                                        bq.ColorAxis(scale=color, side="right", orientation="vertical")],
                    title=title, layout={"width": size, "height": size},
                    fig_margin={"top": 40, "bottom": 120, "left": 160, "right": 60})
    fig.add_class("ft-lab-heatmap")
    return fig
