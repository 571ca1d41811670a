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
                    "子爵", "男爵", "皇子", "王子", "王女", "皇女", "上皇", "天皇", "法皇", "親王", "内親王", "卿", "牧師", "神父", "司祭", "住職", "自身", "本人", "等", "方"})
# A place name followed by one of these is still a place (``大阪府``, ``東京駅``, ``横浜市内``).
_PLACE_SUFFIX = re.compile(r"^(?:都|道|府|県|市|区|町|村|郡|州|国|島|駅|港|空港|湖|山|川|半島|地方|郊外|市内|県内|"
                           r"出身|在住|方面|周辺|沖|通り|丁目|番地)$")
#: Marks that join the words of one name: ジョン・スミス, グルーバー＝デ・ガスペリ.
JOINERS = frozenset({"・", "＝", "="})


def _kind(tag: str) -> str | None:
    if "固有名詞-人名" in tag:
        return "PERSON"
    return "LOCATION" if "固有名詞-地名" in tag else None


# Words that make a name part of the name of something else: a government, a camp, a foundation, a prize,
# a treaty (李承晩政権, カール・ゼーリヒ財団, グルーバー=デ・ガスペリ協定): an organisation; or a building, a
# road (山田城, スカイラー砦): a place.
NAMED_AFTER = {**dict.fromkeys(("政権", "内閣", "陣営", "司令部", "政府", "派", "一派", "一門", "方", "軍", "財団", "協会",
                                 "基金", "賞", "杯", "学院", "学園", "研究所", "事務所", "商会", "商店", "製作所", "劇団",
                                 "社", "財閥", "グループ", "ゼミナール", "ゼミ", "楽団", "管弦楽団", "病院", "大学", "高校",
                                 "学校", "工業", "電機", "自動車", "銀行", "商事", "製薬", "撮影所", "事件", "条約", "協定",
                                 "宣言", "計画", "作戦", "法", "効果", "定理", "方程式", "症候群", "病"), "ORGANIZATION"),
                **dict.fromkeys(("記念館", "美術館", "劇場", "通り", "線", "橋", "寺", "神社", "城", "砦", "古墳", "空港",
                                 "駅", "飛行場"), "LOCATION")}


def named_after(toks, j: int) -> tuple[int, str] | None:
    """Where the name ending before token ``j`` is part of a longer name closed by a word of ``NAMED_AFTER``
    (across ``・`` and more katakana words: カール・ゼーリヒ財団): the index after that word and the type of
    the longer name; None otherwise."""
    k, steps = j, 0
    while k + 1 < len(toks) and toks[k].text in JOINERS and steps < 4:
        k += 2  # the joiner and the word after it
        steps += 1
    if k < len(toks) and toks[k].text in NAMED_AFTER:
        return k + 1, NAMED_AFTER[toks[k].text]
    return None


_TITLE_END = re.compile(r"^[\u4e00-\u9fff]+長$|^(?:書記|検事|判事|参謀|委員|代表|代理)$")


def title_after(toks, j: int) -> bool:
    """A title closes the nouns from token ``j`` on (習近平 + 国家主席, 河村建夫 + 幹事長, 嘉納 + 館長)."""
    for k in range(j, min(j + 4, len(toks))):
        tok = toks[k]
        if not tok.tag_.startswith(("名詞-普通名詞", "名詞-数詞", "接頭辞", "接尾辞")):
            return False
        if tok.text in TITLES or _TITLE_END.match(tok.text) and len(tok.text) > 1:
            return True
    return False


