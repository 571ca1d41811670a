"""Compare tuning methods on one recipe: same data, same training budget, same seed.

    ft-lab sweep RECIPE --methods lora,ia3,prefix_tuning,freeze,full [--runs-dir DIR] [--out table.md]
    rows = ft_lab.sweep.sweep("recipe.yaml", ["lora", "ia3"])

Each method runs with its default options, except the recipe's own method, which keeps its settings.
A method whose capabilities refuse the recipe is skipped, with the reason in its row. The runs go one
after another (each in its own worker), and each row is read back from its run directory.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import UserError

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
    from .capabilities import check_capabilities
    from .plugins import get_registry

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
    from .runs import _as_recipe, run

    recipe = _as_recipe(recipe)
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
    """Write the Markdown table to ``out`` and the rows as JSON to ``sweep.json`` beside it."""
    from .atomic import atomic_write_json, atomic_write_text

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = atomic_write_text(out, markdown_table(rows))
    data = atomic_write_json(out.parent / "sweep.json", {"rows": rows})
    return Path(table), Path(data)
