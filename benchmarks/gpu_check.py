"""One command that checks the GPU paths of ft-lab on a machine with one NVIDIA GPU, in under 9 minutes.

    python benchmarks/gpu_check.py --device cuda --out gpu_check.json
    python benchmarks/gpu_check.py --device cpu                # the reduced version the test suite runs

Parts (each a row of the table; any failed part makes the command exit 1):
  methods       every method of both tasks trains a few steps on the tiny model (``ft-lab sweep``'s machinery);
                on the CPU: LoRA for classification, full fine-tuning for generation
  packing       packed rows against the same rows padded: equal loss and gradients, and how often packed
                attention ran as one varlen kernel or fell back to sdpa per row
  plan          each run's planned peak memory and training time against what it measured
  throughput    (GPU) benchmarks/train_throughput.py for LoRA, full and QLoRA: speed-up over the Hugging Face
                docs baseline and MFU
  compile_liger (GPU) train.compile and train.liger, each on and off, on the same LoRA run
  distributed   (GPU) launch.strategy ddp, fsdp and deepspeed with one process, a few steps each
Parts that need CUDA are listed as skipped, with the reason, on the CPU. ``--out FILE`` writes the table
and every part's details as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "ft_lab" / "assets"
GPU_METHODS = ["full", "lora", "qlora", "adalora", "ia3", "adapter", "freeze", "head", "prefix_tuning",
               "prompt_tuning", "p_tuning", "reft"]
CPU_METHODS = {"classification": ["lora"], "generation": ["full"]}


class Skip(Exception):
    """A part that cannot run on this device; its message is the reason."""


def task_recipes(folder: Path, steps: int) -> dict[str, dict]:
    train = {"max_steps": steps, "batch_size": 8, "learning_rate": 1e-3, "logging_steps": 1}
    gen = folder / "qa.jsonl"
    rows = [{"prompt": f"What is {a} plus {b}?", "response": str(a + b)} for a in range(8) for b in range(5)]
    gen.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return {"classification": {"task": "classification", "data": {"path": str(ASSETS / "banking77_sample.csv")},
                               "model": {"max_length": 48, "compare_base": False}, "baselines": [], "train": train},
            "generation": {"task": {"type": "generation", "max_new_tokens": 4}, "data": {"path": str(gen)},
                           "model": {"max_length": 48, "compare_base": False}, "baselines": [],
                           "evaluate": ["exact_match"], "train": train}}


def part_methods(ctx) -> dict:
    from ft_lab.workflows.sweep import sweep

    rows, failed = [], []
    for task, recipe in ctx["recipes"].items():
        methods = ctx["methods"][task] if isinstance(ctx["methods"], dict) else ctx["methods"]
        for r in sweep(recipe, methods, runs_dir=ctx["runs"] / task):
            rows.append({"task": task, "method": r["method"], "status": r["status"], "run_dir": r.get("run_dir"),
                         "peak_rss_mib": r.get("peak_rss_mib"), "peak_cuda_mib": r.get("peak_cuda_mib"),
                         "tokens_per_second": r.get("tokens_per_second"), "note": r.get("note")})
            if r["status"] not in ("completed", "skipped", "refused"):
                failed.append(f"{task}/{r['method']}: {r['status']} ({r.get('note')})")
    ctx["runs_done"] = [r for r in rows if r["status"] == "completed"]
    trained = len(ctx["runs_done"])
    skipped = [f"{r['task']}/{r['method']}" for r in rows if r["status"] in ("skipped", "refused")]
    summary = f"{trained} trained" + (f", {len(skipped)} skipped ({', '.join(skipped)})" if skipped else "")
    if failed:
        raise AssertionError(f"{summary}; failed: {'; '.join(failed)}")
    return {"summary": summary, "rows": rows}


def part_packing(ctx) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ft_lab.training import packing
    from ft_lab.training.packing import PackedCollator, use_packed_attention
    from ft_lab.training.tokenization import PadCollator

    device, half = ctx["device"], ctx["device"] == "cuda"
    dtype = torch.bfloat16 if half else torch.float32
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         attn_implementation="sdpa")
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()
    g = torch.Generator().manual_seed(1)
    rows = []
    for n in (7, 19, 3, 12, 25, 64):
        ids = torch.randint(1, 97, (n,), generator=g).tolist()
        rows.append({"input_ids": ids, "attention_mask": [1] * n, "labels": [-100] * (n // 3) + ids[n // 3:]})

    def loss_and_grads(batch):
        model.zero_grad()
        loss = model(**{k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}).loss
        loss.backward()
        return loss.detach().float(), {n: p.grad.detach().float().clone() for n, p in model.named_parameters()}
    padded_loss, padded = loss_and_grads(PadCollator(pad_id=0)(rows))
    before = dict(packing.PACKED_CALLS)
    if not use_packed_attention(model):
        raise AssertionError("the model does not take packed attention")
    packed_loss, packed_grads = loss_and_grads(PackedCollator()(rows))
    calls = {k: packing.PACKED_CALLS[k] - before[k] for k in before}
    rtol, atol = (2e-2, 2e-3) if half else (1e-4, 1e-6)
    worst = max(float(((packed_grads[n] - g).abs() / (g.abs() + atol)).max()) for n, g in padded.items())
    loss_ok = torch.allclose(packed_loss, padded_loss, rtol=rtol, atol=atol)
    grads_ok = all(torch.allclose(packed_grads[n], g, rtol=rtol, atol=atol) for n, g in padded.items())
    summary = (f"loss {float(padded_loss):.5f} padded, {float(packed_loss):.5f} packed; gradients "
               f"{'equal' if grads_ok else 'DIFFER'}; varlen calls {calls['varlen']}, per-row fallbacks "
               f"{calls['per_row']}")
    if not (loss_ok and grads_ok):
        raise AssertionError(summary + f" (worst relative gradient difference {worst:.3g})")
    if half and calls["per_row"]:
        raise AssertionError(summary + ": on a GPU in bf16 packed attention fell back to sdpa per row")
    return {"summary": summary, "calls": calls, "worst_relative_gradient_difference": worst}


def part_plan(ctx) -> dict:
    from ft_lab.rundir.reader import RunFiles

    if "runs_done" not in ctx:
        raise Skip("the methods part did not run")
    rows, missing = [], []
    for r in ctx["runs_done"]:
        checks = RunFiles(r["run_dir"]).events("plan_check")
        if not checks:
            missing.append(f"{r['task']}/{r['method']}")
            continue
        c = checks[-1]
        rows.append({"run": f"{r['task']}/{r['method']}", "memory_ratio": c["memory_ratio"],
                     "time_ratio": c["time_ratio"], "measured_peak_mib": c["measured_peak_mib"],
                     "estimated_peak_mib": c["estimated_peak_mib"], "utilization": c["utilization"]})
    if not rows or missing:
        raise AssertionError(f"runs without a plan_check event: {', '.join(missing) or 'no runs'}")
    ratios = sorted(r["memory_ratio"] for r in rows if r["memory_ratio"])
    return {"summary": f"{len(rows)} runs; measured/planned peak memory {ratios[0]:.2f}-{ratios[-1]:.2f} "
                       f"(time is calibrated from these runs for later plans)", "rows": rows}


def part_throughput(ctx) -> dict:
    if ctx["device"] != "cuda":
        raise Skip("needs CUDA (test_train_throughput_command runs its --smoke form on the CPU)")
    out = {}
    for method in ("lora", "full", "qlora"):
        proc = subprocess.run([sys.executable, str(HERE / "train_throughput.py"), "--device", "cuda", "--steps", "30",
                               "--method", method], capture_output=True, text=True, timeout=240)
        if proc.returncode != 0:
            raise AssertionError(f"{method}: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
        speed = re.search(r"^speedup: ([\d.]+)x", proc.stdout, re.M)
        mfu = re.findall(r"MFU[^\d]*([\d.]+)", proc.stdout)
        out[method] = {"speedup": float(speed.group(1)) if speed else None, "mfu": mfu[-1] if mfu else None,
                       "tail": proc.stdout.strip().splitlines()[-8:]}
    return {"summary": "; ".join(f"{m} {v['speedup']}x, MFU {v['mfu']}" for m, v in out.items()), "methods": out}


def _train_variants(ctx, variants: dict[str, dict]) -> dict:
    import ft_lab

    out, failed = {}, []
    base = ctx["recipes"]["generation"]
    for name, change in variants.items():
        recipe = json.loads(json.dumps(base))
        recipe["method"] = {"name": "lora"}
        for section, fields in change.items():
            recipe.setdefault(section, {}).update(fields)
        handle = ft_lab.run(recipe, runs_dir=ctx["runs"] / "variants")
        status = handle.wait()
        speed = handle.metrics().get("throughput") or {}
        out[name] = {"status": status, "tokens_per_second": speed.get("tokens_per_second"), "mfu": speed.get("mfu")}
        if status != "completed":
            failed.append(f"{name}: {status} ({handle.error})")
    summary = "; ".join(f"{n} {v['status']} {v['tokens_per_second'] or '-'} tok/s" for n, v in out.items())
    if failed:
        raise AssertionError(summary + "; failed: " + "; ".join(failed))
    return {"summary": summary, "runs": out}


def part_compile_liger(ctx) -> dict:
    if ctx["device"] != "cuda":
        raise Skip("needs CUDA (compile and Liger are GPU speed-ups; auto leaves them off on a CPU)")
    return _train_variants(ctx, {f"{switch} {state}": {"train": {switch: state == "on"}}
                                 for switch in ("compile", "liger") for state in ("off", "on")})


def part_distributed(ctx) -> dict:
    if ctx["device"] != "cuda":
        raise Skip("needs CUDA (tests/test_launch.py runs DDP and FSDP with gloo processes on the CPU)")
    return _train_variants(ctx, {s: {"launch": {"num_processes": 1, "strategy": s}}
                                 for s in ("ddp", "fsdp", "deepspeed")})


PARTS = {"methods": part_methods, "packing": part_packing, "plan": part_plan, "throughput": part_throughput,
         "compile_liger": part_compile_liger, "distributed": part_distributed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run (default: 4 GPU, 2 CPU)")
    parser.add_argument("--out", help="write the table and details as JSON here")
    parser.add_argument("--parts", help=f"only these parts, comma-separated (of {', '.join(PARTS)})")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.parts.split(",")] if args.parts else list(PARTS)
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        print(f"error: --parts: unknown part {unknown[0]!r} (parts: {', '.join(PARTS)})", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            print("error: --device cuda: no CUDA GPU visible (use --device cpu for the reduced check)", file=sys.stderr)
            return 2
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ.setdefault("FT_LAB_THREADS", "1")
    results = []
    with tempfile.TemporaryDirectory(prefix="ft-lab-gpu-check-") as tmp:
        ctx = {"device": args.device, "runs": Path(tmp) / "runs",
               "methods": GPU_METHODS if args.device == "cuda" else CPU_METHODS,
               "recipes": task_recipes(Path(tmp), args.steps or (4 if args.device == "cuda" else 2))}
        for name in chosen:
            part = PARTS[name]
            started = time.monotonic()
            try:
                detail = part(ctx)
                row = {"part": name, "result": "ok", "summary": detail.pop("summary"), "details": detail}
            except Skip as exc:
                row = {"part": name, "result": "skipped", "summary": str(exc), "details": {}}
            except Exception as exc:  # noqa: BLE001 - one failed part is reported; the others still run
                row = {"part": name, "result": "FAILED", "summary": f"{type(exc).__name__}: {exc}", "details": {}}
            row["seconds"] = round(time.monotonic() - started, 1)
            results.append(row)
            print(f"  {name}: {row['result']}", file=sys.stderr, flush=True)
    print(f"gpu_check on {args.device}")
    print("| part | result | seconds | summary |")
    print("|---|---|---:|---|")
    for r in results:
        print(f"| {r['part']} | {r['result']} | {r['seconds']} | {r['summary']} |")
    failed = [r["part"] for r in results if r["result"] == "FAILED"]
    print(f"failed parts: {', '.join(failed) or 'none'}")
    if args.out:
        Path(args.out).write_text(json.dumps({"device": args.device, "parts": results}, indent=2) + "\n",
                                  encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
