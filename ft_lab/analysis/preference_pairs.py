"""Preference pairs from a finished generation run: the reference as the good answer, the model's own
answer as the bad one, for the examples its evaluators scored worst (``ft-lab pairs RUN``): by the first graded per-example
score (chrf, rouge_l rather than exact_match), or ``by``.

    rows, report = pairs_from_run("runs/r1", worst=50)               # the test split's predictions
    rows, report = pairs_from_run("runs/r1", worst=50, split="train") # the trained model answers train
    write_pairs(rows, "pairs.jsonl")   # feeds a run with train.objective: dpo (orpo, simpo, kto) directly

Each row: ``prompt``, ``chosen`` (the reference), ``rejected`` (the prediction) and its provenance:
``source_run``, ``example_id`` (the prediction's id in that split), ``split``, ``chosen_by``
(``reference``), ``rejected_by`` (``model:finetuned``), ``scored_by`` and ``score``. An answer equal to
its reference, or empty, makes no pair and is counted in the report.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..data.pairs import generation_examples, generation_view, is_preference
from ..data.prepare import PreparedData
from ..errors import UserError
from ..evaluation.predict import generate
from ..models.from_run import load_base, load_trained
from ..rundir.reader import RunFiles
from ..safety.atomic import atomic_write_text, jsonl_text, read_jsonl
from .examples import ExampleSet, cheap

SPLITS = ("test", "train")


def _train_predictions(run: RunFiles, which: str) -> list[dict]:
    """The run's model (trained or base) answering its own training split, in memory."""
    recipe = run.recipe()
    data = PreparedData.read(run.layout.data)
    model, tokenizer = (load_trained(run.dir, recipe)[:2] if which == "finetuned" else load_base(recipe))
    model.eval()
    tokenizer.padding_side = "left"
    train = generation_examples(data.train) if is_preference(data.train[0]) else data.train
    return list(generate(model, tokenizer, train, recipe.train.eval_batch_size, recipe.task.max_new_tokens,
                         recipe.model.max_length, recipe.task.system_prompt))


def pairs_from_run(run_dir: str | os.PathLike, worst: int | None = 50, by: str | None = None,
                   split: str = "test", which: str = "finetuned") -> tuple[list[dict], dict]:
    """Pairs for the ``worst`` examples of ``split`` (all when None), ranked by the evaluator ``by`` (default:
    the run's first evaluator with a per-example score); and a report of what was kept and skipped."""
    run = RunFiles(run_dir)
    if run.task != "generation":
        raise UserError(f"{run.dir}: a {run.task} run; pairs come from a generation run's answers")
    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "train":
        examples = ExampleSet(_train_predictions(run, which), task=run.task)
        for ev in cheap(run.evaluators()):
            examples.score_with(ev)
    else:
        examples = ExampleSet.from_run(run.dir, which=which)
    name = examples._by(by or _graded(examples))
    ranked = examples.worst(len(examples), by=name)
    rows, same, empty = [], 0, 0
    for ex in ranked:
        reference, prediction = str(ex.get("reference") or ""), str(ex.get("prediction") or "")
        if not prediction.strip():
            empty += 1
            continue
        if prediction.strip() == reference.strip():
            same += 1
            continue
        rows.append({"prompt": ex["input"], "chosen": reference, "rejected": prediction,
                     "source_run": run.id, "example_id": ex["id"], "split": split, "chosen_by": "reference",
                     "rejected_by": f"model:{which}", "scored_by": name, "score": ex["scores"][name]})
        if worst is not None and len(rows) >= worst:
            break
    report = {"run": run.id, "split": split, "scored_by": name, "examples": len(examples), "pairs": len(rows),
              "skipped_same_as_reference": same, "skipped_empty_answer": empty}
    return rows, report


