"""What a search folder holds, rebuilt from the study after every trial (by whichever process ended it):

    RUNS_DIR/searches/NAME/
        search.yaml        the recipe with its search section, as started
        study.db           the Optuna study (SQLite; absent with --storage URL)
        leaderboard.json   one row per trial: state, objective value(s), params, steps, run directory
        best_recipe.yaml   the best trial's recipe, ready for ``ft-lab run``
        importances.json   Optuna's parameter importances (from two completed trials on)
        history.svg        the objective of each trial, and the best so far
        params.svg         the objective against each searched parameter
        pareto.svg         time_objective: the objective against training time, the Pareto front marked

    rows = read_leaderboard(folder)["rows"];  print(leaderboard_table(rows, "accuracy"))
"""
from __future__ import annotations

import html
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ..core.recipe import Recipe
from ..core.search_space import apply_params
from ..safety.atomic import atomic_write_json, atomic_write_text, read_json
from .sweep import PALETTE, axis_ticks, tick_text

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}
LEADERBOARD = "leaderboard.json"


def trial_rows(study) -> list[dict]:
    pareto = {t.number for t in study.best_trials} if len(study.directions) > 1 else set()
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        row = {"number": t.number, "state": STATES.get(t.state.name, t.state.name.lower()),
               "value": t.values[0] if t.values else None, "values": list(t.values) if t.values else None,
               "params": dict(t.params), "steps": a.get("steps"), "train_runtime": a.get("train_runtime"),
               "run_dir": a.get("run_dir"), "started": a.get("started"), "retry_of": a.get("retry_of"),
               "note": a.get("interrupted") or a.get("note"), "worker": a.get("worker")}
        if row["state"] == "running" and str(row["started"] or "").startswith(("resumed", "taken over")):
            row["state"] = "resumed"
        if pareto:
            row["pareto"] = t.number in pareto
        rows.append(row)
    return rows


def best_row(rows: list[dict], maximize: bool = True) -> dict | None:
    done = [r for r in rows if r["state"] == "complete" and isinstance(r.get("value"), (int, float))]
    if not done:
        return None
    return (max if maximize else min)(done, key=lambda r: (r["value"], -r["number"]) if maximize
                                      else (r["value"], r["number"]))


def write_all(plan, study) -> list[dict]:
    """Rewrite every output of the search folder from the study; returns the leaderboard rows."""
    rows = trial_rows(study)
    maximize = plan.directions[0] == "maximize"
    best = best_row(rows, maximize)
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in ("complete", "pruned", "failed", "running",
                                                                      "resumed", "waiting")}
    atomic_write_json(plan.folder / LEADERBOARD, {
        "name": plan.name, "objective": plan.objective, "directions": plan.directions, "budget": plan.trials,
        "sampler": plan.recipe.search.sampler, "pruner": plan.recipe.search.pruner,
        "storage": _public_url(plan.storage_url), "counts": counts,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "best": best["number"] if best else None, "rows": rows})
    if best is not None:
        recipe = Recipe.from_dict(apply_params(plan.plain, best["params"]), base_dir=plan.recipe.base_dir)
        text = (f"# the best trial ({best['number']}) of search '{plan.name}': {plan.objective} {best['value']:.4f} "
                f"on validation\n" + recipe.to_yaml(minimal=True))
        atomic_write_text(plan.folder / "best_recipe.yaml", text)
    atomic_write_json(plan.folder / "importances.json", importances(study))
    metric = f"validation {plan.objective}"
    atomic_write_text(plan.folder / "history.svg", history_svg(rows, metric, maximize))
    atomic_write_text(plan.folder / "params.svg", params_svg(rows, metric, [d.path for d in plan.dims],
                                                             {d.path: d.log for d in plan.dims}))
    if len(plan.directions) > 1:
        atomic_write_text(plan.folder / "pareto.svg", pareto_svg(rows, metric))
    return rows


def _public_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def importances(study) -> dict:
    """Optuna's importances of the parameters for the (first) objective ({} before two completed trials differ)."""
    from optuna.trial import TrialState
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2 or len({tuple(sorted(map(str, t.params.items()))) for t in done}) < 2:
        return {}
    import optuna
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    try:  # Optuna's default evaluator (PED-ANOVA) explains low values of the target: a maximum is negated
        with warnings.catch_warnings():  # it says so on every call with a target
            warnings.simplefilter("ignore", UserWarning)
            found = optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[0])
    except Exception:  # noqa: BLE001 - e.g. a parameter with one value so far
        return {}
    return {k: round(float(v), 4) for k, v in found.items()}


