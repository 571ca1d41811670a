"""Compare tuning methods on one recipe: same data, same training budget, same seed.

    ft-lab sweep RECIPE --methods lora,ia3,prefix_tuning,freeze,full [--runs-dir DIR] [--out table.md]
    rows = ft_lab.workflows.sweep.sweep("recipe.yaml", ["lora", "ia3"])

Each method runs with its default options, except the recipe's own method, which keeps its settings.
A method whose capabilities refuse the recipe is skipped, with the reason in its row. The runs go one
after another (each in its own worker), and each row is read back from its run directory.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..core.method_checks import check_capabilities
from ..core.plugins import get_registry
from ..errors import UserError
from ..safety.atomic import atomic_write_json, atomic_write_text
from .runner import as_recipe, run

#: (key, header) of the table's fixed columns; the recipe's metrics follow, then status and note
COLUMNS = (("method", "method"), ("status", "status"), ("trainable_parameters", "trainable"),
           ("total_parameters", "total"), ("peak_rss_mib", "peak RSS MiB"),
           ("peak_cuda_mib", "peak CUDA MiB"), ("train_runtime", "train time s"),
           ("tokens_per_second", "tokens/s"), ("validation_loss", "val loss"))


def parse_methods(value) -> list[str]:
    names = [m.strip() for m in (value.split(",") if isinstance(value, str) else value) if m and m.strip()]
    if not names:
        raise UserError("--methods: give at least one method name, e.g. --methods lora,ia3,full")
    if len(set(names)) != len(names):
        raise UserError(f"--methods: a method is named twice in {', '.join(names)}")
    return names


def variants(recipe, methods) -> list[tuple[str, dict | None, str | None]]:
    """(method, recipe dict or None, reason it is skipped or None) for each method, checked up front."""

    registry = get_registry()
    base = recipe.resolved().to_dict()
    out = []
    for name in methods:
        try:
            cls = registry.get("method", name)
        except KeyError as exc:
            raise UserError(f"--methods: {exc.args[0]}") from None
        plain = json.loads(json.dumps(base))
        if name != recipe.method.name:
            plain["method"] = {"name": name}
        problems = check_capabilities(plain, cls)
        out.append((name, None if problems else plain, "; ".join(problems) or None))
    return out


def _row_from_run(name: str, handle, status: str) -> dict:
    row = {"method": name, "status": status, "run_dir": str(handle.dir)}
    events = handle.events()
    for e in events:
        kind = e.get("type")
        if kind == "model":
            row["trainable_parameters"] = e.get("trainable_parameters")
            row["total_parameters"] = e.get("total_parameters")
        elif kind == "resources":
            row["peak_rss_mib"] = e.get("peak_rss_mib")
            row["peak_cuda_mib"] = e.get("peak_cuda_mib")
        elif kind == "train_end":
            row["train_runtime"] = e.get("train_runtime")
    speeds = [e["tokens_per_second"] for e in events
              if e.get("type") == "log" and isinstance(e.get("tokens_per_second"), (int, float))]
    row["tokens_per_second"] = sum(speeds) / len(speeds) if speeds else None
    metrics = handle.metrics()
    row["validation_loss"] = metrics.get("validation_loss")
    row["metrics"] = dict(metrics.get("finetuned") or {})
    if status != "completed":
        row["note"] = handle.error or f"see {handle.dir / 'worker.log'}"
    return row


def sweep(recipe, methods, runs_dir=None, on_progress=None) -> list[dict]:
    """Train ``recipe`` once per method (one after another) and return one row per method.

    ``recipe``: a Recipe, a dict or a YAML path; ``methods``: names (a list or "a,b,c").
    ``on_progress(message)`` is told when each method starts and ends.
    """

    recipe = as_recipe(recipe)
    say = on_progress or (lambda message: None)
    rows = []
    for name, plain, reason in variants(recipe, parse_methods(methods)):
        if plain is None:
            say(f"{name}: skipped ({reason})")
            rows.append({"method": name, "status": "skipped", "note": reason, "metrics": {}})
            continue
        say(f"{name}: training ...")
        try:
            handle = run(plain, runs_dir)
        except UserError as exc:
            say(f"{name}: refused ({exc})")
            rows.append({"method": name, "status": "refused", "note": str(exc), "metrics": {}})
            continue
        try:
            status = handle.wait()
        except KeyboardInterrupt:
            handle.stop()
            handle.wait()
            raise
        rows.append(_row_from_run(name, handle, status))
        say(f"{name}: {status} ({handle.dir})")
    return rows


# --- output --------------------------------------------------------------------------------------
def _fmt(key: str, value) -> str:
    if value is None:
        return "-"
    if key in ("trainable_parameters", "total_parameters") and isinstance(value, int):
        return f"{value:,}"
    if key in ("peak_rss_mib", "peak_cuda_mib", "tokens_per_second"):
        return f"{value:,.0f}"
    if key == "train_runtime":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    metric_names = list(dict.fromkeys(k for r in rows for k in (r.get("metrics") or {})))
    header = [h for _, h in COLUMNS] + metric_names + ["note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [_fmt(k, r.get(k)) for k, _ in COLUMNS]
        if isinstance(r.get("trainable_parameters"), int) and r.get("total_parameters"):
            cells[2] += f" ({100 * r['trainable_parameters'] / r['total_parameters']:.2f}%)"
        cells += [_fmt(m, (r.get("metrics") or {}).get(m)) for m in metric_names]
        cells.append(str(r.get("note") or "").replace("|", "\\|").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(rows: list[dict], out) -> tuple[Path, Path]:
    """Write the Markdown table to ``out``, the rows as JSON to ``sweep.json`` beside it, and the
    trade-off plot (``tradeoff_svg``) to ``sweep.svg``."""

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = atomic_write_text(out, markdown_table(rows))
    data = atomic_write_json(out.parent / "sweep.json", {"rows": rows})
    atomic_write_text(out.parent / "sweep.svg", tradeoff_svg(rows))
    return Path(table), Path(data)


# --- plot ----------------------------------------------------------------------------------------
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
#: the x axes of ``tradeoff_svg``: (row key, axis title, logarithmic)
TRADEOFF_AXES = (("trainable_parameters", "trainable parameters (log scale)", True),
                 ("train_runtime", "train time (s)", False))


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def axis_ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:  # powers of ten; with 1-2-5 steps when the range spans less than two of them
        steps = (1,) if hi - lo >= 2 else (1, 2, 5)
        found = [m * 10.0 ** k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in steps
                 if lo <= k + math.log10(m) <= hi]
        return found or [10.0 ** lo]
    step = 10 ** math.floor(math.log10((hi - lo) or 1)) if hi > lo else 1
    if (hi - lo) / step < 3:
        step /= 2
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def tick_text(v: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"{v / size:g}{unit}"
    return f"{v:g}"


def tradeoff_svg(rows: list[dict], metric: str | None = None, width: int = 760, height: int = 300) -> str:
    """The sweep's trade-off as an inline SVG (no script, renders anywhere): ``metric`` (default: the
    first metric of the rows) against trainable parameters (log scale) and against train time, one
    labelled point per completed method. Methods that did not complete are named under the plots."""
    import html

    metric = metric or next((k for r in rows for k in (r.get("metrics") or {})), None)
    value = lambda r: (r.get("metrics") or {}).get(metric)  # noqa: E731
    done = [r for r in rows if r.get("status") == "completed" and _num(value(r))]
    missing = [f"{r['method']} ({r.get('status')})" for r in rows if r not in done]
    e = html.escape
    panel_w, pad_l, pad_b, top = width // 2, 52, 44 + (16 if missing else 0), 26
    parts = [f"<svg class='ft-lab-sweep' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' style='font:11px sans-serif'>"]
    ys = [value(r) for r in done]
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    y0, y1 = (y0 - 0.05, y1 + 0.05) if y1 - y0 < 0.1 else (y0 - (y1 - y0) * 0.08, y1 + (y1 - y0) * 0.08)
    sy = lambda v: top + (y1 - v) / (y1 - y0) * (height - top - pad_b)  # noqa: E731
    for i, (key, title, log) in enumerate(TRADEOFF_AXES):
        ox = i * panel_w
        pts = [(r, math.log10(r[key]) if log else r[key]) for r in done if _num(r.get(key)) and (r[key] > 0 or not log)]
        xs = [x for _, x in pts] or [0.0, 1.0]
        x0, x1 = min(xs), max(xs)
        span = (x1 - x0) or 1.0
        x0, x1 = x0 - span * 0.1, x1 + span * 0.25  # room for the labels on the right
        sx = lambda v: ox + pad_l + (v - x0) / (x1 - x0) * (panel_w - pad_l - 16)  # noqa: E731
        bottom = height - pad_b
        parts.append(f"<line x1='{ox + pad_l}' y1='{bottom}' x2='{ox + panel_w - 16}' y2='{bottom}' stroke='#999'/>"
                     f"<line x1='{ox + pad_l}' y1='{top}' x2='{ox + pad_l}' y2='{bottom}' stroke='#999'/>"
                     f"<text x='{ox + pad_l}' y='{bottom + 32}'>{e(title)}</text>"
                     f"<text x='{ox + 4}' y='14'>{e(str(metric))}</text>")
        for t in axis_ticks(x0, x1, log):
            x = sx(math.log10(t) if log else t)
            parts.append(f"<line x1='{x:.1f}' y1='{bottom}' x2='{x:.1f}' y2='{bottom + 4}' stroke='#999'/>"
                         f"<text x='{x - 8:.1f}' y='{bottom + 16}'>{tick_text(t)}</text>")
        for t in axis_ticks(y0, y1, False):
            parts.append(f"<text x='{ox + 4}' y='{sy(t) + 4:.1f}'>{t:g}</text>"
                         f"<line x1='{ox + pad_l - 4}' y1='{sy(t):.1f}' x2='{ox + panel_w - 16}' y2='{sy(t):.1f}' "
                         f"stroke='#eee'/>")
        for r, x in pts:
            color = PALETTE[rows.index(r) % len(PALETTE)]
            parts.append(f"<circle cx='{sx(x):.1f}' cy='{sy(value(r)):.1f}' r='4' fill='{color}'>"
                         f"<title>{e(r['method'])}: {metric} {value(r):.4g}, {e(title)} {r[key]:,.4g}</title></circle>"
                         f"<text x='{sx(x) + 6:.1f}' y='{sy(value(r)) + 4:.1f}' fill='{color}'>{e(r['method'])}</text>")
    if missing:
        parts.append(f"<text x='4' y='{height - 4}' fill='#777'>not plotted: {e(', '.join(missing))}</text>")
    parts.append("</svg>")
    return "".join(parts)
