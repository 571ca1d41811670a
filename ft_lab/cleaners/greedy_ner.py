"""spaCy's greedy entity recognizer, decoded with numpy: the same entities, several times faster.

spaCy 3.8's transition-based NER checks, at every token, which of its actions are valid, one compiled call
per action; each call takes and drops Python's GIL (its state accessors are compiled with exception
checks). GiNZA's NER has 758 actions (189 Extended Named Entity labels in B, I, L, U, and O), and perf puts
two thirds of its time in those checks. This module runs the same network and the same greedy choice on
all the texts of a batch at once, with the validity rules written as array masks:

- the network: the NER's own tok2vec head, the precomputed lower layer (with its padding row for absent
  features), the maxout, and the upper layer; the features of a state are the first token of the buffer,
  and the first token of the open entity and the token before the buffer (when an entity is open);
- valid actions (no preset entities, as in a fresh doc): B when no entity is open, two tokens or more
  remain, the next token starts no sentence and this one is no space; I when the open entity has this
  label, two tokens or more remain and the next token starts no sentence; L when the open entity has this
  label; U when no entity is open and the token is no space; O when no entity is open; classes the model
  never saw get the lowest score, as spaCy gives them;
- the first valid action with the highest score is taken.

``pipe(nlp, docs)`` runs the pipeline's components in order with this decoder in place of the NER's; a
component that is not a greedy ``EntityRecognizer`` runs as spaCy runs it. ``tests/test_greedy_ner.py``
checks the entities against spaCy's own on real sentences.
"""
from __future__ import annotations

import numpy as np

# spaCy's BILUO move codes (spacy/pipeline/_parser_internals/ner.pyx)
MISSING, BEGIN, IN, LAST, UNIT, OUT = range(6)


def usable(component) -> bool:
    """A greedy entity recognizer with the network layout this decoder reads."""
    from spacy.pipeline import EntityRecognizer

    if not isinstance(component, EntityRecognizer) or component.cfg.get("beam_width", 1) != 1:
        return False
    model = component.model
    refs = ("tok2vec", "lower", "upper")
    return all(model.has_ref(r) for r in refs) and model.attrs.get("has_upper") and \
        model.get_ref("lower").get_dim("nF") == 3


class GreedyNer:
    """The decoder of one ``EntityRecognizer`` (its moves and weights read once)."""

    def __init__(self, component):
        moves = component.moves
        names = [moves.get_class_name(i) for i in range(moves.n_moves)]
        self.move = np.array([_move_code(n) for n in names])
        self.label_names = [n.split("-", 1)[1] if "-" in n else "" for n in names]
        label_ids = {name: k for k, name in enumerate(sorted(set(self.label_names)))}
        self.label = np.array([label_ids[n] if n else -1 for n in self.label_names])
        model = component.model
        self.tok2vec = model.get_ref("tok2vec")
        self.lower = model.get_ref("lower")
        upper = model.get_ref("upper")
        self.W = upper.get_param("W")  # (classes, hidden)
        self.b = upper.get_param("b")
        self.bias = self.lower.get_param("b")  # (hidden, pieces)
        self.unseen = np.array(sorted(model.attrs.get("unseen_classes", ())), dtype=int)

    def __call__(self, docs) -> None:
        """Set the entities of ``docs``."""
        from spacy.attrs import IS_SPACE, SENT_START
        from spacy.tokens import Span

        docs = list(docs)
        lengths = np.array([len(d) for d in docs])
        if not lengths.sum():
            return
        tokvecs = self.tok2vec.predict(docs)
        cached = self.lower.predict(tokvecs)  # (tokens + 1, 3, hidden, pieces); row 0: absent feature
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        space = np.concatenate([d.to_array(IS_SPACE).astype(bool) for d in docs if len(d)])
        starts = np.concatenate([d.to_array(SENT_START) == 1 for d in docs if len(d)])
        next_starts = np.zeros_like(starts)
        ends = np.cumsum(lengths)
        within = np.ones(len(starts), dtype=bool)
        within[ends[lengths > 0] - 1] = False  # a doc's last token has no next token
        next_starts[:-1] = starts[1:]
        next_starts &= within

        pos = np.zeros(len(docs), dtype=int)
        ent_start = np.full(len(docs), -1)
        ent_label = np.full(len(docs), -1)
        found: list[list] = [[] for _ in docs]
        active = np.flatnonzero(lengths > 0)
        move, label = self.move, self.label
        while active.size:
            i = offsets[active] + pos[active]  # global token index of each state's buffer head
            is_open = ent_start[active] >= 0
            ids = np.stack([i + 1, np.where(is_open, offsets[active] + ent_start[active] + 1, 0),
                            np.where(is_open, i, 0)], axis=1)  # +1: row 0 of ``cached`` is the padding
            unmaxed = cached[ids[:, 0], 0] + cached[ids[:, 1], 1] + cached[ids[:, 2], 2] + self.bias
            scores = unmaxed.max(-1) @ self.W.T + self.b
            if self.unseen.size:
                scores[:, self.unseen] = scores.min()
            left = lengths[active] - pos[active]
            same = label[None, :] == ent_label[active][:, None]
            labelled = (label >= 0)[None, :]
            two = (left >= 2)[:, None]
            nxt = ~next_starts[i][:, None]
            sp = space[i][:, None]
            opened, closed = is_open[:, None], ~is_open[:, None]
            valid = ((move == BEGIN) & closed & two & labelled & nxt & ~sp
                     | (move == IN) & opened & two & same & labelled & nxt
                     | (move == LAST) & opened & same & labelled
                     | (move == UNIT) & closed & labelled & ~sp
                     | (move == OUT) & closed)
            best = np.where(valid, scores, -np.inf).argmax(1)
            for k, state in enumerate(active):
                m, lab = move[best[k]], best[k]
                if m == BEGIN:
                    ent_start[state], ent_label[state] = pos[state], label[lab]
                elif m == LAST:
                    found[state].append((ent_start[state], pos[state] + 1, self.label_names[lab]))
                    ent_start[state] = ent_label[state] = -1
                elif m == UNIT:
                    found[state].append((pos[state], pos[state] + 1, self.label_names[lab]))
            pos[active] += 1
            active = active[pos[active] < lengths[active]]
        for doc, ents in zip(docs, found):
            doc.set_ents([Span(doc, s, e, label=lab) for s, e, lab in ents], default="outside")


def _move_code(name: str) -> int:
    if name == "O":
        return OUT
    if name == "M":
        return MISSING
    return {"B": BEGIN, "I": IN, "L": LAST, "U": UNIT}[name.split("-", 1)[0]]


# id(component) -> (component, its decoder): the component is kept so that its id is not reused
_DECODERS: dict[int, tuple] = {}


def decoder(component) -> GreedyNer | None:
    """The decoder of ``component`` (made once), or None when spaCy must run it."""
    if not usable(component):
        return None
    cached = _DECODERS.get(id(component))
    if cached is None or cached[0] is not component:
        cached = _DECODERS[id(component)] = (component, GreedyNer(component))
    return cached[1]


def pipe(nlp, docs, batch_size: int = 256):
    """``nlp.pipe`` over ``docs`` (texts or docs made by ``nlp.make_doc``), the NER decoded here."""
    from spacy.util import minibatch

    steps = [(component, decoder(component)) for _, component in nlp.pipeline]
    for batch in minibatch((d if not isinstance(d, str) else nlp.make_doc(d) for d in docs), batch_size):
        for component, decode in steps:
            if decode is not None:
                decode(batch)
            else:
                batch = list(component.pipe(batch, batch_size=batch_size))
        yield from batch
