"""Detect a text file's encoding: UTF-8 (with or without BOM), UTF-16, Shift_JIS/CP932, EUC-JP.

    text, encoding = decode_file("export.csv")      # ('...', 'cp932')

Japanese legacy encodings overlap (many byte strings decode under both), so each candidate that
decodes is scored by how much of the result reads as ordinary Japanese text.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import UserError

_ALIASES = {"utf8": "utf-8", "sjis": "cp932", "shift-jis": "cp932", "shift_jis": "cp932", "windows-31j": "cp932",
            "euc-jp": "euc_jp", "eucjp": "euc_jp", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be",
            "utf8-sig": "utf-8-sig", "utf-8-bom": "utf-8-sig"}


def _japanese_score(text: str) -> float:
    """Share of characters that are common in Japanese or ASCII text (high is plausible)."""
    if not text:
        return 1.0
    good = 0
    for ch in text:
        cp = ord(ch)
        if cp < 0x80 or 0x3040 <= cp <= 0x30FF or 0x4E00 <= cp <= 0x9FFF or 0x3000 <= cp <= 0x303F \
                or 0xFF01 <= cp <= 0xFF5E:
            good += 1
    return good / len(text)


def detect(data: bytes) -> str:
    """The encoding name for ``data``; raises ValueError (with the byte offset) when none fits."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:  # UTF-16 without BOM: ASCII has a zero byte each
        even_zeros = sample[0::2].count(0)
        return "utf-16-be" if even_zeros > sample[1::2].count(0) else "utf-16-le"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    best, best_score = None, -1.0
    for enc in ("cp932", "euc_jp"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _japanese_score(text[:20000])
        if score > best_score:
            best, best_score = enc, score
    if best is None or best_score < 0.6:
        line = data[:utf8_error.start].count(b"\n") + 1
        raise ValueError(f"line {line} (byte offset {utf8_error.start}): bytes "
                         f"{data[utf8_error.start:utf8_error.start + 4]!r} are not UTF-8, Shift_JIS/CP932 or EUC-JP text")
    return best


def canonical(encoding: str) -> str:
    enc = encoding.strip().lower()
    enc = _ALIASES.get(enc, enc)
    try:
        codecs.lookup(enc)
    except LookupError:
        raise UserError(f"data.encoding: unknown encoding '{encoding}'; use auto, utf-8, utf-8-sig, cp932, "
                        f"euc_jp or utf-16") from None
    return enc


def decode_file(path: str | Path, encoding: str = "auto", data: bytes | None = None) -> tuple[str, str]:
    """The whole file as text and the encoding used; a UserError naming the byte offset on failure."""
    data = Path(path).read_bytes() if data is None else data
    if encoding == "auto":
        try:
            encoding = detect(data)
        except ValueError as exc:
            raise UserError(f"{path}: cannot decode the file: {exc}. Save it as UTF-8, or set data.encoding "
                            f"(for example cp932 or euc_jp)") from None
    else:
        encoding = canonical(encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UserError(f"{path}: line {line} (byte offset {exc.start}): not valid {encoding} text; set "
                        f"data.encoding to the file's real encoding, or 'auto' to detect it") from None
    if encoding in ("utf-16", "utf-16-le", "utf-16-be") and text.startswith("\ufeff"):
        text = text[1:]
    return text, encoding
