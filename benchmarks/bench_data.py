"""Data-step benchmark: cleaner throughput and PII masking quality.

Run (2 CPU cores, a minute or two):

    HF_HUB_OFFLINE=1 python benchmarks/bench_data.py            # throughput on 100k rows + PII quality
    HF_HUB_OFFLINE=1 python benchmarks/bench_data.py --rows 20000 --json out.json

Throughput: rows per second of exact dedup, near-duplicate dedup, PII masking and normalization over
``--rows`` rows built from /work/shared/data (banking77, JCommonsenseQA, JaQuAD questions, Alpaca,
DialogSum: English and Japanese, with repeated and lightly edited rows so duplicates exist). A
baseline measured in the same run (a plain ``set`` of the texts, and ``str.lower`` over them) is
printed beside each figure as a ratio.

PII quality: precision and recall per entity type on presidio_pii_small (the in-scope types) and on a
generated Japanese set with full-width variants and look-alike negatives (dates, prices, order numbers).
A prediction counts as correct when it overlaps a gold span of the same type.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("FT_LAB_SHARED_DATA", "/work/shared/data"))
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
                  "IP_ADDRESS": "IP_ADDRESS", "DOMAIN_NAME": "URL"}


# --- corpus -----------------------------------------------------------------------------------------
def source_texts() -> list[str]:
    import csv

    texts = []
    with open(DATA / "banking77/train.csv", encoding="utf-8") as f:
        texts += [r["text"] for r in csv.DictReader(f)]
    with open(DATA / "jcommonsenseqa/train-v1.3.json", encoding="utf-8") as f:
        texts += [json.loads(line)["question"] for line in f if line.strip()]
    for p in sorted((DATA / "jaquad_dev").glob("*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        for a in doc["data"]:
            for para in a["paragraphs"]:
                texts += [q["question"] for q in para["qas"]]
    alpaca = json.loads((DATA / "llamafactory_alpaca_en_demo/alpaca_en_demo.json").read_text(encoding="utf-8"))
    texts += [r["instruction"] + (" " + r["input"] if r["input"] else "") for r in alpaca]
    with open(DATA / "dialogsum_dev/dialogsum.dev.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["summary"] for line in f if line.strip()]
    return texts


def build_rows(n: int, seed: int = 0) -> list[dict]:
    """``n`` rows: the source texts, then copies (some edited by a character or two) until ``n``."""
    rng = random.Random(seed)
    base = source_texts()
    texts = list(base)
    while len(texts) < n:
        t = rng.choice(base)
        r = rng.random()
        if r < 0.3:
            pos = rng.randrange(len(t) + 1)
            t = t[:pos] + rng.choice("あいうxyz.！ ") + t[pos:]
        elif r < 0.5:
            t = t + f" #{rng.randrange(1000)}"
        texts.append(t)
    rng.shuffle(texts)
    return [{"text": t, "label": "x", "meta": {}} for t in texts[:n]]


def timed(fn, rows) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(rows)
    return time.perf_counter() - t, out


def throughput(n: int) -> dict:
    from ft_lab.cleaners.dedup import Dedup
    from ft_lab.cleaners.normalize import Normalize
    from ft_lab.cleaners.pii import PiiMask

    rows = build_rows(n)
    cols = ["text"]
    base_set, _ = timed(lambda rs: len({r["text"] for r in rs}), rows)
    base_lower, _ = timed(lambda rs: [r["text"].lower() for r in rs], rows)
    results = {}
    for name, cleaner, baseline in [
        ("exact_dedup", Dedup(Dedup.Config(method="exact")), base_set),
        ("exact_dedup_no_normalize", Dedup(Dedup.Config(method="exact", normalize=False)), base_set),
        ("near_dedup", Dedup(Dedup.Config(method="near", threshold=0.85)), base_set),
        ("pii_mask", PiiMask(), base_lower),
        ("normalize", Normalize(), base_lower),
    ]:
        secs, res = timed(lambda rs: cleaner.clean(rs, cols), rows)
        results[name] = {"rows": n, "seconds": round(secs, 3), "rows_per_s": round(n / secs),
                         "vs_baseline": round(secs / baseline, 1), "rejected": len(res.rejected),
                         "changed": res.changed}
    results["_baselines"] = {"set_of_texts_s": round(base_set, 4), "lower_s": round(base_lower, 4)}
    return results


# --- PII quality --------------------------------------------------------------------------------------
def presidio_cases() -> list[tuple[str, list[tuple[int, int, str]]]]:
    data = json.loads((DATA / "presidio_pii_small/generated_small.json").read_text(encoding="utf-8"))
    cases = []
    for r in data:
        gold = []
        for s in r["spans"]:
            kind = PRESIDIO_TYPES.get(s["entity_type"], "OUT_OF_SCOPE:" + s["entity_type"])
            gold.append((s["start_position"], s["end_position"], kind))
        cases.append((r["full_text"], gold))
    return cases


def _wide(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


def _my_number(rng) -> str:
    from ft_lab.cleaners.pii import my_number_ok

    while True:
        body = "".join(str(rng.randrange(10)) for _ in range(11))
        for d in "0123456789":
            if my_number_ok(body + d):
                return body + d


def _card(rng) -> str:
    from ft_lab.cleaners.pii import luhn_ok

    prefix = rng.choice(["4", "51", "52", "35", "37"])
    n = 15 if prefix == "37" else 16
    while True:
        body = prefix + "".join(str(rng.randrange(10)) for _ in range(n - len(prefix) - 1))
        for d in "0123456789":
            if luhn_ok(body + d):
                return body + d


def japanese_cases(n: int = 400, seed: int = 7) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Generated Japanese sentences with PII (half- and full-width) and look-alike negatives."""
    rng = random.Random(seed)

    def phone():
        kind = rng.randrange(4)
        if kind == 0:
            return f"0{rng.choice('3 6 45 52 11'.split())}-{rng.randrange(100, 9999)}-{rng.randrange(1000, 9999)}"
        if kind == 1:
            return f"0{rng.choice('789')}0-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
        if kind == 2:
            return f"0120-{rng.randrange(100, 999)}-{rng.randrange(100, 999)}"
        return f"+81-{rng.choice('3 90 80 6'.split())}-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"

    gens = {
        "EMAIL": lambda: f"{rng.choice(['taro', 'hanako.y', 'info', 'k-sato'])}{rng.randrange(99)}@"
                         f"{rng.choice(['example.co.jp', 'mail.example.com', 'test.jp'])}",
        "PHONE": phone,
        "POSTAL_CODE": lambda: f"〒{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        "MY_NUMBER": lambda: (lambda d: rng.choice([d, f"{d[:4]} {d[4:8]} {d[8:]}", f"{d[:4]}-{d[4:8]}-{d[8:]}"]))(
            _my_number(rng)),
        "CREDIT_CARD": lambda: (lambda d: rng.choice([d, " ".join(d[i:i + 4] for i in range(0, len(d), 4))]))(_card(rng)),
        "IP_ADDRESS": lambda: ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
        "URL": lambda: f"https://www.example.jp/{rng.choice(['faq', 'support/123', 'ja/docs?id=5'])}",
    }
    templates = {
        "EMAIL": ["お問い合わせは{}までご連絡ください。", "メール：{}", "担当者のアドレスは{}です"],
        "PHONE": ["電話番号は{}です。", "TEL：{}（平日9時〜17時）", "至急{}に折り返してください"],
        "POSTAL_CODE": ["{} 東京都千代田区", "住所は{}大阪府大阪市です", "送付先：{}"],
        "MY_NUMBER": ["マイナンバーは{}です", "個人番号：{}", "私の個人番号 {} を登録しました"],
        "CREDIT_CARD": ["カード番号{}で支払いました", "クレジットカード：{}", "決済カードは{}です"],
        "IP_ADDRESS": ["接続元IPは{}でした", "サーバー{}に接続できません"],
        "URL": ["詳細は{}をご覧ください", "リンク：{} を参照"],
    }
    negatives = ["2024-04-01に発売されました。", "価格は12,800円（税込）です", "注文番号 20240401123 を確認中",
                 "会議は10:30から3階で", "バージョン1.2.3に更新", "第3四半期の売上は1,234万円",
                 "２０２３年１２月２５日に出荷", "在庫は１２３４５個です", "ISBN 978-4-10-109205-8",
                 "電話で問い合わせたところ、3日後に届くとのこと"]
    cases = []
    for _ in range(n):
        if rng.random() < 0.2:
            cases.append((rng.choice(negatives), []))
            continue
        kind = rng.choice(list(gens))
        value = gens[kind]()
        if rng.random() < 0.5:
            value = _wide(value)
        tpl = rng.choice(templates[kind])
        pre = tpl.split("{}")[0]
        text = tpl.format(value)
        cases.append((text, [(len(pre), len(pre) + len(value), kind)]))
    return cases


