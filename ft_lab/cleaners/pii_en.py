"""English rules of ``pii_ner`` on top of spaCy's small English model: street addresses from patterns,
names from cue words and from their place in the text, and persons the model mistypes.

The patterns come from how addresses and names are written in support tickets, forms and letters; the
figures they give are in docs/data.md ("Speed and PII quality").
"""
from __future__ import annotations

import collections
import functools
import re

# Street words that are also common words ("way", "row", "close") count only when capitalised.
_STREET_WORDS = (r"(?i:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Highway|Hwy|Parkway|Pkwy)|Drive|Dr|Lane|Ln|Place|"
                 r"Pl|Court|Ct|Way|Terrace|Square|Sq|Close|Crescent|Row|Alley|Gardens|Circle|Trail")
_FUNCTION_WORD = r"(?!(?i:the|a|an|of|on|in|for|to|my|your|our|about|and|or|with|at|per|from|by|is|are|was|it)\b)"
_POSTCODE = (r"(?:\d{4,5}(?:[ \-]\d{2,4})?(?:[ ][A-Z]{2})?|\d{3}[ ]\d{2}|\d{2}-\d{3}|[A-Z]{1,2}\d{1,2}[A-Z]?[ ]\d[A-Z]{2}"
             r"|[A-Z]\d[A-Z][ ]?\d[A-Z]\d|\d{3})")
_EN_ADDRESS = re.compile(
    # "Oldesloer Strasse 79, Breitenhain, 7806", "Rua Forno 76, 5110-659 Quinta do Passadouro": a street, its
    # number, a town and a postcode (before or after the town)
    r"\b(?:(?i:ul|r|av)\.?[ ]+)?(?:[A-Z\u00c0-\u024f][\w\u00c0-\u024f'\-]*\.?[ ]+){1,4}(?:[a-z\u00df-\u024f]+\.?[ ]+){0,2}"
    r"\d{1,5}[A-Za-z]?\.?,[ ]+(?:" + _POSTCODE + r"[ ]+)?(?:[\w\u00c0-\u024f'.\-]+[ ]){0,4}[\w\u00c0-\u024f'.\-]+"
    r"(?:,[ ]+" + _POSTCODE + r"\b)?(?<=\d)(?<!\d{6})"
    r"|\b(?:(?i:ul|r|av)\.?[ ]+)?(?:[A-Z\u00c0-\u024f][\w\u00c0-\u024f'\-]*\.?[ ]+){1,4}(?:[a-z\u00df-\u024f]+\.?[ ]+){0,2}"
    r"\d{1,5}[A-Za-z]?\.?,[ ]+" + _POSTCODE + r"[ ]+[A-Z\u00c0-\u024f][\w\u00c0-\u024f'.\-]*"
    # "65 R. Mongi Bali, Dhouibette, 9116": the number first, then the street, the town and the postcode
    r"|\b\d{1,5}[ ]+(?:[A-Z\u00c0-\u024f][\w\u00c0-\u024f'\-]*\.?[ ]?){1,4},[ ]+(?:[\w\u00c0-\u024f'.\-]+[ ]){0,4}"
    r"[\w\u00c0-\u024f'.\-]+,[ ]+" + _POSTCODE + r"\b|"
    # "1755 Nelson Mandela Drive", "230 Wit Rd", "8 wressle road"
    r"\b\d{1,5}[A-Za-z]?(?:[ ,]+\d{1,5})?[ ]+(?:" + _FUNCTION_WORD + r"[A-Za-z\u00c0-\u024f][\w'.\-]*[ ]+){0,4}(?:"
    + _STREET_WORDS + r")\b\.?"
    # "Nassaustraat 123", "Ziegelgasse 26", "Auerstrasse 12"
    r"|\b[\w\u00c0-\u024f\-]*(?i:straat|strasse|straße|gasse|weg|laan|plein|gatan|gade|vej|utca|útja|ulica)[ ]+\d{1,5}\b"
    # "107 Rue Abdelaziz Thâalbi", "48 rue Descartes"
    r"|\b(?:\d{1,5}[ ]+)?\d{1,5},?[ ]+(?i:rue|avenue|boulevard|chemin|via|viale|calle|avenida|rua|piazza|plaza)[ ]+"
    r"(?:[\w\u00c0-\u024f'\-]+[ ]?){1,4}"
    # a street without its number: "corner of Via Acrone St.", "lives on Östanlid street." (not "street food")
    r"|\b(?:[A-Z\u00c0-\u024f][\w\u00c0-\u024f'\-]*[ ]+){1,4}(?:St\.|street(?=[ ]+in\b|[ \t]*[.,;!?]|[ \t]*$))"
    # "P.O. Box 43", "PO Box 211"
    r"|\b(?i:P\.?[ ]?O\.?[ ]?Box)[ ]+\d{1,6}\b"
    # "The restaurant is at 793 San Andrés.": a house number and a name closing the sentence (not "at 10 AM")
    r"|(?<=\bat[ ])\d{1,5}[ ]+(?!(?:AM|PM|GMT|UTC|CET|EST|PST|JST|BST|CEST)\b)"
    r"(?:[A-Z\u00c0-\u024f][\w\u00c0-\u024f'\-]*[ ]?){1,3}(?=[ \t]*(?:[.!?][ \t]*)?(?:\n|$))"
    # "Apt. 827", "Suite 246", "Unit 5"
    r"|\b(?i:Apt|Apartment|Suite|Ste|Unit|Flat)\.?[ ]*#?\d{1,5}\b"
    # a line of its own that is a house number, a street and a number: "11 Školní 939", "98 árpád fejedelem útja 45."
    r"|(?m:^[ \t]*\d{1,5}[ ]+" + _FUNCTION_WORD + r"(?:[^\W\d_][\w'.\-]*[ ]+){1,4}\d{1,5}[A-Za-z]?\.?[ \t]*$)"
    # an address block's street line, the apartment line right under it: "165 Booischotseweg\n Apt. 856"
    r"|(?<![^\s>?])\d{1,5}[ ]+(?:[^\W\d_][\w'.\-]*[ ]?){1,3}(?=[ \t]*\n[ \t>?]*(?i:apt|apartment|suite|unit|flat)\b)")
