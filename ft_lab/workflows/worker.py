"""The training worker: ``python -m ft_lab.workflows.worker RUN_DIR [--resume]``.

Reads the run directory (recipe, prepared data), evaluates the base model, applies the tuning method,
trains with the HF Trainer, saves the result and evaluates it, writing events as it goes. It runs in
its own process (never in the notebook kernel); under ``accelerate launch`` only rank 0 writes files.
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path

from ..baselines.scoring import run_baselines
from ..core.recipe import Recipe
from ..data.pairs import generation_examples
from ..data.prepare import PreparedData
from ..errors import UserError
from ..evaluation.forgetting import answer_general_start, report_forgetting
from ..evaluation.predict import make_responder, predict_split
from ..evaluation.rescore import evaluate_run
from ..methods.budget import describe_budget, estimate_memory, trainable_parameters
from ..models.from_run import continues_adapter, load_trained, restore_adapter, start_model
from ..planning.check import measured_against, measured_peak_bytes, plan_at_start, reset_peak
from ..rundir.events import SCHEMA_VERSION
from ..rundir.inline_plugins import load_run_plugins
from ..rundir.layout import RunLayout
from ..rundir.lineage import parent_of
from ..rundir.lock import lock_holder, write_lock_info
from ..rundir.reader import RunFiles, append_event, last_checkpoint
from ..safety.atomic import atomic_write_json, atomic_write_text, read_json, replace_folder
from ..safety.redact import RedactingStream
from ..training.defaults import has_auto, resolve_defaults
from ..training.launch import (
    SUPERVISED_ENV,
    die_with_parent,
    failure_event,
    gathered_model,
    is_sharded,
    rank,
    world_size,
)
from ..training.lr_find import apply_range_test
from ..training.packing import supports_packed_attention
from ..training.regularize import StartAnchor, fisher_diagonal
from ..training.speed import meter_figures, plan_speed, prepare_fast, throughput_report
from ..training.tokenization import PadCollator, encode_split
from .preference_run import train_preference
from .tracking import start_tracking


def _rank0() -> bool:
    return rank() == 0


def train_run(run_dir: Path, resume: bool) -> str:
    import torch
    from transformers import set_seed

    from ..training.callbacks import EventWriter
    from ..training.trainer import build_trainer, total_steps, training_batches

    emit = (lambda e: append_event(run_dir, e)) if _rank0() else (lambda e: None)

    def evaluator_failed(which: str, name: str, message: str) -> None:
        emit({"type": "warning", "evaluator": name, "model": which,
              "message": f"evaluator {name} failed on {which}: {message}"})
    load_run_plugins(run_dir)  # plugins registered in the notebook that created the run
    layout = RunLayout(run_dir)
    recipe = Recipe.from_yaml(layout.recipe)
    data = PreparedData.read(layout.data)
    if has_auto(recipe):  # a run directory written without its defaults resolved (by hand, or older ft-lab)
        recipe, _ = resolve_defaults(recipe, data)
    task = recipe.task.type
    torch.set_num_threads(max(1, int(os.environ.get("FT_LAB_THREADS", os.cpu_count() or 1))))

    set_seed(recipe.train.seed)
    labels = data.labels
    label2id = {l: i for i, l in enumerate(labels)} if labels else None
    method = recipe.method.create("method")
    plan = plan_speed(recipe, method, cuda=torch.cuda.is_available())
    load = method.load_kwargs()
    if plan.frozen_dtype:  # an adapter's frozen base in bf16/fp16 on a GPU; trainable weights stay fp32
        load.setdefault("dtype", getattr(torch, plan.frozen_dtype))
    parent = parent_of(RunFiles(run_dir))  # model.from_run: start from that run's result
    continuing = continues_adapter(recipe, parent)
    model, tokenizer = start_model(recipe, labels, parent, **load)
    preference = recipe.train.objective != "sft"
    plan.packing = plan.packing and supports_packed_attention(model)  # padding-free pairs for a preference run
    # a preference run goes on training an earlier adapter (an SFT run's final/): model.adapter names the
    # folder, model.from_run the run (from_run_adapter: continue); that model is the "base" compared
    adapter = recipe.resolve_path(recipe.model.adapter) if recipe.model.adapter else \
        parent.layout.final if preference and continuing else None
    if adapter:
        model = method.load_trainable(model, adapter)
    # a preference run is scored like a generation run, against its good answers
    test = generation_examples(data.test) if preference else data.test

    metrics_path = layout.metrics
    metrics = read_json(metrics_path, {}) or {"headline": recipe.headline_metric()}

    def evaluate_base():  # the model before tuning: the base, or the earlier run's result (from_run)
        emit({"type": "phase", "phase": "evaluate_base", "examples": len(test)})
        predict_split(recipe, model, tokenizer, test, labels, layout.predictions("base"))
        scored = evaluate_run(run_dir, sides=("base",), strict=False, on_error=evaluator_failed,
                              responders={"base": make_responder(recipe, model, tokenizer, labels)})
        emit({"type": "eval", "split": "test", "model": "base", "metrics": scored["base"]})
        return scored

    if recipe.model.compare_base and "base" not in metrics and _rank0() and (preference or not continuing):
        metrics = evaluate_base()
    if recipe.baselines and "baselines" not in metrics and _rank0() and not preference:
        emit({"type": "phase", "phase": "baselines", "examples": len(data.test)})
        run_baselines(run_dir, recipe, data, model, tokenizer, labels, emit)
    tokenizer.padding_side = "right"
    if preference:
        return train_preference(run_dir, recipe, data, test, model, tokenizer, method, plan, emit,
                                evaluator_failed, resume, adapter_loaded=bool(adapter))

    train_ds, dropped = encode_split(tokenizer, data.train, task, recipe, label2id)
    eval_ds, _ = encode_split(tokenizer, data.validation, task, recipe, label2id)
    if dropped:
        emit({"type": "warning", "message": f"{dropped} training example(s) had no response tokens left "
                                            f"after truncation to model.max_length and were skipped"})
    if not train_ds:
        raise RuntimeError("no training examples left after tokenization; raise model.max_length")

    rows_for_lr_find = train_ds  # the range test runs on padded batches of the same rows
    train_ds, eval_ds, collator, packing = training_batches(recipe, plan, train_ds, eval_ds,
                                                           tokenizer.pad_token_id)
    if packing:
        emit({"type": "packing", **packing})
    set_seed(recipe.train.seed)
    method.bind(tokenizer=tokenizer, total_steps=total_steps(recipe.train, len(train_ds), world_size(),
                                                             batch_size=1 if packing else None))
    model = prepare_fast(method, model, recipe.model_task(), plan)
    if continuing:  # the earlier run's adapter, trained further
        restore_adapter(method, model, parent, labels)
        if recipe.model.compare_base and "base" not in metrics and _rank0():
            metrics = evaluate_base()
            model.train()
    emit({"type": "speed", **plan.to_dict()})
    trainable, total = trainable_parameters(model)
    rows = train_ds.features if packing else train_ds
    longest = max(len(f["input_ids"]) for f in rows)
    estimate = estimate_memory(model, recipe.train.batch_size, longest, recipe.train.precision,
                               recipe.train.gradient_checkpointing)
    emit({"type": "model", "method": recipe.method.name, "trainable_parameters": trainable,
          "total_parameters": total, "memory_estimate": estimate, "budget": describe_budget(model, estimate)})
    planned = _plan(recipe, rows, labels, run_dir, emit)
    if recipe.train.learning_rate == "find":
        recipe = apply_range_test(run_dir, recipe, model, rows_for_lr_find, PadCollator(tokenizer.pad_token_id), emit)
    meter = EventWriter(run_dir, *meter_figures(model, method, recipe, rows))
    trainer, stop = build_trainer(recipe, model, tokenizer, train_ds, eval_ds or None, collator, run_dir,
                                  extra_callbacks=getattr(method, "callbacks", lambda: [])(),
                                  plan=plan, event_writer=meter)
    if recipe.train.l2_to_start or recipe.train.ewc:
        trainer.anchor = start_anchor(recipe, model, tokenizer, parent, label2id, emit)
    checkpoint = last_checkpoint(run_dir) if resume else None
    answer_general_start(run_dir, recipe, model, tokenizer, labels, data.general_test, emit)  # its "before"
    # the anchor was taken above from the start weights; a resumed attempt loads the checkpoint in train()
    emit({"type": "phase", "phase": "train", "resume_from": checkpoint,
          **({"anchor": trainer.anchor.summary()} if getattr(trainer, "anchor", None) is not None else {})})
    if checkpoint and _finished_training(checkpoint):
        # killed after training (saving, final evaluation): take the final checkpoint as it is; the
        # Trainer would otherwise run one step past max_steps
        restore_checkpoint(trainer, checkpoint)
        result = None
    else:
        reset_peak(torch.cuda.is_available())
        result = trainer.train(resume_from_checkpoint=checkpoint)
    if _rank0() and result is not None:
        speed = throughput_report(trainer.state.num_input_tokens_seen, result.metrics.get("train_runtime"),
                                  meter, packing)
        record = {"throughput": speed}
        emit({"type": "throughput", **speed})
        if planned and not checkpoint:  # a resumed run's time covers part of the plan only
            cuda = torch.cuda.is_available()
            check = measured_against(planned, measured_peak_bytes(cuda), result.metrics.get("train_runtime"),
                                     speed["tokens_per_second"], speed["mfu"], cuda=cuda)
            emit({"type": "plan_check", **check})
            record["plan"] = {"estimate": {k: v for k, v in planned.items() if k != "lines"}, "measured": check}
        atomic_write_json(metrics_path, {**(read_json(metrics_path, {}) or metrics), **record})
    if stop.stopped:
        emit({"type": "status", "status": "stopped", "step": trainer.state.global_step,
              "checkpoint": last_checkpoint(run_dir)})
        return "stopped"
    final = layout.final
    partial = layout.final_partial
    if trainer.is_world_process_zero():
        shutil.rmtree(partial, ignore_errors=True)
    with gathered_model(trainer) as trained:  # FSDP: every rank gathers the weights, rank 0 saves them
        if trainer.is_world_process_zero():
            method.save(trained, partial)
            tokenizer.save_pretrained(str(partial))
    if not trainer.is_world_process_zero():
        return "completed"
    replace_folder(partial, final)  # final/ appears complete or not at all
    if is_sharded(trainer):  # rank 0 alone cannot run a sharded model: it evaluates what it saved
        trainer.model = load_trained(run_dir, recipe)[0].to(trainer.args.device)
    emit({"type": "saved", "path": str(final), "adapter": bool(method.adapter)})
    emit({"type": "phase", "phase": "evaluate", "examples": len(data.test)})
    predict_split(recipe, trainer.model, tokenizer, data.test, labels, layout.predictions("finetuned"))
    metrics = evaluate_run(run_dir, sides=("finetuned",), strict=False, on_error=evaluator_failed,
                           responders={"finetuned": make_responder(recipe, trainer.model, tokenizer, labels)})
    history = [e for e in trainer.state.log_history if "eval_loss" in e]
    if history:
        metrics["validation_loss"] = float(history[-1]["eval_loss"])
        atomic_write_json(metrics_path, metrics)
    emit({"type": "eval", "split": "test", "model": "finetuned", "metrics": metrics["finetuned"]})
    report = report_forgetting(run_dir, recipe, trainer.model, tokenizer, labels, data.general_test, emit)
    if report is not None:
        atomic_write_json(metrics_path, {**(read_json(metrics_path, {}) or metrics), "forgetting": report})
    import resource
    emit({"type": "resources", "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
          "peak_cuda_mib": (round(torch.cuda.max_memory_allocated() / 2**20, 1)
                            if torch.cuda.is_available() else None), "threads": torch.get_num_threads()})
    emit({"type": "status", "status": "completed", "step": trainer.state.global_step})
    return "completed"


def start_anchor(recipe, model, tokenizer, parent, label2id, emit):
    """train.l2_to_start / train.ewc: the penalty toward the weights training starts from (EWC's Fisher
    estimated on up to train.ewc_rows of the earlier run's training rows)."""
    fisher = None
    if recipe.train.ewc and parent is not None:
        rows = PreparedData.read(parent.layout.data).train[:recipe.train.ewc_rows]
        rows = [r for r in rows if label2id is None or r.get("label") in label2id]
        encoded, _ = encode_split(tokenizer, rows, recipe.task.type, recipe, label2id)
        collate = PadCollator(tokenizer.pad_token_id)
        size = recipe.train.batch_size
        fisher = fisher_diagonal(model, (collate(encoded[i:i + size]) for i in range(0, len(encoded), size)))
        emit({"type": "phase", "phase": "fisher", "examples": len(encoded)})
    return StartAnchor(model, l2=recipe.train.l2_to_start, ewc=recipe.train.ewc, fisher=fisher)


def _plan(recipe, rows, labels, run_dir: Path, emit) -> dict | None:
    """The run's plan on this machine (the ``plan`` event); a plan that cannot be made never stops a run."""
    import torch
    try:
        planned = plan_at_start(recipe, [len(f["input_ids"]) for f in rows], labels, run_dir,
                                cuda=torch.cuda.is_available())
    except Exception as exc:  # noqa: BLE001 - the estimate is advice; training goes on without it
        emit({"type": "warning", "message": f"no plan for this run: {type(exc).__name__}: {exc}"})
        return None
    emit({"type": "plan", **planned})
    return planned


def _finished_training(checkpoint: str) -> bool:
    state = read_json(Path(checkpoint) / "trainer_state.json", {}) or {}
    return bool(state.get("max_steps")) and state.get("global_step", 0) >= state["max_steps"]


def restore_checkpoint(trainer, checkpoint: str) -> None:
    """Load a checkpoint's weights and trainer state (log history included) without training."""
    from transformers.trainer_callback import TrainerState

    trainer._load_from_checkpoint(checkpoint)
    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    best = trainer.state.best_model_checkpoint
    if trainer.args.load_best_model_at_end and best and Path(best).is_dir():
        trainer._load_best_model()  # as train() does at its end


class Interrupted(BaseException):
    """SIGTERM: the worker was asked to end now (a shutdown, a scheduler)."""


def _on_sigterm(signum, frame):
    raise Interrupted()


def hold_lock(run_dir: Path) -> None:
    """Keep the run's lock for this process's life: given by the starter (FT_LAB_LOCK_FD), or taken here.
    A second worker on the same run ends at once with a clear message."""
    import fcntl

    fd = os.environ.pop("FT_LAB_LOCK_FD", None)
    if fd is not None:
        try:
            os.fstat(int(fd))
        except OSError:  # under accelerate launch the launcher process holds it for the ranks
            return
        _LOCK.append(int(fd))
    else:
        fd = os.open(RunLayout(run_dir).worker_lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SystemExit(f"{run_dir}: another worker (pid {lock_holder(run_dir)}) is running this run; "
                             f"stop it first") from None
        _LOCK.append(fd)
        write_lock_info(fd, os.getpid())
    os.set_inheritable(_LOCK[0], False)


_LOCK: list[int] = []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ft_lab.workflows.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).resolve()


    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    die_with_parent()
    supervised = bool(os.environ.get(SUPERVISED_ENV))
    if _rank0():
        if not supervised:  # supervised: the supervisor holds the lock and worker.pid is its own
            hold_lock(run_dir)
            atomic_write_text(RunLayout(run_dir).worker_pid, str(os.getpid()))
        append_event(run_dir, {"type": "status", "status": "running", "schema": SCHEMA_VERSION, "pid": os.getpid(),
                               "resume": args.resume,
                               **({"processes": world_size()} if world_size() > 1 else {})})
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from ..training.callbacks import (
            NonFiniteLoss,  # imports transformers: a broken install fails here, reported
        )
    except BaseException as exc:
        traceback.print_exc()
        if _rank0() or world_size() > 1:
            append_event(run_dir, failure_event(f"the worker cannot start: {type(exc).__name__}: {exc} "
                                                f"(check the Python environment; traceback in worker.log)",
                                                reason="import"))
        return 1
    follower = start_tracking(run_dir) if _rank0() else None  # the recipe's trackers (track: [...])
    try:
        return _train(run_dir, args.resume, NonFiniteLoss)
    finally:
        if follower is not None:
            follower.finish()


def _train(run_dir: Path, resume: bool, NonFiniteLoss) -> int:  # noqa: N803 - the class, imported late
    try:
        train_run(run_dir, resume)
        return 0
    # with several processes any rank's failure ends the run, and the event names the rank (failure_event)
    except NonFiniteLoss as exc:
        if _rank0() or world_size() > 1:
            append_event(run_dir, failure_event(str(exc), reason="non_finite_loss", step=exc.step))
        return 1
    except UserError as exc:
        if _rank0() or world_size() > 1:
            append_event(run_dir, failure_event(str(exc)))
        return 2
    except (Interrupted, KeyboardInterrupt):
        if _rank0():
            append_event(run_dir, {"type": "status", "status": "interrupted", "checkpoint": last_checkpoint(run_dir),
                                   "error": "the worker was told to end (SIGTERM or Ctrl-C); "
                                            f"continue with: ft-lab resume {run_dir}"})
        return 130
    except BaseException as exc:  # anything else: the status says what, worker.log has the traceback
        traceback.print_exc()
        if _rank0() or world_size() > 1:
            append_event(run_dir, failure_event(_failure_message(exc), checkpoint=last_checkpoint(run_dir)))
        return 1


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"the disk is full ({exc.filename or 'run directory'}): free some space, then continue with "
                f"ft-lab resume")
    return f"{type(exc).__name__}: {exc} (traceback in worker.log)"


if __name__ == "__main__":
    sys.exit(main())
