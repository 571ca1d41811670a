"""``ja_normalize``: the Japanese spelling noise NFKC leaves (after neologdn's rules, made safe to apply).

Run it after the core ``normalize`` (which does NFKC, width, control characters and whitespace ends)::

    JaNormalize().normalize_text("コンピュ−タ－を ご 利用 の 方は 03−1234−5678 まで〜〜")
    # 'コンピューターをご利用の方は 03-1234-5678 まで〜'

- a dash-like mark after kana becomes the long-vowel mark when it ends a word or makes one word Sudachi
  knows (コンピュ−タ -> コンピュータ, メ-ルアドレス -> メールアドレス; フランス-アメリカ stays), and runs of
  long-vowel marks are shortened (すごーーーい -> すごーい);
- hyphen variants between digits or Latin letters become ``-`` (phone numbers, part numbers), so that
  ``pii_mask`` and dedup see one spelling;
- tilde and wave-dash variants (～ ∼ 〜 〰, and ``~`` next to Japanese or between digits) become one;
- spaces between Japanese characters (an artefact of copy-paste, OCR and word-by-word typing) are
  removed, except between two nouns, where Sudachi finds a space may mean something (a title, a search
  query, a list: 確率 基礎); spaces between Latin words are kept.
Unlike neologdn, em dashes and box-drawing lines outside words are left alone, and tildes are unified,
not deleted (「10時〜18時」 keeps its range).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional

from ft_lab import Cleaner
from ft_lab.cleaners.text import map_rows

from .analyzer import known_word, spans

_KANA_LETTERS = "\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fd\u30fe\uff66-\uff9d"
_KANA = _KANA_LETTERS + "\u30fc"
_JA = _KANA + "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3001-\u3003\u3008-\u3011\u3014-\u301f\uff01\uff1f"
# dash-like marks typed or OCR'd in place of the long-vowel mark ー: a lone one after kana is a candidate
# (the Japanese dash ―― and ruled lines ━━━ are runs, and 'ページ-1' is followed by a digit: both kept)
_DASHES = "\u002d\u02d7\u2010-\u2013\u2043\u2212\u2500\u2501\uff0d\ufe63"  # half-width ｰ: NFKC's job
_LONG_AFTER_KANA = re.compile(f"(?<=[{_KANA}])[{_DASHES}](?![{_DASHES}0-9A-Za-z])")
_KATAKANA = "\u30a1-\u30fa\u30fc"
_KATA_BEFORE = re.compile(f"[{_KATAKANA}]*\\Z")
_KATA_AFTER = re.compile(f"[{_KATAKANA}]*")
_LONG_RUN = re.compile(f"(?<=[{_KANA_LETTERS}])ー+")
_HYPHEN = re.compile(r"(?<=[0-9A-Za-z０-９Ａ-Ｚａ-ｚ])[\u02d7\u2010-\u2013\u2043\u2212\uff0d\ufe63](?=[0-9A-Za-z０-９Ａ-Ｚａ-ｚ])")
_WIDE_TILDES = re.compile("[\u301c\uff5e\u223c\u223e\u3030\u02dc]+")
_ASCII_TILDE = re.compile(f"(?<=[{_JA}0-9])~+|~+(?=[{_JA}])")
_SPACE = "[ \u3000\u00a0]+"
_BETWEEN = re.compile(f"(?<=[{_JA}]){_SPACE}(?=[{_JA}])")
_AROUND = re.compile(f"(?<=[{_JA}]){_SPACE}(?=\\S)|(?<=\\S){_SPACE}(?=[{_JA}])")
_REPEATABLE = re.compile(f"([{_KANA}\u3001\u3002\uff01\uff1f\u2026\u30fb\u266a\u2606\u2605])\\1+")
TILDES = {"wave_dash": "\u301c", "ascii": "~"}
# only a space between two nouns (a title, a query, a list, a name: 確率 基礎) may mean something
_NOUNS = frozenset({"名詞", "代名詞"})


class JaNormalize(Cleaner):
    """Japanese spelling noise: long-vowel marks, hyphens, tildes and spaces between Japanese words."""

    name = "ja_normalize"

    @dataclass
    class Config:
        long_vowel: bool = field(default=True, metadata={
            "help": "after kana, a lone dash-like mark (－ − ‐ ─ -) that ends a word or makes one Sudachi "
                    "knows becomes ー: コンピュ−タ -> コンピュータ; フランス-アメリカ stays"})
        max_long_vowels: Optional[int] = field(default=1, metadata={
            "help": "shorten runs of ー after kana to this many (すごーーーい -> すごーい); none: keep"})
        hyphens: bool = field(default=True, metadata={
            "help": "between digits or Latin letters, hyphen variants (‐ – − －) become '-' "
                    "(03−1234−5678 -> 03-1234-5678)"})
        tilde: Literal["wave_dash", "ascii", "keep"] = field(default="wave_dash", metadata={
            "help": "unify tilde variants (～ ∼ 〜 〰, and ~ next to Japanese or digits) to 〜 (wave_dash) or ~ (ascii)"})
        spaces: Literal["inside_phrases", "between_japanese", "around_japanese", "keep"] = field(
            default="inside_phrases", metadata={
                "help": "inside_phrases: remove spaces between Japanese characters except between two nouns "
                        "(パスワード を 忘れ ました -> パスワードを忘れました; 確率 基礎 stays; Sudachi reads the "
                        "words); between_japanese: every such space; around_japanese: also next to Latin "
                        "('Python で' -> 'Pythonで'); keep"})
        max_repeat: Optional[int] = field(default=None, metadata={
            "help": "shorten runs of one repeated kana or Japanese punctuation to this many "
                    "(2: ！！！！ -> ！！); digits, Latin letters and kanji never; none: off"})

        def __post_init__(self):
            for name in ("max_long_vowels", "max_repeat"):
                value = getattr(self, name)
                if value is not None and value < 1:
                    raise ValueError(f"{name} must be 1 or more (or none to keep runs as they are)")

    def normalize_text(self, text: str) -> str:
        c = self.config
        if c.long_vowel:
            text = _LONG_AFTER_KANA.sub(lambda m: _long_vowel(text, m), text)
        if c.max_long_vowels is not None:
            text = _LONG_RUN.sub(lambda m: "ー" * min(len(m.group()), c.max_long_vowels), text)
        if c.hyphens:
            text = _HYPHEN.sub("-", text)
        if c.tilde != "keep":
            mark = TILDES[c.tilde]
            text = _WIDE_TILDES.sub(mark, text)
            text = _ASCII_TILDE.sub(mark, text)
        if c.spaces == "inside_phrases" and _BETWEEN.search(text):
            text = "\n".join(_phrase_spaces(line) for line in text.split("\n"))
        elif c.spaces == "between_japanese":
            text = _BETWEEN.sub("", text)
        elif c.spaces == "around_japanese":
            text = _AROUND.sub("", text)
        if c.max_repeat is not None:
            text = _REPEATABLE.sub(lambda m: m.group(1) * min(len(m.group()), c.max_repeat), text)
        return text

    def clean(self, rows, columns):
        return map_rows(rows, columns, self.normalize_text)


def _phrase_spaces(line: str) -> str:
    """``line`` without the spaces between Japanese characters, except between two nouns (Sudachi's
    reading): a space inside a word, or next to a particle, verb, adverb, affix or punctuation goes."""
    found = list(_BETWEEN.finditer(line))
    if not found:
        return line
    pieces, cuts, last = [], [], 0
    for m in found:
        pieces.append(line[last:m.start()])
        cuts.append(sum(map(len, pieces)))
        last = m.end()
    pieces.append(line[last:])
    starts, ends = {}, {}
    for begin, end, pos, detail in spans("".join(pieces)):
        starts[begin] = ends[end] = pos if detail != "非自立可能" else "助動詞"  # こと, ため: not content
    out = [pieces[0]]
    for m, cut, piece in zip(found, cuts, pieces[1:]):
        keep = starts.get(cut) in _NOUNS and ends.get(cut) in _NOUNS
        out += [m.group() if keep else "", piece]
    return "".join(out)


def _long_vowel(text: str, m: re.Match) -> str:
    """ー for a dash after kana that ends a word (コンピュ-タ, すご-い) or makes one word Sudachi knows
    (メ-ルアドレス); the dash itself between two words (フランス-アメリカ, ヴァレンティア-ニューファンドランド)."""
    before = _KATA_BEFORE.search(text, 0, m.start()).group()
    after = _KATA_AFTER.match(text, m.end()).group()
    if len(after) <= 2 or (before and known_word(before + "ー" + after)):
        return "ー"
    return m.group()