def dictionary_names(doc) -> list[tuple[int, int, str]]:
    """PERSON and LOCATION spans (start, end, type) of a spaCy doc tokenized by Sudachi."""
    toks = list(doc)
    n = len(toks)
    kinds = [_kind(t.tag_) for t in toks]
    for k in range(n - 1):  # a place name before a given name is a surname (河村 建夫)
        if kinds[k] == "LOCATION" and "人名-名" in toks[k + 1].tag_:
            kinds[k] = "PERSON"
    out = []
    i = 0
    while i < n:
        kind = kinds[i]
        if kind is None:
            i += 1
            continue
        j = i + 1
        while j < n and (kinds[j] == kind or toks[j].text in JOINERS and j + 1 < n and kinds[j + 1] == kind):
            j += 1
        start, end = toks[i].idx, toks[j - 1].idx + len(toks[j - 1].text)
        nxt = toks[j] if j < n else None
        longer = named_after(toks, j) if kind == "PERSON" else None
        if longer is not None:  # a person's name inside an organisation's or a building's: that name
            after, kind = longer
            out.append((start, toks[after - 1].idx + len(toks[after - 1].text), kind))
            i = after
            continue
        keep = end - start > 1 or nxt is not None and (nxt.text in PERSON_SUFFIX or nxt.text in TITLES)
        if nxt is not None and keep:
            if nxt.text in PERSON_SUFFIX or kind == "PERSON" and (nxt.text in TITLES or title_after(toks, j)):
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


_LATIN_ACRONYM = re.compile(r"^[A-Z0-9.&\-]+$")
_KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fc]+$")


def _known_word(tok) -> bool:
    """A word of the dictionary: Sudachi gives unknown kanji words no reading (their reading is the surface)."""
    reading = tok.morph.get("Reading")
    return not (reading and reading[0] == tok.text and re.search(r"[\u4e00-\u9fff]", tok.text))


def surname_place(ent) -> bool:
    """``ent`` is one place name of the dictionary written in kanji, which many surnames are (``川崎``, ``松岡``):
    when the network calls it a person, the context made it one."""
    return len(ent) == 1 and _kind(ent[0].tag_) == "LOCATION" and re.fullmatch(r"[\u4e00-\u9fff\u3005]+", ent.text) is not None


# One character closing the name of a group or a building (山崎派, 鈴木組, 田中屋).
_ONE_CHAR_NAMED = frozenset("派社組党館堂屋店院寺局座会団隊号丸線橋山川家軍方城駅")


def model_person(ent) -> str | None:
    """GiNZA's PERSON ``ent`` where the dictionary found no person: the type it is taken for (None: dropped).

    The network often calls teams, companies and words of a compound persons. The dictionary settles it:
    - a person suffix or a title after it (``さん``, ``監督``) makes it a person;
    - one character alone is too short to tell (as for the dictionary's names);
    - a place name and more (``フィラデルフィア・イーグルス``, ``北京国安``, ``常盤商会``) names a team, a company
      or a building: an organisation; a place name alone in katakana (``エディンバラ``) is a place (a place
      name in kanji is often a surname: ``川崎``);
    - a proper noun the dictionary knows as no person (``マツダ``, ``日産自動車``) is none, and so is a common
      word the dictionary knows (``大聖堂``, ``横綱``) standing alone or closing the name (``中島飛行機``);
    - a word in capitals (``EMCC``, ``GHQ``) is an acronym."""
    doc = ent.doc
    nxt = doc[ent.end] if ent.end < len(doc) else None
    if nxt is not None and (nxt.text in PERSON_SUFFIX or nxt.text in TITLES):
        return "PERSON"
    toks = [t for t in ent if t.text not in JOINERS]
    if not toks or len(ent.text) == 1 or _LATIN_ACRONYM.match(ent.text):
        return None
    if _kind(toks[0].tag_) == "LOCATION" and (len(toks) > 1 or _KATAKANA.match(toks[0].text)):
        return "ORGANIZATION" if len(toks) > 1 else "LOCATION"
    if any(t.tag_.startswith("名詞-固有名詞-一般") for t in toks):
        return None
    last = toks[-1]
    if "固有名詞-人名" in toks[0].tag_ and len(last.text) == 1 and last.text not in _ONE_CHAR_NAMED:
        return "PERSON"  # a surname and a given name of one kanji that is also a word (徐平, 武内樹, 高橋伴)
    if last.tag_.startswith(("名詞-普通名詞", "接尾辞")) and _known_word(last) and re.search(r"[\u4e00-\u9fff]", last.text):
        return None
    return "PERSON"
