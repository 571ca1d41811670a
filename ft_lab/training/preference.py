"""Preference objectives through TRL: ``train.objective: dpo | orpo | kto | simpo``.

    trainer, stop = build_preference_trainer(recipe, model, tokenizer, train_rows, validation_rows, run_dir)
    trainer.train()
    figures = pair_figures(trainer, test_rows)   # reward accuracy and margins on held-out pairs

TRL's trainers do the work: DPOTrainer (dpo), KTOTrainer (kto), ORPOTrainer (orpo) and CPOTrainer with
the SimPO loss (simpo). The reference model of dpo and kto is never a second copy of the model: with an
adapter (a peft model) TRL scores the reference with the adapter's starting weights (the adapter-disabled
base for a fresh adapter, a frozen copy of the adapter's weights, not of the model, for one continued
from ``model.adapter``); when every weight trains (full, freeze) the reference log-probabilities are
computed once before training by the model itself (``precompute_ref_log_probs``). orpo and simpo need no
reference.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from .callbacks import EventWriter, StopRequest, check_finite, preference_figures
from .packing import use_packed_attention
from .padding_free import padding_free
from .trainer import training_arguments

#: objective -> (module, config class, trainer class, extra config)
TRAINERS = {
    "dpo": ("trl", "DPOConfig", "DPOTrainer", {}),
    "kto": ("trl", "KTOConfig", "KTOTrainer", {}),
    "orpo": ("trl.experimental.orpo", "ORPOConfig", "ORPOTrainer", {}),
    "simpo": ("trl.experimental.cpo", "CPOConfig", "CPOTrainer", {"loss_type": "simpo", "cpo_alpha": 0.0}),
}
#: ADAPTER_REFERENCE: the adapter TRL adds to a peft model as the reference; removed before saving
ADAPTER_REFERENCE = "ref"


def _classes(objective: str):
    module, config, trainer, extra = TRAINERS[objective]
    mod = importlib.import_module(module)
    return getattr(mod, config), getattr(mod, trainer), extra


def _is_peft(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def preference_dataset(rows: list[dict], objective: str):
    """A ``datasets.Dataset`` of the fields TRL reads (pairs are split into good and bad rows for kto)."""
    from datasets import Dataset

    paired = "chosen" in rows[0]
    fields = ("prompt", "chosen", "rejected") if paired else ("prompt", "completion", "label")
    ds = Dataset.from_list([{k: r[k] for k in fields} for r in rows])
    if objective == "kto" and paired:
        from trl import unpair_preference_dataset
        ds = unpair_preference_dataset(ds)
    return ds


def _checked(trainer_cls):
    """``trainer_cls`` stopping at once when the loss stops being a finite number (as FtLabTrainer does)."""
    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = trainer_cls.training_step(self, model, inputs, num_items_in_batch)
        check_finite(loss.detach(), self.state.global_step + 1)
        return loss
    return type(f"FtLab{trainer_cls.__name__}", (trainer_cls,), {"training_step": training_step})


def build_preference_trainer(recipe, model, tokenizer, train_rows: list[dict], eval_rows: list[dict],
                             run_dir: Path, extra_callbacks=(), plan=None, event_writer=None,
                             test_rows: list[dict] | None = None):
    """The TRL trainer of ``recipe.train.objective`` over the prepared preference rows, and its stop callback.
    ``test_rows``: held-out rows prepared now, with the reference's log-probabilities where the reference is
    the model before training, for ``pair_figures`` after it."""
    from transformers import EarlyStoppingCallback

    t = recipe.train
    config_cls, trainer_cls, extra = _classes(t.objective)
    train_ds = preference_dataset(train_rows, t.objective)
    eval_ds = preference_dataset(eval_rows, t.objective) if eval_rows else None
    kwargs = training_arguments(recipe, run_dir, len(train_ds), eval_ds is not None, plan=plan)
    kwargs.update(extra, beta=t.beta, max_length=recipe.model.max_length, prediction_loss_only=False)
    if t.objective in ("dpo", "kto"):
        # no second model in memory: a peft model disables (or copies) its adapter for the reference, a model
        # training all its weights scores the reference once, before its first update
        kwargs["precompute_ref_log_probs"] = not _is_peft(model)
    args = config_cls(**kwargs)
    # train.packing: the batches TRL pads run padding-free (training/padding_free.py), from the first pass on
    flat = padding_free(model) if plan is not None and plan.packing and use_packed_attention(model) else None
    stop = StopRequest(run_dir)
    callbacks = [event_writer or EventWriter(run_dir), stop, *extra_callbacks]
    if t.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=t.early_stopping_patience))
    test_ds = preference_dataset(test_rows, t.objective) if test_rows else None
    referenced = t.objective in ("dpo", "kto")
    evals = {"validation": eval_ds, "pairs": test_ds if referenced else None}
    evals = {k: v for k, v in evals.items() if v is not None}
    trainer = _checked(trainer_cls)(model=model, args=args, train_dataset=train_ds,
                                    eval_dataset=(evals or None) if referenced else eval_ds,
                                    processing_class=tokenizer, callbacks=callbacks)
    if referenced:
        # TRL prepared every held-out set at init (tokenized, with the reference's log-probabilities while the
        # model is still the reference); validation alone is evaluated during training, the pairs after it
        prepared = trainer.eval_dataset or {}
        trainer.eval_dataset = prepared.get("validation")
        test_ds = prepared.get("pairs")
    elif test_ds is not None:  # orpo, simpo: no reference; tokenized as their trainers do at init
        test_ds = _tokenized(trainer, test_ds, tokenizer)
    trainer.ft_lab_pairs = {"pairs": test_ds} if test_ds is not None else None
    trainer.ft_lab_padding_free = flat
    return trainer, stop


def _tokenized(trainer, ds, tokenizer):
    """A preference dataset prepared the way TRL's ORPOTrainer and CPOTrainer prepare theirs."""
    from trl.data_utils import maybe_apply_chat_template, maybe_extract_prompt

    ds = ds.map(maybe_extract_prompt).map(maybe_apply_chat_template, fn_kwargs={"processing_class": tokenizer})
    return ds.map(trainer.tokenize_row)


