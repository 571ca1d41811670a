"""The last word on Japanese persons in ``japanese: model``: a logistic regression over candidate spans.

The rules of ``pii_ja`` and GiNZA's labels each get some names wrong, and they disagree in ways no single
rule settles: a katakana word before ``は`` may be a person (ホーナングは) or a team (ラッフルズは), a surname
before a common noun may be a name (椎名林檎) or a company (小川珈琲). This module weighs the evidence:

- candidates: the spans the rules and GiNZA found (of any type), the names of Sudachi's dictionary, and
  each run of katakana words or proper nouns;
- features: which source found the span and as what, the script, Sudachi's tags of its first and last
  token and of the tokens around it, the words around it (``さん``, ``は``, ``監督``), whether a katakana word
  is in the dictionary, and word vectors: in ``model`` GiNZA's own (``doc.tensor``, in context) of the span
  and of the next token, in ``fast`` the static ones of GiNZA's vocabulary (chiVe, 20,000 words) of the
  span and of the tokens before and after it;
- a candidate scored at least ``threshold`` is a person; overlapping candidates keep the higher score;
  the rules' other spans stay where they overlap no person.

``japanese: fast`` has its own weights (``ja_persons_fast.json``), without GiNZA's labels and network.
The weights (``ja_persons.json``, ``ja_persons_fast.json``) are learned by ``benchmarks/train_ja_persons.py`` from rows 1000 to 4342
of the shuffled ner_wikipedia_ja set (Wikipedia sentences by Stockmark Inc., CC BY-SA 3.0); the bench
scores rows 0 to 999, which training never sees. The threshold favours recall (a missed name leaks, a
masked word costs little). Retrain after changing the rules or the features: the ``sys:`` features are
the rules' answers.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from .pii_ja import JOINERS, NAMED_AFTER, PERSON_SUFFIX, TITLES, dictionary_names

#: Weights for ``japanese: model`` (with GiNZA's labels and vectors) and ``japanese: fast`` (Sudachi alone).
WEIGHTS = {"model": Path(__file__).with_name("ja_persons.json"), "fast": Path(__file__).with_name("ja_persons_fast.json")}
_KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fc]+$")
_KANJI = re.compile(r"^[\u4e00-\u9fff\u3005]+$")
_LATIN = re.compile(r"^[A-Za-z .\-']+$")
#: Per mode: which word vectors the weights read ("tensor": GiNZA's network, "static": its vocabulary's
#: table) and their scale against the binary features (chosen in cross-validation).
VECTORS = {"model": ("tensor", 0.3), "fast": ("static", 1.0)}


def _script(text: str) -> str:
    bare = text.replace("・", "").replace("＝", "").replace("=", "")
    for name, pattern in (("kat", _KATAKANA), ("kan", _KANJI), ("lat", _LATIN)):
        if pattern.match(bare):
            return name
    return "mix"


def _tag(tok) -> str:
    return "-".join(tok.tag_.split("-")[:3])


def candidates(doc, spans) -> dict[tuple[int, int], set[str]]:
    """(start, end) -> where it came from: ``sys:<type>`` (the rules), ``gz:<label>`` (GiNZA), ``dict:<type>``
    (Sudachi's names), ``run`` (katakana words or proper nouns in a row)."""
    found: dict[tuple[int, int], set[str]] = {}
    for s, e, kind in spans:
        found.setdefault((s, e), set()).add("sys:" + kind)
    for ent in doc.ents:
        found.setdefault((ent.start_char, ent.end_char), set()).add("gz:" + ent.label_)
    for s, e, kind in dictionary_names(doc):
        found.setdefault((s, e), set()).add("dict:" + kind)
    toks = list(doc)

    def runs(k: int) -> bool:
        return bool(_KATAKANA.match(toks[k].text)) or toks[k].tag_.startswith("名詞-固有名詞")

    i = 0
    while i < len(toks):
        if not runs(i):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and (runs(j) or toks[j].text in JOINERS and j + 1 < len(toks)
                                 and _KATAKANA.match(toks[j + 1].text)):
            j += 1
        found.setdefault((toks[i].idx, toks[j - 1].idx + len(toks[j - 1].text)), set()).add("run")
        i = j
    return found


def features(span, sources: set[str], spans, oov) -> set[str]:
    """The binary features of ``span`` (a spaCy Span); ``oov(word)`` tells a katakana word the dictionary
    lacks."""
    doc = span.doc
    toks = list(span)
    prv = doc[span.start - 1] if span.start > 0 else None
    nxt = doc[span.end] if span.end < len(doc) else None
    script = _script(span.text)
    f = set(sources)
    f.update((f"script:{script}", f"len:{min(len(span.text), 8)}", f"ntok:{min(len(toks), 4)}",
              f"first:{_tag(toks[0])}", f"last:{_tag(toks[-1])}", f"lasttext:{toks[-1].text}",
              f"lastchar:{span.text[-1]}", f"firstchar:{span.text[0]}",
              "prv:" + (prv.text if prv is not None else "<s>"), "prvtag:" + (_tag(prv) if prv is not None else "<s>"),
              "nxt:" + (nxt.text if nxt is not None else "</s>"), "nxttag:" + (_tag(nxt) if nxt is not None else "</s>")))
    f.update("has:" + _tag(t) for t in toks)
    if script == "kan":
        f.add("last2:" + span.text[-2:])
    if any(t.text in JOINERS for t in toks):
        f.add("joined")
    if script == "kat":
        f.add(f"oov:{oov(toks[0].text)}")
    if nxt is not None:
        if span.end + 1 < len(doc):
            f.add(f"nxt2:{nxt.text}|{doc[span.end + 1].text}")
        if nxt.text in PERSON_SUFFIX or nxt.text in TITLES:
            f.add("title_after")
        if nxt.text in NAMED_AFTER:
            f.add("named_after")
    s, e = span.start_char, span.end_char
    f.add("sysov:" + (",".join(sorted({k for ss, ee, k in spans if ss < e and s < ee})) or "none"))
    f.update("gzov:" + ent.label_ for ent in doc.ents if ent.start_char < e and s < ent.end_char)
    f.update(f"{a}&{script}" for a in sources)
    return f


def vector(span) -> np.ndarray:
    """GiNZA's vectors: the mean over the span's tokens and the token after it (zeros at the end)."""
    tensor = span.doc.tensor
    after = tensor[span.end] if span.end < len(tensor) else np.zeros(tensor.shape[1], dtype=tensor.dtype)
    return np.concatenate([tensor[span.start:span.end].mean(0), after]).astype(np.float32)


def static_table(doc) -> np.ndarray:
    """The static vector of each token of ``doc`` from its vocabulary's table, with a row of zeros before and
    after the text and for the words the table lacks: (len(doc) + 2, width)."""
    vectors = doc.vocab.vectors
    rows = vectors.find(keys=[t.orth for t in doc]) if len(doc) else np.zeros(0, dtype=int)
    table = np.zeros((len(doc) + 2, vectors.shape[1]), dtype=np.float32)
    known = rows >= 0
    table[1:-1][known] = vectors.data[rows[known]]
    return table


def static_vector(span, table: np.ndarray) -> np.ndarray:
    """Static vectors: the mean over the span's tokens, the token before it and the token after it."""
    return np.concatenate([table[span.start + 1:span.end + 1].mean(0), table[span.start], table[span.end + 1]])


def examples(doc, spans, oov, vectors: str = "tensor"):
    """(start, end, features, vector) for each candidate of ``doc`` that covers whole tokens. ``vectors``:
    "tensor" (GiNZA's network, which must have run on ``doc``) or "static" (the vocabulary's table)."""
    table = static_table(doc) if vectors == "static" else None
    for (s, e), sources in candidates(doc, spans).items():
        span = doc.char_span(s, e, alignment_mode="expand")
        if span is not None and len(span):
            vec = static_vector(span, table) if table is not None else vector(span)
            yield s, e, features(span, sources, spans, oov), vec


_OOV: dict = {}


def sudachi_oov(nlp):
    """``oov(word)``: the word is not one word of Sudachi's dictionary (cached, one per pipeline)."""
    if id(nlp) not in _OOV:
        sudachi = nlp.tokenizer.tokenizer

        @lru_cache(maxsize=65536)
        def oov(word: str) -> bool:
            morphemes = sudachi.tokenize(word)
            return len(morphemes) != 1 or morphemes[0].is_oov()

        _OOV[id(nlp)] = oov
    return _OOV[id(nlp)]


class PersonRanker:
    """Scores candidates with the learned weights and rewrites a text's spans (see the module doc)."""

    def __init__(self, weights: dict, oov):
        self.sparse = weights["sparse"]
        self.vectors = weights["vectors"]
        self.dense = np.asarray(weights["dense"], dtype=np.float32) * weights["dense_scale"]
        self.bias = weights["bias"]
        self.threshold = weights["threshold"]
        self.oov = oov

    @classmethod
    def load(cls, nlp, path: Path = WEIGHTS["model"]) -> "PersonRanker":
        return cls(json.loads(path.read_text(encoding="utf-8")), sudachi_oov(nlp))

    def score(self, feats: set[str], vec) -> float:
        z = self.bias + sum(self.sparse.get(f, 0.0) for f in feats) + float(self.dense @ vec)
        return 1.0 / (1.0 + math.exp(-z))

    def apply(self, doc, spans: list[tuple[int, int, str]], threshold: float | None = None):
        """``spans`` with the persons chosen here (scored at least ``threshold``, by default the learned
        one): the rules' persons are dropped, the chosen ones added, and the rules' other spans kept where
        they overlap no chosen person. With weights that need GiNZA's network, a doc it did not run on keeps
        its spans."""
        if self.vectors == "tensor" and not doc.tensor.size:
            return spans
        persons = self.persons(examples(doc, spans, self.oov, self.vectors), threshold)
        kept = [sp for sp in spans if sp[2] != "PERSON" and not any(p[0] < sp[1] and sp[0] < p[1] for p in persons)]
        return sorted(kept + persons)

    def persons(self, candidates, threshold: float | None = None) -> list[tuple[int, int, str]]:
        """The PERSON spans among ``candidates`` (start, end, features, vector, as ``examples`` gives them):
        the best first, each scored at least ``threshold`` (default: the learned one) and overlapping no
        better one."""
        threshold = self.threshold if threshold is None else threshold
        scored = sorted(((self.score(f, v), s, e) for s, e, f, v in candidates), reverse=True)
        chosen: list[tuple[int, int, str]] = []
        for p, s, e in scored:
            if p < threshold:
                break
            if not any(cs < e and s < ce for cs, ce, _ in chosen):
                chosen.append((s, e, "PERSON"))
        return chosen
