"""Data commands: ``ft-lab data inspect FILE`` and ``ft-lab data prepare RECIPE --out DIR``.

    ft-lab data inspect tickets.csv [--json]          # encoding, layout, suggested mapping, preview, stats
    ft-lab data prepare recipe.yaml --out prepared    # splits, rejected rows, change records, report
"""
from __future__ import annotations

import json

from ..core.recipe import Recipe
from ..data.inspect import format_inspection, inspect_file
from ..data.prepare import prepare_data
from ..safety.output_paths import check_out_folder, recipe_inputs


def add_commands(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect data files and prepare a recipe's data",
                                 description="Inspect data files and prepare a recipe's data.")
    sub = data.add_subparsers(dest="data_command", metavar="{inspect,prepare}")
    sub.required = True

    p = sub.add_parser("inspect", help="encoding, layout, suggested column mapping, preview and quick stats",
                       description="Show a data file's encoding, detected layout, suggested column mapping, "
                                   "a preview and quick stats.")
    p.add_argument("file", help="a data file (jsonl, json, csv, tsv, parquet, xlsx) or a datasets folder")
    p.add_argument("--format", default="auto", help="file format (default: from the extension)")
    p.add_argument("--encoding", default="auto", help="text encoding (default: detected)")
    p.add_argument("--sheet", default=None, help="Excel sheet, or split of a saved DatasetDict")
    p.add_argument("--rows", type=int, default=5, help="rows to preview (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_inspect, func=cmd_inspect)

    p = sub.add_parser("prepare", help="clean and split a recipe's data into a folder",
                       description="Load, clean and split a recipe's data; write the splits, the rejected "
                                   "rows, the change records and the report (JSON and HTML) to --out.")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--out", required=True, help="output folder (new or empty; never the input data's folder)")
    p.add_argument("--force", action="store_true", help="replace the files of a non-empty --out folder")
    p.add_argument("--allow-code", action="store_true", help="allow module:function references in the recipe")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_prepare)


def cmd_inspect(args) -> int:

    info = inspect_file(args.file, args.format, args.encoding, args.sheet, preview_rows=args.rows)
    print(json.dumps(info, ensure_ascii=False, indent=1, default=str) if args.json else format_inspection(info))
    return 0


def cmd_prepare(args) -> int:


    recipe = Recipe.from_yaml(args.recipe, check_environment=True)
    check_out_folder(args.out, recipe_inputs(recipe.resolved()), force=args.force)
    prepared = prepare_data(recipe)  # raises before anything is written
    prepared.write(args.out)
    rep = prepared.report
    summary = {"out": str(args.out), "rows_in": rep["rows_in"], "rows": rep["rows"], "rejected": rep["rejected"],
               "changed": rep["changes"], "pii_found": rep["pii_found"], "warnings": rep["warnings"]}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        r = rep["rows"]
        print(f"{rep['rows_in']} rows in -> train {r['train']}, validation {r['validation']}, test {r['test']}; "
              f"{rep['rejected']} rejected, {rep['changes']} changed")
        for name, m in (rep.get("masking") or {}).items():
            types = ", ".join(f"{k} {v}" for k, v in m["tokens_masked"].items()) or "nothing found"
            print(f"{name}: {m['rows_altered']} of {m['rows']} rows altered ({100 * m['share_altered']:.2f}%); "
                  f"masked: {types}")
        for w in rep["warnings"]:
            print(f"warning: {w}")
        print(f"wrote {args.out}/ (report.html, report.json, rejected.jsonl, changes.jsonl)")
    return 0
