"""Japanese morphological analysis for scoring: UniDic (fugashi) or Sudachi, by name.

Both dictionaries install from PyPI (``unidic-lite``, ``sudachidict-core``) and load offline::

    words("附属のコンピュータで行いました。", "sudachi", form="normalized")
    # ['付属', 'の', 'コンピューター', 'で', '行う', 'ます', 'た']
    words("食べました", "unidic", form="base", content_only=True)     # ['食べる']

Forms: ``surface`` (the text as written), ``base`` (the dictionary form of an inflected word:
食べ -> 食べる, まし -> ます) and ``normalized`` (base form with spelling variants unified:
附属 -> 付属, シュミレーション -> シミュレーション; Sudachi's normalized form, UniDic's lemma).
Text is NFKC-normalized and Latin letters case-folded first, so width and case never count.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ft_lab.errors import UserError

ANALYZERS = ("unidic", "sudachi")
FORMS = ("surface", "base", "normalized")
SPLIT_MODES = ("A", "B", "C")
#: Parts of speech left out by ``content_only``: particles, auxiliary verbs, punctuation, symbols, blanks.
FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})
#: Parts of speech that are never words to score (punctuation, symbols, blanks).
PUNCT_POS = frozenset({"補助記号", "記号", "空白"})
# Sudachi refuses inputs over 49,149 bytes; split long texts at sentence ends or newlines well before.
_MAX_CHARS = 4000
_CHUNK = re.compile(r"[^。！？!?\n]*[。！？!?\n]+|[^。！？!?\n]+")


@dataclass(frozen=True)
class Morpheme:
    surface: str
    base: str
    normalized: str
    pos: str

    def form(self, name: str) -> str:
        return {"surface": self.surface, "base": self.base, "normalized": self.normalized}[name]


def _missing(analyzer: str, packages: str, exc: Exception) -> UserError:
    return UserError(f"analyzer '{analyzer}' needs {packages} ({type(exc).__name__}: {exc}); "
                     f"run `pip install {packages}`, or choose the other analyzer (unidic or sudachi)")


@lru_cache(maxsize=1)
def _unidic():
    try:
        import fugashi
        import unidic_lite
        return fugashi.Tagger(f'-d "{unidic_lite.DICDIR}"')
    except Exception as exc:  # not installed, or installed without its dictionary
        raise _missing("unidic", "fugashi unidic-lite", exc) from None


@lru_cache(maxsize=3)
def _sudachi(mode: str):
    try:
        from sudachipy import Dictionary, SplitMode
        return Dictionary(dict="core").create(getattr(SplitMode, mode))
    except Exception as exc:
        raise _missing("sudachi", "sudachipy sudachidict-core", exc) from None


def _unidic_morphemes(text: str) -> list[Morpheme]:
    out = []
    for w in _unidic()(text):
        f = w.feature
        pos = getattr(f, "pos1", None) or "名詞"
        base = getattr(f, "orthBase", None) or w.surface
        lemma = getattr(f, "lemma", None) or base
        # UniDic lemmas of loanwords carry the source word: コンピューター-computer
        lemma = lemma.split("-", 1)[0] if "-" in lemma[1:] and not lemma.isascii() else lemma
        out.append(Morpheme(w.surface, base, lemma, "空白" if not w.surface.strip() else pos))
    return out


def _sudachi_morphemes(text: str, mode: str) -> list[Morpheme]:
    tok = _sudachi(mode)
    out = []
    for m in tok.tokenize(text):
        pos = m.part_of_speech()[0]
        out.append(Morpheme(m.surface(), m.dictionary_form(), m.normalized_form(),
                            "空白" if not m.surface().strip() else pos))
    return out


def _chunks(text: str):
    """Pieces of at most ``_MAX_CHARS`` characters, cut after sentence ends or newlines where possible."""
    if len(text) <= _MAX_CHARS:
        yield text
        return
    piece = ""
    for part in _CHUNK.findall(text):
        while len(part) > _MAX_CHARS:  # one endless sentence: cut it by length
            if piece:
                yield piece
                piece = ""
            yield part[:_MAX_CHARS]
            part = part[_MAX_CHARS:]
        if len(piece) + len(part) > _MAX_CHARS:
            yield piece
            piece = ""
        piece += part
    if piece:
        yield piece


def prepare(text: str) -> str:
    """What the analyzers read: NFKC (width unified) and Latin letters case-folded."""
    return unicodedata.normalize("NFKC", str(text)).casefold()


def check_analyzer(analyzer: str, split_mode: str = "A") -> None:
    """Raise a one-line ``UserError`` when the analyzer cannot start (a package or dictionary missing)."""
    if analyzer not in ANALYZERS:
        raise UserError(f"analyzer: expected one of {', '.join(ANALYZERS)}, got {analyzer!r}")
    if analyzer == "unidic":
        _unidic()
    else:
        if split_mode not in SPLIT_MODES:
            raise UserError(f"split_mode: expected one of A, B, C, got {split_mode!r}")
        _sudachi(split_mode)


def morphemes(text: str, analyzer: str = "sudachi", split_mode: str = "A") -> list[Morpheme]:
    """Every morpheme of ``text`` (after ``prepare``), blanks included, in order."""
    check_analyzer(analyzer, split_mode)
    text = prepare(text)
    out: list[Morpheme] = []
    for chunk in _chunks(text):
        if chunk:
            out += _unidic_morphemes(chunk) if analyzer == "unidic" else _sudachi_morphemes(chunk, split_mode)
    return out


def words(text: str, analyzer: str = "sudachi", form: str = "surface", split_mode: str = "A",
          content_only: bool = False, punctuation: bool = False) -> list[str]:
    """The words to score: the chosen ``form`` of each morpheme, blanks dropped; punctuation and symbols
    dropped unless ``punctuation``; particles and auxiliary verbs too when ``content_only``."""
    if form not in FORMS:
        raise UserError(f"form: expected one of {', '.join(FORMS)}, got {form!r}")
    skip = FUNCTION_POS if content_only else (frozenset({"空白"}) if punctuation else PUNCT_POS)
    return [m.form(form) for m in morphemes(text, analyzer, split_mode) if m.pos not in skip and m.surface.strip()]


def spans(text: str, split_mode: str = "A"):
    """Sudachi's morphemes of ``text`` as it is (no NFKC): ``(begin, end, pos, pos_detail)`` offsets."""
    check_analyzer("sudachi", split_mode)
    tok, offset = _sudachi(split_mode), 0
    for chunk in _chunks(text):
        for m in tok.tokenize(chunk) if chunk else ():
            pos = m.part_of_speech()
            yield offset + m.begin(), offset + m.end(), pos[0], pos[1]
        offset += len(chunk)


def known_word(text: str) -> bool:
    """Whether Sudachi (long units, mode C) reads ``text`` as one word in its dictionary."""
    check_analyzer("sudachi", "C")
    got = _sudachi("C").tokenize(text)
    return len(got) == 1 and not got[0].is_oov()


def describe(analyzer: str, split_mode: str, form: str) -> str:
    """The tokenizer's name recorded with a score, e.g. ``sudachi-core-A/normalized``."""
    if analyzer == "unidic":
        return f"unidic-lite/{form}"
    return f"sudachi-core-{split_mode}/{form}"
