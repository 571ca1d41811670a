"""``ft-lab pairs RUN``: preference pairs from a finished generation run's worst answers.

    ft-lab pairs runs/r1 --worst 50 --out pairs.jsonl          # test split: reference chosen, answer rejected
    ft-lab pairs runs/r1 --split train --out train_pairs.jsonl # the trained model answers its training split

The file feeds a run with ``train.objective: dpo`` (orpo, simpo, kto) as it is (docs/preference.md).
"""
from __future__ import annotations

import json
import sys

from ..analysis.preference_pairs import SPLITS, pairs_from_run, write_pairs
from ..errors import UserError
from ..safety.output_paths import check_out_file


def cmd_pairs(args) -> int:
    out = check_out_file(args.out or f"pairs-{args.run_dir.rstrip('/').split('/')[-1]}.jsonl", force=args.force)
    if args.worst is not None and args.worst < 1:
        raise UserError(f"--worst must be at least 1, got {args.worst}")
    rows, report = pairs_from_run(args.run_dir, worst=args.worst, by=args.by, split=args.split)
    write_pairs(rows, out)
    print(json.dumps(report) if args.json else
          f"wrote {len(rows)} pairs to {out} (worst of {report['examples']} {report['split']} examples by "
          f"{report['scored_by']}; skipped: {report['skipped_same_as_reference']} answers equal to the "
          f"reference, {report['skipped_empty_answer']} empty)", file=sys.stdout)
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("pairs", help="preference pairs from a finished generation run's worst answers",
                              description="Reference as the chosen answer, the model's answer as the rejected "
                                          "one, for the examples the run's evaluators scored worst; each row "
                                          "says where it came from (source_run, example_id, chosen_by).")
    p.add_argument("run_dir", metavar="RUN", help="a finished generation run directory")
    p.add_argument("--worst", type=int, default=50, help="pairs to keep, worst first (default 50)")
    p.add_argument("--by", metavar="EVALUATOR", help="rank by this evaluator's per-example score "
                                                     "(default: the run's first one that has one)")
    p.add_argument("--split", choices=SPLITS, default="test",
                   help="test: the run's test predictions (default); train: the trained model answers its "
                        "training split (loads the model)")
    p.add_argument("--out", metavar="FILE", help="the pairs file to write (default: pairs-RUN.jsonl here)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_pairs)
