"""Typed config dataclasses: validation from plain data, JSON schema, and dumping back to plain data.

Every component's ``Config`` and every recipe section is a dataclass whose fields carry a type, a
default and ``metadata={"help": ...}``. From that one declaration this module derives what the recipe
loader, the CLI help, the docs and the widget forms need::

    @dataclass
    class Config:
        r: int = field(default=8, metadata={"help": "LoRA rank"})

    cfg, problems = build(Config, {"r": "eight"}, "method")
    # problems == ['method.r: expected an integer, got "eight"']
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from ..errors import did_you_mean

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def help_of(f: dataclasses.Field) -> str:
    return f.metadata.get("help", "")


def fields_of(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def type_hints(cls) -> dict[str, Any]:
    """The resolved type of each field of dataclass ``cls`` (string annotations evaluated)."""
    return typing.get_type_hints(cls)


def default_of(f: dataclasses.Field) -> Any:
    """The field's default value (a fresh one for ``default_factory``), or ``dataclasses.MISSING``."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def defaults(cls) -> dict[str, Any]:
    """Plain defaults of every field that has one: what a form or a new recipe section starts from."""
    return {f.name: to_plain(d) for f in fields_of(cls) if (d := default_of(f)) is not dataclasses.MISSING}


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def split_optional(tp) -> tuple[bool, Any]:
    """``(True, X)`` for ``Optional[X]`` / ``X | None``, else ``(False, tp)``."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return True, (args[0] if len(args) == 1 else Union[tuple(args)])
    return False, tp


def describe(tp) -> str:
    """Words for a type, as used in error messages."""
    optional, inner = split_optional(tp)
    if optional:
        return describe(inner) + " or null"
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(_show(a) for a in get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return _TYPE_WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def convert(tp, value: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against ``tp``; return the converted value, appending any problem found."""
    optional, inner = split_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        problems.append(f"{path}: expected {describe(tp)}, got null")
        return None
    tp = inner
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            problems.append(f"{path}: expected {describe(tp)}, got {_show(value)}"
                            + did_you_mean(value, allowed))
        return value
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            trial: list[str] = []
            out = convert(arg, value, path, trial)
            if not trial:
                return out
        problems.append(f"{path}: expected {describe(tp)}, got {_show(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            problems.append(f"{path}: expected an integer, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:  # YAML reads 2e-5 as a string; accept what Python reads as a number
                    return float(value)
                except ValueError:
                    pass
            problems.append(f"{path}: expected a number, got {_show(value)}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            problems.append(f"{path}: expected a string, got {_show(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            problems.append(f"{path}: expected a list, got {_show(value)}")
            return value
        (item_tp,) = get_args(tp)[:1] or (Any,)
        return [convert(item_tp, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {_show(value)}")
            return value
        args = get_args(tp)
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): convert(val_tp, v, f"{path}.{k}", problems) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        obj, sub = build(tp, value, path)
        problems.extend(sub)
        return obj
    return value


def build(cls, data: Any, path: str = "") -> tuple[Any, list[str]]:
    """Build dataclass ``cls`` from plain ``data``; return (instance or None, problems)."""
    problems: list[str] = []
    prefix = f"{path}." if path else ""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, [f"{path or 'recipe'}: expected a mapping, got {_show(data)}"]
    hints = type_hints(cls)
    known = {f.name: f for f in fields_of(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            problems.append(f"{prefix}{key}: unknown field" + did_you_mean(key, known)
                            + f" (known fields: {', '.join(known) or 'none'})")
            continue
        kwargs[key] = convert(hints[key], value, prefix + key, problems)
    for name, f in known.items():
        if (name not in kwargs and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING):
            problems.append(f"{prefix}{name}: required field is missing ({help_of(f) or describe(hints[name])})")
    if problems:
        return None, problems
    try:
        return cls(**kwargs), []
    except (ValueError, TypeError) as exc:  # __post_init__ checks speak in the user's terms
        return None, [f"{path or cls.__name__}: {exc}"]


def to_plain(obj: Any, minimal: bool = False) -> Any:
    """Dump a dataclass (recursively) to plain data; ``minimal`` leaves out fields at their default."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_plain"):
            return obj.to_plain(minimal=minimal)
        out = {}
        for f in fields_of(type(obj)):
            value = getattr(obj, f.name)
            if minimal and _is_default(f, value):
                continue
            out[f.name] = to_plain(value, minimal)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, minimal) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v, minimal) for k, v in obj.items()}
    return obj


def _is_default(f: dataclasses.Field, value: Any) -> bool:
    default = default_of(f)
    return default is not dataclasses.MISSING and value == default


def json_schema(cls) -> dict:
    """JSON schema (draft 2020-12 subset) of a config dataclass, with help texts as descriptions."""
    hints = type_hints(cls)
    props, required = {}, []
    for f in fields_of(cls):
        prop = _schema_of(hints[f.name])
        if help_of(f):
            prop["description"] = help_of(f)
        default = default_of(f)
        if default is dataclasses.MISSING:
            required.append(f.name)
        else:
            prop["default"] = to_plain(default)
        props[f.name] = prop
    schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _schema_of(tp) -> dict:
    optional, inner = split_optional(tp)
    if optional:
        return {"anyOf": [_schema_of(inner), {"type": "null"}]}
    origin = get_origin(tp)
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema_of(a) for a in get_args(tp)]}
    if origin in (list, tuple):
        args = get_args(tp)
        return {"type": "array", "items": _schema_of(args[0]) if args else {}}
    if origin is dict or tp is dict:
        args = get_args(tp)
        return {"type": "object", "additionalProperties": _schema_of(args[1]) if len(args) == 2 else {}}
    if dataclasses.is_dataclass(tp):
        return json_schema(tp)
    return {int: {"type": "integer"}, float: {"type": "number"}, bool: {"type": "boolean"},
            str: {"type": "string"}}.get(tp, {})


# Names the widget forms used before these helpers were public.
_hints = type_hints
_is_optional = split_optional
