"""Trainer callbacks that write the run's event log, honour stop requests, and track throughput."""
from __future__ import annotations

import math
import time
from pathlib import Path

from transformers import TrainerCallback

from ..rundir.layout import RunLayout
from ..rundir.reader import append_event
from .launch import any_rank


#: TRL's logged reward figures (dpo, orpo, kto, simpo) -> the fields of ft-lab's ``preference`` events
PREFERENCE_FIGURES = {"rewards/chosen": "rewards_chosen", "rewards/rejected": "rewards_rejected",
                      "rewards/margins": "reward_margin", "rewards/accuracies": "reward_accuracy"}


def preference_figures(logs: dict, prefix: str = "") -> dict:
    """ft-lab's names for TRL's reward figures in ``logs`` (keys with ``prefix``, e.g. ``eval_``); the margin
    is computed from the rewards where TRL does not log it (kto)."""
    out = {name: float(logs[prefix + key]) for key, name in PREFERENCE_FIGURES.items()
           if isinstance(logs.get(prefix + key), (int, float))}
    if "reward_margin" not in out and {"rewards_chosen", "rewards_rejected"} <= set(out):
        out["reward_margin"] = out["rewards_chosen"] - out["rewards_rejected"]
    return out


class NonFiniteLoss(Exception):
    def __init__(self, step: int, value: float):
        super().__init__(f"the training loss became {value} at step {step}; lower train.learning_rate, "
                         f"check the data for empty or corrupt rows, or use fp32 precision")
        self.step = step


class EventWriter(TrainerCallback):
    """Appends log, eval and checkpoint events to events.jsonl (rank 0 only)."""

    def __init__(self, run_dir: Path, flops_per_token: float | None = None, peak_flops: float | None = None):
        self.run_dir = Path(run_dir)
        self._last = None  # (time, tokens seen)
        self.flops_per_token, self.peak_flops = flops_per_token, peak_flops  # for MFU on a GPU

    def on_train_begin(self, args, state, control, **kw):
        if state.is_world_process_zero:
            append_event(self.run_dir, {"type": "train_begin", "max_steps": state.max_steps,
                                        "step": state.global_step, "epochs": args.num_train_epochs,
                                        "processes": args.world_size})
        self._last = (time.monotonic(), state.num_input_tokens_seen)

    def on_log(self, args, state, control, logs=None, **kw):
        if not state.is_world_process_zero or not logs:
            return
        now = time.monotonic()
        event = {"type": "log", "step": state.global_step, "max_steps": state.max_steps,
                 "epoch": round(state.epoch or 0.0, 4), "tokens_seen": state.num_input_tokens_seen}
        for key in ("loss", "learning_rate", "grad_norm"):
            if key in logs:
                event[key] = float(logs[key])
        if "train_loss" in logs:  # the Trainer's closing summary (v5 adds train_runtime to every log)
            append_event(self.run_dir, {"type": "train_end", "step": state.global_step,
                                        **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}})
            return
        if any(k.startswith("eval_") for k in logs):
            return  # reported by on_evaluate
        if self._last is not None:
            dt = now - self._last[0]
            tokens = state.num_input_tokens_seen - self._last[1]
            if dt > 0 and tokens > 0:
                event["tokens_per_second"] = round(tokens / dt, 1)
                if self.flops_per_token and self.peak_flops:
                    event["mfu"] = round(tokens / dt * self.flops_per_token / self.peak_flops, 4)
        self._last = (now, state.num_input_tokens_seen)
        append_event(self.run_dir, event)
        self._preference(logs, "", "train", state)

    def on_evaluate(self, args, state, control, metrics=None, **kw):
        if state.is_world_process_zero and metrics:
            clean = {k.removeprefix("eval_"): float(v) for k, v in metrics.items()
                     if isinstance(v, (int, float)) and not k.endswith(("_runtime", "_per_second"))}
            append_event(self.run_dir, {"type": "eval", "split": "validation", "step": state.global_step,
                                        "epoch": round(state.epoch or 0.0, 4), "metrics": clean})
            self._preference(metrics, "eval_", "validation", state)

    def _preference(self, logs: dict, prefix: str, split: str, state) -> None:
        """A preference objective's reward figures (TRL's ``rewards/...``) as a ``preference`` event."""
        figures = preference_figures(logs, prefix)
        if figures:
            append_event(self.run_dir, {"type": "preference", "split": split, "step": state.global_step, **figures})

    def on_save(self, args, state, control, **kw):
        if state.is_world_process_zero:
            append_event(self.run_dir, {"type": "checkpoint", "step": state.global_step,
                                        "path": str(Path(args.output_dir) / f"checkpoint-{state.global_step}")})


class StopRequest(TrainerCallback):
    """Ends training cleanly, with a checkpoint, once the run directory holds a ``stop`` file."""

    def __init__(self, run_dir: Path):
        self.flag = RunLayout(run_dir).stop
        self.stopped = False

    def on_step_end(self, args, state, control, **kw):
        if any_rank(self.flag.exists(), args.device):  # every rank stops at the same step
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True


def check_finite(loss, step: int) -> None:
    value = float(loss)
    if math.isnan(value) or math.isinf(value):
        raise NonFiniteLoss(step, value)