# After an address word ("address:", "lives at", "ZIP:"): a house number, a street name and a number
# ("46 velký průhon 426"), or a bare postcode. Group 1 is the address.
_EN_ADDRESS_AFTER_WORD = re.compile(
    r"(?:address(?:es)?|lives? (?:at|on|in)|living at|return(?:ed)? to|ship(?:ped)? to|deliver(?:ed)? to|"
    r"send (?:it )?to)\b[: ]+(?:are |is )?(\d{1,5}[ ]+[^\W\d_][^\s,;]*(?:[ ][^\W\d_][^\s,;]*){0,3}"
    # then a number ("46 velký průhon 426") or the end of the line or a town after a comma ("332 Törneby, GUALÖV")
    r"(?:[ ]+\d{1,5}\b\.?|(?:,[ ]+[^\W\d_][^\s,;]*(?:[ ][^\W\d_][^\s,;]*){0,2})?(?=[ \t]*(?:[.?!]?[ \t]*$|\n))))"
    r"|\b(?:zip|zip code|postcode|postal code)\b(?: is)?[: ]+(\d{4,6}(?:-\d{4})?|\d{3}[ ]\d{2})\b", re.I | re.M)
_TITLED_NAME = re.compile(r"(?:\b(?i:mr|mrs|ms|mx|dr|prof)\.|\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\b)[ ]+"
                          r"([A-Z\u00c0-\u00de][\w'\-]*(?:[ ][A-Z][\w'\-]*)?)")
