"""Japanese names from the dictionary tags of SudachiPy (the tokenizer GiNZA runs).

Sudachi's dictionary marks proper nouns by kind: ``名詞-固有名詞-人名-姓`` / ``-名`` / ``-一般`` for
person names, ``名詞-固有名詞-地名-一般`` for places and ``名詞-固有名詞-一般`` for the others
(companies, teams, works), which are taken for organisations. Reading these tags needs no neural network, so
it runs at tokenizer speed (thousands of short texts a second); ``pii_ner`` uses it alone in
``japanese: fast`` and together with GiNZA's NER in ``japanese: model``, where it finds the names
GiNZA misses (rare given names, names written in katakana).

The rules come from how Japanese names are written, not from any benchmark's answers:
- tokens of one kind in a row are one name (``山田`` + ``太郎``), also across ``・`` (``ジョン・スミス``);
- a name followed by a person suffix (``さん``, ``様``, ``氏``, ``先生``) is a person, even where the
  dictionary calls it a place (many surnames are place names: ``川崎さん``);
- a name of one character (``鶴``, ``董``) counts only before a suffix or a title (``社長``, ``監督``);
- a name followed directly by another noun or a suffix is part of a longer word (``ヒギンズ社``,
  ``山田城``, ``羽田空港`` as a place is kept by the place suffixes) and is left to the NER model.
"""
from __future__ import annotations

import re

#: Words written right after a person's name.
PERSON_SUFFIX = frozenset({"さん", "様", "さま", "氏", "君", "くん", "ちゃん", "殿", "先生", "夫人", "嬢", "家", "一家",
                           "たち", "ら", "達"})
TITLES = frozenset({"先生", "社長", "会長", "副社長", "部長", "課長", "係長", "店長", "院長", "校長", "学長", "理事長",
                    "監督", "選手", "投手", "捕手", "議員", "知事", "市長", "町長", "村長", "首相", "総理",
                    "大統領", "大臣", "長官", "教授", "准教授", "博士", "医師", "弁護士", "記者", "容疑者", "被告",
                    "被告人", "主任", "担当", "夫妻", "王", "皇帝", "将軍", "隊長", "艦長", "師匠", "コーチ",
                    "アナウンサー", "キャプテン", "オーナー", "副大統領", "総統", "主席", "国王", "女王", "大使", "外相",
                    "蔵相", "元帥", "大将", "中将", "少将", "大佐", "中佐", "少佐", "大尉", "提督", "公爵", "侯爵", "伯爵",
                    "子爵", "男爵", "牧師", "神父", "司祭", "住職", "自身", "本人", "等", "方"})
# A place name followed by one of these is still a place (``大阪府``, ``東京駅``, ``横浜市内``).
_PLACE_SUFFIX = re.compile(r"^(?:都|道|府|県|市|区|町|村|郡|州|国|島|駅|港|空港|湖|山|川|半島|地方|郊外|市内|県内|"
                           r"出身|在住|方面|周辺|沖|通り|丁目|番地)$")
_JOINERS = frozenset({"・", "＝"})


def _kind(tag: str) -> str | None:
    if "固有名詞-人名" in tag:
        return "PERSON"
    return "LOCATION" if "固有名詞-地名" in tag else None


def dictionary_names(doc) -> list[tuple[int, int, str]]:
    """PERSON and LOCATION spans (start, end, type) of a spaCy doc tokenized by Sudachi."""
    toks = list(doc)
    n = len(toks)
    out = []
    i = 0
    while i < n:
        kind = _kind(toks[i].tag_)
        if kind is None:
            i += 1
            continue
        j = i + 1
        while j < n and (_kind(toks[j].tag_) == kind
                         or toks[j].text in _JOINERS and j + 1 < n and _kind(toks[j + 1].tag_) == kind):
            j += 1
        start, end = toks[i].idx, toks[j - 1].idx + len(toks[j - 1].text)
        nxt = toks[j] if j < n else None
        keep = end - start > 1 or nxt is not None and (nxt.text in PERSON_SUFFIX or nxt.text in TITLES)
        if nxt is not None and keep:
            if nxt.text in PERSON_SUFFIX or kind == "PERSON" and nxt.text in TITLES:
                kind = "PERSON"
            elif kind == "LOCATION" and _PLACE_SUFFIX.match(nxt.text):
                pass
            elif nxt.tag_.startswith(("名詞", "接尾辞")) and not nxt.tag_.startswith("名詞-数詞"):
                keep = False  # part of a longer word: a company, a building, a team
        if keep:
            out.append((start, end, kind))
        i = j
    return out


def dictionary_organisations(doc) -> list[tuple[int, int, str]]:
    """ORGANIZATION spans: a proper noun the dictionary knows as no person and no place (``名詞-固有名詞-一般``:
    companies, teams, bands, but also works and products), with the nouns written right after it
    (``トヨタ自動車``, ``ソニー銀行``)."""
    toks = list(doc)
    out = []
    i = 0
    while i < len(toks):
        if not toks[i].tag_.startswith("名詞-固有名詞-一般"):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and toks[j].tag_.startswith(("名詞", "接尾辞")) and not toks[j].tag_.startswith("名詞-数詞"):
            j += 1
        out.append((toks[i].idx, toks[j - 1].idx + len(toks[j - 1].text), "ORGANIZATION"))
        i = j
    return out