def read_leaderboard(folder: Path) -> dict:
    return read_json(Path(folder) / LEADERBOARD, default={}) or {}


LIVE_STATES = ("running", "resumed")


def search_folders(runs_dir: Path) -> list[Path]:
    root = Path(runs_dir) / "searches"
    return sorted(root.iterdir()) if root.is_dir() else []


def board_counts(board: dict) -> dict:
    """A leaderboard's trials finished (complete or pruned), running, failed, and its best row."""
    rows = board.get("rows") or []
    return {"finished": sum(1 for r in rows if r.get("state") in ("complete", "pruned")),
            "running": sum(1 for r in rows if r.get("state") in LIVE_STATES),
            "failed": sum(1 for r in rows if r.get("state") == "failed"),
            "best_row": next((r for r in rows if r.get("number") == board.get("best")), None)}


def search_summary(folder: Path, board: dict) -> dict:
    """A search as one row (``ft-lab runs``, the sidebar): name, progress, best value."""
    counts = board_counts(board)
    best = counts.pop("best_row")
    return {"name": board.get("name", folder.name), "folder": str(folder), "budget": board.get("budget"), **counts,
            "objective": board.get("objective"), "best_value": best["value"] if best else None,
            "best_trial": board.get("best"), "updated": board.get("updated")}


def leaderboard_table(rows: list[dict], objective: str, maximize: bool = True) -> list[tuple]:
    """The leaderboard as table rows (header first), best first, then the unfinished trials by number."""
    params = list(dict.fromkeys(k for r in rows for k in r["params"]))
    done = sorted([r for r in rows if isinstance(r.get("value"), (int, float))],
                  key=lambda r: r["value"], reverse=maximize)
    rest = sorted([r for r in rows if r not in done], key=lambda r: r["number"])
    table = [("trial", "state", objective, *[p.split(".", 1)[1] for p in params], "steps", "time s", "note")]
    for r in done + rest:
        note = r.get("note") or ""
        if r.get("retry_of") is not None:
            note = f"{r.get('started') or 'retry'} (trial {r['retry_of']})" + (f"; {note}" if note else "")
        table.append((str(r["number"]), r["state"], _fmt(r.get("value")), *[_fmt(r["params"].get(p)) for p in params],
                      _fmt(r.get("steps")), _fmt(r.get("train_runtime"), 1), note[:80]))
    return table


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e-2 and v != 0 else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return str(v)


# --- plots: small inline SVGs (no script, no plotting library) --------------------------------------
def _axes(width, height, xs, ys, x_title, y_title, log_x=False, pad=(52, 40, 24, 16)):
    """An SVG frame; returns (parts, sx, sy)."""
    left, bottom_pad, top, right = pad
    if log_x:
        xs = [math.log10(x) for x in xs if x > 0]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    span_x, span_y = (x1 - x0) or 1.0, (y1 - y0) or max(abs(y1) * 0.1, 0.05)
    x0, x1, y0, y1 = x0 - span_x * 0.06, x1 + span_x * 0.06, y0 - span_y * 0.1, y1 + span_y * 0.1
    bottom = height - bottom_pad

    def sx(v):
        v = math.log10(v) if log_x else v
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def sy(v):
        return top + (y1 - v) / (y1 - y0) * (bottom - top)

    e = html.escape
    parts = [f"<line x1='{left}' y1='{bottom}' x2='{width - right}' y2='{bottom}' stroke='#999'/>",
             f"<line x1='{left}' y1='{top}' x2='{left}' y2='{bottom}' stroke='#999'/>",
             f"<text x='{left}' y='{height - 6}'>{e(x_title)}</text>", f"<text x='4' y='14'>{e(y_title)}</text>"]
    for t in axis_ticks(x0, x1, log_x):
        x = left + ((math.log10(t) if log_x else t) - x0) / (x1 - x0) * (width - left - right)
        parts.append(f"<line x1='{x:.1f}' y1='{bottom}' x2='{x:.1f}' y2='{bottom + 4}' stroke='#999'/>"
                     f"<text x='{x - 8:.1f}' y='{bottom + 16}'>{tick_text(t)}</text>")
    for t in axis_ticks(y0, y1, False):
        parts.append(f"<text x='4' y='{sy(t) + 4:.1f}'>{t:.3g}</text>"
                     f"<line x1='{left - 4}' y1='{sy(t):.1f}' x2='{width - right}' y2='{sy(t):.1f}' stroke='#eee'/>")
    return parts, sx, sy


