"""Street addresses for ``pii_ner``: "1755 Nelson Mandela Drive", "Apt. 827", "東京都千代田区丸の内1-2-3".

Addresses come from patterns, not a model: Japanese ones from the prefecture / city / block-number pattern
below, English ones from ``pii_en.english_addresses``. An address then runs on into the town, country and
postcode lines written after it, so that one ``<ADDRESS>`` covers the whole block, and a "person" the model
found between a street and a place is that town.
"""
from __future__ import annotations

import re

from .pii import FOLD
from .pii_en import LINE_END, english_addresses

_JA_ADDRESS = re.compile(
    # "東京都千代田区丸の内1-2-3", "大阪市北区梅田三丁目4番5号": prefecture, city/ward/town, then block numbers
    r"(?:[\u4e00-\u9fff]{2,3}[都道府県])?(?:[\u4e00-\u9fff\u30a1-\u30f6\u3005]{1,6}?[市区町村郡])+"
    r"[\u4e00-\u9fff\u30a1-\u30f6\u3005の]{0,8}?[0-9一二三四五六七八九十]+(?:(?:丁目|番地|番|号|-)[0-9一二三四五六七八九十]*)+")
# An address runs on into the place names and the postcode that follow it ("..., Springfield, IL 62704").
_ADDRESS_GAP = re.compile(r"[ ,\n]{0,4}$")
_ADDRESS_TAIL = re.compile(r"[ ,]{1,4}(?:[A-Z]{2}[ ]+)?\d{4,6}(?![\d\-])"
                           # a postcode on a line of its own (not the start of a phone number on the next line)
                           r"|[ ,]*\n[ \t>]*(?:[A-Z]{2}[ ]+)?\d{4,6}(?=[ \t]*(?:\n|$))"
                           # the short lines of an address block after the street: town, country, postcode
                           # (quoted with ">" or "???"), the last with a postcode ("Netherlands 1319 CK", "GU8 6PN")
                           r"|(?:(?:[ ,\t]*\n)+[ \t>?]*(?:[^\W\d_][\w'.\-]*[ ]?){1,3}"
                           r"(?:[ ]*(?:\d{4,5}(?:[ \-]\d{2,4})?(?:[ ][A-Z]{2})?|\d{3}[ ]\d{2}|[A-Z]{1,2}\d{1,2}[A-Z]?[ ]\d[A-Z]{2}"
                           r"|\d{1,6}))?[ \t]*(?=\n|$)){1,4}")


def address_spans(text: str, lang: str) -> list[tuple[int, int, str]]:
    folded = text.translate(FOLD)
    if lang == "ja":
        return [(m.start(), m.end(), "ADDRESS") for m in _JA_ADDRESS.finditer(folded)]
    return english_addresses(folded)


def _towns_after_streets(text: str, spans: list) -> list:
    """A "person" right after an address and before a place, a line end or the text's end ("rue Descartes,
    Monte Gil, Canada", "lives at 12 Baker Street, Ribe") is the town."""
    ends = [e for _, e, kind in spans if kind == "ADDRESS"]
    starts = [s for s, _, kind in spans if kind in ("LOCATION", "ADDRESS")]
    out = []
    for s, e, kind in sorted(spans):
        if kind == "PERSON" and any(pe <= s and _ADDRESS_GAP.match(text[pe:s]) for pe in ends) and (
                LINE_END.match(text, e) or any(ns >= e and _ADDRESS_GAP.match(text[e:ns]) for ns in starts)):
            kind = "LOCATION"
        out.append((s, e, kind))
    return out


def join_addresses(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """One ADDRESS span for an address and the places and postcode written right after it."""
    out: list[list] = []
    for s, e, kind in _towns_after_streets(text, spans):
        last = out[-1] if out else None
        if last and last[2] == "ADDRESS" and s < last[1]:  # inside the address: a street named after someone
            last[1] = max(last[1], e) if kind in ("ADDRESS", "LOCATION") else last[1]
        elif last and last[2] == "ADDRESS" and kind in ("ADDRESS", "LOCATION") and _ADDRESS_GAP.match(text[last[1]:s]):
            last[1] = max(last[1], e)
        else:
            out.append([s, e, kind])
    for span in out:
        if span[2] == "ADDRESS":
            tail = _ADDRESS_TAIL.match(text, span[1])
            span[1] = tail.end() if tail else span[1]
    return [tuple(x) for x in out]
