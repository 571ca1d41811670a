"""What the JupyterLab sidebar shows of a run, computed from its run directory (no Jupyter here).

    summary = run_summary(RunHandle("runs/r1"), root_dir=Path("."))
    summary["status"], summary["progress"], summary["eta"], summary["headline"]

Progress and ETA come from the worker's ``train_begin`` and ``log`` events (the ETA is the time per
step since training began times the steps left); the headline metric is the fine-tuned test value
once ``metrics.json`` has it, else the latest validation value of the same metric.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..workflows.runner import TERMINAL, RunHandle

ACTIVE = ("created", "running")


def _relative(path: Path, root: Path) -> str | None:
    """``path`` relative to the server's root folder (POSIX), or None when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _training_progress(events: list[dict]) -> dict:
    step, max_steps, begin, last_log = 0, None, None, None
    for e in events:
        kind = e.get("type")
        if kind == "train_begin":
            begin, max_steps = e, e.get("max_steps") or max_steps
        elif kind == "log" and "step" in e:
            last_log, step = e, e["step"]
            max_steps = e.get("max_steps") or max_steps
        elif kind in ("status", "train_end") and isinstance(e.get("step"), int):
            step = max(step, e["step"])
    rate = None
    if begin is not None and last_log is not None and last_log["step"] > begin.get("step", 0) \
            and "time" in begin and "time" in last_log:
        rate = (last_log["time"] - begin["time"]) / (last_log["step"] - begin.get("step", 0))
    return {"step": step, "max_steps": max_steps, "seconds_per_step": rate}


def _elapsed(events: list[dict], status: str) -> float | None:
    """From the worker's first "running" to its last event (to now while it runs)."""
    started = next((e["time"] for e in events if e.get("type") == "status" and e.get("status") == "running"
                    and "time" in e), None)
    if started is None:
        return None
    if status == "running":
        return max(0.0, time.time() - started)
    return max(0.0, events[-1].get("time", started) - started)


def _headline(handle: RunHandle, events: list[dict]) -> dict:
    name, value = handle.headline()
    name = name or handle.info.get("headline") or ""
    if value is not None:
        return {"name": name, "value": value, "final": True}
    for e in reversed(events):
        if e.get("type") == "eval" and e.get("split") == "validation" \
                and isinstance((e.get("metrics") or {}).get(name), (int, float)):
            return {"name": name, "value": e["metrics"][name], "final": False}
    return {"name": name, "value": None, "final": False}


def run_summary(handle: RunHandle, root_dir: Path) -> dict:
    """One run as the sidebar and the status bar show it (JSON-ready)."""
    events = handle.events()
    status = handle.status
    info = handle.info
    train = _training_progress(events)
    step, max_steps = train["step"], train["max_steps"]
    progress = None
    if status == "completed":
        progress = 1.0
    elif max_steps:
        progress = min(1.0, step / max_steps)
    eta = None
    if status == "running" and train["seconds_per_step"] is not None and max_steps:
        eta = max(0.0, train["seconds_per_step"] * (max_steps - step))
    error = handle.error if status in TERMINAL or status == "interrupted" else None
    # a run that was created but never handed to a worker is not shown as training
    active = status == "running" or (status == "created" and handle.pid is not None)
    source = info.get("source") or info.get("notebook")
    return {
        "id": handle.id, "status": status, "active": active, "task": info.get("task", ""), "model": info.get("model", ""),
        "method": info.get("method", ""), "created": info.get("created", ""),
        "headline": _headline(handle, events), "step": step, "max_steps": max_steps, "progress": progress,
        "elapsed": _elapsed(events, status), "eta": eta, "error": error,
        "recipe_path": _relative(handle.dir / "recipe.yaml", root_dir),
        "source_path": _relative(Path(source), root_dir) if isinstance(source, str) and source else None,
    }


def events_since(handle: RunHandle, since: int = -1) -> dict:
    """The events written once the run had passed step ``since`` (all of them for -1).

    An event without a step (a phase, a warning, a status) belongs to the last step seen before it.
    """
    current, out = 0, []
    for e in handle.events():
        if isinstance(e.get("step"), int):
            current = max(current, e["step"])
        if current > since:
            out.append(e)
    return {"id": handle.id, "status": handle.status, "step": current, "events": out}
