"""Peak memory of evaluating classification predictions as the test set grows.

    HF_HUB_OFFLINE=1 python benchmarks/bench_eval_memory.py            # 1k, 10k, 100k examples
    HF_HUB_OFFLINE=1 python benchmarks/bench_eval_memory.py --sizes 10000 200000

For each size, a fresh process writes a predictions file, then scores it with accuracy, macro_f1 and
precision_recall_f1 (details included) the way ``ft-lab eval`` does: streaming from the file.
It reports the Python heap peak during scoring (tracemalloc) and the growth of the process's
resident peak (ru_maxrss) over its value after imports. As a baseline measured in the same run, the
same metrics are computed the naive way: every example loaded into a list, then scikit-learn.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

LABELS = [f"label_{i}" for i in range(12)]


def _write(path: str, n: int) -> None:
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            ref = rng.choice(LABELS)
            pred = ref if rng.random() < 0.7 else rng.choice(LABELS)
            fh.write(json.dumps({"id": i, "input": f"問い合わせ本文 {i} " + "x" * 200, "reference": ref,
                                 "prediction": pred, "meta": {"source": rng.choice(["mail", "chat"])},
                                 "probs": {pred: 0.8}}, ensure_ascii=False) + "\n")


def child(n: int, mode: str) -> dict:
    from ft_lab.evaluation.classification import Accuracy, MacroF1, PrecisionRecallF1
    from ft_lab.rundir.predictions import PredictionsFile
    import sklearn.metrics  # noqa: F401  (imported before measuring, in both modes)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "finetuned.jsonl")
        _write(path, n)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t = time.perf_counter()
        if mode == "streaming":
            examples = PredictionsFile(path)
            out = {}
            for ev in (Accuracy(), MacroF1(), PrecisionRecallF1()):
                out.update(ev.score(examples))
            PrecisionRecallF1().details(examples)
        else:
            from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

            examples = [json.loads(line) for line in open(path, encoding="utf-8")]
            refs = [e["reference"] for e in examples]
            preds = [e["prediction"] for e in examples]
            out = {"accuracy": accuracy_score(refs, preds)}
            for avg in ("macro", "micro", "weighted"):
                out[avg] = precision_recall_fscore_support(refs, preds, average=avg, zero_division=0)
            confusion_matrix(refs, preds)
        seconds = time.perf_counter() - t
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n": n, "mode": mode, "heap_peak_mib": heap_peak / 2**20, "rss_growth_mib": (rss1 - rss0) / 1024,
            "seconds": seconds, "accuracy": float(out["accuracy"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--child", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    rows = []
    for n in args.sizes:
        for mode in ("streaming", "naive-list+sklearn"):
            res = subprocess.run([sys.executable, __file__, "--child", str(n), mode], capture_output=True,
                                 text=True, check=True)
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"{'examples':>9}  {'mode':<20} {'heap peak MiB':>13} {'RSS growth MiB':>15} {'seconds':>8}")
    for r in rows:
        print(f"{r['n']:>9}  {r['mode']:<20} {r['heap_peak_mib']:>13.2f} {r['rss_growth_mib']:>15.1f} "
              f"{r['seconds']:>8.2f}")
    stream = [r for r in rows if r["mode"] == "streaming"]
    naive = [r for r in rows if r["mode"] != "streaming"]
    if len(stream) > 1:
        print(f"streaming heap peak, largest / smallest test set: "
              f"{stream[-1]['heap_peak_mib'] / stream[0]['heap_peak_mib']:.2f}x for "
              f"{stream[-1]['n'] / stream[0]['n']:.0f}x the examples "
              f"(naive baseline: {naive[-1]['heap_peak_mib'] / naive[0]['heap_peak_mib']:.1f}x)")


if __name__ == "__main__":
    main()
