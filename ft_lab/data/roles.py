"""Map a file's columns to the roles a task needs (text/label, prompt/response, messages)."""
from __future__ import annotations

from ..errors import UserError, did_you_mean
from .checks import check_value

# Column names recognised without a mapping, for each role, in order of preference.
ALIASES = {
    "text": ("text", "sentence", "content", "input", "question"),
    "label": ("label", "labels", "category", "intent", "class"),
    "prompt": ("prompt", "instruction", "question", "input", "query"),
    "response": ("response", "output", "answer", "completion", "target"),
    "messages": ("messages", "conversations", "conversation"),
}
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "bot": "assistant", "model": "assistant", "system": "system"}


def resolve_roles(task: str, columns: list[str], mapping: dict[str, str], source: str) -> dict[str, str]:
    """Role -> column for ``task``; a UserError that lists the columns that exist when one is missing."""
    def pick(role):
        if role in mapping:
            col = mapping[role]
            if col not in columns:
                raise UserError(f"{source}: data.columns.{role} names column '{col}', which does not exist"
                                f"{did_you_mean(col, columns)}; columns: {', '.join(columns)}")
            return col
        return next((c for c in ALIASES[role] if c in columns), None)

    if task == "classification":
        roles = {"text": pick("text"), "label": pick("label")}
    elif "messages" in mapping or ("prompt" not in mapping and pick("messages") and not pick("response")):
        roles = {"messages": pick("messages")}
    else:
        roles = {"prompt": pick("prompt"), "response": pick("response")}
    missing = [r for r, c in roles.items() if c is None]
    if missing:
        raise UserError(f"{source}: no column for {', '.join(missing)}; columns: {', '.join(columns)}. "
                        f"Set data.columns, e.g. columns: {{{missing[0]}: <column name>}} "
                        f"(`ft-lab data inspect FILE` suggests a mapping)")
    return roles


def to_examples(rows: list[dict], task: str, roles: dict[str, str], source: str,
                allow_empty: bool = False) -> list[dict]:
    """Rows with role keys (text/label, prompt/response or messages) and the other columns under ``meta``.

    ``allow_empty`` keeps rows whose role value is empty (an ``empty_filter`` cleaner then drops them
    into the rejected table); otherwise such a row is an error naming the row and column.
    """
    used = set(roles.values())
    extra_input = "input" if (roles.get("prompt") == "instruction" and "input" not in used) else None
    context = "context" if (roles.get("prompt") in ("question", "query") and "context" not in used
                            and rows and "context" in rows[0]) else None
    out = []
    for i, row in enumerate(rows):
        ex = {role: row.get(col) for role, col in roles.items()}
        if extra_input and row.get(extra_input):  # Alpaca layout: instruction + optional input
            ex["prompt"] = f"{ex['prompt']}\n\n{row[extra_input]}"
        if context and row.get(context) and ex.get("prompt") is not None:  # SQuAD layout: context + question
            ex["prompt"] = f"{row[context]}\n\n{ex['prompt']}"
        for role, value in ex.items():
            check_value(role, value, source, i + 1, roles.get(role, role))
            if role == "label":
                continue  # an empty or missing label is handled by data.missing_labels (checks.py)
            if value is None or (isinstance(value, str) and not value.strip()):
                if allow_empty:
                    ex[role] = "" if role != "messages" else []
                    continue
                raise UserError(f"{source}: row {i + 1}: '{roles.get(role, role)}' is empty; "
                                f"fill it or drop the row (add `empty_filter` to `clean`)")
        if "messages" in ex and ex["messages"]:
            ex["messages"] = sharegpt_to_messages(ex["messages"])
            if not _valid_messages(ex["messages"]):
                raise UserError(f"{source}: row {i + 1}: '{roles['messages']}' must be a list of "
                                "{role, content} (or ShareGPT {from, value}) messages ending with an assistant message")
        ex["meta"] = {k: v for k, v in row.items() if k not in used and k not in (extra_input, context)}
        out.append(ex)
    return out


def sharegpt_to_messages(msgs):
    """ShareGPT ``{from: human|gpt, value}`` turns as OpenAI ``{role, content}`` messages (others unchanged)."""
    if not isinstance(msgs, list):
        return msgs
    out = []
    for m in msgs:
        if isinstance(m, dict) and "from" in m and "value" in m and "content" not in m:
            m = {"role": _SHAREGPT_ROLES.get(str(m["from"]).lower(), str(m["from"])), "content": m["value"]}
        out.append(m)
    return out


def _valid_messages(msgs) -> bool:
    return (isinstance(msgs, list) and msgs and all(isinstance(m, dict) and "role" in m and "content" in m
                                                    for m in msgs) and msgs[-1]["role"] == "assistant")


def text_columns(task: str, example: dict) -> list[str]:
    """The role keys that hold free text, which cleaners work on."""
    if task == "classification":
        return ["text"]
    if "chosen" in example or "completion" in example:  # preference rows (pairs.py): every text field of a pair
        return ["prompt", "chosen", "rejected"] if "chosen" in example else ["prompt", "completion"]
    return ["messages"] if "messages" in example else ["prompt", "response"]
