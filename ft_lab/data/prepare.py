"""The whole data step for a recipe: load -> roles -> clean -> split -> leakage -> format -> report.

    prepared = prepare_data(recipe)
    prepared.write(run_dir / "data")   # train/validation/test.jsonl, rejected.jsonl, changes.jsonl,
                                       # report.json (written last), report.html
    prepared = PreparedData.read(run_dir / "data")
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..cleaners.measure import token_counter
from ..core.plugins import get_registry
from ..errors import UserError
from ..safety.atomic import jsonl_text, read_jsonl
from .checks import check_examples, check_split_sizes
from .files import write_folder
from .formatting import apply_template, format_prompt
from .leakage import find_leaks, remove_leaks
from .loading import load_table
from .pairs import apply_pair_template, is_preference, pair_examples, preference_roles
from .report import build_report, render_html
from .roles import resolve_roles, text_columns, to_examples
from .split import split_rows

SPLITS = ("train", "validation", "test")


@dataclass
class PreparedData:
    train: list[dict]
    validation: list[dict]
    test: list[dict]
    labels: list[str] | None = None
    rejected: list[dict] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    #: Before/after records of rows the cleaners changed (``before`` is None for PII masking).
    changes: list[dict] = field(default_factory=list)
    #: ``data.general_test``'s rows: answered as the run starts and when it ends (the forgetting report).
    general_test: list[dict] = field(default_factory=list)

    def split(self, name: str) -> list[dict]:
        return getattr(self, name)

    def write(self, folder: Path) -> None:
        """Write every file, ``report.json`` last: a folder without it was not finished."""

        report = {**self.report, "labels": self.labels}
        files = {f"{name}.jsonl": jsonl_text(self.split(name)) for name in SPLITS}
        files["rejected.jsonl"] = jsonl_text(self.rejected)
        files["changes.jsonl"] = jsonl_text(self.changes)
        if self.general_test:
            files["general_test.jsonl"] = jsonl_text(self.general_test)
        files["report.html"] = render_html(report)
        files["report.json"] = json.dumps(report, ensure_ascii=False, indent=1, default=str)
        write_folder(Path(folder), files, marker="report.json")

    @classmethod
    def read(cls, folder: Path) -> "PreparedData":
        folder = Path(folder)
        if not (folder / "report.json").exists():
            raise UserError(f"{folder}: no report.json, so the data there was not completely written; "
                            f"prepare it again")
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        parts = {name: read_jsonl(folder / f"{name}.jsonl") for name in SPLITS}
        return cls(**parts, labels=report.get("labels"), rejected=read_jsonl(folder / "rejected.jsonl"),
                   report=report, changes=read_jsonl(folder / "changes.jsonl"),
                   general_test=read_jsonl(folder / "general_test.jsonl"))


def _key(recipe, name: str) -> str:
    return "path" if (name == "train" and recipe.data.path) else name


def load_examples(recipe, key: str, loaded: list | None = None, allow_empty: bool = False,
                  rejected: list | None = None) -> list[dict]:
    d = recipe.data
    path = recipe.resolve_path(getattr(d, key))
    table = load_table(path, d.format, d.encoding, d.sheet)
    objective = recipe.train.objective
    roles = (resolve_roles(recipe.task.type, table.columns, d.columns, path) if objective == "sft"
             else preference_roles(table.columns, d.columns, path, objective))
    if loaded is not None:
        loaded.append({"split": "train" if key == "path" else key, "source": path, "format": table.format,
                       "encoding": table.encoding, "rows": len(table.rows), "roles": roles,
                       "layout": table.layout_note})
    examples = (to_examples(table.rows, recipe.task.type, roles, path, allow_empty=allow_empty) if objective == "sft"
                else pair_examples(table.rows, roles, path))
    examples, dropped = check_examples(examples, recipe.task.type, roles, path, d)
    if rejected is not None:
        rejected.extend({"split": "train" if key == "path" else key, **r} for r in dropped)
    return examples


def clean_examples(recipe, examples: list[dict], split_name: str, registry=None, changes: list | None = None):
    """Run the recipe's cleaners in order; return kept rows, rejected rows (with reasons) and step counts."""
    rejected, steps = [], []
    if not examples:
        return examples, rejected, steps
    columns = text_columns(recipe.task.type, examples[0])
    for spec in recipe.clean:
        cleaner = spec.create("cleaner", registry)
        before = len(examples)
        result = cleaner.clean(examples, columns)
        examples = result.rows
        for row, reason in result.rejected:
            rejected.append({"split": split_name, "cleaner": spec.name, "reason": reason, "row": row})
        if changes is not None:
            for ch in getattr(result, "changes", None) or []:
                changes.append({"split": split_name, "cleaner": spec.name, **ch})
        steps.append({"cleaner": spec.name, "split": split_name, "rows_in": before, "rows_out": len(examples),
                      "rejected": len(result.rejected), "changed": result.changed, **result.info})
    return examples, rejected, steps


def _cleaner_class(spec, registry):
    return (registry or get_registry()).get("cleaner", spec.name)


