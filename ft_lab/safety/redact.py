"""Secrets never reach the run directory: key-like strings are redacted, and recipes that hold them refused.

    redact({"error": "401 for key sk-abc...xyz"})   # {"error": "401 for key [REDACTED]"}
    recipe_secret_problems(plain_recipe)            # ["evaluate[0].api_key_env: ... must name ..."]

``redact`` runs over every event written to events.jsonl, over metrics and details written by the
evaluation, and over the worker's log lines reported in a status; ``recipe_secret_problems`` runs when
a recipe is validated, so recipe.yaml in a run directory never holds a key or a URL with credentials.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

REDACTED = "[REDACTED]"

# Well-known key shapes (OpenAI, Anthropic, Hugging Face, GitHub, AWS, Google, Slack, JWT, bearer tokens)
KEY_PATTERNS = [
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",
    r"hf_[A-Za-z0-9]{20,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"(?:AKIA|ASIA)[A-Z0-9]{16}",
    r"AIza[0-9A-Za-z_\-]{30,}",
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",
    r"eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
    r"(?<=[Bb]earer )[A-Za-z0-9._\-]{16,}",
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password@ in a URL
]
# a key starts a word: "desk-top-projects" or "task-classification" hold "sk-" but are no keys
_KEY = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(f"(?:{p})" for p in KEY_PATTERNS) + ")")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def looks_like_key(text: str) -> bool:
    return bool(_KEY.search(text))


def redact(obj):
    """``obj`` (str, list, dict, nested) with every key-like substring replaced by ``[REDACTED]``."""
    if isinstance(obj, str):
        return _KEY.sub(REDACTED, obj) if _KEY.search(obj) else obj
    if isinstance(obj, dict):
        return {k: redact(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact(v) for v in obj]
    return obj


def recipe_secret_problems(plain, path: str = "") -> list[str]:
    """Problems (one line each, naming the field) for secrets written into a recipe."""
    problems: list[str] = []
    if isinstance(plain, dict):
        for key, value in plain.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and str(key).endswith("_env") and value and not ENV_NAME.fullmatch(value):
                problems.append(f"{where}: must name an environment variable (letters, digits, _), not hold a "
                                f"value; put the key in a variable, e.g. export MY_KEY=..., and write "
                                f"{key}: MY_KEY")
            else:
                problems.extend(recipe_secret_problems(value, where))
    elif isinstance(plain, list):
        for i, value in enumerate(plain):
            problems.extend(recipe_secret_problems(value, f"{path}[{i}]"))
    elif isinstance(plain, str):
        problems.extend(_string_problems(plain, path))
    return problems


def _string_problems(value: str, where: str) -> list[str]:
    if "://" in value:
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            parts = None
        if parts is not None and (parts.username or parts.password):
            return [f"{where}: the URL holds credentials (user:password@); remove them and give the key "
                    f"through an environment variable (api_key_env)"]
    if looks_like_key(value):
        return [f"{where}: holds what looks like a secret key; recipes are saved in the run directory, so "
                f"put the key in an environment variable and name it in api_key_env"]
    return []


class RedactingStream:
    """A text stream that redacts key-like strings before writing (the worker's stdout and stderr)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