def _graded(examples: ExampleSet) -> str | None:
    """The first per-example score that grades answers (chrf, rouge) rather than passing or failing them
    (exact_match), so that "worst" means something among the many answers that all fail; None: the first."""
    for name in examples.score_names:
        if any(e["scores"].get(name) not in (0.0, 1.0) for e in examples.examples):
            return name
    return None


def write_pairs(rows: list[dict], out: str | os.PathLike) -> Path:
    out = Path(out)
    if not rows:
        raise UserError(f"{out}: no pairs to write (every answer matched its reference or was empty); nothing "
                        f"written")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist; create it or choose another path")
    atomic_write_text(out, jsonl_text(rows))
    return out


# --- pairs marked by a person (the Studio's Errors view) ------------------------------------------
def marked_pair(run_id: str, example: dict, chosen: str, rejected: str, chosen_by: str, rejected_by: str,
                split: str = "test") -> dict:
    """One pair a person made from an example of a run's predictions, with its provenance; UserError when
    an answer is empty or both are the same (the checks a preference run applies)."""
    chosen, rejected = str(chosen or ""), str(rejected or "")
    where = f"example {example['id']} of {run_id}"
    if not chosen.strip() or not rejected.strip():
        raise UserError(f"{where}: the {'chosen' if not chosen.strip() else 'rejected'} answer is empty; "
                        f"a pair needs two answers")
    if chosen.strip() == rejected.strip():
        raise UserError(f"{where}: the chosen and the rejected answers are the same; a pair needs two "
                        f"different answers")
    return {"prompt": example["input"], "chosen": chosen, "rejected": rejected, "source_run": run_id,
            "example_id": example["id"], "split": split, "chosen_by": chosen_by, "rejected_by": rejected_by}


def add_pairs(rows: list[dict], out: str | os.PathLike) -> list[dict]:
    """Add ``rows`` to the pairs file ``out`` (created if missing); a row for an example already in the file
    (same run, split and example id) replaces it. Returns every row of the file."""
    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist; create it or choose another path")
    key = lambda r: (r.get("source_run"), r.get("split"), r.get("example_id"))  # noqa: E731
    new = {key(r) for r in rows}
    kept = [r for r in (read_jsonl(out) if out.is_file() else []) if key(r) not in new]
    atomic_write_text(out, jsonl_text(kept + rows))
    return kept + rows


# --- a preference run, example by example ---------------------------------------------------------
def preference_examples(run_dir: str | os.PathLike) -> list[dict]:
    """A preference run's held-out pairs with both models' answers: ``prompt``, ``chosen``, ``rejected``
    (None for a KTO row), ``before`` (the starting model's answer), ``after`` (the tuned model's).
    Predictions are made on the rows that have a good answer, in order (``generation_examples``)."""
    run = RunFiles(run_dir)
    test = run.layout.data / "test.jsonl"
    rows = read_jsonl(test) if test.is_file() else []
    if not rows or not all(is_preference(r) and "prompt" in r for r in rows):
        raise UserError(f"{run.dir}: not a preference run (its test split has no prompt/chosen/rejected rows)")
    rows = [r for r in rows if generation_view(r) is not None]
    before = {p["id"]: p for p in run.prediction_rows("base")}
    after = {p["id"]: p for p in run.prediction_rows("finetuned")}
    out = []
    for i, row in enumerate(rows):
        chosen = row.get("chosen", row.get("completion"))
        out.append({"id": i, "prompt": _plain(row["prompt"]), "chosen": _plain(chosen),
                    "rejected": _plain(row["rejected"]) if "rejected" in row else None,
                    "before": (before.get(i) or {}).get("prediction"), "after": (after.get(i) or {}).get("prediction")})
    return out


def _plain(value) -> str:
    """A text, or the last message's content of a chat-form answer."""
    if isinstance(value, list):
        return "\n".join(f"{m.get('role')}: {m.get('content')}" if len(value) > 1 else str(m.get("content"))
                         for m in value)
    if isinstance(value, dict):
        return str(value.get("content"))
    return str(value)
