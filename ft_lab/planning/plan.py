"""A recipe's plan on an accelerator: peak memory per GPU part by part, training time, cost, whether it
fits, and when it does not, the cheapest changes that make it fit (each with its own estimate).

    plan = plan_recipe("recipe.yaml", gpu="A10G", gpus=1)        # ft_lab.plan(...) is this function
    print("\\n".join(plan.lines()))
    plan.fits, plan.peak_bytes, plan.seconds, plan.cost, [c.what for c in plan.changes]

``estimate(shape, setup, accelerator)`` is the pure part: counts of a meta model (``shape.py``), the
training setup (batch, packing, checkpointing, processes ...) and an accelerator row.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace

from ..core.plugins import get_registry
from ..core.recipe import Recipe
from ..errors import UserError
from ..training.speed import plan_speed
from .accelerators import Accelerator, find_accelerator, load_accelerators
from .calibration import calibrated_utilization
from .memory import memory_parts
from .shape import ModelShape, model_config, model_shape
from .workload import Workload, recipe_workload

#: share of an accelerator's memory a plan may use (allocator fragmentation, other processes)
USABLE = 0.92


@dataclass(frozen=True)
class Setup:
    method: str
    adapter: bool
    workload: Workload
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    epochs: float = 1.0
    max_steps: int | None = None
    packing: bool = False
    tokens_per_batch: int | None = None
    gradient_checkpointing: bool = False
    precision: str = "auto"
    optimizer: str = "adamw_torch"
    gpus: int = 1
    strategy: str = "ddp"
    fsdp_sharding: str = "full_shard"
    zero_stage: int = 2
    offload: bool = False

    @property
    def budget(self) -> int:
        """Tokens per packed batch (as training/packing.budget_for)."""
        w = self.workload
        return max(int(self.tokens_per_batch), w.longest) if self.tokens_per_batch else \
            max(math.ceil(self.batch_size * w.mean), w.longest)

    @property
    def peak_tokens(self) -> int:
        return self.budget if self.packing else self.batch_size * self.workload.longest

    def batches_per_epoch(self) -> int:
        w = self.workload
        return max(1, math.ceil(w.real_tokens / self.budget) if self.packing else math.ceil(w.rows / self.batch_size))

    def steps(self) -> int:
        if self.max_steps:
            return self.max_steps
        per_process = math.ceil(self.batches_per_epoch() / self.gpus)
        return max(1, math.ceil(per_process / self.gradient_accumulation_steps * self.epochs))

    def tokens(self) -> int:
        """Tokens the model computes on over the run (padding included when not packing)."""
        per_epoch = self.workload.real_tokens if self.packing else self.workload.padded_tokens
        batches = self.steps() * self.gradient_accumulation_steps * self.gpus
        return int(per_epoch * batches / self.batches_per_epoch())

    def describe(self) -> str:
        rows = (f"packed batches of {self.budget:,} tokens" if self.packing else
                f"{self.batch_size} rows x up to {self.workload.longest} tokens, padded")
        ckpt = "gradient checkpointing" if self.gradient_checkpointing else "no checkpointing"
        return f"{rows}, {ckpt}"


@dataclass
class Change:
    what: str
    plan: "Plan"

    def to_dict(self) -> dict:
        return {"what": self.what, **self.plan.summary()}


@dataclass
class Plan:
    accelerator: Accelerator
    setup: Setup
    shape: ModelShape
    memory: dict
    capacity_bytes: int
    flops: float
    utilization: float
    utilization_source: str
    seconds: float
    price_per_hour: float
    changes: list[Change] = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        return sum(self.memory.values())

    @property
    def fits(self) -> bool:
        return self.peak_bytes <= self.capacity_bytes

    @property
    def cost(self) -> float:
        return self.seconds / 3600 * self.price_per_hour * self.setup.gpus

    @property
    def half(self) -> bool:
        return _half(self.setup, self.accelerator)

    def summary(self) -> dict:
        return {"fits": self.fits, "peak_bytes": self.peak_bytes, "seconds": round(self.seconds, 2),
                "cost": round(self.cost, 4), "gpus": self.setup.gpus, "method": self.setup.method,
                "gradient_checkpointing": self.setup.gradient_checkpointing, "batch_size": self.setup.batch_size,
                "strategy": self.setup.strategy}

    def to_dict(self) -> dict:
        """The ``plan`` event's fields (and metrics.json's ``plan.estimate``)."""
        s = self.setup
        return {"accelerator": self.accelerator.name, "gpus": s.gpus, "method": s.method,
                "parameters": self.shape.total, "trainable": self.shape.trainable,
                "memory": self.memory, "peak_bytes": self.peak_bytes, "capacity_bytes": self.capacity_bytes,
                "fits": self.fits, "steps": s.steps(), "tokens": s.tokens(), "flops": self.flops,
                "peak_flops": self.peak_flops, "utilization": self.utilization,
                "utilization_source": self.utilization_source, "seconds": round(self.seconds, 2),
                "price_per_hour": self.price_per_hour, "cost": round(self.cost, 4),
                "setup": {k: v for k, v in asdict(s).items() if k != "workload"}, "workload": s.workload.to_dict(),
                "changes": [c.to_dict() for c in self.changes]}

    @property
    def peak_flops(self) -> float:
        return self.accelerator.peak_flops(self.half, _threads()) * self.setup.gpus

    def lines(self) -> list[str]:
        a, s, sh = self.accelerator, self.setup, self.shape
        where = f"{s.gpus}x {a.name}" + (f" ({s.strategy})" if s.gpus > 1 else "")
        cap = size_text(self.capacity_bytes / USABLE)
        out = [f"plan on {where}: {cap} each, peak {a.peak_flops(self.half, _threads()) / 1e12:.3g} "
               f"TFLOP/s ({'bf16' if self.half else 'fp32'}), ${self.price_per_hour:.2f}/h each",
               f"  model: {_count(sh.total)} parameters, {_count(sh.trainable)} trainable ({s.method}), counted "
               f"on the meta device (no weights read)",
               f"  memory per {'GPU' if a.name != 'cpu' else 'process'}: {size_text(self.peak_bytes)} of "
               f"{size_text(self.capacity_bytes)} usable -> {'fits' if self.fits else 'DOES NOT FIT'}"]
        for part, value in self.memory.items():
            if value:
                out.append(f"    {part:<12}{size_text(value):>11}  {self._why(part)}")
        out.append(f"  time: {s.steps():,} steps, {_count(s.tokens())} tokens, {self.flops / 1e15:.3g} PFLOP at "
                   f"{100 * self.utilization:.2g}% of peak ({self.utilization_source}) -> {duration_text(self.seconds)} "
                   f"(training only)")
        out.append(f"  cost: {money_text(self.cost)} ({s.gpus} x {duration_text(self.seconds)} at "
                   f"${self.price_per_hour:.2f}/h)")
        if not self.fits:
            if self.changes:
                out.append("  changes that make it fit, cheapest first:")
                for c in self.changes:
                    out.append(f"    - {c.what}: {size_text(c.plan.peak_bytes)} per GPU, "
                               f"{duration_text(c.plan.seconds)}, {money_text(c.plan.cost)}")
            else:
                out.append("  no single change found that makes it fit: a larger accelerator or more GPUs")
        return out

    def _why(self, part: str) -> str:
        s, sh = self.setup, self.shape
        frozen = ("4-bit" if sh.quantized_bits == 4 else "8-bit" if sh.quantized_bits else
                  "bf16" if _frozen_half(s, self.accelerator) else "fp32")
        return {"weights": f"{_count(sh.frozen)} frozen at {frozen}, {_count(sh.trainable)} trainable at fp32",
                "gradients": "fp32, one per trainable weight",
                "optimizer": f"{s.optimizer}: optimizer state of the trainable weights",
                "activations": s.describe(),
                "logits": f"{s.peak_tokens:,} tokens x {sh.outputs:,} outputs with their loss and gradient",
                "sharding": {"ddp": "DDP gradient buckets"}.get(s.strategy, f"{s.strategy}: gathered layers / buckets"),
                "runtime": "CUDA context and allocator slack" if self.accelerator.name != "cpu"
                else "Python, torch, tokenizer and data"}.get(part, "")


def _threads() -> int:
    return max(1, int(os.environ.get("FT_LAB_THREADS") or os.cpu_count() or 1))


def _half(setup: Setup, acc: Accelerator) -> bool:
    if acc.name == "cpu":
        return False  # CPU runs train in fp32
    return setup.precision in ("auto", "bf16", "fp16")


def _frozen_half(setup: Setup, acc: Accelerator) -> bool:
    return acc.name != "cpu" and setup.adapter and _half(setup, acc)


def flops_per_token(shape: ModelShape, setup: Setup) -> float:
    """Training FLOPs per token: 2N forward, 2N backward through the activations (none for a head alone),
    2N backward to the weights scaled by the trainable share, 2N more to recompute under checkpointing."""
    n = shape.matmul
    head_only = setup.method == "head"
    per = 2 * n + (0 if head_only else 2 * n) + 2 * n * min(1.0, shape.trainable / max(shape.total, 1))
    if setup.gradient_checkpointing and not head_only:
        per += 2 * n
    per += 6 * shape.layers * shape.hidden * setup.workload.mean  # causal attention, forward and backward
    return per


def estimate(shape: ModelShape, setup: Setup, acc: Accelerator, utilization: float | None = None,
             utilization_source: str = "table default", price: float | None = None) -> Plan:
    """The plan of ``setup`` for a model of ``shape`` on ``setup.gpus`` accelerators ``acc`` (no changes)."""
    cuda = acc.name != "cpu"
    memory = memory_parts(shape, setup, half=_half(setup, acc), frozen_half=_frozen_half(setup, acc), cuda=cuda)
    flops = flops_per_token(shape, setup) * setup.tokens()
    util = utilization if utilization is not None else acc.utilization
    peak = acc.peak_flops(_half(setup, acc), _threads()) * setup.gpus
    return Plan(accelerator=acc, setup=setup, shape=shape, memory=memory,
                capacity_bytes=int(acc.memory_gib * 2**30 * USABLE), flops=flops, utilization=util,
                utilization_source=utilization_source, seconds=flops / (peak * util),
                price_per_hour=acc.price_per_hour if price is None else price)


def with_changes(plan: Plan, shape_for) -> Plan:
    """``plan`` with ``changes``: each single change that fits by its own estimate (else checkpointing plus
    one other), cheapest first. ``shape_for(method)`` gives the model's shape under lora or qlora, or None."""
    if plan.fits:
        return plan
    s, acc = plan.setup, plan.accelerator

    def again(setup: Setup, shape: ModelShape = plan.shape) -> Plan:
        return estimate(shape, setup, acc, plan.utilization, plan.utilization_source, plan.price_per_hour)

    def options(base: Setup) -> list[tuple[str, Plan]]:
        out = []
        methods = (["qlora"] if base.method != "qlora" and acc.name != "cpu" else []) + \
            (["lora"] if base.method == "full" else [])
        for method in methods:
            shape = shape_for(method)
            if shape is not None:
                out.append((f"method: {method}", again(replace(base, method=method, adapter=True), shape)))
        batch, accum = base.batch_size, base.gradient_accumulation_steps
        while batch > 1:  # the largest micro-batch that fits; the updates stay the same
            batch, accum = batch // 2, accum * 2
            tokens = base.budget * batch // base.batch_size if base.packing else base.tokens_per_batch
            smaller = again(replace(base, batch_size=batch, gradient_accumulation_steps=accum, tokens_per_batch=tokens))
            if smaller.fits or batch == 1:
                out.append((f"train.batch_size {batch} with gradient_accumulation_steps {accum}", smaller))
                break
        if acc.name != "cpu":
            for n in (2, 4, 8):
                if n > base.gpus:
                    fsdp = again(replace(base, gpus=n, strategy="fsdp", fsdp_sharding="full_shard"))
                    out.append((f"{n} GPUs with launch.strategy fsdp", fsdp))
                    if fsdp.fits:
                        break
        return out

    found = options(s)
    if not s.gradient_checkpointing:
        found.insert(0, ("train.gradient_checkpointing: true", again(replace(s, gradient_checkpointing=True))))
        if not any(p.fits for _, p in found):
            found += [(f"train.gradient_checkpointing: true and {what}", p)
                      for what, p in options(replace(s, gradient_checkpointing=True))]
    fitting = sorted((wp for wp in found if wp[1].fits), key=lambda wp: (wp[1].cost, wp[1].seconds))
    plan.changes = [Change(what, p) for what, p in fitting]
    return plan


