"""A preference run (``train.objective`` dpo, orpo, kto or simpo) inside the training worker: TRL's trainer on
the preference rows, then the same saving and test-split evaluation as a supervised run, plus reward accuracy
and margins on the held-out pairs. ``worker.train_run`` hands over to ``train_preference`` once the model,
tokenizer and method are loaded.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..evaluation.forgetting import answer_general_start, report_forgetting
from ..evaluation.predict import make_responder, predict_split
from ..evaluation.rescore import evaluate_run
from ..methods.budget import trainable_parameters
from ..rundir.layout import RunLayout
from ..rundir.reader import last_checkpoint
from ..safety.atomic import atomic_write_json, replace_folder
from ..training.speed import prepare_fast


def train_preference(run_dir: Path, recipe, data, test: list[dict], model, tokenizer, method, plan, emit,
                     evaluator_failed, resume: bool, adapter_loaded: bool = False) -> str:
    """train.objective dpo, orpo, kto or simpo: TRL's trainer on the preference rows, then the same saving
    and test-split evaluation as SFT, plus reward accuracy and margins on the held-out pairs."""
    from ..training.callbacks import EventWriter
    from ..training.preference import build_preference_trainer, padding_report, pair_figures, trained_model

    layout = RunLayout(run_dir)
    if not adapter_loaded:  # else train_run loaded the earlier adapter, to train further
        method.bind(tokenizer=tokenizer, total_steps=recipe.train.max_steps or None)
        model = prepare_fast(method, model, recipe.model_task(), plan)
    emit({"type": "speed", **plan.to_dict()})
    trainable, total = trainable_parameters(model)
    emit({"type": "model", "method": recipe.method.name, "trainable_parameters": trainable,
          "total_parameters": total, "memory_estimate": None, "budget": None})
    answer_general_start(run_dir, recipe, model, tokenizer, data.labels, data.general_test, emit)
    trainer, stop = build_preference_trainer(recipe, model, tokenizer, data.train, data.validation, run_dir,
                                             extra_callbacks=method.callbacks(), plan=plan,
                                             event_writer=EventWriter(run_dir), test_rows=data.test)
    checkpoint = last_checkpoint(run_dir) if resume else None
    emit({"type": "phase", "phase": "train", "resume_from": checkpoint})
    trainer.train(resume_from_checkpoint=checkpoint)
    if stop.stopped:
        emit({"type": "status", "status": "stopped", "step": trainer.state.global_step,
              "checkpoint": last_checkpoint(run_dir)})
        return "stopped"
    if not trainer.is_world_process_zero():
        return "completed"
    padding = padding_report(trainer)
    if padding:  # train.packing: the padding TRL's batches would have computed on, and did not
        emit({"type": "packing", **padding})
    figures = pair_figures(trainer)  # before the reference adapter goes: it scores the reference
    model = trained_model(trainer)
    shutil.rmtree(layout.final_partial, ignore_errors=True)
    method.save(model, layout.final_partial)
    tokenizer.save_pretrained(str(layout.final_partial))
    replace_folder(layout.final_partial, layout.final)
    emit({"type": "saved", "path": str(layout.final), "adapter": bool(method.adapter)})
    emit({"type": "phase", "phase": "evaluate", "examples": len(test)})
    if figures:
        emit({"type": "preference", "split": "test", "step": trainer.state.global_step,
              "objective": recipe.train.objective, **figures})
    model.eval()
    predict_split(recipe, model, tokenizer, test, data.labels, layout.predictions("finetuned"))
    metrics = evaluate_run(run_dir, sides=("finetuned",), strict=False, on_error=evaluator_failed,
                           responders={"finetuned": make_responder(recipe, model, tokenizer, data.labels)})
    metrics["preference"] = {"objective": recipe.train.objective, **figures}
    history = [e for e in trainer.state.log_history if "eval_loss" in e]
    if history:
        metrics["validation_loss"] = float(history[-1]["eval_loss"])
    atomic_write_json(layout.metrics, metrics)
    emit({"type": "eval", "split": "test", "model": "finetuned", "metrics": metrics["finetuned"]})
    # model.from_run: what the tuned model kept of each earlier run's test set (an SFT parent's answers)
    report = report_forgetting(run_dir, recipe, model, tokenizer, data.labels, data.general_test, emit)
    if report is not None:
        atomic_write_json(layout.metrics, {**metrics, "forgetting": report})
    emit({"type": "status", "status": "completed", "step": trainer.state.global_step})
    return "completed"
