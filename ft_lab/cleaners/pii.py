"""``pii_mask``: replace personal data with typed placeholders (``<EMAIL>``, ``<PHONE>``, ...).

Structured types are found by pattern plus a validation step (Luhn for cards, mod 97 for IBANs, the check
digit and a nearby keyword for My Number, digit counts and shapes for phone numbers). Full-width digits and
symbols are read as their ASCII forms without changing the text's positions, so ``０３－１２３４－５６７８``
is found like ``03-1234-5678``. Person names and street addresses come from ``pii_ner`` or optional recognizers::

    PiiDetector().mask("TEL ０９０−１２３４−５６７８ / a@b.jp")[0]     # 'TEL <PHONE> / <EMAIL>'

A recognizer is any ``module:function`` taking a text and returning ``(start, end, type)`` spans.
Original values are never stored: not in the result, the change records, the report or a log.
"""
from __future__ import annotations

import importlib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from ..core.code_refs import check_code_refs
from ..core.components import Cleaner, CleanResult
from ..errors import UserError
from .text import map_texts

STRUCTURED = ("EMAIL", "URL", "IP_ADDRESS", "IBAN", "CREDIT_CARD", "MY_NUMBER", "PHONE", "POSTAL_CODE")


def _detection_table() -> dict[int, int]:
    """One character in, one character out: positions in the folded text are positions in the original."""
    table = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII
    for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u2500\u301c":
        table[ord(dash)] = ord("-")
    table[0x3000] = ord(" ")
    table[ord("\u3002")] = ord("\u3002")
    return table


#: Full-width ASCII to ASCII and every dash to "-", for detection only (the masked text keeps its characters).
FOLD = _detection_table()
_ASCII_BEFORE = r"(?<![A-Za-z0-9._%+\-])"

_EMAIL = re.compile(_ASCII_BEFORE + r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9])")
# A bare domain name ("GoldAgenda.is", "shop.example.co.uk"): a name with a letter and a common top-level
# domain in lower case. Country codes that are also file extensions (.md, .py, .sh, .rs, .so, .ps, .cc, .ai)
# are left out, so "README.md" stays.
_DOMAIN = re.compile(r"(?<![\w@.\-/])(?=[\w\-.]*[A-Za-z][\w\-]*\.)(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+"
                     r"(?:com|net|org|info|biz|io|co|app|dev|edu|gov|jp|de|uk|fr|it|es|nl|se|no|dk|fi|is|cz|sk|hu|pt|"
                     r"at|ch|be|gr|ru|ua|cn|kr|tw|hk|au|nz|ca|us|br|mx|ar|cl|in|ie|lu|ro|bg|hr|si|pl|ee|lv|lt|gl|za|"
                     r"sg|my|th|vn|ph|tr|il|eu)(?![\w\-]|\.[A-Za-z0-9])")
# An IBAN: country code, two check digits, 11-30 letters and digits, in groups of four or run together.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")


def iban_ok(value: str) -> bool:
    """The ISO 13616 check: the country code and check digits moved to the end, letters as 10-35, mod 97 == 1."""
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