def _mask_earlier_records(recipe, registry, task: str, rejected: list[dict], changes: list[dict]) -> None:
    """Rows dropped or changed before a cleaner that ``masks_personal_data`` (``pii_mask``, ``pii_ner``, a
    plugin's) ran still hold PII: the first such cleaner masks them too before anything is written."""
    spec = next((s for s in recipe.clean if _cleaner_class(s, registry).masks_personal_data), None)
    if spec is None:
        return
    masker = spec.create("cleaner", registry)
    for rec in rejected:
        rec["row"] = masker.mask_row(rec["row"], text_columns(task, rec["row"]))
    for rec in changes:
        for side in ("before", "after"):
            if rec.get(side) is not None:
                rec[side] = masker.mask_row(rec[side], text_columns(task, rec[side]))


def prepare_data(recipe, registry=None) -> PreparedData:
    """Load, clean, split and check the recipe's data; raise UserError with file and field on bad input."""
    d = recipe.data
    task = recipe.task.type
    source = recipe.resolve_path(d.path or d.train)
    allow_empty = any(_cleaner_class(s, registry).drops_empty_rows for s in recipe.clean)
    loaded: list[dict] = []
    rejected, steps, changes, warnings = [], [], [], []
    given = {name: load_examples(recipe, _key(recipe, name), loaded, allow_empty, rejected)
             for name in SPLITS if getattr(d, _key(recipe, name))}
    for name in list(given):
        given[name], rej, st = clean_examples(recipe, given[name], name, registry, changes)
        rejected += rej
        steps += st
        if not given[name]:
            raise UserError(f"{recipe.resolve_path(getattr(d, _key(recipe, name)))}: no rows left after cleaning "
                            f"({len(rej)} rejected); see the cleaners in `clean` and the rejected reasons")
    rows_in = sum(x["rows"] for x in loaded)
    train = given["train"]
    if d.max_rows is not None and len(train) > d.max_rows:
        train = list(train)
        random.Random(d.seed).shuffle(train)
        train = train[:d.max_rows]
    missing = [s for s in ("validation", "test") if s not in given]
    if missing:
        fr = list(d.split)
        fracs = [fr[0], fr[1] if "validation" in missing else 0.0, fr[2] if "test" in missing else 0.0]
        total = sum(fracs)
        fracs = [x / total for x in fracs]
        label_key = "label" if (task == "classification" and d.stratify) else None
        train, val, test = split_rows(train, fracs, d.seed, source, label_key=label_key,
                                      group_key=d.group_column, warnings=warnings)
        given.setdefault("validation", val)
        given.setdefault("test", test)
    given["train"] = train
    check_split_sizes(given, source)
    columns = text_columns(task, train[0])

    leakage = None
    if d.leakage != "off":

        found = find_leaks(given, columns, d.leakage_threshold)
        leakage = {k: v for k, v in found.items() if k != "_all"}
        leakage["action"] = d.leakage
        if found["total"]:
            if d.leakage == "remove":
                given, dropped = remove_leaks(given, found)
                rejected += [{"split": s, "cleaner": "leakage", "reason": reason, "row": row}
                             for s, row, reason in dropped]
                leakage["removed"] = len(dropped)
            else:
                warnings.append(f"leakage: {found['total']} row(s) overlap between splits "
                                f"({', '.join(f'{k}: {v}' for k, v in leakage['pairs'].items())}); set "
                                f"data.leakage: remove to drop them")

    labels = None
    if task == "classification":
        counts = Counter(r["label"] for r in given["train"])
        if len(counts) < 2:
            only = next(iter(counts), "")
            raise UserError(f"{source}: the label column has a single class ('{only}') in the training rows; "
                            f"classification needs at least two")
        labels = sorted(set(counts) | {r["label"] for s in ("validation", "test") for r in given[s]})
        for s in ("validation", "test"):
            unseen = sorted({r["label"] for r in given[s]} - set(counts))
            if unseen:
                warnings.append(f"{s}: label(s) {', '.join(unseen[:10])} never appear in train")
    if task == "generation" and d.template:

        system = getattr(recipe.task, "system_prompt", None)
        given = {s: apply_pair_template(given[s], d.template, system, format_prompt) if is_preference(train[0])
                 else apply_template(given[s], d.template, system) for s in SPLITS}

    _mask_earlier_records(recipe, registry, task, rejected, changes)

    count_tokens, token_method = token_counter(d.length_tokenizer)
    report = {
        "source": source, "task": task, "rows_in": rows_in, "loaded": loaded,
        "rows": {s: len(given[s]) for s in SPLITS}, "rejected": len(rejected),
        "label_counts": ({s: dict(Counter(r["label"] for r in given[s])) for s in SPLITS} if labels else None),
        **build_report(steps, rejected, {s: given[s] for s in SPLITS}, text_columns(task, given["train"][0]),
                       count_tokens, token_method, changes),
        "leakage": leakage, "warnings": warnings, "changes": len(changes),
    }
    return PreparedData(given["train"], given["validation"], given["test"], labels, rejected, report, changes)
