"""Charts and tables: live bqplot figures for the panels, static HTML and SVG for snapshots.

bqplot figures are ipywidgets whose traits (``x``, ``y``, ``color``) update in place, so a loss curve
grows while training runs without redrawing the notebook output. The static versions (plain HTML
tables, an inline SVG line chart) are what ``Studio.snapshot()`` writes as text/html, readable in a
notebook opened without a kernel.
"""
from __future__ import annotations

import html
import math

from ..evaluation.verdict import sentence, winner

_E = html.escape


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return _E(str(v))


def breakable(escaped: str) -> str:
    """Escaped text that may wrap after ``_`` and ``/`` (declined_card_<wbr>payment), never inside a word."""
    return escaped.replace("_", "_<wbr>").replace("/", "/<wbr>")


def table_html(headers: list[str], rows: list[list], cls: str = "ft-lab-table", raw_columns=()) -> str:
    """A plain HTML table; cells in ``raw_columns`` are HTML already (a diff), the rest are escaped.
    With the class ``ft-lab-fit`` the table takes its cell's width: cells wrap between words and after
    ``_ / -``, short tokens (ids, numbers) never; only a word longer than the line is broken."""
    fit = "ft-lab-fit" in cls.split()
    head = "".join(f"<th style='text-align:left;padding:2px 8px;overflow-wrap:normal'>{_E(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            num = isinstance(c, (int, float)) and not isinstance(c, bool)
            text = c if i in raw_columns else fmt(c)
            align = "right" if num else "left"
            short = num or (isinstance(c, str) and len(c) <= 12 and not any(ch.isspace() for ch in c))
            if fit and i not in raw_columns and not short:
                text = breakable(text)
            nowrap = "white-space:nowrap;" if short else ""
            cells.append(f"<td style='text-align:{align};padding:2px 8px;vertical-align:top;{nowrap}'>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    style = " style='width:100%;max-width:100%;overflow-wrap:break-word'" if fit else ""
    return (f'<table class="{cls}"{style}>' f"<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


#: metrics where lower is better (their change is green when it goes down)
LOWER_IS_BETTER = ("perplexity", "loss", "validation_loss", "ece")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def metrics_table_html(metrics: dict) -> str:
    """Base against fine-tuned (and any baselines): ``<table class="ft-lab-metrics">`` with metric / base /
    each baseline / fine-tuned / change; then every other group of numbers (throughput ...) as its own
    small table. New rows and groups in metrics.json show up with no change here."""
    base, tuned = metrics.get("base") or {}, metrics.get("finetuned") or {}
    baselines = {k: v for k, v in (metrics.get("baselines") or {}).items() if isinstance(v, dict)}
    sides = [base, *baselines.values(), tuned]
    names = [k for k in dict.fromkeys(k for side in sides for k in side)
             if all(_is_number(side.get(k)) or side.get(k) is None for side in sides)]
    rows = []
    for n in names:
        b, t = base.get(n), tuned.get(n)
        change = (t - b) if _is_number(b) and _is_number(t) else None
        better = change is not None and change != 0 and ((change < 0) if n in LOWER_IS_BETTER else (change > 0))
        color = "" if not change else ("#070" if better else "#b00")
        shown = f"<span style='color:{color}'>{change:+.4f}</span>" if change is not None else "–"
        name = f"<b>{_E(n)}</b>" if n == metrics.get("headline") else _E(n)
        rows.append([name, fmt(b), *(fmt(v.get(n)) for v in baselines.values()), fmt(t), shown])
    if "validation_loss" in metrics and "validation_loss" not in names:
        rows.append(["validation_loss", "–", *("–" for _ in baselines), fmt(metrics["validation_loss"]), "–"])
    verdict = sentence(winner(metrics)) if baselines else ""
    out = (f"<p class='ft-lab-verdict'><b>{_E(verdict[0].upper() + verdict[1:])}.</b></p>" if verdict else "")
    out += table_html(["metric", "base", *(f"baseline: {k}" for k in baselines), "fine-tuned", "change"], rows,
                      cls="ft-lab-metrics", raw_columns=tuple(range(len(baselines) + 4)))
    for group, values in metrics.items():
        if group in ("base", "finetuned", "baselines", "winner") or not isinstance(values, dict):
            continue  # the winner is the sentence above
        # a field without a value does not apply here (MFU without a GPU): left out, not shown as "-"
        shown = [[k, fmt(v)] for k, v in values.items() if _is_number(v) or isinstance(v, str)]
        if shown:
            out += (f"<h4>{_E(group.replace('_', ' ').capitalize())}</h4>"
                    + table_html(["", "value"], shown, cls=f"ft-lab-metric-group ft-lab-{_E(group)}",
                                 raw_columns=(1,)))
    return out


def svg_lines(series: dict[str, list[tuple[float, float]]], width: int = 480, height: int = 200,
              title: str = "loss", marks: tuple[tuple[float, str], ...] = (), x_label=None) -> str:
    """An inline SVG line chart of named (x, y) series (no script, no external resource); ``marks`` are
    labelled vertical lines at given x; ``x_label(x)`` writes the x axis's end values."""
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
             f"<text x='{pad}' y='{height - pad + 14}'>{_E((x_label or '{:g}'.format)(x0))}</text>"
             f"<text x='{width - pad - 20}' y='{height - pad + 14}'>{_E((x_label or '{:g}'.format)(x1))}</text>"]
    for x, label in marks:
        if x0 <= x <= x1:
            parts.append(f"<line class='ft-lab-mark' x1='{sx(x):.1f}' y1='{pad}' x2='{sx(x):.1f}' "
                         f"y2='{height - pad}' stroke='#d62728' stroke-dasharray='4 3'/>"
                         f"<text x='{sx(x) + 4:.1f}' y='{pad + 10}' fill='#d62728'>{_E(label)}</text>")
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


def legend_html(entries: list[tuple[str, str, str]]) -> str:
    """A chart's legend as a line of HTML under it, (label, colour, dash) each: bqplot draws its legend inside
    the plot area, on the curves, and cuts long names at the figure's edge."""
    items = "".join(
        f"<span style='display:inline-flex;align-items:center;gap:4px;margin-right:14px;white-space:nowrap'>"
        f"<span style='display:inline-block;width:18px;border-top:2px {dash} {color}'></span>{_E(label)}</span>"
        for label, color, dash in entries)
    return f"<div class='ft-lab-legend' style='font-size:12px;line-height:20px;padding-left:70px'>{items}</div>"


class LossChart:
    """A live bqplot figure: train and validation loss (left axis), learning rate (right axis); its legend
    below it (``widget`` holds both)."""

    COLORS = {"train loss": ("#1f77b4", "solid"), "validation loss": ("#ff7f0e", "solid"),
              "learning rate (right axis)": ("#2ca02c", "dashed")}

    def __init__(self, title: str = "loss", width: str = "620px", height: str = "300px"):
        import bqplot as bq
        import ipywidgets as W
        self.bq = bq
        self.x = bq.LinearScale()
        self.y = bq.LinearScale()
        self.y_lr = bq.LinearScale()
        self.train = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y}, colors=["#1f77b4"],
                              labels=["train loss"])
        self.val = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y}, colors=["#ff7f0e"], marker="circle",
                            labels=["validation loss"])
        self.lr = bq.Lines(x=[], y=[], scales={"x": self.x, "y": self.y_lr}, colors=["#2ca02c"],
                           line_style="dashed", labels=["learning rate"])
        axes = [bq.Axis(scale=self.x, label="step"),
                bq.Axis(scale=self.y, orientation="vertical", label="loss", label_offset="48px"),
                bq.Axis(scale=self.y_lr, orientation="vertical", side="right", label="lr", tick_format=".1e",
                        label_offset="62px")]
        self.figure = bq.Figure(marks=[self.train, self.val, self.lr], axes=axes, title=title,
                                layout={"width": width, "height": height, "max_width": "100%"},
                                fig_margin={"top": 50, "bottom": 50, "left": 70, "right": 90})
        self.figure.add_class("ft-lab-loss-chart")
        self.legend = W.HTML(legend_html([(k, *v) for k, v in self.COLORS.items()]))
        self.widget = W.VBox([self.figure, self.legend])

    def set(self, curves: dict[str, list[tuple[float, float]]]) -> None:
        import numpy as np
        for mark, key in ((self.train, "train loss"), (self.val, "validation loss"), (self.lr, "learning rate")):
            pts = curves.get(key) or []
            with mark.hold_sync():
                mark.x = np.array([p[0] for p in pts], dtype=float)
                mark.y = np.array([p[1] for p in pts], dtype=float)