def score(cases, detector) -> dict:
    from collections import defaultdict

    tp, fp, fn = defaultdict(int), defaultdict(int), defaultdict(int)
    for text, gold in cases:
        pred = detector.find(text)
        for g in gold:
            if g[2].startswith("OUT_OF_SCOPE"):
                continue
            if any(p.type == g[2] and p.start < g[1] and g[0] < p.end for p in pred):
                tp[g[2]] += 1
            else:
                fn[g[2]] += 1
        for p in pred:
            if not any(p.type == g[2] and p.start < g[1] and g[0] < p.end for g in gold):
                fp[p.type] += 1
    out = {}
    for t in sorted(set(tp) | set(fp) | set(fn)):
        prec = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else None
        rec = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else None
        out[t] = {"tp": tp[t], "fp": fp[t], "fn": fn[t], "precision": None if prec is None else round(prec, 3),
                  "recall": None if rec is None else round(rec, 3)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args(argv)
    from ft_lab.cleaners.pii import PiiDetector

    results = {}
    if not args.skip_throughput:
        results["throughput"] = throughput(args.rows)
        print(f"throughput on {args.rows} rows (ratio = time / same-run baseline):")
        for name, r in results["throughput"].items():
            if not name.startswith("_"):
                print(f"  {name:26s} {r['rows_per_s']:>9,} rows/s  ({r['seconds']} s, x{r['vs_baseline']} baseline; "
                      f"rejected {r['rejected']}, changed {r['changed']})")
    det = PiiDetector()
    for name, cases in [("presidio_pii_small", presidio_cases()), ("japanese_generated", japanese_cases())]:
        results[name] = score(cases, det)
        print(f"PII quality on {name} ({len(cases)} texts):")
        for t, s in results[name].items():
            print(f"  {t:12s} precision {s['precision']}  recall {s['recall']}  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