_URL = re.compile(r"(?<![A-Za-z0-9])(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                   r"(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_CARD = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){11,18}(?![\d])")  # 12-19 digits
_MY_NUMBER = re.compile(r"(?<![\d\-])\d{4}[ \-]?\d{4}[ \-]?\d{4}(?![\d\-])")
# Detection runs on folded text, where the long-vowel mark "ー" reads as "-".
_MY_NUMBER_CONTEXT = re.compile(r"マイナンバ[ー\-]|個人番号|my\s?number|individual\s+number", re.I)
_PHONE = re.compile(
    r"(?<![A-Za-z0-9+\-.])(?:\+\d{1,3}[ .\-]?|\(\+\d{1,3}\)[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,11}"
    r"(?:(?:[ .\-]|\)[ ]?|\()\d{1,8}){0,5}(?:[ ]?(?:x|ext\.?|#|内線)[ ]?\d{1,6})?(?![0-9])")
_PHONE_GROUP = re.compile(r"\d+")
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?|#|内線)[ ]?\d{1,6}$")
_DATE = re.compile(r"^(?:(?:19|20)\d\d[./\-]\d{1,2}[./\-]\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)\d\d)(?!\d)")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_POSTAL = re.compile(r"(?:〒[ ]?|郵便番号[:：]?[ ]?)?(?<![\d\-])\d{3}-\d{4}(?![\d\-])")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_POSTAL_CONTEXT = re.compile(r"〒|郵便|postal|zip", re.I)
_TRAILING = ".,;:!?)]}'\""


class Span(NamedTuple):
    start: int
    end: int
    type: str


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    if digits[:2] in ("34", "37"):
        return n == 15
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return n == 16
    if digits[:2] == "35" or digits[0] == "6":
        return 16 <= n <= 19
    if digits[:2] in ("30", "36", "38", "39"):
        return 14 <= n <= 19
    return False


def my_number_ok(digits: str) -> bool:
    """Check digit of a Japanese Individual Number (12 digits, the last one the check digit)."""
    if len(digits) != 12 or len(set(digits)) == 1:
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = ord(body[11 - n]) - 48
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return int(digits[11]) == (0 if r <= 1 else 11 - r)


def _phone_ok(cand: str) -> bool:
    ext = _EXTENSION.search(cand)
    core = cand[:ext.start()] if ext else cand
    groups = _PHONE_GROUP.findall(core)
    digits = "".join(groups)
    n = len(digits)
    plus = core.startswith(("+", "(+"))
    paren = "(" in core
    seps = len(groups) > 1
    if _DATE.match(core) or _SSN.match(core) or n > 15:
        return False
    if plus:
        return 8 <= n <= 15
    if not seps:  # a bare digit run: only Japanese numbers written without hyphens
        return digits.startswith("0") and n in (10, 11) and digits[1] != "0"
    if any(len(g) < 2 for g in groups[1:]):
        return False
    if ext or paren:
        return 7 <= n <= 13
    if digits.startswith("0"):
        return 9 <= n <= 12
    return len(groups) >= 3 and 8 <= n <= 12


def _phone_spans(folded: str) -> Iterable[tuple[int, int]]:
    for m in _PHONE.finditer(folded):
        cand, start = m.group(), m.start()
        # Trailing groups may belong to the next number ("03-1234-5678 2024"): try shorter prefixes.
        near = _PHONE_CONTEXT.search(folded, max(0, start - 20), start) is not None
        while cand:
            if _phone_ok(cand) or (near and _phone_ok_near_word(cand)):
                yield start, start + len(cand)
                break
            cut = max(cand.rfind(" "), cand.rfind("-"), cand.rfind("."), cand.rfind("("))
            cand = cand[:cut].rstrip(" .-(") if cut > 0 else ""


# --- context words: looser card and phone shapes right after "card"/"カード", "TEL"/"電話"/"phone" ----------
_CARD_CONTEXT = re.compile(r"card|カ-ド|クレジット|credit|visa|master|amex|jcb", re.I)
_PHONE_CONTEXT = re.compile(r"(?<![A-Za-z])(?:tel|phone|mobile|cell|fax|call|contact)(?![a-z])|電話|携帯|連絡先|"
                            r"ファックス|ファクス", re.I)
_NOT_CARD_CONTEXT = re.compile(r"order|注文|invoice|請求|tracking|追跡|伝票|receipt|領収|shipment|配送", re.I)
_COMPACT_DATE = re.compile(r"^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])")


def _card_in_context(folded: str, start: int, digits: str) -> bool:
    """Luhn-valid digits (checked by the caller): a known brand shape, or 12-19 digits right after a card
    word (not "マイナンバーカード"); never right after an order, invoice or tracking word unless a card word
    is there too."""
    window = folded[max(0, start - 25):start]
    if _CARD_CONTEXT.search(window) and not _MY_NUMBER_CONTEXT.search(window):
        return 12 <= len(digits) <= 19
    return _card_brand_ok(digits) and not _NOT_CARD_CONTEXT.search(window)


def _phone_ok_near_word(cand: str) -> bool:
    """Right after a phone word: 7-15 digits in any grouping, or a 6-digit local number written in three
    pairs ("95 92 16"), but never a date or a year-month-day run."""
    ext = _EXTENSION.search(cand)
    core = cand[:ext.start()] if ext else cand
    groups = _PHONE_GROUP.findall(core)
    digits = "".join(groups)
    if _DATE.match(core) or _SSN.match(core) or _COMPACT_DATE.match(digits) and len(digits) == 8:
        return False
    return 7 <= len(digits) <= 15 or len(groups) == 3 and all(len(g) == 2 for g in groups)


#: The placeholder type of a deny-list term.
DENIED = "MASKED"


def term_pattern(terms: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive pattern for ``terms``, longest first ("Apple Pay" before "Apple"); a term that
    starts or ends with an ASCII letter or digit matches whole words only ("Acme" not in "Acmes", but in "Acmeの")."""
    parts = []
    for t in sorted(set(terms), key=len, reverse=True):
        before = r"(?<![A-Za-z0-9])" if t[:1].isascii() and t[:1].isalnum() else ""
        after = r"(?![A-Za-z0-9])" if t[-1:].isascii() and t[-1:].isalnum() else ""
        parts.append(before + re.escape(t) + after)
    return re.compile("|".join(parts), re.I) if parts else None


def read_terms(entries: Iterable[str], name: str) -> list[str]:
    """The terms of an allow- or deny-list: each entry a term, or ``file:PATH`` for a UTF-8 text file with
    one term per line ("#" starts a comment line). ValueError naming the field for a bad entry or file."""
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError(f"{name}: {entry!r} is not a term; give a word or phrase, or 'file:PATH'")
        if not entry.startswith("file:"):
            out.append(entry.strip())
            continue
        path = Path(entry[5:].strip()).expanduser()
        if not path.is_file():
            raise ValueError(f"{name}: file not found: {path} (give a text file, one term per line)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:
            raise ValueError(f"{name}: {path} is not a UTF-8 text file (give one term per line)")
        out += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return out


class PiiDetector:
    """Finds PII spans in one text; ``mask`` replaces them with placeholders. ``allow``: terms never masked
    (a span inside one stays); ``deny``: terms always masked (as ``<MASKED>``)."""

    def __init__(self, entities: Iterable[str] = STRUCTURED, my_number_context: bool = True,
                 recognizers: Iterable[Callable] = (), allow: Iterable[str] = (), deny: Iterable[str] = ()):
        self.entities = set(entities)
        self.my_number_context = my_number_context
        self.recognizers = list(recognizers)
        self.allow = term_pattern(allow)
        self.deny = term_pattern(deny)

    def find(self, text: str) -> list[Span]:
        folded = text.translate(FOLD)
        spans: list[Span] = []
        taken: list[tuple[int, int]] = []
        allowed = [m.span() for m in self.allow.finditer(folded)] if self.allow else []

        def add(s: int, e: int, kind: str) -> None:
            if any(s < te and ts < e for ts, te in taken) or any(a <= s and e <= b for a, b in allowed):
                return
            taken.append((s, e))
            spans.append(Span(s, e, kind))

        if self.deny:
            for m in self.deny.finditer(folded):
                if not any(a <= m.start() and m.end() <= b for a, b in allowed):
                    add(m.start(), m.end(), DENIED)
        ent = self.entities
        if "EMAIL" in ent and "@" in folded:
            for m in _EMAIL.finditer(folded):
                add(m.start(), m.end(), "EMAIL")
        if "URL" in ent and ("://" in folded or "www." in folded):
            for m in _URL.finditer(folded):
                end = m.end()
                while end > m.start() and folded[end - 1] in _TRAILING:
                    end -= 1
                add(m.start(), end, "URL")
        if "URL" in ent and "." in folded:
            for m in _DOMAIN.finditer(folded):
                add(m.start(), m.end(), "URL")
        has_digit = any(ch.isdigit() for ch in folded)
        if has_digit and "IBAN" in ent:
            for m in _IBAN.finditer(folded):
                if iban_ok(m.group()):
                    add(m.start(), m.end(), "IBAN")
        if has_digit:
            if "IP_ADDRESS" in ent:
                for m in _IPV4.finditer(folded):
                    add(m.start(), m.end(), "IP_ADDRESS")
                if "::" in folded or folded.count(":") >= 5:
                    for m in _IPV6.finditer(folded):
                        if _valid_ipv6(m.group()):
                            add(m.start(), m.end(), "IP_ADDRESS")
            if "CREDIT_CARD" in ent:
                for m in _CARD.finditer(folded):
                    digits = m.group().replace(" ", "").replace("-", "")
                    if luhn_ok(digits) and _card_in_context(folded, m.start(), digits):
                        add(m.start(), m.end(), "CREDIT_CARD")
            if "MY_NUMBER" in ent:
                for m in _MY_NUMBER.finditer(folded):
                    digits = m.group().replace(" ", "").replace("-", "")
                    if my_number_ok(digits) and (not self.my_number_context or _MY_NUMBER_CONTEXT.search(
                            folded, max(0, m.start() - 30), min(len(folded), m.end() + 30))):
                        add(m.start(), m.end(), "MY_NUMBER")
            postal = list(_POSTAL.finditer(folded)) if "POSTAL_CODE" in ent else []
            for m in postal:  # 〒 or 郵便番号 before it: a postal code, even right after a phone word
                if m.group()[0] in "〒郵":
                    add(m.start(), m.end(), "POSTAL_CODE")
            if "PHONE" in ent:
                for s, e in _phone_spans(folded):
                    add(s, e, "PHONE")
            if postal:
                for m in postal:
                    prefixed = m.group()[0] in "〒郵"
                    window = folded[max(0, m.start() - 15):m.start()]
                    if prefixed or _POSTAL_CONTEXT.search(window) or _JAPANESE.search(
                            folded, max(0, m.start() - 20), min(len(folded), m.end() + 20)):
                        add(m.start(), m.end(), "POSTAL_CODE")
        for recognizer in self.recognizers:
            for s, e, kind in _recognized_spans(recognizer, text):
                add(s, e, kind)
        spans.sort()
        return spans

    def mask(self, text: str, numbered: bool = False, numbers: dict | None = None) -> tuple[str, list[Span]]:
        """The text with each span replaced by ``<TYPE>`` (``<TYPE_n>``, the same n for the same value)."""
        spans = self.find(text)
        if not spans:
            return text, spans
        numbers = {} if numbers is None else numbers
        parts, pos = [], 0
        for s, e, kind in spans:
            parts.append(text[pos:s])
            if numbered:
                key = (kind, text[s:e].translate(FOLD).casefold())
                if key not in numbers:
                    numbers[key] = sum(1 for k in numbers if k[0] == kind) + 1
                parts.append(f"<{kind}_{numbers[key]}>")
            else:
                parts.append(f"<{kind}>")
            pos = e
        parts.append(text[pos:])
        return "".join(parts), spans


def _valid_ipv6(s: str) -> bool:
    if len(s) < 6 or not any(c.isalnum() for c in s):
        return False
    try:
        ipaddress.IPv6Address(s)
        return True
    except ValueError:
        return False


def load_recognizer(ref: str) -> Callable:
    """Import ``module:function``; a UserError that says how to write it when that fails."""
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise UserError(f"pii_mask.recognizers: '{ref}' is not 'module:function' (for example "
                        f"'my_package.names:find_names')")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"pii_mask.recognizers: cannot load '{ref}' ({type(exc).__name__}: {exc}); "
                        f"install the module or fix the name") from None
    if not callable(fn):
        raise UserError(f"pii_mask.recognizers: '{ref}' is not callable")
    return fn


class PiiMask(Cleaner):
    """Mask e-mails, phones, URLs, IPs, cards, My Number and postal codes with typed placeholders."""

    name = "pii_mask"
    masks_personal_data = True

    @dataclass
    class Config:
        entities: list[str] = field(default_factory=lambda: list(STRUCTURED), metadata={
            "help": "types to mask: " + ", ".join(STRUCTURED)})
        numbered: bool = field(default=False, metadata={
            "help": "number placeholders within a row (<EMAIL_1>, <EMAIL_2>); the same value gets the same number"})
        my_number_context: bool = field(default=True, metadata={
            "help": "mask a valid 12-digit My Number only near a keyword (マイナンバー, 個人番号, My Number)"})
        recognizers: list[str] = field(default_factory=list, metadata={
            "help": "extra recognizers as 'module:function' (text -> [(start, end, type)]) for names, addresses"})
        allow: list[str] = field(default_factory=list, metadata={
            "help": "terms never masked (your products, your company's name): whatever is found inside one "
                    "stays; case-insensitive, whole words; 'file:PATH' reads a text file, one term per line"})
        deny: list[str] = field(default_factory=list, metadata={
            "help": "terms always masked, as <MASKED> (a code name, a customer's name the models miss); "
                    "case-insensitive, whole words; 'file:PATH' reads a text file, one term per line"})

        def __post_init__(self):
            check_code_refs(self.recognizers, "recognizers")  # recipes are data, not code
            read_terms(self.allow, "allow")
            read_terms(self.deny, "deny")
            unknown = [e for e in self.entities if e not in STRUCTURED]
            if unknown:
                raise ValueError(f"entities: unknown type(s) {', '.join(unknown)}; known: {', '.join(STRUCTURED)} "
                                 f"(names and addresses come from `recognizers`)")

    def __init__(self, config=None):
        super().__init__(config)
        self.detector = PiiDetector(self.config.entities, self.config.my_number_context,
                                    [load_recognizer(r) for r in self.config.recognizers], *self.term_lists())

    def term_lists(self) -> tuple[list[str], list[str]]:
        """The allow- and deny-list terms, files read."""
        return read_terms(self.config.allow, "allow"), read_terms(self.config.deny, "deny")

    def mask_row(self, row: dict, columns: list[str], found: dict | None = None) -> dict:
        numbers: dict = {}

        def one(text: str) -> str:
            masked, spans = self.detector.mask(text, self.config.numbered, numbers)
            if found is not None:
                for s in spans:
                    found[s.type] = found.get(s.type, 0) + 1
            return masked

        return map_texts(row, columns, one)

    def clean(self, rows, columns):
        out, changes, found = [], [], {}
        for i, row in enumerate(rows):
            before = dict(found)
            new = self.mask_row(row, columns, found)
            if new is not row:
                kinds = sorted(k for k in found if found[k] != before.get(k, 0))
                changes.append({"index": i, "before": None, "after": new, "entities": kinds})
            out.append(new)
        info = {"pii_found": dict(sorted(found.items())), "rows_with_pii": len(changes)}
        return CleanResult(rows=out, changed=len(changes), info=info, changes=changes)


def _recognized_spans(recognizer, text: str) -> list[tuple[int, int, str]]:
    """A recognizer's answer as (start, end, TYPE) spans; anything else is named as the recipe's fault."""
    found = recognizer(text)
    name = f"{getattr(recognizer, '__module__', '?')}:{getattr(recognizer, '__name__', recognizer)}"
    try:
        spans = [(int(s), int(e), str(kind).upper()) for s, e, kind in found]
    except (TypeError, ValueError):
        raise UserError(f"pii_mask.recognizers: '{name}' must return a list of (start, end, type) spans, "
                        f"got {type(found).__name__}") from None
    if any(not 0 <= s <= e <= len(text) for s, e, _ in spans):
        raise UserError(f"pii_mask.recognizers: '{name}' returned a span outside the text")
    return spans
