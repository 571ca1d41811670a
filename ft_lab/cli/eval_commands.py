"""Evaluation commands: ``ft-lab eval`` re-scores a finished run; ``ft-lab report`` writes its HTML report.

    ft-lab eval runs/r1                          # the recipe's evaluators
    ft-lab eval runs/r1 --evaluators bleu rouge  # or chosen ones (configured as in the recipe if listed there)
    ft-lab report runs/r1 --out report.html
    ft-lab report runs/searches/NAME --out search.html   # a search's page
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..analysis.html_report import write_report
from ..evaluation.rescore import evaluate_run
from ..safety.atomic import atomic_write_text
from ..safety.output_paths import check_out_file
from ..workflows.search_report import build_search_report, is_search_folder


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def cmd_eval(args) -> int:

    progress = None if args.quiet else (lambda msg: print(f"scoring {msg}", file=sys.stderr))
    metrics = evaluate_run(args.run_dir, _names(args.evaluators), progress=progress)
    names = list(metrics.get("finetuned") or {}) + [k for k in (metrics.get("base") or {})
                                                     if k not in (metrics.get("finetuned") or {})]
    width = max([len(n) for n in names] + [6])
    print(f"{'metric':<{width}}  {'base':>10}  {'finetuned':>10}")
    for n in names:
        cells = []
        for which in ("base", "finetuned"):
            v = (metrics.get(which) or {}).get(n)
            cells.append(f"{v:>10.4f}" if isinstance(v, (int, float)) else f"{'-':>10}")
        print(f"{n:<{width}}  {cells[0]}  {cells[1]}")
    print(f"wrote {args.run_dir}/metrics.json and eval_details.json", file=sys.stderr)
    return 0


def cmd_report(args) -> int:


    check_out_file(args.out, force=args.force)
    if is_search_folder(args.run_dir):  # a search's folder: its page (leaderboard, best recipe, plots)
        path = atomic_write_text(Path(args.out), build_search_report(args.run_dir))
    else:
        path = write_report(args.run_dir, args.out, worst=args.worst)
    print(f"wrote {path}")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("eval", help="re-evaluate a finished run's predictions",
                              description="Score the run's predictions files again and rewrite metrics.json "
                                          "(atomically) and eval_details.json.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    p.add_argument("--evaluators", nargs="+", metavar="NAME",
                   help="evaluators to run (space- or comma-separated); default: the recipe's")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_eval)

    r = subparsers.add_parser("report", help="write a self-contained HTML report of a run (or of a search folder)",
                              description="One HTML file (metrics, confusion matrix, slices, worst examples "
                                          "with diffs) to share or attach to an e-mail.")
    r.add_argument("run_dir", metavar="RUN_DIR", help="the run directory, or a search's folder RUNS_DIR/searches/NAME")
    r.add_argument("--out", default="report.html", help="output file (default: report.html)")
    r.add_argument("--force", action="store_true", help="replace --out when it exists")
    r.add_argument("--worst", type=int, default=20, help="worst examples to show (default: 20)")
    r.set_defaults(handler=cmd_report)