def _svg(width: int, height: int, body: list[str], cls: str) -> str:
    return (f"<svg class='{cls}' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' style='font:11px sans-serif'>" + "".join(body) + "</svg>")


STATE_COLORS = {"complete": PALETTE[0], "pruned": PALETTE[1], "failed": PALETTE[3]}


def history_svg(rows: list[dict], metric: str, maximize: bool, width: int = 560, height: int = 260) -> str:
    """Each finished trial's objective (pruned ones at their last report, orange), and the best so far."""
    pts = [(r["number"], r["value"], r) for r in rows if isinstance(r.get("value"), (int, float))]
    parts, sx, sy = _axes(width, height, [p[0] for p in pts], [p[1] for p in pts], "trial", metric)
    best, line = None, []
    for n, v, r in sorted(pts, key=lambda p: p[0]):
        if r["state"] == "complete":
            best = v if best is None else (max if maximize else min)(best, v)
            line.append(f"{sx(n):.1f},{sy(best):.1f}")
        parts.append(f"<circle cx='{sx(n):.1f}' cy='{sy(v):.1f}' r='4' fill='{STATE_COLORS.get(r['state'], '#777')}'>"
                     f"<title>trial {n} ({r['state']}): {v:.4g}</title></circle>")
    if line:
        parts.append(f"<polyline points='{' '.join(line)}' fill='none' stroke='#2ca02c' stroke-width='1.5'/>")
    others = [r for r in rows if not isinstance(r.get("value"), (int, float))]
    if others:
        parts.append(f"<text x='{width - 220}' y='14' fill='#777'>{len(others)} trial(s) without a value</text>")
    return _svg(width, height, parts, "ft-lab-search-history")


def params_svg(rows: list[dict], metric: str, params: list[str], logs: dict, panel: int = 300,
               height: int = 240) -> str:
    """The objective against each searched parameter, one panel per parameter (choices by position)."""
    parts = []
    done = [r for r in rows if r["state"] == "complete" and isinstance(r.get("value"), (int, float))]
    for i, p in enumerate(params):
        vals = [r["params"].get(p) for r in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        labels = None if numeric else list(dict.fromkeys(map(str, vals)))
        xs = vals if numeric else [labels.index(str(v)) for v in vals]
        log = bool(logs.get(p)) and numeric
        sub, sx, sy = _axes(panel, height, xs, [r["value"] for r in done], p, metric if i == 0 else "", log)
        parts.append(f"<g transform='translate({i * panel},0)'>" + "".join(sub))
        for x, r in zip(xs, done):
            parts.append(f"<circle cx='{sx(x):.1f}' cy='{sy(r['value']):.1f}' r='4' fill='{PALETTE[0]}'>"
                         f"<title>trial {r['number']}: {p}={r['params'].get(p)}, {r['value']:.4g}</title></circle>")
        if labels:
            parts += [f"<text x='{sx(j) - 8:.1f}' y='{height - 24}'>{html.escape(t[:10])}</text>"
                      for j, t in enumerate(labels)]
        parts.append("</g>")
    return _svg(max(panel * len(params), panel), height, parts, "ft-lab-search-params")


def pareto_svg(rows: list[dict], metric: str, width: int = 560, height: int = 260) -> str:
    """The objective against training time; the Pareto front's trials filled and joined."""
    done = [r for r in rows if r["state"] == "complete" and r.get("values") and len(r["values"]) > 1]
    parts, sx, sy = _axes(width, height, [r["values"][1] for r in done], [r["values"][0] for r in done],
                          "training time (s)", metric)
    front = sorted([r for r in done if r.get("pareto")], key=lambda r: r["values"][1])
    if front:
        pts = " ".join(f"{sx(r['values'][1]):.1f},{sy(r['values'][0]):.1f}" for r in front)
        parts.append(f"<polyline points='{pts}' fill='none' stroke='{PALETTE[3]}' stroke-dasharray='4 3'/>")
    for r in done:
        fill = PALETTE[3] if r.get("pareto") else "none"
        parts.append(f"<circle cx='{sx(r['values'][1]):.1f}' cy='{sy(r['values'][0]):.1f}' r='4' fill='{fill}' "
                     f"stroke='{PALETTE[3]}'><title>trial {r['number']}: {r['values'][0]:.4g}, "
                     f"{r['values'][1]:.1f} s</title></circle>")
    return _svg(width, height, parts, "ft-lab-search-pareto")
