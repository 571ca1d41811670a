"""``ft-lab plan``: what a recipe will cost on an accelerator before it runs.

    ft-lab plan recipe.yaml                                # on this machine's CPU
    ft-lab plan recipe.yaml --gpu A10G [--gpus 2] [--price 1.10] [--json]
    ft-lab plan recipe.yaml --gpu MI300X --accelerators my_accelerators.yaml
"""
from __future__ import annotations

import json

from ..planning.accelerators import user_file
from ..planning.plan import check_request, plan_recipe
from .run_commands import RUNS_DIR_HELP


def cmd_plan(args) -> int:

    check_request(args.gpu, args.gpus, args.price, args.accelerators)  # bad input fails before the data loads
    plan = plan_recipe(args.recipe, gpu=args.gpu, gpus=args.gpus, price=args.price, runs_dir=args.runs_dir,
                       accelerators=args.accelerators)
    if args.json:
        print(json.dumps({**plan.to_dict(), "lines": plan.lines()}, indent=2))
    else:
        print(f"{args.recipe}:")
        print("\n".join(plan.lines()))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("plan", help="peak memory, time and cost of a recipe on an accelerator, "
                                           "before running it")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--gpu", default="cpu", metavar="NAME",
                   help="accelerator: H100, H200, A100-80, A100-40, L40S, L4, A10G, T4, cpu (default) or one of "
                        f"your own (see --accelerators)")
    p.add_argument("--gpus", metavar="N", help="accelerators (default: the recipe's launch.num_processes)")
    p.add_argument("--price", metavar="PER_HOUR", help="price per accelerator-hour (default: the table's)")
    p.add_argument("--accelerators", metavar="FILE",
                   help=f"a YAML table of accelerators to add or override (default: {user_file()} when it exists)")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP + "; finished runs there calibrate the expected utilization")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(handler=cmd_plan)
