"""Build the HF Trainer for a recipe: arguments from the ``train`` section, callbacks, and metrics."""
from __future__ import annotations

import math
from pathlib import Path

from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

from ..rundir.layout import RunLayout
from .callbacks import EventWriter, StopRequest, check_finite
from .launch import train_precision, world_size
from .packing import PackedCollator, PackedDataset, budget_for, pack_rows, padded_tokens
from .param_groups import head_optimizer
from .tokenization import PadCollator


class FtLabTrainer(Trainer):
    """The HF Trainer, stopping at once when the loss stops being a finite number."""

    #: learning rate of a new classification head (None: the same as the body's)
    head_learning_rate: float | None = None
    #: a ``regularize.StartAnchor`` whose penalty is added to the training loss (l2_to_start, ewc)
    anchor = None

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
        result = super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
        if self.anchor is None or not model.training:
            return result
        if return_outputs:
            return result[0] + self.anchor.penalty(), result[1]
        return result + self.anchor.penalty()

    def create_optimizer(self):
        if self.optimizer is None and self.head_learning_rate:
            self.optimizer = head_optimizer(self.model, self.args, self.head_learning_rate,
                                            self.get_decay_parameter_names(self.model))
        return super().create_optimizer()

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        check_finite(loss.detach(), self.state.global_step + 1)
        return loss


def precision_flags(precision: str) -> dict:
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if precision in ("bf16", "fp16") and not cuda:
        precision = "fp32"  # CPU training runs in fp32; mixed precision needs a GPU
    return {"bf16": precision == "bf16", "fp16": precision == "fp16", "use_cpu": not cuda}


def total_steps(train: "TrainSection", n_examples: int, world_size: int = 1, batch_size: int | None = None) -> int:
    """Optimizer updates of the run; ``n_examples`` counts packed batches (``batch_size`` 1) when packing."""
    if train.max_steps:
        return train.max_steps
    batch_size = batch_size or train.batch_size
    return max(1, math.ceil(math.ceil(n_examples / (batch_size * world_size))
                            / train.gradient_accumulation_steps * train.epochs))


def training_batches(recipe, plan, train_features: list, eval_features: list, pad_id: int):
    """(train dataset, eval dataset or None, collator, packing report or None) for the run's plan:
    packed token-budget batches, or the encoded rows padded per batch."""

    if not plan.packing:
        return train_features, eval_features or None, PadCollator(pad_id), None
    t = recipe.train

    def packed(features, rows):
        lengths = [len(f["input_ids"]) for f in features]
        budget = budget_for(lengths, rows, t.tokens_per_batch)
        return PackedDataset(features, pack_rows(lengths, budget, t.seed)), lengths, budget

    train, lengths, budget = packed(train_features, t.batch_size)
    evals = packed(eval_features, t.eval_batch_size)[0] if eval_features else None
    real, padded = sum(lengths), padded_tokens(lengths, t.batch_size, t.seed)
    report = {"rows": len(lengths), "batches": len(train), "tokens_per_batch": budget, "real_tokens": real,
              "padded_tokens": padded, "padding_saved": round(1 - real / padded, 4) if padded else 0.0}
    return train, evals, PackedCollator(max_length=recipe.model.max_length), report


def _accuracy(eval_pred):
    import numpy as np

    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    return {"accuracy": float((np.asarray(logits).argmax(-1) == np.asarray(labels)).mean())}


def training_arguments(recipe, run_dir: Path, n_train: int, has_eval: bool, packed: bool = False,
                       packed_eval: bool = False, plan=None) -> dict:
    """The ``TrainingArguments`` keywords for the recipe's ``train`` section (TRL's configs take them too)."""
    t = recipe.train
    classification = recipe.model_task() == "classification"
    steps = total_steps(t, n_train, world_size(), batch_size=1 if packed else None)
    strategy = "steps" if t.eval_steps else "epoch"
    early = t.early_stopping_patience is not None
    # the best checkpoint is kept only where checkpoints are validated ones (save_steps a multiple of eval_steps)
    best = early or (t.keep_best is True and has_eval
                     and (not t.save_steps or bool(t.eval_steps) and t.save_steps % t.eval_steps == 0))
    save_steps = t.save_steps or t.eval_steps
    if best:
        save_steps = t.eval_steps  # the best checkpoint must be saved where it was measured
    metric = "eval_loss" if t.early_stopping_metric == "loss" else f"eval_{t.early_stopping_metric}"
    return dict(
        output_dir=str(RunLayout(run_dir).checkpoints),
        per_device_train_batch_size=1 if packed else t.batch_size,
        per_device_eval_batch_size=1 if packed_eval else t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps, learning_rate=t.learning_rate,
        weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm, lr_scheduler_type=t.scheduler,
        warmup_steps=int(round(t.warmup_ratio * steps)), num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1, logging_steps=t.logging_steps,
        eval_strategy=strategy, eval_steps=t.eval_steps,
        save_strategy="steps" if save_steps else "epoch", save_steps=save_steps or 500,
        save_total_limit=t.save_total_limit, seed=t.seed, data_seed=t.seed,
        load_best_model_at_end=best, metric_for_best_model=metric if best else None,
        greater_is_better=(t.early_stopping_metric != "loss") if best else None,
        gradient_checkpointing=t.gradient_checkpointing, report_to="none", disable_tqdm=True,
        include_num_input_tokens_seen="non_padding", remove_unused_columns=False,
        dataloader_num_workers=0, prediction_loss_only=not classification,
        optim=plan.optimizer if plan else "adamw_torch", torch_compile=bool(plan and plan.compile),
        **precision_flags(train_precision(recipe)))


def build_trainer(recipe, model, tokenizer, train_ds, eval_ds, collator, run_dir: Path, extra_callbacks=(),
                  plan=None, event_writer=None):
    """The Trainer for the recipe; ``plan`` (a ``speed.SpeedPlan``) adds compilation and the fused
    optimizer, and a packed ``train_ds`` (one item per batch) trains with batch size 1."""

    t = recipe.train
    classification = recipe.model_task() == "classification"
    packed = isinstance(train_ds, PackedDataset)
    args = TrainingArguments(**training_arguments(recipe, run_dir, len(train_ds), eval_ds is not None, packed=packed,
                                                  packed_eval=isinstance(eval_ds, PackedDataset), plan=plan))
    stop = StopRequest(run_dir)
    callbacks = [event_writer or EventWriter(run_dir), stop, *extra_callbacks]
    if t.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    trainer = FtLabTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                           data_collator=collator, processing_class=tokenizer,
                           compute_metrics=_accuracy if classification else None, callbacks=callbacks)
    if classification:  # a head's loss is a mean over its own batch: the Trainer must not rescale it by the
        trainer.model_accepts_loss_kwargs = False  # number of processes (logged loss x N) or by token counts
    if classification and isinstance(t.head_learning_rate, float):
        trainer.head_learning_rate = t.head_learning_rate
    return trainer, stop
