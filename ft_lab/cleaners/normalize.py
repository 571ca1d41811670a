"""``normalize``: Unicode normalization, full/half-width unification, whitespace, control characters.

Defaults change only what never alters meaning (NFKC width unification, control characters, CRLF, ends
of lines); case folding, collapsing inner spaces and removing newlines are off until asked for::

    Normalize().clean([{"text": "ＡＢＣ１２３　ﾃｽﾄ\\r\\n"}], ["text"]).rows[0]["text"]   # 'ABC123 テスト'
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ..core.components import Cleaner
from .text import map_rows

# Full-width ASCII (U+FF01..U+FF5E) -> ASCII, ideographic space -> space: width only, nothing else.
_WIDE_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDE_ASCII[0x3000] = 0x20
_HALF_KANA = re.compile(r"[\uFF61-\uFF9F]+")
# C0/C1 control characters except tab and newline; zero-width and BOM characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def unify_width(text: str) -> str:
    """Full-width ASCII to half-width, half-width katakana to full-width (and nothing NFKC does besides)."""
    text = text.translate(_WIDE_ASCII)
    return _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


class Normalize(Cleaner):
    """Unicode normalization (NFKC by default: full-width ASCII to half-width) and whitespace trimming."""

    name = "normalize"

    @dataclass
    class Config:
        form: Literal["NFKC", "NFC", "NFKD", "NFD", "none"] = field(default="NFKC", metadata={
            "help": "Unicode form; NFKC also unifies full/half width. 'none' leaves code points as they are"})
        width: bool = field(default=False, metadata={
            "help": "unify width only (full-width ASCII to half, half-width kana to full); for use with NFC"})
        strip: bool = field(default=True, metadata={"help": "trim whitespace at both ends"})
        control: bool = field(default=True, metadata={
            "help": "remove control and zero-width characters (tabs and newlines are kept)"})
        newlines: bool = field(default=True, metadata={"help": "turn CRLF and CR into LF"})
        collapse_spaces: bool = field(default=False, metadata={
            "help": "collapse runs of spaces inside a line into one (changes code and tables)"})
        max_blank_lines: int | None = field(default=None, metadata={
            "help": "keep at most this many blank lines in a row (none: keep all)"})
        remove_newlines: bool = field(default=False, metadata={"help": "replace newlines with spaces"})
        lowercase: bool = field(default=False, metadata={"help": "case-fold the text (alters meaning)"})

        def __post_init__(self):
            if self.max_blank_lines is not None and self.max_blank_lines < 0:
                raise ValueError("max_blank_lines must be 0 or more")

    def normalize_text(self, text: str) -> str:
        c = self.config
        if c.newlines and "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if c.control:
            text = _CONTROL.sub("", text)
        if c.form != "none":
            text = unicodedata.normalize(c.form, text)
        if c.width:
            text = unify_width(text)
        if c.remove_newlines:
            text = text.replace("\n", " ")
        if c.collapse_spaces:
            text = _SPACES.sub(" ", text)
        if c.max_blank_lines is not None:
            text = _BLANK_LINES.sub("\n" * (c.max_blank_lines + 1), text) if c.max_blank_lines >= 1 else \
                re.sub(r"\n{2,}", "\n", text)
        if c.lowercase:
            text = text.casefold()
        if c.strip:
            text = text.strip()
        return text

    def clean(self, rows, columns):
        return map_rows(rows, columns, self.normalize_text)
