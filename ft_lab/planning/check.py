"""A run's plan at its start, and what it measured against it at its end (the worker calls both).

    plan = plan_at_start(recipe, lengths, labels, run_dir)         # the ``plan`` event's fields
    check = measured_against(plan, peak_bytes=..., seconds=..., tokens_per_second=..., mfu=...)

The accelerator is this machine's (the GPU's name matched against the table, else the CPU); the
expected utilization calibrates from the other finished runs in the run's folder. ``check`` holds the
utilization the run reached, which later plans learn from (``calibration.py``).
"""
from __future__ import annotations

from pathlib import Path

from ..training.speed import BF16_PEAKS
from .accelerators import Accelerator, load_accelerators
from .plan import plan_for
from .workload import Workload


def this_accelerator(cuda: bool) -> Accelerator:
    """The table's row for this machine's GPU (by name and memory), else a row from the device itself."""
    table = load_accelerators()
    if not cuda:
        return table["cpu"]
    import torch
    name = torch.cuda.get_device_name()
    memory = torch.cuda.get_device_properties(0).total_memory / 2**30
    matches = [a for key, a in table.items() if key != "cpu" and key.split("-")[0] in name.upper()]
    if matches:  # A100-40 and A100-80 share a name: the closest memory wins
        return min(matches, key=lambda a: abs(a.memory_gib - memory))
    peak = next((p for word, p in BF16_PEAKS.items() if word in name), None)
    return Accelerator(name, round(memory, 1), peak / 1e12 if peak else None, 20.0, 0.35, 0.0)


def plan_at_start(recipe, lengths: list[int], labels, run_dir, cuda: bool = False) -> dict:
    """The plan of a starting run (its recipe resolved, its encoded training rows' lengths)."""
    acc = this_accelerator(cuda)
    work = Workload.from_lengths(lengths, recipe.train.batch_size)
    run_dir = Path(run_dir)
    plan = plan_for(recipe, work, labels, acc, runs_dir=run_dir.parent, exclude=(run_dir.name,))
    return {**plan.to_dict(), "lines": plan.lines()}


def measured_against(plan: dict, peak_bytes: int | None, seconds: float | None, tokens_per_second: float | None,
                     mfu: float | None, cuda: bool = False) -> dict:
    """The ``plan_check`` event: estimate beside measurement, their ratios, and the utilization reached.
    On a GPU the measured peak is ``max_memory_allocated`` (no CUDA context), so the estimate compared
    leaves out the runtime part."""
    est_peak = plan["peak_bytes"] - (plan["memory"].get("runtime", 0) if cuda else 0)
    est_seconds = plan["seconds"]
    util = plan["flops"] / (seconds * plan["peak_flops"]) if seconds and plan.get("peak_flops") else None
    return {"accelerator": plan["accelerator"], "estimated_peak_mib": round(est_peak / 2**20, 1),
            "measured_peak_mib": round(peak_bytes / 2**20, 1) if peak_bytes else None,
            "memory_ratio": round(peak_bytes / est_peak, 3) if peak_bytes and est_peak else None,
            "estimated_seconds": est_seconds, "measured_seconds": round(seconds, 2) if seconds else None,
            "time_ratio": round(seconds / est_seconds, 3) if seconds and est_seconds else None,
            "tokens_per_second": tokens_per_second, "mfu": mfu,
            "utilization": round(util, 5) if util else None, "expected_utilization": plan["utilization"]}


def reset_peak(cuda: bool) -> None:
    """Start measuring the peak here (before training: model loading, a GGUF's de-quantization and the
    base model's evaluation are not training): CUDA's peak statistics, or Linux's VmHWM (clear_refs 5)."""
    if cuda:
        import torch
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux: the peak then covers the whole process


def measured_peak_bytes(cuda: bool) -> int:
    """The peak since ``reset_peak``: max_memory_allocated on a GPU, the resident set size's high-water
    mark on a CPU (VmHWM; ru_maxrss where /proc is missing)."""
    if cuda:
        import torch
        return int(torch.cuda.max_memory_allocated())
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