# A capitalised word as names are written ("Jane", "Šimić"), and a name of one or two such words.
_WORD = r"[A-Z\u00c0-\u00de][a-z\u00df-\u024f'\-]+"
_NAME = _WORD + r"(?:[ ]" + _WORD + r")?"
# "my name is Jane", "Dear Jane Doe", "Regards,\nJane": the name after words that introduce a person.
_CUED_NAME = re.compile(r"(?:\b(?i:my name is|my name's|call me|calls me|i am|i'm|yours truly|sincerely|regards|thanks|"
                        r"thank you|dear|hi|hello|attn|attention|contact person|named (?:him|her|them)|"
                        r"(?:first|last|full) name is)\b[:,]?|\b(?i:name|signed|(?:first|last|full) name)[:?])[ ]*\n?[ ]*"
                        r"(" + _NAME + r")\b(?![ ](?:[A-Z][a-z]+[ ])*(?:Inc|Ltd|LLC|Corp|Bank|Team|Support|Service)\b)")
# Words that make a span an organisation's name, not a person's.
_ORG_WORD = re.compile(r"\b(?:Inc|Incorporated|Corp|Corporation|Co|Company|Ltd|Limited|LLC|LLP|PLC|GmbH|AG|SA|"
                       r"Group|Holdings|Bank|Banks|Capital|Partners|Associates|University|College|Institute|School|"
                       r"Academy|Hospital|Clinic|Foundation|Association|Society|Agency|Authority|Department|Ministry|"
                       r"Council|Committee|Commission|Board|Club|Team|Union|Party|Church|Software|Systems|"
                       r"Technologies|Technology|Tech|Solutions|Services|Consulting|Media|Records|Studios|Pictures|"
                       r"Airlines|Airways|Motors|Energy|Pharma|Labs|Laboratories|Network|Networks|Industries|"
                       r"International|Global|Enterprises|Store|Stores|Market|Insurance|Trust|Fund|Press|News|"
                       r"Times|Post|Journal|Magazine|Games|Entertainment|Communications|Telecom|Airport|Living|Support|"
                       r"Service|Help|Desk|Customer|Care|plc|Plc|Oyj|NV|AB|ASA|SpA|LTD|Pty|KK)\b"
                       # written glued or with dots: "Mitsui ChemicalsInc.", "Koninklijke Philips N.V."
                       r"|[a-z](?:Inc|Ltd|LTD|LLC|PLC|Corp)\b|\b(?:N\.V|S\.A|K\.K|S\.p\.A)\.")


def cued_names(text: str) -> list[tuple[int, int, str]]:
    """The name after Mr./Ms./Dr., "my name is", "Dear", "Regards,": a person, whatever the model says."""
    return [(m.start(1), m.end(1), "PERSON") for pattern in (_TITLED_NAME, _CUED_NAME) for m in pattern.finditer(text)
            if not _ORG_WORD.search(m.group(1))]


