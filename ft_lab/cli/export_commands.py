"""Export and sweep commands: ``ft-lab export`` ships a trained run; ``ft-lab sweep`` compares methods.

    ft-lab export runs/r1 --out exported/            # adapter (or whole model) + tokenizer + model card
    ft-lab export runs/r1 --out merged/ --merge      # a plain transformers model (safetensors)
    ft-lab export runs/r1 --out gguf/ --gguf q8_0    # one GGUF file (f16, bf16, q8_0) and an Ollama Modelfile
    ft-lab sweep recipe.yaml --methods lora,ia3,full [--runs-dir DIR] [--out table.md]
"""
from __future__ import annotations

import sys

from ..core.recipe import Recipe
from ..safety.output_paths import check_out_file
from ..workflows.export import export_run
from ..workflows.gguf_export import TYPES as GGUF_TYPES
from ..workflows.sweep import markdown_table, parse_methods, sweep, write_outputs
from .run_commands import RUNS_DIR_HELP


def cmd_export(args) -> int:

    out = export_run(args.run_dir, args.out, merge=args.merge, gguf=args.gguf)
    what = f"GGUF ({args.gguf}) and Modelfile" if args.gguf else "merged model" if args.merge else "run"
    print(f"exported {what} to {out}")
    return 0


def cmd_sweep(args) -> int:


    methods = parse_methods(args.methods)
    if args.out:
        check_out_file(args.out, force=args.force)
    recipe = Recipe.from_yaml(args.recipe, check_environment=True)
    rows = sweep(recipe, methods, args.runs_dir, on_progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(markdown_table(rows), end="")
    if args.out:
        table, data = write_outputs(rows, args.out)
        print(f"wrote {table} and {data}", file=sys.stderr)
    return 0 if all(r["status"] in ("completed", "skipped") for r in rows) else 1


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a completed run: adapter or merged model, with a model card")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (with --gguf: or a merged model folder)")
    p.add_argument("--out", required=True, help="new (or empty) folder to write")
    p.add_argument("--merge", action="store_true",
                   help="fold the training into the base weights (mergeable methods only)")
    p.add_argument("--gguf", choices=GGUF_TYPES, help="write the merged model as one GGUF file of this type, "
                   "with an Ollama Modelfile (Llama, Mistral, Qwen2, Gemma 2)")
    p.set_defaults(handler=cmd_export)
    p = subparsers.add_parser("sweep", help="train one recipe with several methods and compare them")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--methods", required=True, help="comma-separated method names, e.g. lora,ia3,full")
    p.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    p.add_argument("--out", help="write the Markdown table here, and sweep.json and the plot sweep.svg beside it")
    p.add_argument("--force", action="store_true", help="replace --out when it exists")
    p.set_defaults(handler=cmd_sweep)
