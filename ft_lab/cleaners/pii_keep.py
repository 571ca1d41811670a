"""What ``pii_ner`` keeps: brands, payment services, products and model numbers are not personal data.

The NER models were trained on news, where a capitalised word after "with" is usually a person; in
support texts and FAQs it is a product ("top up with Google Pay", "my Apple Watch", "a VISA or
MasterCard ATM"). A person, organisation or place span is kept (not masked) when:

- it lies inside a name of ``not_personal.json`` (a curated list of brands, payment services, card
  networks and products, matched case-insensitively on whole words) or inside a name the product words
  below extend it to ("Zelle Pay" -> "Zelle"),
- it is followed or ended by a product word ("<X> Pay", "<X> Watch", "<X> card", "<X> ATM"),
- it is the prefix of a model number or product code ("ABC-1234-5678", "XR-500"),
- it is one common word the model took for a name ("My card", "Today i tried", "on the Tube").

A name written as part of a longer product or organisation name is covered by the same rules: the span
lies inside the product's name. The allow-list and deny-list of a recipe come on top (``PiiMask``).
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from .pii import term_pattern
from .pii_en import stop_words

GAZETTEER = Path(__file__).with_name("not_personal.json")
# Words that make the capitalised word before them a product's or service's name.
_PRODUCT_WORD = (r"(?i:pay|wallet|card|cards|atm|atms|account|app|cash|points|rewards|miles)\b"
                 r"|(?:Watch|Play|Store|Music|TV|Phone|Pad|Pods|Pass|Prime|Plus|Pro|Max|Mini|Express)\b")
_PRODUCT_AFTER = re.compile(r"[ ]?(?:" + _PRODUCT_WORD + r")")
# Currencies are named after countries and people: "Russian Ruble", "Swiss franc".
_CURRENCY = (r"(?i:rubles?|roubles?|dollars?|euros?|pounds?|sterling|yen|pesos?|francs?|rupees?|yuan|renminbi|lira|"
             r"kron[ae]|kronor|zloty|dinars?|dirhams?|rand|baht|forint|koruna|shekels?|ringgit|rupiah|won|dong)\b")
_PRODUCT_END = re.compile(r"[ ](?:" + _PRODUCT_WORD + "|" + _CURRENCY + r")$|[a-z](?:card|pay)$", re.I)
_CURRENCY_AFTER = re.compile(r"[ ]" + _CURRENCY)
# A model number or product code: letters, then a hyphen or digits and more code ("ABC-1234-5678", "XR500").
_CODE_AFTER = re.compile(r"-?\d|-[A-Z0-9]+\d")
_CODE_BEFORE = re.compile(r"[A-Za-z0-9]-$")
_NOT_NAMES = frozenset({"i'm", "i’m", "i've", "i'll", "i'd", "today", "tomorrow", "yesterday", "tonight", "morning", "evening", "afternoon", "weekend",
                         "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "please",
                         "thanks", "hello", "hi", "hey", "ok", "okay", "yes", "no", "sorry"})
_THE_BEFORE = re.compile(r"(?<![A-Za-z])the[ ]+$")
# "my Landlord", "verify my Identity": a possessive before a capitalised word makes it a thing or a role.
_POSSESSIVE_BEFORE = re.compile(r"(?<![A-Za-z])(?i:my|your|our|their)[ ]+$")
# "Delete this account!": a capitalised word opening the text, followed by what follows a verb.
_SENTENCE_END = re.compile(r"[.!?][ ]+$")
_VERB_OPENING = re.compile(r"[ ]+(?:this|that|these|those|my|the|a|an|your|our|it|me|all|every)\b")
_NAMED = ("PERSON", "ORGANIZATION", "LOCATION")


@functools.cache
def gazetteer_terms() -> tuple[str, ...]:
    data = json.loads(GAZETTEER.read_text(encoding="utf-8"))
    return tuple(sorted({t for k, terms in data.items() if not k.startswith("_") for t in terms}, key=len,
                        reverse=True))


@functools.cache
def _gazetteer_pattern() -> re.Pattern:
    return term_pattern(gazetteer_terms())


def product_names(text: str) -> list[tuple[int, int]]:
    """Where the text names a brand, payment service or product of the gazetteer, with the product words
    written after it ("Google Pay", "Apple watch")."""
    out = []
    for m in _gazetteer_pattern().finditer(text):
        end = m.end()
        while (more := _PRODUCT_AFTER.match(text, end)) is not None:
            end = more.end()
        out.append((m.start(), end))
    return out


def _common_word(value: str, text: str, start: int) -> bool:
    """One word that is no name: a stop word or a time word ("My card", "Today i tried"), or a word after
    a lower-case "the" ("on the Tube")."""
    if " " in value.strip():
        return False
    low = value.strip().lower()
    if low in stop_words() or low in _NOT_NAMES:
        return True
    before = text[max(0, start - 7):start]
    if _THE_BEFORE.search(before) or _POSSESSIVE_BEFORE.search(before):
        return True
    opening = not text[:start].strip() or _SENTENCE_END.search(text, max(0, start - 4), start) is not None
    return opening and _VERB_OPENING.match(text, start + len(value)) is not None


def is_kept(text: str, start: int, end: int, products: list[tuple[int, int]]) -> bool:
    """The span ``text[start:end]`` (a person, organisation or place) names no one: see the module's rules."""
    value = text[start:end]
    if any(ps <= start and end <= pe for ps, pe in products):
        return True
    if (_PRODUCT_AFTER.match(text, end) and value[:1].isupper() or _PRODUCT_END.search(value)
            or _CURRENCY_AFTER.match(text, end)):
        return True
    if value.isascii() and (_CODE_AFTER.match(text, end) or _CODE_BEFORE.search(text, max(0, start - 2), start)):
        return True
    return value.isascii() and _common_word(value, text, start)


def keep_products(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """``spans`` without the persons, organisations and places that are products, brands or codes."""
    named = [s for s in spans if s[2] in _NAMED]
    if not named:
        return spans
    products = product_names(text)
    return [s for s in spans if s[2] not in _NAMED or not is_kept(text, s[0], s[1], products)]
