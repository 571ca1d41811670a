"""Language detection and tokenizers for scoring Japanese, Chinese and English text.

Word-based metrics (BLEU, ROUGE) need words, and Japanese and Chinese are written without spaces.
This module picks the language of a corpus and a tokenizer for it::

    detect_language(["今日は晴れです。"])          # 'ja'
    tokenize("東京に住む", "ja", "char")          # ['東', '京', 'に', '住', 'む']
    tokenize("Hello, world", "en")                # ['hello', 'world']
    bleu_tokenizer("ja", "char")                  # ('char', None): sacrebleu's own char tokenizer

The character tokenizer works everywhere. The morphological one (``"morph"``) needs the optional
packages ``fugashi`` and ``unidic-lite`` (``pip install fugashi unidic-lite``).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable, Iterable

from ..errors import UserError

LANGUAGES = ("auto", "ja", "zh", "en", "other")

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
# One CJK character (Han, kana, hangul, CJK punctuation and full-width forms) is one token.
_CJK_CHAR = r"[\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
_TOKEN = re.compile(_CJK_CHAR + r"|(?:(?!" + _CJK_CHAR + r")[^\W_])+", re.UNICODE)


def detect_language(texts: Iterable[str], sample: int = 500) -> str:
    """'ja' when kana appear, 'zh' when Han characters appear without kana, else 'en'.

    Looks at the first ``sample`` texts; a corpus counts as CJK when at least 10% of its
    letters are CJK characters (so an English corpus quoting one kanji stays English).
    """
    kana = han = letters = 0
    for i, text in enumerate(texts):
        if i >= sample:
            break
        text = str(text)
        kana += len(_KANA.findall(text))
        han += len(_HAN.findall(text)) + len(_HANGUL.findall(text))
        letters += sum(ch.isalnum() for ch in text)
    if letters == 0 or (kana + han) / letters < 0.1:
        return "en"
    return "ja" if kana > 0 else "zh"


def resolve_language(language: str, texts: Iterable[str]) -> str:
    if language not in LANGUAGES:
        raise UserError(f"language: expected one of {', '.join(LANGUAGES)}, got {language!r}")
    return detect_language(texts) if language == "auto" else language


@lru_cache(maxsize=1)
def _fugashi_tagger():
    try:
        import fugashi
    except ImportError:
        raise UserError("japanese_tokenizer 'morph' needs the optional packages fugashi and unidic-lite: "
                        "run `pip install fugashi unidic-lite`, or use japanese_tokenizer: char") from None
    try:
        return fugashi.Tagger()
    except Exception as exc:  # installed without a dictionary
        raise UserError(f"fugashi is installed but could not start ({exc}); run `pip install unidic-lite`, "
                        f"or use japanese_tokenizer: char") from None


def morph_available() -> bool:
    try:
        _fugashi_tagger()
        return True
    except UserError:
        return False


def morph_words(text: str) -> list[str]:
    """Japanese words from the morphological analyser (fugashi with UniDic)."""
    return [w.surface for w in _fugashi_tagger()(text) if w.surface.strip()]


def char_words(text: str) -> list[str]:
    """CJK characters one by one; runs of other letters and digits as words; punctuation dropped."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def tokenize(text: str, language: str, japanese_tokenizer: str = "char") -> list[str]:
    """Word tokens of ``text`` for ROUGE: lowercased, punctuation dropped, CJK split as chosen."""
    if language == "ja" and japanese_tokenizer == "morph":
        normal = unicodedata.normalize("NFKC", text).lower()
        return [w for w in morph_words(normal) if any(ch.isalnum() for ch in w)]
    return char_words(text)


def bleu_tokenizer(language: str, japanese_tokenizer: str = "char") -> tuple[str, Callable[[str], str] | None]:
    """The sacrebleu tokenizer name for a language, and a pre-tokenizer to apply first (or None).

    Japanese: sacrebleu's ``char`` (every character a token) or, with ``morph``, fugashi words joined
    by spaces and then sacrebleu's ``none``. Chinese: ``zh``. English and others: ``13a``.
    The returned name is what is recorded with the score.
    """
    if language == "ja":
        if japanese_tokenizer == "morph":
            _fugashi_tagger()
            return "ja-fugashi", lambda s: " ".join(morph_words(s))
        return "char", None
    if language == "zh":
        return "zh", None
    return "13a", None