# What people do: the subject of these verbs, or the word after "my son", "said", is a person unless the
# model calls it an organisation ("Apple said").
_PERSON_VERB = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))(" + _NAME + r")(?=[ ](?:said|says|lives|lived|works|worked|spent|"
                          r"had given|gave|shouted|told|asked|wrote|was born|is from|comes from|married|smiled|"
                          r"laughed|replied|answered)\b)"
                          r"|\b(?:my|his|her|our|their) (?:kid|son|daughter|child|wife|husband|mother|father|mom|dad|"
                          r"brother|sister|friend|colleague|partner|boss|manager|neighbou?r|cousin|uncle|aunt) (" + _NAME + r")"
                          r"|\b(?:said|says|told|asked|thanked|married|replied to) (" + _NAME + r")\b"
                          # credits: "Directed By:    Tara Nuncija", "written by Anna Berg"
                          r"|\b(?i:directed|written|produced|performed|created|composed|authored|signed|reported|"
                          r"painted|designed|photographed|translated) (?i:by):?[ \t]+(" + _NAME + r")\b"
                          # a name called at the start: "Bethany, can I please speak to your boss?"
                          r"|(?:^|(?<=\n))(" + _NAME + r"),[ ]+(?=(?:can|could|would|will|please|do|did|are|have|I|you|"
                          r"we|thank)\b)")


_GREETINGS = frozenset({"hi", "hello", "hey", "dear", "thanks", "thank", "good", "morning", "evening", "greetings"})


@functools.cache
def stop_words() -> frozenset:
    """spaCy's English stop words (imported on first use: importing spaCy costs a second)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def verb_cued_names(text: str) -> list[tuple[int, int, str]]:
    """Names from what they do ("Torben shouted", "my kid Rasmus", "said Nelma"): persons unless the
    model says organisation."""
    out = []
    for m in _PERSON_VERB.finditer(text):
        group = m.lastindex  # one group per alternative: the one that matched
        value = m.group(group)
        first = value.split()[0].lower()
        if first not in stop_words() and first not in _GREETINGS and not _ORG_WORD.search(value):
            out.append((m.start(group), m.end(group), "PERSON"))
    return out


# A line holding only a name, as an address block opens: "> Dylan Willis", "Billing address: Toby West".
_NAME_LINE = re.compile(r"(?m)^[ \t>]*(?:(?i:billing address|shipping address|ship to|bill to|address|to|from):[ \t]*)?"
                        r"(" + _WORD + r"(?:[ ]" + _WORD + r"){1,2})[ \t]*$")


# A contact field: a name line with one of these within the next lines heads a contact card or a CV.
_CONTACT_FIELD = re.compile(r"(?im)^[ \t>]*(?:phone|tel|telephone|mobile|cell|e-?mail|fax|address|website)[ \t]*:")


def _lines_after(text: str, end: int, n: int) -> int:
    for _ in range(n):
        nl = text.find("\n", end + 1)
        end = len(text) if nl < 0 else nl
    return end


def addressee_names(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The name on the line of its own that opens an address block (an ADDRESS span starts within the next
    three lines) or a contact card (a "Phone:", "E-mail:" or "Address:" field within the next six)."""
    found = []
    addresses = [s for s, _, kind in spans if kind == "ADDRESS"]
    for m in _NAME_LINE.finditer(text):
        near = _lines_after(text, m.end(), 3)
        card = _CONTACT_FIELD.search(text, m.end(), _lines_after(text, near, 3))
        if (any(m.end() < a < near for a in addresses) or card) and not _ORG_WORD.search(m.group(1)):
            found.append((m.start(1), m.end(1), "PERSON"))
    return found


# A speaker's label in a transcript: "Ligio: ...". A person when the label opens two lines or a quote.
_SPEAKER = re.compile(r"(?m)^[ \t>]*(" + _WORD + r")[ \t]*:[ \t]*(\"|“)?")
_ROLES = frozenset({"agent", "customer", "user", "client", "caller", "support", "bot", "assistant", "system", "operator",
                    "rep", "representative", "admin", "moderator", "host", "guest", "interviewer", "me", "you", "q", "a",
                    "note", "notes", "subject", "from", "to", "date", "re", "cc", "bcc", "name", "address", "phone",
                    "email", "website", "summary", "answer", "question", "reply", "comment", "title", "status"})


def speaker_names(text: str) -> list[tuple[int, int, str]]:
    """Speakers' names in a transcript ("Ligio: "Who are you?"" on two lines); roles (Agent, Customer) are not."""
    labels = [m for m in _SPEAKER.finditer(text) if m.group(1).lower() not in _ROLES
              and m.group(1).lower() not in stop_words()]
    counts = collections.Counter(m.group(1) for m in labels)
    return [(m.start(1), m.end(1), "PERSON") for m in labels if counts[m.group(1)] > 1 or m.group(2)]


# Words after which a name is a place: "flew to Warszawa", "originally from Indemini", "based in Haldenstein".
_PLACE_CUE = re.compile(r"(?:\b(?:fl[eo]wn?|fly(?:ing)?|travel(?:l)?(?:ed|ing)?|returned|moved|relocated|drove|went|going|"
                        r"headed|trip|back) to|\b(?:originally|coming|came|comes|moved) from|\b(?:based|located|situated|"
                        r"born|living|lives|lived|live|staying|stayed|headquartered) in|\bin)[ ]+$", re.I)


def after_place_word(text: str, start: int) -> bool:
    """The words before ``start`` say a place comes next (and no possessive follows: "in Anna's car")."""
    if re.match(r"[\w\-]*(?:'s|’s)\b", text[start:start + 40]):
        return False
    return _PLACE_CUE.search(text, max(0, start - 30), start) is not None


def en_entities(doc):
    """The model's entities, a trailing possessive left out ("Virginia Harjo's" -> "Virginia Harjo"), and a
    person "of" a company split from it ("Lincoln Ingham of Ryanair Holdings plc")."""
    from spacy.tokens import Span

    for ent in doc.ents:
        if len(ent) > 1 and ent[-1].text in ("'s", "’s"):
            ent = Span(doc, ent.start, ent.end - 1, label=ent.label_)
        of = next((t.i for t in ent if t.text == "of"), None)
        if ent.label_ == "ORG" and of is not None and 1 <= of - ent.start <= 3 and of + 1 < ent.end \
                and all(t.is_title and t.is_alpha for t in doc[ent.start:of]) \
                and not _ORG_WORD.search(doc[ent.start:of].text) and _ORG_WORD.search(doc[of + 1:ent.end].text):
            yield Span(doc, ent.start, of, label="PERSON")
            yield Span(doc, of + 1, ent.end, label="ORG")
            continue
        yield ent


def en_retype(doc, ent, kind: str | None) -> str | None:
    """en_core_web_sm often calls a person an organisation: an "organisation" of one to three capitalised
    words with no organisation word in it (Inc, Bank, Software...) and not an acronym is taken for a person,
    and so is one written with a possessive ("Sumaya's kid")."""
    if kind in ("PERSON", "ORGANIZATION") and "\n" in ent.text.strip():
        return None  # a name and the company on the next line taken for one entity
    if kind == "PERSON" and _ORG_WORD.search(ent.text):
        return "ORGANIZATION"  # "Henry Boot plc"
    if kind in ("PERSON", "ORGANIZATION") and after_place_word(doc.text, ent.start_char):
        return "LOCATION"
    if kind != "ORGANIZATION" or len(ent) > 3 or _ORG_WORD.search(ent.text):
        return kind
    words = [t.text for t in ent if t.is_alpha]
    if len(words) != len(ent) or any(w.isupper() and len(w) > 1 for w in words):
        return kind  # IBM, KPMG: acronyms are organisations
    return "PERSON"


_HOUSE_NUMBER_BEFORE = re.compile(r"(?:^|\s)\d{1,5}[A-Za-z]?[ ]+$")
LINE_END = re.compile(r"[ \t]*(?:[.?!]?[ \t]*(?:\n|$))")
_STREET_END = re.compile(r"[ ]+\d{1,5}\b|[ \t]*(?:,|\n|$)")


def en_person_or_street(text: str, start: int, end: int) -> str:
    """A "person" written after a house number and before a number, a comma or the end of the line is a
    street ("05 Weblinger Gürtel 92", "63 N. Stadion")."""
    if _HOUSE_NUMBER_BEFORE.search(text, max(0, start - 12), start) and _STREET_END.match(text, end):
        return "ADDRESS"
    return "PERSON"


_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’\-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"(]\s*)$")
_I_WORDS = {"I", "I'm", "I've", "I'll", "I'd", "I’m", "I’ve", "I’ll", "I’d"}


def may_hold_a_name(text: str) -> bool:
    found = False
    for m in _CAPITALISED.finditer(text):
        found = True
        word = m.group()
        if word in _I_WORDS:
            continue
        if word.lower() in stop_words() and _SENTENCE_START.search(text, max(0, m.start() - 3), m.start()):
            continue
        return True
    return not found


def english_addresses(folded: str) -> list[tuple[int, int, str]]:
    """ADDRESS spans of a text (folded to half width): streets with their numbers, European street-town-postcode
    lines, apartment numbers, and the address after an address word."""
    spans = [(m.start(), m.end(), "ADDRESS") for m in _EN_ADDRESS.finditer(folded)]
    for m in _EN_ADDRESS_AFTER_WORD.finditer(folded):
        group = 1 if m.group(1) else 2
        spans.append((m.start(group), m.end(group), "ADDRESS"))
    return spans
