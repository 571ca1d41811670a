"""Recognise a table's layout and suggest the column for each role; the user can always override it.

Layouts: alpaca (instruction/input/output), chat (OpenAI ``messages`` or ShareGPT ``conversations``),
text_label, question_answer, prompt_completion, squad (context/question/answer), and for preference
objectives preference (prompt/chosen/rejected, LLaMA-Factory's ShareGPT ``conversations`` + ``chosen``/``rejected``)
and kto (prompt/completion + a true/false ``label``)::

    guess = detect_schema(["instruction", "input", "output"], rows)
    guess.layout, guess.task, guess.mapping   # 'alpaca', 'generation', {'prompt': 'instruction', ...}
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SchemaGuess:
    layout: str
    task: str | None
    mapping: dict[str, str]
    confidence: str = "high"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _is_chat(value) -> bool:
    return (isinstance(value, list) and bool(value) and isinstance(value[0], dict)
            and (("role" in value[0] and "content" in value[0]) or ("from" in value[0] and "value" in value[0])))


def _preference(columns: list[str], first: dict) -> SchemaGuess | None:
    chosen, rejected = _find(columns, ("chosen", "chosen_response")), _find(columns, ("rejected", "rejected_response"))
    prompt = _find(columns, ("prompt", "conversations", "messages", "instruction", "question", "query"))
    if chosen and rejected and prompt:
        chat = _is_chat(first.get(prompt)) or isinstance(first.get(chosen), (dict, list))
        style = ("ShareGPT" if _is_chat(first.get(prompt)) and "from" in first[prompt][0] else "chat") if chat else "plain"
        return SchemaGuess("preference", "generation", {"prompt": prompt, "chosen": chosen, "rejected": rejected},
                           notes=[f"{style} preference pairs: set train.objective: dpo (or orpo, simpo, kto)"])
    completion, label = _find(columns, ("completion",)), _find(columns, ("label", "desirable"))
    if prompt and completion and label and isinstance(first.get(label), bool):
        return SchemaGuess("kto", "generation", {"prompt": prompt, "completion": completion, "label": label},
                           notes=["answers marked good (true) or bad (false): set train.objective: kto"])
    return None


def detect_schema(columns: list[str], rows: list[dict] | None = None) -> SchemaGuess:
    """The most likely layout of a table with ``columns`` (a few ``rows`` help for chat columns)."""
    rows = rows or []
    first = rows[0] if rows else {}
    preference = _preference(columns, first)
    if preference:
        return preference
    chat_col = next((c for c in columns if _is_chat(first.get(c))), None) or _find(
        columns, ("messages", "conversations", "conversation"))
    if chat_col:
        style = "ShareGPT" if first and _is_chat(first.get(chat_col)) and "from" in first[chat_col][0] else "OpenAI"
        return SchemaGuess("chat", "generation", {"messages": chat_col},
                           notes=[f"{style}-style messages in '{chat_col}'"])
    instr, out = _find(columns, ("instruction",)), _find(columns, ("output",))
    if instr and out:
        notes = []
        inp = _find(columns, ("input",))
        if inp:
            notes.append(f"'{inp}' is appended to the instruction when it is not empty")
        return SchemaGuess("alpaca", "generation", {"prompt": instr, "response": out}, notes=notes)
    context, question = _find(columns, ("context",)), _find(columns, ("question", "query"))
    answer = _find(columns, ("answer", "answers", "answer_text"))
    if context and question and answer:
        return SchemaGuess("squad", "generation", {"prompt": question, "response": answer},
                           notes=[f"the prompt is built from '{context}' and '{question}'"])
    prompt, completion = _find(columns, ("prompt",)), _find(columns, ("completion", "response", "chosen"))
    if prompt and completion:
        return SchemaGuess("prompt_completion", "generation", {"prompt": prompt, "response": completion})
    if question and answer:
        return SchemaGuess("question_answer", "generation", {"prompt": question, "response": answer})
    text = _find(columns, ("text", "sentence", "content", "body", "review", "document", "utterance"))
    label = _find(columns, ("label", "labels", "category", "intent", "class", "target", "sentiment"))
    if text and label:
        return SchemaGuess("text_label", "classification", {"text": text, "label": label})
    choices = [c for c in columns if c.lower().startswith("choice")]
    if question and choices and label:
        return SchemaGuess("multiple_choice", "classification", {"text": question, "label": label},
                           confidence="medium",
                           notes=[f"choices {', '.join(choices)} stay in meta; build the prompt with a template"])
    strings = [c for c in columns if isinstance(first.get(c), str)]
    if len(strings) >= 2:
        longest = max(strings, key=lambda c: len(first.get(c) or ""))
        rest = [c for c in strings if c != longest]
        return SchemaGuess("unknown", None, {"prompt": longest, "response": rest[0]}, confidence="low",
                           notes=["no known layout; set data.columns yourself"])
    return SchemaGuess("unknown", None, {}, confidence="low", notes=["no known layout; set data.columns yourself"])
