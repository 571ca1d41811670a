"""Multi-process benchmark: training tokens per second with 1 and N processes through Accelerate.

Run (CPU: gloo processes; a few minutes on 2 cores):

    HF_HUB_OFFLINE=1 python benchmarks/bench_processes.py                    # 1 vs 2 processes, ddp
    HF_HUB_OFFLINE=1 python benchmarks/bench_processes.py --processes 4 --strategy fsdp --model PATH  # GPU

Both runs train the same recipe through ``ft-lab run`` (the real CLI) with the same per-process batch,
so N processes see N times the examples per step. The figure is the Trainer's own summary for the
training phase: tokens seen by every process (``num_input_tokens_seen``, summed over ranks) divided by
``train_runtime``; start-up (imports, process launch) is printed apart. The 1-process run is the baseline
measured in the same invocation, and the ratio is printed. On a CPU the processes share the cores (each
gets cores / N threads); set ``FT_LAB_THREADS=1`` to give the 1-process baseline the same threads per
process (on a busy machine a 1-process run with every core's threads can be many times slower).

Measured on the 2-core CPU machine (load ~20 from other work), ``FT_LAB_THREADS=1``, 40 steps, batch 8:
1 process 634 tokens/s, 2 processes 1141 tokens/s (1.80x).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path


def _recipe(folder: Path, args, processes: int, strategy: str) -> Path:
    data = folder / "tickets.csv"
    if not data.exists():
        text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
        rows = list(csv.DictReader(text.splitlines()))
        with open(data, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows(rows)
    path = folder / f"recipe-{processes}.yaml"
    path.write_text(
        f"task: classification\ndata: {{path: {data}, columns: {{label: category}}}}\n"
        f"model: {{name_or_path: {args.model}, max_length: 64, compare_base: false}}\nmethod: {args.method}\n"
        f"train: {{max_steps: {args.steps}, batch_size: {args.batch_size}, logging_steps: {args.steps}, "
        f"eval_steps: {args.steps}}}\nevaluate: [accuracy]\n"
        f"launch: {{num_processes: {processes}, strategy: {strategy if processes > 1 else 'ddp'}}}\n",
        encoding="utf-8")
    return path


def measure(folder: Path, args, processes: int) -> dict:
    import ft_lab
    from ft_lab.cli import main

    runs = folder / f"runs-{processes}"
    code = main(["run", str(_recipe(folder, args, processes, args.strategy)), "--runs-dir", str(runs)])
    (handle,) = ft_lab.list_runs(runs)
    if code != 0:
        sys.exit(f"the {processes}-process run ended {handle.status}: {handle.error}")
    end = handle.events("train_end")[-1]
    created = handle.events("status")[0]["time"]
    begin = handle.events("train_begin")[-1]["time"]
    return {"processes": processes, "tokens": end["num_input_tokens_seen"], "train_seconds": end["train_runtime"],
            "tokens_per_second": end["num_input_tokens_seen"] / end["train_runtime"],
            "startup_seconds": round(begin - created, 1), "final_loss": end["train_loss"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--strategy", default="ddp", choices=["ddp", "fsdp", "deepspeed"])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--method", default="full")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        base = measure(Path(tmp), args, 1)
        many = measure(Path(tmp), args, args.processes)
    print(f"\n{'processes':>9}  {'tokens':>7}  {'train s':>8}  {'tokens/s':>9}  {'start-up s':>10}")
    for r in (base, many):
        print(f"{r['processes']:>9}  {r['tokens']:>7.0f}  {r['train_seconds']:>8.2f}  {r['tokens_per_second']:>9.1f}"
              f"  {r['startup_seconds']:>10.1f}")
    ratio = many["tokens_per_second"] / base["tokens_per_second"]
    print(f"\n{args.processes} processes ({args.strategy}) / 1 process: {ratio:.2f}x tokens per second "
          f"(cpu count {os.cpu_count()})")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": [base, many], "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
