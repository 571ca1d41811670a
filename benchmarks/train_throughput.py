"""Training throughput: ft-lab's engine against a plain Trainer + peft script, same data, model, steps, seed.

    python benchmarks/train_throughput.py --device cpu --steps 30
    python benchmarks/train_throughput.py --device cuda --steps 80 --method lora   # also: full, qlora

(a) the baseline, written the way the Hugging Face docs show: ``AutoModelForCausalLM`` as saved (fp32),
``get_peft_model`` with LoRA on all linear layers, ``DataCollatorForSeq2Seq`` (dynamic padding), loss on
the answer; (b) ft-lab's recipe through the engine's own pieces (``plan_speed``, ``training_batches``,
``prepare_fast``, ``build_trainer``) with every ``train`` switch left at ``auto``. Both train on the same
encoded rows of alpaca_en_demo (../shared/data/llamafactory_alpaca_en_demo, mixed lengths), each in its
own process (so peak memory is its own), and print: real (non-padding) tokens/s after warm-up, peak
memory (RSS on a CPU, CUDA max allocated on a GPU), the training loss at equal token counts, the
held-out loss after training, MFU on a GPU (4N FLOPs per token for a frozen base, 6N for full
fine-tuning, plus attention; against the GPU's dense bf16 peak), then the ratios and a last line
``speedup: N.NNx`` (ft-lab's real tokens/s over the baseline's).

Models, built from a config with random weights (no download) and the built-in tiny tokenizer (4k
vocabulary): on a CPU a small Llama (2 layers, hidden 256); on a GPU the Qwen2.5-0.5B body (24 layers,
hidden 896, GQA 14/2, MLP 4864). Run on a loaded machine, figures move; the ratio is what counts.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("FT_LAB_SHARED_DATA") or HERE.parent.parent / "shared" / "data")
DATA = SHARED / "llamafactory_alpaca_en_demo" / "alpaca_en_demo.json"
#: ``--smoke``: the shipped 15-row sample of the same dataset, a few steps of short rows (checks that the
#: benchmark runs and prints its figures; the figures of so short a run mean nothing)
SMOKE_DATA = HERE.parent / "tests" / "fixtures" / "data" / "alpaca_sample.json"
SMOKE = dict(steps=4, warmup=1, batch_size=2, max_length=128, held_out=4, threads=1)
SHAPES = {
    "cpu": dict(model_type="llama", hidden_size=256, intermediate_size=688, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2),
    "cuda": dict(model_type="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, rope_theta=1000000.0, rms_norm_eps=1e-6),
}
HELD_OUT = 64  # rows kept out of training for the held-out loss


def build_model(device: str, folder: Path, max_length: int) -> Path:
    """A random-weight model of the device's shape, saved in fp32 with the tiny tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from ft_lab.models.tiny import ensure_tiny

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny(log=lambda *_: None)))
    shape = dict(SHAPES[device])
    config = AutoConfig.for_model(shape.pop("model_type"), vocab_size=len(tokenizer), tie_word_embeddings=True,
                                  max_position_embeddings=max(2048, max_length),
                                  bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                  pad_token_id=tokenizer.pad_token_id, **shape)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def encoded_rows(tokenizer, max_length: int, path: Path) -> list[dict]:
    from ft_lab.training.tokenization import encode_generation

    rows = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        prompt = item["instruction"] + ("\n\n" + item["input"] if item.get("input") else "")
        enc = encode_generation(tokenizer, {"prompt": prompt, "response": item["output"]}, None, max_length)
        if enc is not None:
            rows.append(enc)
    return rows


class Meter:
    """Callback: time and real tokens at every step, the training loss as logged."""

    def __init__(self, warmup: int):
        self.warmup, self.marks, self.losses = warmup, [], []

    def callback(self):
        from transformers import TrainerCallback

        meter = self

        class _Cb(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):  # logging every step syncs the GPU
                meter.marks.append((state.global_step, time.perf_counter(), state.num_input_tokens_seen,
                                    time.process_time()))

            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    meter.losses.append((state.num_input_tokens_seen, float(logs["loss"])))
        return _Cb()

    def rate(self, clock: int = 1) -> float:
        """Real tokens per second after warm-up, by the wall clock (1) or this process's CPU time (3)."""
        start = next(m for m in self.marks if m[0] >= self.warmup)
        end = self.marks[-1]
        return (end[2] - start[2]) / (end[clock] - start[clock])


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