def setup_from_recipe(recipe, workload: Workload, method, gpus: int | None = None) -> Setup:
    t, launch = recipe.train, recipe.launch
    speed = plan_speed(recipe, method, cuda=False, liger_installed=False)
    return Setup(method=recipe.method.name, adapter=bool(getattr(method, "adapter", False)), workload=workload,
                 batch_size=t.batch_size, gradient_accumulation_steps=t.gradient_accumulation_steps,
                 epochs=float(t.epochs), max_steps=t.max_steps, packing=speed.packing,
                 tokens_per_batch=t.tokens_per_batch, gradient_checkpointing=t.gradient_checkpointing,
                 precision=t.precision, optimizer=t.optimizer if t.optimizer != "auto" else "adamw_torch",
                 gpus=gpus if gpus is not None else launch.num_processes * launch.num_machines,
                 strategy=launch.strategy, fsdp_sharding=launch.fsdp_sharding, zero_stage=launch.deepspeed_stage,
                 offload=launch.deepspeed_offload or launch.fsdp_offload)


def check_request(gpu: str | None, gpus, price, accelerators) -> tuple[Accelerator, int | None, float | None]:
    """The accelerator row, GPU count and price asked for, or a one-line UserError."""
    table = load_accelerators(accelerators)
    acc = find_accelerator(gpu or "cpu", table)
    if gpus is not None:
        if isinstance(gpus, bool) or not isinstance(gpus, int) and not str(gpus).isdigit() or int(gpus) < 1:
            raise UserError(f"--gpus: expected a whole number of GPUs, at least 1, got {gpus!r}")
        gpus = int(gpus)
    if price is not None:
        try:
            price = float(price)
        except (TypeError, ValueError):
            raise UserError(f"--price: expected a price per GPU-hour such as 2.50, got {price!r}") from None
        if not math.isfinite(price) or price < 0:
            raise UserError(f"--price: expected a price per GPU-hour of 0 or more, got {price!r}")
    return acc, gpus, price


