"""Preference data: a prompt with a better and a worse answer (dpo, orpo, simpo), or one answer marked
good or bad (kto), in plain text or chat form, checked row by row.

    roles = preference_roles(["prompt", "chosen", "rejected"], {}, "pairs.jsonl", "dpo")
    rows = pair_examples(table_rows, roles, "pairs.jsonl")    # UserError naming row and field when bad
    generation_view(rows[0])    # {"prompt": ..., "response": <the chosen answer>}: what evaluation scores

Accepted rows (the first matching column is used for each role, ``data.columns`` overrides it):

- ``prompt`` + ``chosen`` + ``rejected``: strings, or chat messages (``[{role, content}]``, ShareGPT
  ``{from, value}`` turns, or one message dict each, as LLaMA-Factory's preference files hold them:
  ``conversations`` + ``chosen``/``rejected``);
- kto: ``prompt`` + ``completion`` + ``label`` (true: a good answer, false: a bad one); a kto run also
  takes pairs (TRL splits each pair into a good and a bad row).
"""
from __future__ import annotations

from ..errors import UserError
from .roles import sharegpt_to_messages

PAIRED = ("prompt", "chosen", "rejected")
UNPAIRED = ("prompt", "completion", "label")
ALIASES = {
    "prompt": ("prompt", "conversations", "messages", "instruction", "question", "input", "query"),
    "chosen": ("chosen", "chosen_response", "accepted"),
    "rejected": ("rejected", "rejected_response"),
    "completion": ("completion", "response", "output", "answer"),
    "label": ("label", "desirable", "labels"),
}
_BOOLEANS = {"true": True, "false": False}


def is_preference(example: dict) -> bool:
    return "chosen" in example or "completion" in example


def preference_roles(columns: list[str], mapping: dict[str, str], source: str, objective: str) -> dict[str, str]:
    """Role -> column for a preference objective (kto takes unpaired rows, or pairs like the others)."""
    def pick(role):
        col = mapping.get(role) or next((c for c in ALIASES[role] if c in columns), None)
        if col is not None and col not in columns:
            raise UserError(f"{source}: data.columns.{role} names column '{col}', which does not exist; "
                            f"columns: {', '.join(columns)}")
        return col

    paired = pick("chosen") and pick("rejected")
    wanted = UNPAIRED if objective == "kto" and not paired and ("chosen" not in mapping) else PAIRED
    roles = {role: pick(role) for role in wanted}
    missing = [r for r, c in roles.items() if c is None]
    if missing:
        shape = ("prompt, completion and label (true/false)" if wanted == UNPAIRED
                 else "prompt, chosen and rejected")
        raise UserError(f"{source}: train.objective: {objective} needs {shape}; no column for {', '.join(missing)} "
                        f"(columns: {', '.join(columns)}); set data.columns, e.g. columns: {{{missing[0]}: "
                        f"<column name>}} (`ft-lab data inspect FILE` suggests a mapping)")
    return roles


def pair_examples(rows: list[dict], roles: dict[str, str], source: str) -> list[dict]:
    """Rows as ``{prompt, chosen, rejected}`` or ``{prompt, completion, label}`` (+ ``meta``), all in one form:
    strings, or chat messages when any field of the row is chat."""
    used = set(roles.values())
    out = []
    for i, row in enumerate(rows):
        where = f"{source}: row {i + 1}"
        ex = {}
        for role, col in roles.items():
            value = row.get(col)
            if role == "label":
                ex[role] = _boolean(value, f"{where}, field '{col}'")
                continue
            if value is None:
                raise UserError(f"{where}: field '{col}' ({role}) is missing; every row needs "
                                f"{', '.join(r for r in roles)}: fill it or drop the row")
            ex[role] = _answer_form(value, role, f"{where}, field '{col}'")
        if any(isinstance(v, list) for k, v in ex.items() if k != "label"):
            ex = {k: _as_chat(v, "user" if k == "prompt" else "assistant") if k != "label" else v
                  for k, v in ex.items()}
        if "chosen" in ex and _text(ex["chosen"]).strip() == _text(ex["rejected"]).strip():
            raise UserError(f"{where}: fields '{roles['chosen']}' and '{roles['rejected']}' hold the same answer; "
                            f"a pair must contrast a better and a worse answer: fix the row or drop it")
        ex["meta"] = {k: v for k, v in row.items() if k not in used}
        out.append(ex)
    return out


def _boolean(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise UserError(f"{where}: a kto label must be true (a good answer) or false (a bad one), got {value!r}: "
                    f"fix the row")


def _answer_form(value, role: str, where: str):
    """A string, or a list of {role, content} messages (one message dict becomes a list of one)."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        msgs = sharegpt_to_messages(value)
        if not msgs or not all(isinstance(m, dict) and isinstance(m.get("content"), str) and "role" in m
                               for m in msgs):
            raise UserError(f"{where}: expected text or chat messages ({{role, content}} or ShareGPT "
                            f"{{from, value}}), got {str(value)[:60]}: fix the row")
        value = msgs
    elif not isinstance(value, str):
        raise UserError(f"{where}: holds {type(value).__name__} ({str(value)[:40]}), not text: fix the row, or "
                        f"map another column with data.columns.{role}")
    if not _text(value).strip():
        raise UserError(f"{where}: the {role} is empty; fill it or drop the row")
    return value


def _as_chat(value, role: str) -> list[dict]:
    return value if isinstance(value, list) else [{"role": role, "content": value}]


def _text(value) -> str:
    """The text of an answer: the string, or its messages' contents."""
    if isinstance(value, list):
        return "\n".join(m["content"] for m in value)
    return value


def apply_pair_template(examples: list[dict], template: str, system_prompt: str | None, format_prompt) -> list[dict]:
    """``data.template`` on preference rows: ``chat`` turns every field into messages (a system message
    first when given), a text template rewrites the prompt of plain rows."""
    out = []
    for ex in examples:
        ex = dict(ex)
        if template == "chat":
            prompt = _as_chat(ex["prompt"], "user")
            if system_prompt and prompt[0]["role"] != "system":
                prompt = [{"role": "system", "content": system_prompt}, *prompt]
            ex["prompt"] = prompt
            for k in ("chosen", "rejected", "completion"):
                if k in ex:
                    ex[k] = _as_chat(ex[k], "assistant")
        elif isinstance(ex["prompt"], str):
            ex["prompt"] = format_prompt(ex["prompt"], template, system_prompt)
        out.append(ex)
    return out


def generation_view(example: dict) -> dict | None:
    """A preference row as a generation example whose reference is the good answer (None for a kto row
    marked bad: it has no reference)."""
    good = example.get("chosen", example.get("completion"))
    if "label" in example and not example["label"]:
        return None
    if isinstance(example["prompt"], list):
        return {"messages": [*example["prompt"], *_as_chat(good, "assistant")], "meta": example.get("meta", {})}
    return {"prompt": example["prompt"], "response": _text(good), "meta": example.get("meta", {})}


def answer_views(example: dict) -> list[dict]:
    """A preference row as one generation example per answer (chosen and rejected, or the completion):
    what token lengths are measured on."""
    answers = [example[k] for k in ("chosen", "rejected", "completion") if k in example]
    return [generation_view({"prompt": example["prompt"], "chosen": a}) for a in answers]


def generation_examples(rows: list[dict]) -> list[dict]:
    """The rows that have a good answer, as generation examples scored against it (``generation_view``)."""
    return [view for view in map(generation_view, rows) if view is not None]
