"""The utilization plans expect, learned from the runs already finished on this machine.

    util, source = calibrated_utilization("runs", accelerator="cpu", method="lora", parameters=134e6,
                                          default=0.30)
    # (0.21, "calibrated from 3 runs in runs (cpu, lora, 50M-500M)")

Each run writes its plan at start (``plan`` event) and, after training, what it measured (``plan_check``
event: the utilization it reached, i.e. the plan's FLOPs over the measured training time and the
accelerator's peak). The median of the finished runs that match best is used: the same accelerator,
method and model-size bucket; else the same accelerator and method; else the same accelerator; else
the table's default. ``exclude`` leaves runs out (leave-one-out checks).
"""
from __future__ import annotations

import os
import statistics
from pathlib import Path

from ..rundir.reader import read_events

SIZE_BUCKETS = ((10e6, "<10M"), (50e6, "10M-50M"), (500e6, "50M-500M"), (3e9, "0.5B-3B"), (15e9, "3B-15B"),
                (float("inf"), ">15B"))


def size_bucket(parameters: float) -> str:
    return next(label for limit, label in SIZE_BUCKETS if parameters < limit)


def measured_runs(runs_dir: str | os.PathLike) -> list[dict]:
    """(accelerator, method, bucket, utilization, run) of each run with a plan and a measured check."""
    root = Path(runs_dir)
    out = []
    if not root.is_dir():
        return out
    for run in sorted(root.iterdir()):
        if not (run / "events.jsonl").is_file():
            continue
        events, _ = read_events(run)
        plans = [e for e in events if e.get("type") == "plan"]
        checks = [e for e in events if e.get("type") == "plan_check" and e.get("utilization")]
        if plans and checks:
            p = plans[-1]
            out.append({"accelerator": p.get("accelerator"), "method": p.get("method"),
                        "bucket": size_bucket(p.get("parameters") or 0), "utilization": checks[-1]["utilization"],
                        "run": run.name})
    return out


def calibrated_utilization(runs_dir, accelerator: str, method: str, parameters: float, default: float,
                           exclude: tuple[str, ...] = ()) -> tuple[float, str]:
    """(utilization, where it came from) for a plan; ``default`` when no finished run matches."""
    if runs_dir is None:
        return default, "table default"
    found = [r for r in measured_runs(runs_dir) if r["run"] not in exclude and r["accelerator"] == accelerator]
    bucket = size_bucket(parameters)
    for label, keep in (((accelerator, method, bucket), lambda r: r["method"] == method and r["bucket"] == bucket),
                        ((accelerator, method), lambda r: r["method"] == method),
                        ((accelerator,), lambda r: True)):
        matched = [r["utilization"] for r in found if keep(r)]
        if matched:
            runs = "run" if len(matched) == 1 else "runs"
            return (round(statistics.median(matched), 6),
                    f"calibrated from {len(matched)} {runs} in {runs_dir} ({', '.join(label)})")
    return default, "table default"
