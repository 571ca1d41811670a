"""The events of ``events.jsonl``: one definition per event type, checked when an event is appended.

    check_event({"type": "log", "step": 3, "max_steps": 10})   # [] (no problems)
    check_event({"type": "log"})                                # ['log: missing field step', ...]
    events_table()                                              # the Markdown table of docs/runs.md

Each event is one JSON object per line with ``type`` and ``time`` (Unix seconds, added by
``append_event``). Field types: ``int``, ``float`` (an int is fine), ``str``, ``bool``, ``dict``,
``list``, ``any``; ``?`` marks an optional field, ``|null`` one that may be null. Fields beyond the
definition are allowed (an ``open`` type takes any), so a reader must ignore what it does not know.

Schema version: ``SCHEMA_VERSION`` is written as ``schema`` into the ``created`` status event (by
``create_run``) and into each ``running`` status event (by the worker, once per attempt), so a run
resumed by a newer ft-lab says from where on its events follow the newer definitions. Raise it when a
field changes meaning or a required field is added.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import status as _status

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class EventType:
    name: str
    meaning: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> "type", "type?" (optional), "type|null"
    open: bool = False  # carries further fields of its own (e.g. a dict spread into the event)


_FAILURE = {"error": "str", "reason": "str?", "step": "int?", "checkpoint": "str|null?", "rank": "int?"}

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in (
    EventType("status", "a status change (see the status machine below); the latest one is the run's status",
              {"status": "str", "schema": "int?", "error": "str?", "reason": "str?", "step": "int?",
               "checkpoint": "str|null?", "exit_code": "int|null?", "log_tail": "list?", "previous": "str?",
               "pid": "int?", "resume": "bool?", "processes": "int?", "rank": "int|null?"}),
    EventType("launch", "several processes: the supervisor started `accelerate launch` (`processes` on all machines)",
              {"processes": "int", "strategy": "str", "command": "str"}),
    EventType("rank_failed", "several processes: one rank's error; the supervisor then writes one `failed` status "
                             "naming the rank that failed first", _FAILURE),
    EventType("phase", "the worker began a phase: lr_find, evaluate_base, baselines (`baseline`: which one, "
                       "`examples`: the test rows it scores next), fisher, general_test, train (`anchor`: the "
                       "start weights l2_to_start/ewc pull toward, `weights` and `start_sum`), evaluate, forgetting",
              {"phase": "str", "examples": "int?", "resume_from": "str|null?", "steps": "int?", "baseline": "str?",
               "anchor": "dict?"}),
    EventType("defaults", "the settings left at `auto`, as resolved for this run (`field`, `value`, `why` each)",
              {"choices": "list"}),
    EventType("warning", "something the user should know; the run goes on (`evaluator`, `model`: a failed evaluator)",
              {"message": "str", "evaluator": "str?", "model": "str?"}),
    EventType("baseline", "a baseline scored on the test split", {"name": "str", "metrics": "dict", "seconds": "float"}),
    EventType("replay", "a run continued from an earlier one (`model.from_run`): rows mixed into training, "
                        "by ancestor run (`by_source`) and by label", {"replayed_rows": "int", "new_rows": "int",
                                                                   "general_rows": "int", "by_source": "dict"}, open=True),
    EventType("forgetting", "a run with ancestors: each ancestor's test set scored by the new model beside the "
                            "ancestor's own model, and `general`: data.general_test's set before and after "
                            "(`verdict`: kept, or forgot N points on a run or the general set)",
              {"verdict": "str", "ancestors": "list"}, open=True),
    EventType("packing", "rows packed into batches (a preference run: its padded batches run padding-free): "
                         "`padded_tokens` is the same rows padded in batches of `train.batch_size`, "
                         "`padding_saved` a fraction",
              {"rows": "int", "batches": "int", "tokens_per_batch": "int|null?", "real_tokens": "int",
               "padded_tokens": "int", "padding_saved": "float"}, open=True),
    EventType("speed", "the resolved speed switches (see [speed.md](speed.md))",
              {"packing": "bool", "compile": "bool", "optimizer": "str", "liger": "bool",
               "frozen_dtype": "str|null"}, open=True),
    EventType("model", "the tuning method applied: its parameter counts and memory estimate",
              {"method": "str", "trainable_parameters": "int", "total_parameters": "int",
               "memory_estimate": "dict|null?", "budget": "str|null?"}),
    EventType("plan", "the run's plan on this machine (see [plan.md](plan.md)): peak memory by part, time, cost; "
                      "`utilization_source` says whether finished runs calibrated it",
              {"accelerator": "str", "gpus": "int", "method": "str", "parameters": "int", "memory": "dict",
               "peak_bytes": "int", "fits": "bool", "flops": "float", "peak_flops": "float", "utilization": "float",
               "utilization_source": "str", "seconds": "float", "cost": "float", "lines": "list"}, open=True),
    EventType("lr_find", "the learning rate chosen by the range test (plot data in `lr_find.json`)",
              {"learning_rate": "float", "steps": "int", "seconds": "float"}),
    EventType("train_begin", "the Trainer started (or resumed, at `step`)",
              {"max_steps": "int", "step": "int", "epochs": "float?", "processes": "int?"}),
    EventType("log", "a training log: `tokens_per_second` counts the real, non-padding tokens of every process "
                     "(loss: their mean); `mfu` on a GPU with a known bf16 peak",
              {"step": "int", "max_steps": "int", "epoch": "float?", "tokens_seen": "int?", "loss": "float?",
               "learning_rate": "float?", "grad_norm": "float?", "tokens_per_second": "float?", "mfu": "float?"}),
    EventType("eval", "evaluation results: `split` validation (during training) or test (`model` base or finetuned)",
              {"split": "str", "metrics": "dict", "model": "str?", "step": "int?", "epoch": "float?"}),
    EventType("preference", "a preference objective's figures (train.objective dpo, orpo, kto, simpo): `split` train "
                            "(each log), validation, or test (held-out pairs, after training); kto logs no accuracy",
              {"split": "str", "step": "int", "rewards_chosen": "float?", "rewards_rejected": "float?",
               "reward_margin": "float?", "reward_accuracy": "float?", "objective": "str?", "loss": "float?",
               "pairs": "int?"}),
    EventType("checkpoint", "a Trainer checkpoint was saved", {"step": "int", "path": "str"}),
    EventType("train_end", "the Trainer's closing summary (`train_loss`, `train_runtime`, ...)",
              {"step": "int"}, open=True),
    EventType("throughput", "after training: over the whole run (also in `metrics.json`)",
              {"tokens_per_second": "float|null", "mfu": "float|null", "padding_saved": "float|null"}, open=True),
    EventType("plan_check", "after training: the plan's peak memory and time beside the measured ones (peak RSS "
                            "on a CPU, `max_memory_allocated` on a GPU) and the utilization reached",
              {"accelerator": "str", "estimated_peak_mib": "float", "measured_peak_mib": "float|null",
               "estimated_seconds": "float", "measured_seconds": "float|null", "memory_ratio": "float|null",
               "time_ratio": "float|null", "utilization": "float|null", "expected_utilization": "float",
               "tokens_per_second": "float|null", "mfu": "float|null"}),
    EventType("saved", "the trained adapter or model was saved (`final/`)", {"path": "str", "adapter": "bool"}),
    EventType("trial", "the run is trial `number` of the search `search` (its folder `folder`), with the searched "
                       "`params`; written again with `state: pruned` when the search stops it early",
              {"search": "str", "number": "int", "params": "dict", "folder": "str?", "state": "str?"}),
    EventType("resources", "the worker's peak memory (used by `ft-lab sweep`) and its CPU threads "
              "(`FT_LAB_THREADS`, else every core; a search's workers share the cores)",
              {"peak_rss_mib": "float", "peak_cuda_mib": "float|null", "threads": "int"}),
)}

_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,),
          "list": (list, tuple), "any": (object,)}


class EventError(ValueError):
    """An event that does not match its definition: a programming error in ft-lab or a plugin."""


def _parse(spec: str) -> tuple[str, bool, bool]:
    optional = spec.endswith("?")
    spec = spec.rstrip("?")
    nullable = spec.endswith("|null")
    return spec.removesuffix("|null"), optional, nullable


def check_event(event: dict) -> list[str]:
    """What is wrong with ``event`` against its definition ([] when it is fine)."""
    kind = event.get("type") if isinstance(event, dict) else None
    definition = EVENT_TYPES.get(kind)
    if definition is None:
        return [f"unknown event type {kind!r} (known: {', '.join(EVENT_TYPES)})"]
    problems = []
    for name, spec in definition.fields.items():
        tp, optional, nullable = _parse(spec)
        if name not in event:
            if not optional:
                problems.append(f"{kind}: missing field {name}")
            continue
        value = event[name]
        if value is None and nullable:
            continue
        ok = isinstance(value, _TYPES[tp]) and not (tp in ("int", "float") and isinstance(value, bool))
        if not ok:
            problems.append(f"{kind}: field {name} should be {tp}, got {type(value).__name__} {value!r:.60}")
    if kind == "status" and event.get("status") not in _status.ALL:
        problems.append(f"status: unknown status {event.get('status')!r} (known: {', '.join(_status.ALL)})")
    return problems


def strict() -> bool:
    """Raise on a malformed event (tests, and FT_LAB_STRICT_EVENTS=1), or only warn (the default).

    In production a malformed event is written anyway, with a warning in worker.log: the views read
    events defensively, and failing a long training run (or losing its failure report) over a field
    name would cost the user far more than an odd line in the log."""
    flag = os.environ.get("FT_LAB_STRICT_EVENTS")
    if flag is not None:
        return flag not in ("", "0")
    return "PYTEST_CURRENT_TEST" in os.environ


def validate_event(event: dict) -> None:
    """Raise ``EventError`` (strict) or warn when ``event`` does not match its definition."""
    problems = check_event(event)
    if not problems:
        return
    message = "malformed event: " + "; ".join(problems)
    if strict():
        raise EventError(message)
    import warnings
    warnings.warn(message, RuntimeWarning, stacklevel=3)


# --- docs ------------------------------------------------------------------------------------------
TABLE_BEGIN = "<!-- events table: generated from ft_lab/rundir/events.py by ft_lab.rundir.events.events_table -->"
TABLE_END = "<!-- end of events table -->"


def _field_doc(name: str, spec: str) -> str:
    tp, optional, nullable = _parse(spec)
    return f"`{name}`{'?' if optional else ''} {tp}{' or null' if nullable else ''}"


def events_table() -> str:
    """The Markdown table of the event types (docs/runs.md holds it between TABLE_BEGIN and TABLE_END)."""
    lines = ["| `type` | meaning | fields (`?`: optional) |", "|---|---|---|"]
    for t in EVENT_TYPES.values():
        fields = ", ".join(_field_doc(n, s) for n, s in t.fields.items())
        if t.open:
            fields += ", and more" if fields else "any"
        lines.append(f"| `{t.name}` | {t.meaning} | {fields} |")
    return "\n".join(lines)


def replace_table(text: str) -> str:
    """``text`` (docs/runs.md) with the generated table between the markers."""
    start, end = text.index(TABLE_BEGIN) + len(TABLE_BEGIN), text.index(TABLE_END)
    return text[:start] + "\n" + events_table() + "\n" + text[end:]
