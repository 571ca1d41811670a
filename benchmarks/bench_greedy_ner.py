"""How much faster ``pii_ner`` runs spaCy's NER than ``nlp.pipe``, with the same entities.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_greedy_ner.py              # 1,000 texts a language
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_greedy_ner.py --rows 300

In one process, on the same texts (Japanese: ner_wikipedia_ja sentences, GiNZA; English: BANKING77
messages, en_core_web_sm), each after a warm-up batch:

- ``spacy``: the pipeline loaded as spaCy's documentation does (only ``tok2vec`` and ``ner``), run by
  ``nlp.pipe`` (the baseline);
- ``greedy``: the same pipeline, its NER decoded by ``ft_lab.cleaners.greedy_ner``;
- ``pii_ner``: the pipeline as ``pii_ner`` loads it: ``greedy`` plus numpy's BLAS for the networks.

It prints rows per second (wall clock and per CPU second of the process), the ratio to the baseline, and
whether every text got exactly the baseline's entities (it exits 1 if not). Needs the ner extra.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
import time

from bench_pii import DATA

from ft_lab.cleaners import greedy_ner, pii_ner


def texts(lang: str, n: int) -> list[str]:
    if lang == "ja":
        rows = json.loads((DATA / "ner_wikipedia_ja/ner.json").read_text(encoding="utf-8"))
        return list(dict.fromkeys(r["text"] for r in rows))[:n]
    with open(DATA / "banking77/train.csv", encoding="utf-8") as f:
        return list(dict.fromkeys(r["text"] for r in csv.DictReader(f)))[:n]


def timed(run, items) -> tuple[list, float, float]:
    """Entities of each text, rows per wall second and per CPU second (after a warm-up batch)."""
    list(run(items[:32]))
    t0, c0 = time.perf_counter(), time.process_time()
    ents = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in run(items)]
    return ents, len(items) / (time.perf_counter() - t0), len(items) / (time.process_time() - c0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000, help="texts per language")
    args = ap.parse_args(argv)
    same = True
    for lang in ("ja", "en"):
        items = texts(lang, args.rows)
        plain = importlib.import_module(pii_ner.MODELS[lang]).load(exclude=pii_ner._EXCLUDE[lang])
        ours = pii_ner.load_pipeline(lang)
        runs = {"spacy": lambda t: plain.pipe(t, batch_size=256),
                "greedy": lambda t: greedy_ner.pipe(plain, t, batch_size=256),
                "pii_ner": lambda t: greedy_ner.pipe(ours, t, batch_size=256)}
        results = {name: timed(run, items) for name, run in runs.items()}
        base = results["spacy"]
        print(f"{lang}: {len(items)} texts, {sum(map(len, base[0]))} entities")
        for name, (ents, wall, cpu) in results.items():
            agree = ents == base[0]
            same &= agree
            print(f"  {name:<8}{wall:>8.0f} rows/s ({wall / base[1]:.2f} x spacy){cpu:>8.0f} rows/CPU-s"
                  f"  entities {'identical' if agree else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
