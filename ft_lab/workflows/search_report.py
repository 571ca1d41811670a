"""The HTML report of a search: progress, leaderboard, the best recipe, parameter importances and the plots,
in one self-contained page (no script, no external file), as ``ft-lab report`` writes for a run.

    html_text = build_search_report("runs/searches/NAME")
    ft-lab report runs/searches/NAME --out search.html

Everything comes from the search folder (``search_outputs`` writes it after every trial; the running
trials' steps from their run directories through ``search_live``).
"""
from __future__ import annotations

import html
import time
from pathlib import Path

from ..analysis.html_report import CSS, RawHTML, html_table
from ..errors import UserError
from ..safety.atomic import read_json
from .search_live import search_status
from .search_outputs import LEADERBOARD, LIVE_STATES, leaderboard_table

_E = html.escape
PLOTS = (("history.svg", "Objective of each trial, and the best so far"),
         ("params.svg", "Objective against each searched parameter"),
         ("pareto.svg", "Objective against training time (Pareto front filled)"))


def is_search_folder(path) -> bool:
    return (Path(path) / LEADERBOARD).is_file()


def _importances_html(importances: dict) -> str:
    if not importances:
        return "<p class='muted'>none yet: they need two completed trials with different parameters</p>"
    rows = [[name, round(value, 4), _bar(value)] for name, value in importances.items()]
    return html_table(["parameter", "importance", ""], rows)


def _bar(value: float) -> str:
    return RawHTML(f"<span style='display:inline-block;height:10px;width:{max(1, int(value * 200))}px;"
                f"background:#4c78a8'></span>")


def build_search_report(folder) -> str:
    folder = Path(folder)
    board = search_status(folder)
    if not board:
        raise UserError(f"{folder}: not a search folder (no {LEADERBOARD}); a search's folder is "
                        "RUNS_DIR/searches/NAME")
    rows = board.get("rows") or []
    maximize = (board.get("directions") or ["maximize"])[0] == "maximize"
    objective = board.get("objective") or "value"
    table = leaderboard_table(rows, objective, maximize)
    steps = {str(r["number"]): r.get("progress") or {} for r in rows if r.get("state") in LIVE_STATES}
    body_rows = [[c[0], f"{c[1]} (step {steps[c[0]].get('step')}/{steps[c[0]].get('max_steps')})"
                  if steps.get(c[0], {}).get("max_steps") else c[1], *c[2:]] for c in table[1:]]
    counts = ", ".join(f"{k} {v}" for k, v in (board.get("counts") or {}).items() if v) or "no trial yet"
    best = board.get("best_row")
    parts = [f"<h1>ft-lab search: {_E(board.get('name') or folder.name)}</h1>",
             f"<p class='muted'>{board.get('finished', 0)}/{board.get('budget', '?')} trials ({_E(counts)}) · sampler "
             f"{_E(str(board.get('sampler')))} · pruner {_E(str(board.get('pruner')))} · objective validation "
             f"{_E(objective)} ({'maximize' if maximize else 'minimize'}) · updated {_E(str(board.get('updated')))}"
             f" · generated {time.strftime('%Y-%m-%d %H:%M')}</p>"]
    if best is not None:
        parts.append(f"<p>Best: trial {best['number']}, validation {_E(objective)} <b>{best['value']:.4f}</b> "
                     f"(run <code>{_E(Path(best.get('run_dir') or '').name)}</code>)</p>")
    parts += ["<h2>Leaderboard</h2>", html_table(list(table[0]), body_rows)]
    recipe = folder / "best_recipe.yaml"
    if recipe.is_file():
        parts += ["<h2>Best recipe</h2>", f"<p class='muted'>{_E(str(recipe))}: <code>ft-lab run</code> it</p>",
                  f"<pre style='background:#f5f5f5;padding:.5em'>{_E(recipe.read_text(encoding='utf-8'))}</pre>"]
    parts += ["<h2>Parameter importances</h2>", _importances_html(read_json(folder / "importances.json", {}) or {})]
    plots = [(name, title) for name, title in PLOTS if (folder / name).is_file()]
    if plots:
        parts.append("<h2>Plots</h2>")
        for name, title in plots:
            parts.append(f"<h3>{_E(title)}</h3>{(folder / name).read_text(encoding='utf-8')}")
    title = _E(board.get("name") or folder.name)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ft-lab search: {title}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")