def padding_report(trainer) -> dict | None:
    """The padding the run's forward passes did without (a ``packing`` event's figures); None when padded."""
    flat = getattr(trainer, "ft_lab_padding_free", None)
    return flat.report() if flat is not None else None


def trained_model(trainer):
    """The trained model, without the reference adapter TRL may have added to a peft model, and with the
    backbone's own forward again (generation pads on the left)."""
    if getattr(trainer, "ft_lab_padding_free", None) is not None:
        trainer.ft_lab_padding_free.remove()
        trainer.ft_lab_padding_free = None
    model = trainer.model
    if _is_peft(model) and ADAPTER_REFERENCE in model.peft_config:
        model.delete_adapter(ADAPTER_REFERENCE)
        model.set_adapter("default")
    return model


def pair_figures(trainer) -> dict:
    """Reward accuracy and margins (and the objective's loss) of the trained model on the held-out rows given
    to ``build_preference_trainer`` ({} without them)."""
    if not getattr(trainer, "ft_lab_pairs", None):
        return {}
    from transformers import TrainerCallback

    seen: dict = {}

    class Seen(TrainerCallback):  # TRL logs its reward figures apart from what evaluate returns (dpo, kto)
        def on_log(self, args, state, control, logs=None, **kw):
            seen.update(logs or {})

    validation, trainer.eval_dataset = trainer.eval_dataset, trainer.ft_lab_pairs
    writer = trainer.pop_callback(EventWriter)  # not a validation: the worker reports it as the test figures
    trainer.add_callback(Seen)
    try:
        metrics = trainer.evaluate("pairs", metric_key_prefix="pairs")
        metrics = {**metrics, **seen}
    finally:
        trainer.eval_dataset = validation
        trainer.remove_callback(Seen)
        if writer is not None:
            trainer.add_callback(writer)
    # TRL names them with the evaluation's prefix (orpo, simpo) or eval_ (dpo, kto)
    out = next((f for f in (preference_figures(metrics, p) for p in ("pairs_", "eval_", "")) if f), {})
    if "pairs_loss" in metrics:
        out["loss"] = float(metrics["pairs_loss"])
    out["pairs"] = len(trainer.ft_lab_pairs["pairs"])
    return out
