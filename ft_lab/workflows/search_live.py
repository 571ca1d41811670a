"""What a search is doing now: its leaderboard, each running trial's progress read from its run directory.

    board = search_status("runs/searches/NAME")
    board["rows"][0]["state"], board["rows"][0].get("progress")    # "running", {"step": 2, "max_steps": 4, ...}
    board["finished"], board["budget"], board["best_row"]

The leaderboard (``leaderboard.json``) is rewritten by the search when a trial starts and when it ends;
the progress of a trial in between comes from its run's events (``rundir.reader.RunFiles``), so the
Studio, the sidebar and ``ft-lab runs`` show the same thing the terminal does.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..rundir.reader import RunFiles
from .search_outputs import LIVE_STATES, board_counts, read_leaderboard, search_folders, search_summary


def trial_progress(run_dir) -> dict | None:
    """A running trial's step, planned steps, fraction done and its run's status (None: no run yet)."""
    try:
        files = RunFiles(run_dir)
        p = files.progress()
    except (UserError, OSError):
        return None
    return {"step": p.step, "max_steps": p.max_steps, "fraction": p.fraction, "status": p.status,
            "phase": p.phase, "eta": p.eta()}


def search_status(folder) -> dict:
    """The leaderboard with live progress on running trials, counts, the best row ({} before the first write)."""
    board = read_leaderboard(Path(folder))
    if not board:
        return {}
    for r in board.get("rows") or []:
        if r.get("state") in LIVE_STATES and r.get("run_dir"):
            r["progress"] = trial_progress(r["run_dir"])
    counts = board_counts(board)
    board.update(finished=counts["finished"], running=counts["running"], best_row=counts["best_row"])
    board["folder"] = str(folder)
    return board


def searches_summary(runs_dir: Path) -> list[dict]:
    """Each search of the runs folder as one row (``ft-lab runs``, the JupyterLab sidebar): trials finished of
    the budget, the best value, and the running trials with their step (read from their run directories)."""
    out = []
    for folder in search_folders(runs_dir):
        board = search_status(folder)
        if not board:
            continue
        summary = search_summary(folder, board)
        budget = summary.get("budget") or 0
        live = [{"number": r["number"], "step": (r.get("progress") or {}).get("step"),
                 "max_steps": (r.get("progress") or {}).get("max_steps")}
                for r in board.get("rows") or [] if r.get("state") in LIVE_STATES]
        out.append({**summary, "progress": min(1.0, summary["finished"] / budget) if budget else None,
                    "active": bool(live), "live_trials": live, "id": Path(summary["folder"]).name})
    return out
