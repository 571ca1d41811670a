"""Batched generation against a one-example-at-a-time loop, on the same model and prompts, in one run.

    HF_HUB_OFFLINE=1 python benchmarks/bench_generation.py [--examples 128] [--batch-size 32]

Prints both timings and the speed-up ratio, and checks that both give the same greedy answers.
Uses the built-in tiny model and Japanese MT-Bench-style prompts (or the bundled BANKING77 texts).
"""
from __future__ import annotations

import argparse
import csv
import time
from importlib import resources


def prompts(n: int) -> list[dict]:
    text = resources.files("ft_lab").joinpath("assets/banking77_sample.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return [{"prompt": r["text"], "response": r["category"]} for r in rows[:n]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ft_lab.evaluation.predict import generate
    from ft_lab.models.tiny import ensure_tiny

    path = ensure_tiny()
    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path)
    examples = prompts(args.examples)
    print(f"model: tiny ({sum(p.numel() for p in model.parameters()):,} parameters), "
          f"{len(examples)} prompts, {args.max_new_tokens} new tokens max, {torch.get_num_threads()} threads")

    def timed(batch_size):
        t0 = time.perf_counter()
        rows = list(generate(model, tok, examples, batch_size, args.max_new_tokens, 256))
        return time.perf_counter() - t0, [r["prediction"] for r in rows]

    timed(args.batch_size)  # warm-up
    one_t, one = timed(1)
    batch_t, batched = timed(args.batch_size)
    same = sum(a == b for a, b in zip(one, batched))
    print(f"one at a time: {one_t:.2f} s ({len(examples) / one_t:.1f} examples/s)")
    print(f"batch size {args.batch_size}: {batch_t:.2f} s ({len(examples) / batch_t:.1f} examples/s)")
    print(f"speed-up: {one_t / batch_t:.1f}x; identical answers: {same}/{len(examples)}")


if __name__ == "__main__":
    main()