class CompareChart:
    """Train loss of several runs on one bqplot figure, their names in a legend below it (``widget``)."""

    COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

    def __init__(self, title: str = "train loss"):
        import bqplot as bq
        import ipywidgets as W
        self.bq = bq
        self.x, self.y = bq.LinearScale(), bq.LinearScale()
        self.figure = bq.Figure(marks=[], axes=[bq.Axis(scale=self.x, label="step"),
                                                bq.Axis(scale=self.y, orientation="vertical", label="loss")],
                                title=title, layout={"width": "620px", "height": "280px", "max_width": "100%"},
                                fig_margin={"top": 50, "bottom": 50, "left": 70, "right": 20})
        self.legend = W.HTML()
        self.widget = W.VBox([self.figure, self.legend])

    def set(self, named: dict[str, list[tuple[float, float]]]) -> None:
        shown = [(name, pts) for name, pts in named.items() if pts]
        colors = [self.COLORS[i % len(self.COLORS)] for i in range(len(shown))]
        self.figure.marks = [self.bq.Lines(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                           scales={"x": self.x, "y": self.y}, colors=[color], labels=[name])
                             for (name, pts), color in zip(shown, colors)]
        self.legend.value = legend_html([(name, color, "solid") for (name, _pts), color in zip(shown, colors)])


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def confusion_table_html(labels: list[str], matrix: list[list[int]], normalize: bool = False) -> str:
    """A confusion matrix as an HTML grid that stays readable from 2 to 80 classes: column labels written
    vertically, long labels shortened with the full name on hover (each cell's tooltip says reference ->
    predicted: count), white counts on dark cells, rows as percentages with ``normalize``. Wider than
    its cell it scrolls inside its own box instead of overlapping."""
    n = len(labels)
    cell = 44 if n <= 10 else 30 if n <= 25 else 18
    font = 12 if n <= 10 else 10 if n <= 25 else 8
    limit = 24 if n <= 25 else 16
    rows = [[float(v) for v in r] for r in matrix]
    shown = [[(100 * v / sum(r) if sum(r) else 0.0) for v in r] for r in rows] if normalize else rows
    top = max((v for r in shown for v in r), default=0) or 1
    head = "".join(
        f"<th title='predicted: {_E(l)}' style='vertical-align:bottom;padding:2px 0;width:{cell}px;"
        f"max-width:{cell}px'><div style='writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;"
        f"font-weight:normal;font-size:{font}px;margin:auto'>{_E(_short(l, limit))}</div></th>" for l in labels)
    body = []
    for i, l in enumerate(labels):
        cells = []
        for j, v in enumerate(shown[i]):
            share = v / top
            bg = f"rgba(8,81,156,{0.08 + 0.92 * share:.2f})" if v else "#fff"
            fg = "#fff" if share > 0.5 else "#222"
            text = (f"{v:.0f}" if normalize else f"{int(v)}") if v and n <= 40 else ""
            cells.append(f"<td title='{_E(l)} → {_E(labels[j])}: {int(rows[i][j])}"
                         f"{f' ({v:.0f}% of {_E(l)})' if normalize else ''}' style='background:{bg};color:{fg};"
                         f"width:{cell}px;height:{cell}px;text-align:center;padding:0;font-size:{font}px;"
                         f"border:1px solid #eee'>{text}</td>")
        body.append(f"<tr><th title='reference: {_E(l)}' style='text-align:right;font-weight:normal;"
                    f"white-space:nowrap;padding:0 6px;font-size:{font}px'>{_E(_short(l, limit))}</th>"
                    f"{''.join(cells)}</tr>")
    unit = "% of each reference row" if normalize else "examples"
    return (f"<div class='ft-lab-confusion-box' style='max-width:100%;overflow:auto'>"
            f"<div style='color:#555;font-size:90%;margin-bottom:4px'>rows: reference · columns: predicted · "
            f"cells: {unit}{' · hover a cell for the labels and counts' if n > 10 else ''}</div>"
            f"<table class='ft-lab-confusion-grid' style='border-collapse:collapse;table-layout:fixed'>"
            f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def svg_lr_find(found: dict) -> str:
    """The learning-rate range test (``lr_find.json``): smoothed loss against the rate (log scale), with the
    chosen rate marked."""
    rates, losses = found.get("learning_rates") or [], found.get("smoothed") or found.get("losses") or []
    points = [(math.log10(r), y) for r, y in zip(rates, losses) if r and r > 0 and y is not None]
    chosen = found.get("chosen")
    marks = ((math.log10(chosen), f"chosen {chosen:.3g}"),) if chosen and chosen > 0 else ()
    title = (f"learning-rate range test: {found.get('steps', len(points))} steps, "
             f"{found.get('seconds', 0):.1f} s (smoothed loss against the rate)")
    return svg_lines({"smoothed loss": points}, title=title, marks=marks, x_label=lambda x: f"{10 ** x:.0e}")
