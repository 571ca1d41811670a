"""``ja_mojibake``: repair Japanese text decoded with the wrong encoding (文字化け), drop what cannot be.

Exports from older help-desk and mail systems mix UTF-8 and Shift_JIS (CP932). Read with the wrong
codec somewhere upstream, a ticket turns into ``繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ`` (UTF-8 read as CP932),
``ã‚«ãƒ¼ãƒ‰`` (UTF-8 read as Latin-1/CP1252) or ``�J�[�h`` (Shift_JIS read as UTF-8, bytes lost)::

    JaMojibake().repair_text("繧ｫ繝ｼ繝峨′螻翫″縺ｾ縺帙ｓ")   # ('カードが届きません', 'utf-8 read as cp932')

A repair is the exact byte round trip (re-encode with the codec that was wrongly used, decode with the
right one), kept only when it succeeds strictly and leaves Japanese text with fewer garbled marks.
What cannot be repaired (bytes were replaced by �) is dropped with the reason, when ``drop_garbled``.
Put it first in ``clean``, before ``normalize``: NFKC rewrites the garbled characters (ｫ -> ォ), after
which the original bytes cannot be recovered and the row can only be dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ft_lab import Cleaner
from ft_lab.cleaners.text import rewrite_rows, texts_of

# Characters that bytes 0x80-0xBF (UTF-8 continuation bytes) become when read as Latin-1 or CP1252.
_CONTINUATION = "".join(sorted({chr(b) for b in range(0x80, 0xC0)}
                               | {bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xC0)} - {""}))
_LATIN = re.compile(f"[\u00e2\u00e3\u00e4-\u00e9\u00ef][{re.escape(_CONTINUATION)}]")
# UTF-8 hiragana and katakana start with E3 81/82/83: read as CP932 they give 縺/繧/繝, rare in real text.
_CP932_MARKS = re.compile("[\u7e3a\u7e67\u7e5d]")
_C1 = re.compile("[\x80-\x9f]")
_JAPANESE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")


def garbled_marks(text: str) -> int:
    """How many signs of mojibake ``text`` shows: �, C1 control characters, and the character pairs
    that UTF-8 bytes become when read as CP932 (縺/繧/繝) or Latin-1/CP1252 (ã‚, ã€)."""
    return (text.count("\ufffd") + len(_C1.findall(text)) + len(_LATIN.findall(text))
            + len(_CP932_MARKS.findall(text)))


def _latin_bytes(text: str) -> bytes:
    """The bytes a Latin-1/CP1252 decoder turned into ``text`` (UnicodeEncodeError when there are none)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                raise
            out.append(ord(ch))
    return bytes(out)


ROUND_TRIPS = (
    ("utf-8 read as cp932", lambda t: t.encode("cp932").decode("utf-8")),
    ("utf-8 read as latin-1/cp1252", lambda t: _latin_bytes(t).decode("utf-8")),
    ("shift_jis read as latin-1/cp1252", lambda t: _latin_bytes(t).decode("cp932")),
)


class JaMojibake(Cleaner):
    """Repair Japanese mojibake (UTF-8 read as CP932 or Latin-1, and back); drop rows that stay garbled.

    Run it before ``normalize``: NFKC changes the garbled characters, and the bytes are lost.
    """

    name = "ja_mojibake"

    @dataclass
    class Config:
        repair: bool = field(default=True, metadata={
            "help": "re-decode text read with the wrong codec (UTF-8 as CP932 or Latin-1, Shift_JIS as "
                    "Latin-1) when the exact byte round trip gives Japanese"})
        drop_garbled: bool = field(default=True, metadata={
            "help": "drop rows still garbled after repair (replacement characters �, 縺繧繝, ã‚), with the reason"})
        min_marks: int = field(default=2, metadata={
            "help": "garbled marks (see drop_garbled) that make a text garbled"})

        def __post_init__(self):
            if self.min_marks < 1:
                raise ValueError("min_marks must be 1 or more")

    def repair_text(self, text: str) -> tuple[str, str | None]:
        """The repaired text and which mix-up it undid, or the text unchanged and None."""
        before = garbled_marks(text)
        if not before:
            return text, None
        for label, round_trip in ROUND_TRIPS:
            try:
                fixed = round_trip(text)
            except (UnicodeError, ValueError):
                continue
            if fixed != text and _JAPANESE.search(fixed) and garbled_marks(fixed) < before:
                return fixed, label
        return text, None

    def clean(self, rows, columns):
        c = self.config

        def fix(text: str) -> tuple[str, list[str]]:
            out, label = self.repair_text(text) if c.repair else (text, None)
            return out, [label] if label else []

        def garbled(row: dict, new: dict) -> str | None:
            marks = [(t, garbled_marks(t)) for t in texts_of(new, columns)]
            bad = next(((t, n) for t, n in marks if n >= c.min_marks), None)
            if c.drop_garbled and bad:
                sample = bad[0].strip().replace("\n", " ")[:20]
                return f"garbled text (mojibake, {bad[1]} marks): {sample}"
            return None

        return rewrite_rows(rows, columns, fix, garbled, counted="repaired")