class RssPeak:
    """Peak resident memory of this process while training (sampled; CPU runs)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def _read(self) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def __enter__(self):
        def loop():
            while not self._stop.wait(0.05):
                self.peak = max(self.peak, self._read())
        self.peak = self._read()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def held_out_loss(model, rows: list[dict], pad_id: int) -> float:
    """Mean answer-token loss on held-out rows, padded batches, same for both sides."""
    import torch

    from ft_lab.training.tokenization import PadCollator

    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        for i in range(0, len(rows), 8):
            batch = {k: v.to(device) for k, v in PadCollator(pad_id)(rows[i:i + 8]).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            labels = batch["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                     labels.reshape(-1), ignore_index=-100, reduction="sum")
            total, count = total + float(loss), count + int((labels != -100).sum())
    return total / count


def lora_settings(args) -> dict:
    return dict(r=16, alpha=32, dropout=0.05, target_modules=["all-linear"])


def run_baseline(args, folder: Path, rows, held, out_dir: Path) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    cuda = _cuda()
    load = {}
    if args.method == "qlora":
        from transformers import BitsAndBytesConfig
        load = {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                          bnb_4bit_use_double_quant=True,
                                                          bnb_4bit_compute_dtype=torch.bfloat16),
                "dtype": torch.bfloat16}
    model = AutoModelForCausalLM.from_pretrained(str(folder), **load)
    if args.method == "qlora":
        from peft import prepare_model_for_kbit_training
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if args.method != "full":
        s = lora_settings(args)
        model = get_peft_model(model, LoraConfig(r=s["r"], lora_alpha=s["alpha"], lora_dropout=s["dropout"],
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
    meter = Meter(args.warmup)
    targs = TrainingArguments(output_dir=str(out_dir), per_device_train_batch_size=args.batch_size,
                              learning_rate=args.learning_rate, max_steps=args.steps, logging_steps=1,
                              lr_scheduler_type="cosine", warmup_steps=max(1, args.steps // 20), seed=42,
                              bf16=cuda, use_cpu=not cuda, report_to="none", save_strategy="no",
                              include_num_input_tokens_seen="non_padding", remove_unused_columns=False,
                              disable_tqdm=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=targs, train_dataset=rows, processing_class=tokenizer,
                      data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
                      callbacks=[meter.callback()])
    return _train(trainer, meter, model, held, tokenizer.pad_token_id, full=args.method == "full",
                  mean_row=_mean(rows), extra={})


def run_ft_lab(args, folder: Path, rows, held, out_dir: Path) -> dict:
    """ft-lab's engine, in the worker's order, every speed switch at ``auto``."""
    import torch
    from transformers import set_seed

    from ft_lab.core.environment import check_environment
    from ft_lab.core.recipe import Recipe
    from ft_lab.data.prepare import prepare_data
    from ft_lab.models.model_loading import load_model, load_tokenizer, resolve_source
    from ft_lab.training.defaults import resolve_defaults
    from ft_lab.training.packing import supports_packed_attention
    from ft_lab.training.speed import plan_speed, prepare_fast
    from ft_lab.training.trainer import build_trainer, total_steps, training_batches

    method = {"name": args.method} if args.method == "full" else {"name": args.method, **lora_settings(args)}
    train = {"batch_size": args.batch_size, "learning_rate": args.learning_rate, "max_steps": args.steps,
             "logging_steps": 1, "warmup_ratio": 0.05, "seed": 42, "save_steps": 10**6}
    train.update(json.loads(args.ft_lab_train or "{}"))
    recipe = Recipe.from_dict({"task": "generation", "data": {"path": args.data},
                               "model": {"name_or_path": str(folder), "max_length": args.max_length},
                               "method": method, "train": train})
    # every `auto` the benchmark leaves becomes a value exactly as ``create_run`` makes it (the same
    # three calls, on the recipe's data as a run prepares it); the speed switches stay `auto` for plan_speed
    recipe = check_environment(recipe.resolved())
    recipe, choices = resolve_defaults(recipe, prepare_data(recipe))
    source = resolve_source(recipe.model)
    tokenizer = load_tokenizer(recipe.model, source)
    tokenizer.padding_side = "right"
    m = recipe.method.create("method")
    plan = plan_speed(recipe, m, cuda=_cuda())
    load = m.load_kwargs()
    if plan.frozen_dtype:
        load.setdefault("dtype", getattr(torch, plan.frozen_dtype))
    set_seed(42)
    model = load_model(recipe.model, source, "generation", None, tokenizer, **load)
    plan.packing = plan.packing and supports_packed_attention(model)
    train_ds, eval_ds, collator, packing = training_batches(recipe, plan, rows, held, tokenizer.pad_token_id)
    m.bind(tokenizer=tokenizer, total_steps=total_steps(recipe.train, len(train_ds), batch_size=1 if packing else None))
    model = prepare_fast(m, model, "generation", plan)
    meter = Meter(args.warmup)
    trainer, _ = build_trainer(recipe, model, tokenizer, train_ds, eval_ds, collator, out_dir,
                               extra_callbacks=[meter.callback()], plan=plan)
    return _train(trainer, meter, model, held, tokenizer.pad_token_id, full=args.method == "full",
                  mean_row=_mean(rows), extra={"plan": plan.to_dict(), "packing": packing,
                                               "defaults": [c.line() for c in choices]})


def _mean(rows) -> float:
    return sum(len(r["input_ids"]) for r in rows) / len(rows)


def _train(trainer, meter: Meter, model, held, pad_id: int, full: bool, mean_row: float, extra: dict) -> dict:
    import torch

    from ft_lab.training.speed import flops_per_token, peak_flops

    cuda = _cuda()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with RssPeak() as rss:
        trainer.train()
    rate = meter.rate()
    flops, peak = flops_per_token(model, full=full, mean_row=mean_row), peak_flops(True) if cuda else None
    return {"tokens_per_second": rate, "tokens_per_cpu_second": meter.rate(clock=3),
            "mfu": rate * flops / peak if peak else None,
            "peak_memory_mib": (torch.cuda.max_memory_allocated() if cuda else rss.peak) / 2**20,
            "tokens": meter.marks[-1][2], "steps": meter.marks[-1][0], "losses": meter.losses,
            "held_out_loss": held_out_loss(model, held, pad_id), **extra}


def child(args) -> None:
    from transformers import AutoTokenizer

    folder = Path(args.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    rows = encoded_rows(tokenizer, args.max_length, Path(args.data))
    held, rows = rows[:args.held_out], rows[args.held_out:]
    with tempfile.TemporaryDirectory(prefix="ft-lab-bench-") as tmp:
        run = run_baseline if args.side == "baseline" else run_ft_lab
        result = run(args, folder, rows, held, Path(tmp))
    print("RESULT " + json.dumps(result), flush=True)


def loss_at(losses: list, tokens: float) -> float | None:
    """Training loss at a token count: the mean of the logged losses within 10% of the run around it."""
    if not losses:
        return None
    span = max(t for t, _ in losses) * 0.1
    near = [l for t, l in losses if abs(t - tokens) <= span] or [min(losses, key=lambda x: abs(x[0] - tokens))[1]]
    return sum(near) / len(near)


def report(base: dict, ours: dict, device: str) -> None:
    print(f"{'':24}{'baseline':>14}{'ft-lab':>14}{'ratio':>10}")
    def row(name, a, b, fmt="{:.1f}", ratio=True):
        fa = fmt.format(a) if a is not None else "-"
        fb = fmt.format(b) if b is not None else "-"
        r = f"{b / a:.2f}x" if ratio and a and b is not None else ""
        print(f"{name:24}{fa:>14}{fb:>14}{r:>10}")
    row("real tokens/s", base["tokens_per_second"], ours["tokens_per_second"])
    if device == "cpu":  # robust to other processes on a shared machine
        row("real tokens/CPU-second", base["tokens_per_cpu_second"], ours["tokens_per_cpu_second"])
    row("peak memory MiB", base["peak_memory_mib"], ours["peak_memory_mib"])
    if device == "cuda":
        row("MFU", base["mfu"], ours["mfu"], "{:.1%}")
    row("tokens trained", base["tokens"], ours["tokens"], "{:.0f}")
    end = min(base["tokens"], ours["tokens"])
    for frac in (0.25, 0.5, 0.75, 1.0):
        row(f"train loss @{frac:.0%} tokens", loss_at(base["losses"], end * frac),
            loss_at(ours["losses"], end * frac), "{:.4f}")
    row("held-out loss (end)", base["held_out_loss"], ours["held_out_loss"], "{:.4f}")
    if ours.get("packing"):
        print(f"packing: {ours['packing']['batches']} batches of <= {ours['packing']['tokens_per_batch']} "
              f"tokens, padding saved {ours['packing']['padding_saved']:.1%}")
    print("ft-lab plan: " + json.dumps(ours.get("plan")))
    for line in ours.get("defaults") or []:
        print("auto setting: " + line)
    print(f"speedup: {ours['tokens_per_second'] / base['tokens_per_second']:.2f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 40 on cpu, 80 on cuda)")
    parser.add_argument("--method", choices=["lora", "full", "qlora"], default="lora")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=None, help="default 512 on cpu, 1024 on cuda")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--warmup", type=int, default=None, help="steps left out of the rate (default steps/10)")
    parser.add_argument("--data", default=None, help="alpaca-style JSON (default: alpaca_en_demo under "
                                                      "$FT_LAB_SHARED_DATA or ../shared/data)")
    parser.add_argument("--held-out", type=int, default=HELD_OUT, help="rows kept for the held-out loss")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny size (the shipped 15-row sample unless --data, 4 steps, batch 2, rows <= 128 "
                             "tokens, 1 thread): checks that it runs and prints its figures, in well under a minute")
    parser.add_argument("--ft-lab-train", default=None, help="JSON of extra train fields for ft-lab's side")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both sides on a CPU (default: torch's own choice)")
    parser.add_argument("--sides", default="baseline,ft-lab")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = args.steps or (40 if args.device == "cpu" else 80)
    args.max_length = args.max_length or (512 if args.device == "cpu" else 1024)
    args.warmup = args.warmup or max(2, args.steps // 10)
    if args.smoke:  # caps the sizes of whatever command it is added to
        args.steps, args.warmup = min(args.steps, SMOKE["steps"]), SMOKE["warmup"]
        args.batch_size, args.max_length = min(args.batch_size, SMOKE["batch_size"]), SMOKE["max_length"]
        args.held_out, args.threads = SMOKE["held_out"], args.threads or SMOKE["threads"]
        args.data = args.data or str(SMOKE_DATA)
    args.data = args.data or str(DATA)
    if args.warmup >= args.steps:
        parser.error(f"--warmup ({args.warmup}) must be below --steps ({args.steps}): the rate is measured after it")
    if args.side:
        if args.device == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        child(args)
        return 0
    if not Path(args.data).exists():
        print(f"error: data file {args.data} not found; pass --data PATH (alpaca-style JSON)", file=sys.stderr)
        return 2
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TRANSFORMERS_VERBOSITY="error", PYTHONUNBUFFERED="1")
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    results = {}
    with tempfile.TemporaryDirectory(prefix="ft-lab-bench-model-") as tmp:
        build_model(args.device, Path(tmp), args.max_length)
        passed = [a for a in (argv if argv is not None else sys.argv[1:])]
        for side in args.sides.split(","):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, *passed, "--side", side, "--model-dir", tmp],
                                  env=env, capture_output=True, text=True)
            lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
            if proc.returncode or not lines:
                print(proc.stdout[-3000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
                print(f"error: the {side} run failed (exit {proc.returncode})", file=sys.stderr)
                return 1
            results[side] = json.loads(lines[-1][len("RESULT "):])
            r = results[side]
            print(f"{side}: {r['tokens_per_second']:.1f} real tokens/s, peak {r['peak_memory_mib']:.0f} MiB, "
                  f"{r['steps']} steps in {time.perf_counter() - t0:.0f} s"
                  + (f", MFU {r['mfu']:.1%}" if r.get("mfu") else ""), flush=True)
    if "baseline" in results and "ft-lab" in results:
        report(results["baseline"], results["ft-lab"], args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
