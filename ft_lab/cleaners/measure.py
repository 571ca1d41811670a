"""Measures of a text used by filters and the data report: script mix, language, length in tokens.

    language_of("東京は晴れです")            # 'ja'
    script_counts("Hello 世界")            # {'latin': 5, 'han': 2}
    approx_tokens("Hello 世界")            # 3 (words plus CJK characters)
"""
from __future__ import annotations

import re
from typing import Callable

from ..errors import UserError

_TOKENISH = re.compile(r"[A-Za-z0-9]+|[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]|[^\sA-Za-z0-9]")


def script_of(ch: str) -> str | None:
    cp = ord(ch)
    if cp < 0x80:
        return "latin" if ch.isalpha() else None
    if 0x3040 <= cp <= 0x309F:
        return "hiragana"
    if 0x30A0 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return "katakana"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
        return "han"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF:
        return "hangul"
    if 0xFF21 <= cp <= 0xFF5A or 0xC0 <= cp <= 0x24F:
        return "latin" if ch.isalpha() else None
    if ch.isalpha():
        return "other"
    return None


def script_counts(text: str) -> dict[str, int]:
    """Letters of each script in ``text`` (digits, spaces and punctuation are not counted)."""
    counts: dict[str, int] = {}
    for ch in text:
        s = script_of(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return counts


def language_of(text: str, min_ratio: float = 0.5) -> str:
    """Script-based language: 'ja' (kana, or kanji with some kana), 'en' (Latin), 'other' or 'none'.

    Japanese text is mostly kanji and kana, and a line of kanji with no kana at all reads as Chinese,
    so 'ja' needs kana among the CJK letters; ``min_ratio`` is the share of letters the script must hold.
    """
    c = script_counts(text)
    total = sum(c.values())
    if not total:
        return "none"
    kana = c.get("hiragana", 0) + c.get("katakana", 0)
    cjk = kana + c.get("han", 0)
    if cjk / total >= min_ratio and kana > 0:
        return "ja"
    if c.get("latin", 0) / total >= min_ratio:
        return "en"
    return "other"


def approx_tokens(text: str) -> int:
    """A tokenizer-free token count: ASCII words, single CJK characters and punctuation marks."""
    return len(_TOKENISH.findall(text))


def token_counter(tokenizer: str | None) -> tuple[Callable[[str], int], str]:
    """A function counting tokens and its description; ``None`` or 'approx' needs no model files."""
    if not tokenizer or tokenizer == "approx":
        return approx_tokens, "approx (words, CJK characters, punctuation)"
    from transformers import AutoTokenizer


    try:
        tok = AutoTokenizer.from_pretrained(tokenizer)
    except Exception as exc:
        raise UserError(f"tokenizer '{tokenizer}': cannot load it ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200]}); give a local folder, a cached hub id, or 'approx'") from None
    return (lambda t: len(tok(t, add_special_tokens=False)["input_ids"])), f"tokenizer {tokenizer}"
