"""The training worker: ``python -m ft_lab.training.worker RUN_DIR [--resume]``.

Reads the run directory (recipe, prepared data), evaluates the base model, applies the tuning method,
trains with the HF Trainer, saves the result and evaluates it, writing events as it goes. It runs in
its own process (never in the notebook kernel); under ``accelerate launch`` only rank 0 writes files.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path


def _rank0() -> bool:
    return os.environ.get("RANK", "0") == "0"


def last_checkpoint(run_dir: Path) -> str | None:
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return None
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
             and (p / "trainer_state.json").exists()]
    return str(max(found, key=lambda p: int(p.name.split("-")[-1]))) if found else None


def train_run(run_dir: Path, resume: bool) -> str:
    import torch
    from transformers import set_seed

    from ..data.prepare import PreparedData
    from ..evaluation.predict import make_responder, predict_split
    from ..evaluation.rescore import evaluate_run
    from ..models.loading import load_model, load_tokenizer, resolve_source
    from ..recipe import Recipe
    from ..runs import append_event, atomic_write_json, read_json
    from .encoding import encode_split
    from ..methods.budget import describe_budget, estimate_memory, trainable_parameters
    from .callbacks import EventWriter
    from .speed import meter_figures, plan_speed, prepare_fast, throughput_report
    from .packing import supports_packed_attention
    from .trainer import build_trainer, total_steps, training_batches

    emit = (lambda e: append_event(run_dir, e)) if _rank0() else (lambda e: None)

    def warn(message: str) -> None:
        if " failed: " in message:  # evaluate_run reports progress and per-evaluator failures
            emit({"type": "warning", "message": f"evaluator {message}"})
    recipe = Recipe.from_yaml(run_dir / "recipe.yaml")
    data = PreparedData.read(run_dir / "data")
    task = recipe.task.type
    torch.set_num_threads(max(1, int(os.environ.get("FT_LAB_THREADS", os.cpu_count() or 1))))

    set_seed(recipe.train.seed)
    source = resolve_source(recipe.model)
    tokenizer = load_tokenizer(recipe.model, source)
    labels = data.labels
    label2id = {l: i for i, l in enumerate(labels)} if labels else None
    method = recipe.method.create("method")
    plan = plan_speed(recipe, method, cuda=torch.cuda.is_available())
    load = method.load_kwargs()
    if plan.frozen_dtype:  # an adapter's frozen base in bf16/fp16 on a GPU; trainable weights stay fp32
        load.setdefault("dtype", getattr(torch, plan.frozen_dtype))
    model = load_model(recipe.model, source, recipe.model_task(), labels, tokenizer, **load)
    plan.packing = plan.packing and supports_packed_attention(model)

    metrics_path = run_dir / "metrics.json"
    metrics = read_json(metrics_path, {}) or {"headline": recipe.headline_metric()}
    if recipe.model.compare_base and "base" not in metrics and _rank0():
        emit({"type": "phase", "phase": "evaluate_base", "examples": len(data.test)})
        predict_split(recipe, model, tokenizer, data.test, labels, run_dir / "predictions" / "base.jsonl")
        metrics = evaluate_run(run_dir, sides=("base",), strict=False, progress=warn,
                               responders={"base": make_responder(recipe, model, tokenizer, labels)})
        emit({"type": "eval", "split": "test", "model": "base", "metrics": metrics["base"]})
    tokenizer.padding_side = "right"

    train_ds, dropped = encode_split(tokenizer, data.train, task, recipe, label2id)
    eval_ds, _ = encode_split(tokenizer, data.validation, task, recipe, label2id)
    if dropped:
        emit({"type": "warning", "message": f"{dropped} training example(s) had no response tokens left "
                                            f"after truncation to model.max_length and were skipped"})
    if not train_ds:
        raise RuntimeError("no training examples left after tokenization; raise model.max_length")

    train_ds, eval_ds, collator, packing = training_batches(recipe, plan, train_ds, eval_ds,
                                                           tokenizer.pad_token_id)
    if packing:
        emit({"type": "packing", **packing})
    set_seed(recipe.train.seed)
    method.bind(tokenizer=tokenizer, total_steps=total_steps(recipe.train, len(train_ds),
                                                             batch_size=1 if packing else None))
    model = prepare_fast(method, model, recipe.model_task(), plan)
    emit({"type": "speed", **plan.to_dict()})
    trainable, total = trainable_parameters(model)
    rows = train_ds.features if packing else train_ds
    longest = max(len(f["input_ids"]) for f in rows)
    estimate = estimate_memory(model, recipe.train.batch_size, longest, recipe.train.precision,
                               recipe.train.gradient_checkpointing)
    emit({"type": "model", "method": recipe.method.name, "trainable_parameters": trainable,
          "total_parameters": total, "memory_estimate": estimate, "budget": describe_budget(model, estimate)})
    meter = EventWriter(run_dir, *meter_figures(model, method, recipe, rows))
    trainer, stop = build_trainer(recipe, model, tokenizer, train_ds, eval_ds, collator, run_dir,
                                  extra_callbacks=getattr(method, "callbacks", lambda: [])(),
                                  plan=plan, event_writer=meter)
    checkpoint = last_checkpoint(run_dir) if resume else None
    emit({"type": "phase", "phase": "train", "resume_from": checkpoint})
    result = trainer.train(resume_from_checkpoint=checkpoint)
    if _rank0():
        speed = throughput_report(trainer.state.num_input_tokens_seen, result.metrics.get("train_runtime"),
                                  meter, packing)
        atomic_write_json(metrics_path, {**(read_json(metrics_path, {}) or metrics), "throughput": speed})
        emit({"type": "throughput", **speed})
    if stop.stopped:
        emit({"type": "status", "status": "stopped", "step": trainer.state.global_step,
              "checkpoint": last_checkpoint(run_dir)})
        return "stopped"
    if not trainer.is_world_process_zero():
        return "completed"

    final = run_dir / "final"
    method.save(trainer.model, final)
    tokenizer.save_pretrained(str(final))
    emit({"type": "saved", "path": str(final), "adapter": bool(method.adapter)})
    emit({"type": "phase", "phase": "evaluate", "examples": len(data.test)})
    predict_split(recipe, trainer.model, tokenizer, data.test, labels, run_dir / "predictions" / "finetuned.jsonl")
    metrics = evaluate_run(run_dir, sides=("finetuned",), strict=False, progress=warn,
                           responders={"finetuned": make_responder(recipe, trainer.model, tokenizer, labels)})
    history = [e for e in trainer.state.log_history if "eval_loss" in e]
    if history:
        metrics["validation_loss"] = float(history[-1]["eval_loss"])
        atomic_write_json(metrics_path, metrics)
    emit({"type": "eval", "split": "test", "model": "finetuned", "metrics": metrics["finetuned"]})
    import resource
    emit({"type": "resources", "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
          "peak_cuda_mib": (round(torch.cuda.max_memory_allocated() / 2**20, 1)
                            if torch.cuda.is_available() else None)})
    emit({"type": "status", "status": "completed", "step": trainer.state.global_step})
    return "completed"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ft_lab.training.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).resolve()

    from ..errors import UserError
    from ..runs import append_event, atomic_write_text
    from .callbacks import NonFiniteLoss

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if _rank0():
        atomic_write_text(run_dir / "worker.pid", str(os.getpid()))
        append_event(run_dir, {"type": "status", "status": "running", "pid": os.getpid(), "resume": args.resume})
    try:
        train_run(run_dir, args.resume)
        return 0
    except NonFiniteLoss as exc:
        if _rank0():
            append_event(run_dir, {"type": "status", "status": "failed", "reason": "non_finite_loss",
                                   "step": exc.step, "error": str(exc)})
        return 1
    except UserError as exc:
        if _rank0():
            append_event(run_dir, {"type": "status", "status": "failed", "error": str(exc)})
        return 2
    except BaseException as exc:  # anything else: the status says what, worker.log has the traceback
        traceback.print_exc()
        if _rank0():
            append_event(run_dir, {"type": "status", "status": "failed",
                                   "error": f"{type(exc).__name__}: {exc} (traceback in worker.log)"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