def plan_for(recipe, workload: Workload, labels, acc: Accelerator, gpus: int | None = None,
             price: float | None = None, runs_dir=None, config=None, exclude: tuple[str, ...] = ()) -> Plan:
    """The plan of a recipe whose ``auto`` settings are resolved, for its training rows ``workload``."""

    config = config if config is not None else model_config(recipe)
    method = recipe.method.create("method")
    shape = model_shape(recipe, labels, method, config=_copy(config))
    setup = setup_from_recipe(recipe, workload, method, gpus)
    util, source = calibrated_utilization(runs_dir, acc.name, setup.method, shape.total, acc.utilization, exclude)
    plan = estimate(shape, setup, acc, util, source, price)

    def shape_for(name: str):
        if recipe.model_task() != "generation" and name == "qlora":
            return None
        cls = get_registry().get("method", name)
        keep = {k: v for k, v in vars(method.config).items() if k in {"r", "alpha", "targets", "dropout"}} \
            if name in ("lora", "qlora") and setup.method in ("lora", "qlora") else {}
        try:
            return model_shape(recipe, labels, cls(cls.Config(**keep)), config=_copy(config))
        except (UserError, ValueError, TypeError):
            return None
    return with_changes(plan, shape_for)


def _copy(config):
    return type(config).from_dict(config.to_dict())


def plan_recipe(recipe, gpu: str | None = "cpu", gpus: int | None = None, price: float | None = None,
                runs_dir=None, accelerators=None) -> Plan:
    """``ft_lab.plan``: the plan of ``recipe`` (a Recipe or a YAML path) on ``gpus`` x ``gpu``. Its data is
    loaded and tokenized as a run would; the model is built on the meta device. ``runs_dir``: where finished
    runs calibrate the expected utilization (default: ./runs or $FT_LAB_RUNS_DIR)."""

    acc, gpus, price = check_request(gpu, gpus, price, accelerators)
    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_yaml(recipe, check_environment=True)
    recipe, workload, labels = recipe_workload(recipe)
    if runs_dir is None:
        runs_dir = os.environ.get("FT_LAB_RUNS_DIR") or "runs"
    return plan_for(recipe, workload, labels, acc, gpus, price, runs_dir)


def _count(n: float) -> str:
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def size_text(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def money_text(x: float) -> str:
    return f"${x:,.2f}" if x >= 1 else f"${x:.4f}"


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
