"""How close ``ft-lab plan`` comes on this CPU: each recipe's planned peak memory and training time against
what its run measured (the ``plan`` and ``plan_check`` events every run writes).

    python benchmarks/plan_accuracy.py                 # six recipes: tiny, all-MiniLM-L6-v2, SmolLM2-135M
    python benchmarks/plan_accuracy.py --smoke         # the tiny model only, a few steps (the test suite)

Each recipe trains a handful of steps through ``ft_lab.run`` (one training thread, no base evaluation). Peak
memory is compared as planned; time after leave-one-out calibration: the expected utilization is the median
reached by the *other* recipes' runs (same method and size first, as ``calibration.py`` picks it), so no
recipe is scored against its own measurement. On a machine whose cores others share the times move from
run to run; the memory figures much less. Prints one table and ``memory within 20%: k/n`` and
``time within 35%: k/n``; ``--out FILE`` writes the rows as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ASSETS = HERE.parent / "ft_lab" / "assets"


def _classification(model: dict, method: str, steps: int, batch: int, max_length: int, **train) -> dict:
    return {"task": "classification", "data": {"path": str(ASSETS / "banking77_sample.csv")},
            "model": {**model, "max_length": max_length, "compare_base": False}, "baselines": [],
            "method": {"name": method}, "train": {"max_steps": steps, "batch_size": batch, "learning_rate": 1e-4,
                                                  "logging_steps": 1, **train}}


def recipes(smoke: bool, folder: Path) -> dict[str, dict]:
    tiny = {"name_or_path": "tiny"}
    out = {"tiny full, 16x59": _classification(tiny, "full", 6, 16, 64),
           "tiny full, 16x59, checkpointing": _classification(tiny, "full", 6, 16, 64, gradient_checkpointing=True)}
    if smoke:
        return out
    from real_models import dialogsum, minilm_folder, smollm2_file
    out["MiniLM-L6 full, 16x64"] = _classification({"name_or_path": minilm_folder()}, "full", 6, 16, 64)
    gguf_dir, gguf_name = smollm2_file()
    rows = dialogsum(folder, 40)

    def smol(method: str, batch: int, max_length: int, **train) -> dict:
        return {"task": {"type": "generation", "max_new_tokens": 4}, "data": {"path": rows}, "baselines": [],
                "model": {"name_or_path": gguf_dir, "gguf_file": gguf_name, "max_length": max_length,
                          "compare_base": False}, "evaluate": ["exact_match"],
                "method": {"name": method}, "train": {"max_steps": 3, "batch_size": batch, "learning_rate": 1e-4,
                                                       "logging_steps": 1, "packing": False, **train}}
    out["SmolLM2 LoRA, 2x128"] = smol("lora", 2, 128)
    out["SmolLM2 LoRA, 4x256"] = smol("lora", 4, 256)
    out["SmolLM2 LoRA, 4x256, checkpointing"] = smol("lora", 4, 256, gradient_checkpointing=True)
    out["SmolLM2 full, 2x128"] = smol("full", 2, 128)
    out["SmolLM2 full, 2x128, checkpointing"] = smol("full", 2, 128, gradient_checkpointing=True)
    return out


def measure(recipes_: dict[str, dict], runs_dir: Path) -> list[dict]:
    import ft_lab

    out = []
    for name, recipe in recipes_.items():
        handle = ft_lab.run(recipe, runs_dir=runs_dir)
        status = handle.wait()
        if status != "completed":
            raise SystemExit(f"{name}: run {status}: {handle.error} (see {handle.dir / 'worker.log'})")
        (plan,) = handle.events("plan")
        (check,) = handle.events("plan_check")
        out.append({"name": name, "run": handle.dir.name, "plan": plan, "check": check})
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return out


def score(rows: list[dict], runs_dir: Path) -> list[dict]:
    from ft_lab.planning.calibration import calibrated_utilization

    table = []
    for r in rows:
        plan, check = r["plan"], r["check"]
        util, source = calibrated_utilization(runs_dir, "cpu", plan["method"], plan["parameters"],
                                              plan["utilization"], exclude=(r["run"],))
        seconds = plan["flops"] / (plan["peak_flops"] * util)
        table.append({"recipe": r["name"], "estimated_peak_mib": check["estimated_peak_mib"],
                      "measured_peak_mib": check["measured_peak_mib"], "memory_ratio": check["memory_ratio"],
                      "estimated_seconds": round(seconds, 2), "measured_seconds": check["measured_seconds"],
                      "time_ratio": round(check["measured_seconds"] / seconds, 3), "utilization": check["utilization"],
                      "calibration": source})
    return table


def report(table: list[dict]) -> None:
    print("| recipe | peak MiB planned | measured | ratio | time s planned (leave-one-out) | measured | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in table:
        print(f"| {t['recipe']} | {t['estimated_peak_mib']:.0f} | {t['measured_peak_mib']:.0f} | "
              f"{t['memory_ratio']:.2f} | {t['estimated_seconds']:.1f} | {t['measured_seconds']:.1f} | "
              f"{t['time_ratio']:.2f} |")
    n = len(table)
    mem = sum(abs(t["memory_ratio"] - 1) <= 0.20 for t in table)
    tim = sum(abs(t["time_ratio"] - 1) <= 0.35 for t in table)
    print(f"memory within 20%: {mem}/{n}")
    print(f"time within 35%: {tim}/{n}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the tiny model only (seconds of training)")
    parser.add_argument("--out", help="write the table as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["FT_LAB_THREADS"] = "1"  # one training thread: the plan's CPU peak is per thread
    with tempfile.TemporaryDirectory(prefix="ft-lab-plan-accuracy-") as tmp:
        runs = Path(tmp) / "runs"
        table = score(measure(recipes(args.smoke, Path(tmp)), runs), runs)
    report(table)
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
