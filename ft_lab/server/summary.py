"""What the JupyterLab sidebar shows of a run, computed from its run directory (no Jupyter here).

    summary = run_summary(RunHandle("runs/r1"), root_dir=Path("."))
    summary["status"], summary["progress"], summary["eta"], summary["headline"]

Progress, elapsed time and ETA are ``ft_lab.rundir.progress`` (the one computation the terminal and
the Train panel use too); the headline metric is the fine-tuned test value
once ``metrics.json`` has it, else the latest validation value of the same metric.
"""
from __future__ import annotations

from pathlib import Path

from ..rundir.progress import progress_from_events
from ..serving.process import ServeProcess
from ..rundir.status import CREATED, INTERRUPTED, RUNNING, TERMINAL
from ..workflows.runner import RunHandle


def _relative(path: Path, root: Path) -> str | None:
    """``path`` relative to the server's root folder (POSIX), or None when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


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
    progress = progress_from_events(events, status=status)
    error = handle.error if status in TERMINAL or status == INTERRUPTED else None
    # a run that was created but never handed to a worker is not shown as training
    active = status == RUNNING or (status == CREATED and handle.pid is not None)
    source = info.get("source") or info.get("notebook")
    return {
        "id": handle.id, "status": status, "active": active, "task": info.get("task", ""), "model": info.get("model", ""),
        "method": info.get("method", ""), "created": info.get("created", ""),
        "headline": _headline(handle, events), "step": progress.step, "max_steps": progress.max_steps,
        "progress": progress.fraction, "elapsed": progress.elapsed(), "eta": progress.eta(), "error": error,
        "recipe_path": _relative(handle.layout.recipe, root_dir),
        "source_path": _relative(Path(source), root_dir) if isinstance(source, str) and source else None,
        # model.from_run: the chain it continues (ids, oldest first, this run last), as `ft-lab runs --tree`
        "lineage": [*info["ancestors"], handle.id] if info.get("ancestors") else [],
        "joint_retrain": bool(info.get("joint_retrain")),
    }


def servers(settings) -> dict[str, ServeProcess]:
    """The ``ft-lab serve`` processes the sidebar started, by run id (server/serve_handlers.py)."""
    return settings.setdefault("ft_lab_servers", {})


def serving_summary(server: ServeProcess | None, root_dir: Path) -> dict | None:
    """A served run as the sidebar shows it: state, url, where the key and the request log are."""
    if server is None:
        return None
    return {**server.state(), "key_file": _relative(Path(server.api_key_file), root_dir),
            "serve_dir": _relative(server.serve_dir, root_dir)}


def run_row(handle: RunHandle, root_dir: Path, served: dict) -> dict:
    """A run as ``GET /ft-lab/api/runs`` lists it and ``GET /ft-lab/api/runs/<id>`` answers it: its summary and
    whether the sidebar is serving it."""
    return {**run_summary(handle, root_dir), "serving": serving_summary(served.get(handle.id), root_dir)}


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
