"""Component base classes: a cleaner, a tuning method, an evaluator and a baseline.

A component is a small class with a ``name``, a ``Config`` dataclass and one verb::

    from dataclasses import dataclass, field
    from ft_lab import Cleaner, hookimpl

    class Shout(Cleaner):
        \"\"\"Upper-case the text columns.\"\"\"
        name = "shout"

        @dataclass
        class Config:
            strip: bool = field(default=True, metadata={"help": "strip whitespace first"})

        def clean(self, rows, columns):
            out = [{**r, **{c: r[c].upper() for c in columns}} for r in rows]
            return CleanResult(rows=out)

    @hookimpl
    def register_cleaners(register):
        register(Shout)
"""
from __future__ import annotations

import abc
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import UserError
from . import configs
from .sections import OBJECTIVES

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TASKS = ("classification", "generation")


class Component(abc.ABC):
    """Base of every component. Subclasses set ``name``, ``Config`` and implement their verb."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""

    @dataclass
    class Config:
        pass

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.Config()

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring: the one-line description shown in tables and forms."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def check(cls) -> list[str]:
        """Problems that make this class unusable as a component (empty when it is fine)."""
        problems = []
        if not isinstance(cls.name, str) or not NAME_RE.match(cls.name or ""):
            problems.append(f"{cls.__qualname__}.name must be a lowercase identifier like 'my_cleaner', "
                            f"got {cls.name!r}")
        if not dataclasses.is_dataclass(cls.Config):
            problems.append(f"{cls.__qualname__}.Config must be a dataclass")
        else:
            try:
                configs.json_schema(cls.Config)
            except Exception as exc:  # unresolvable annotations
                problems.append(f"{cls.__qualname__}.Config has a field type ft-lab cannot read: {exc}")
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        if missing:
            problems.append(f"{cls.__qualname__} must implement {', '.join(missing)}")
        return problems

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


@dataclass
class CleanResult:
    """What a cleaner returns: the rows it keeps (changed or not) and the rows it drops, with reasons."""

    rows: list[dict]
    rejected: list[tuple[dict, str]] = field(default_factory=list)
    changed: int = 0
    info: dict = field(default_factory=dict)
    #: Optional before/after records of changed rows: ``{"index": i, "before": row, "after": row}``.
    #: A cleaner that must not keep originals (PII masking) leaves ``before`` as None.
    changes: list = field(default_factory=list)


class Cleaner(Component):
    """Cleans a table: ``clean(rows, columns)`` gets every row (a dict) and the text columns to work on.

    What the data step does for a cleaner follows from what it declares, never from its name:

    - ``masks_personal_data = True``: it masks personal data (like ``pii_mask`` and ``pii_ner``). It
      implements ``mask_row(row, columns) -> dict`` (the row with every text field in ``columns``
      masked; the row itself when nothing changed), and the data step masks with it, before anything
      is written, every text field of the rows dropped or changed by the steps before it (rejected.jsonl,
      changes.jsonl). Its ``clean`` reports ``info["pii_found"]`` (count by type: the data report's "PII
      found by type") and leaves ``before`` as None in its ``changes``. The first such cleaner in
      ``clean`` masks the earlier records.
    - ``drops_empty_rows = True``: it drops rows whose text or label is empty (like ``empty_filter``), so
      loading keeps such rows for it to reject with a reason instead of refusing the file.
    """

    kind = "cleaner"
    #: It masks personal data and implements ``mask_row(row, columns)``; see the class docstring.
    masks_personal_data: ClassVar[bool] = False
    #: It drops rows with an empty text or label: loading lets them through for it to reject.
    drops_empty_rows: ClassVar[bool] = False

    @abc.abstractmethod
    def clean(self, rows: list[dict], columns: list[str]) -> CleanResult:
        """The component's verb: every subclass implements it (``check`` refuses one that does not)."""

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check()
        for flag in ("masks_personal_data", "drops_empty_rows"):
            if not isinstance(getattr(cls, flag), bool):
                problems.append(f"{cls.__qualname__}.{flag} must be True or False, got {getattr(cls, flag)!r}")
        if cls.masks_personal_data is True and not callable(getattr(cls, "mask_row", None)):
            problems.append(f"{cls.__qualname__}.masks_personal_data is True: it must implement "
                            f"mask_row(row, columns) (the data step masks earlier records with it)")
        return problems


@dataclass(frozen=True)
class Capabilities:
    """What a tuning method supports; checked against the recipe before any training starts.

    ``ft_lab.core.method_checks.check_capabilities`` compares these with the recipe and refuses an
    incompatible one with a message that says why and what to choose instead.
    """

    #: Tasks the method can prepare a model for.
    tasks: tuple[str, ...] = TASKS
    #: The trained result can be folded into the base weights (export ``--merge``).
    mergeable: bool = False
    #: It can train on top of a base loaded in 4-bit or 8-bit (bitsandbytes).
    quantized: bool = False
    #: It keeps working when the engine turns on gradient checkpointing.
    gradient_checkpointing: bool = True
    #: It works when several examples are packed into one sequence (generation).
    packing: bool = True
    #: It keeps working when the engine compiles the model (``train.compile``).
    compile: bool = True
    #: It keeps working with Liger's fused kernels patched into the model (``train.liger``).
    liger: bool = True
    #: It works with several training processes (Accelerate, DDP).
    multi_process: bool = True
    #: It works when FSDP shards the model's weights across processes (``launch.strategy: fsdp``).
    fsdp: bool = True
    #: It works under DeepSpeed ZeRO (``launch.strategy: deepspeed``).
    deepspeed: bool = True
    #: The training objectives it takes (``train.objective``): sft and the preference ones TRL trains.
    objectives: tuple[str, ...] = OBJECTIVES
    #: Its trained weights can be pulled toward where training started (``train.l2_to_start``, ``train.ewc``).
    regularize: bool = True
    #: It needs a CUDA GPU (for instance bitsandbytes 4-bit kernels).
    needs_cuda: bool = False
    #: Modules that must be importable (for instance ``("bitsandbytes",)``), with the pip extra that brings them.
    needs_modules: tuple[str, ...] = ()


class Method(Component):
    """Prepares a model for training: ``prepare(model, task)`` returns the model to train.

    The training engine calls, in this order::

        method = cls(config)
        kwargs = method.load_kwargs()                 # extra from_pretrained arguments (quantization)
        model = AutoModelFor...(name, **kwargs)
        method.bind(tokenizer=tok, total_steps=n)     # what the run knows before prepare
        model = method.prepare(model, task)           # the model to train
        trainer = Trainer(..., callbacks=method.callbacks())
        trainer.train()
        method.save(model, folder)                    # the trained result, safetensors only
        model = cls.load(base_model, folder)          # later: the same predictions again
        plain = method.merge(model)                   # export --merge; UserError when not mergeable

    Every hook except ``prepare`` has a default that fits a method training the model's own weights.
    """

    kind = "method"
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: True when the trained result is an adapter saved apart from the base model (peft format).
    adapter: ClassVar[bool] = False
    #: Peak learning rate for ``train.learning_rate: auto``, by model kind: ``{"encoder": ..., "causal": ...}``
    #: and optionally ``"small_causal"`` (a causal model under 1B parameters). None: the built-in table
    #: (``ft_lab.training.defaults.LEARNING_RATES``) when it has the method, else a middle value.
    default_learning_rates: ClassVar[dict[str, float] | None] = None

    def __init__(self, config: Any = None):
        super().__init__(config)
        self.tokenizer = None
        self.total_steps: int | None = None

    @abc.abstractmethod
    def prepare(self, model, task: str):
        """The component's verb: every subclass implements it (``check`` refuses one that does not)."""

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check()
        rates = cls.default_learning_rates
        if rates is not None and not (
                isinstance(rates, dict) and {"encoder", "causal"} <= set(rates) <= {"encoder", "causal", "small_causal"}
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in rates.values())):
            problems.append(f"{cls.__qualname__}.default_learning_rates must be None or a dict of positive numbers "
                            f"with keys encoder, causal (and optionally small_causal), got {rates!r}")
        return problems

    # --- optional hooks the training engine calls (safe defaults) ---------------------------------
    def load_kwargs(self) -> dict:
        """Extra keyword arguments for the base model's ``from_pretrained`` (e.g. a quantization config)."""
        return {}

    def bind(self, tokenizer=None, total_steps: int | None = None) -> None:
        """Tell the method what the run knows before ``prepare``: the tokenizer and the number of updates."""
        if tokenizer is not None:
            self.tokenizer = tokenizer
        if total_steps is not None:
            self.total_steps = int(total_steps)

    def callbacks(self) -> list:
        """Extra ``transformers.TrainerCallback`` objects the Trainer must run (e.g. AdaLoRA's rank updates)."""
        return []

    def save(self, model, folder) -> None:
        """Write the trained result into ``folder`` (safetensors). Default: the whole model."""
        model.save_pretrained(str(folder))

    @classmethod
    def load(cls, base_model, folder):
        """Rebuild the trained model from ``folder`` and the base it was trained from (default: whole model)."""
        return type(base_model).from_pretrained(str(folder))

    def load_trainable(self, base_model, folder):
        """``base_model`` with the adapter saved in ``folder`` loaded to train further (``model.adapter``);
        a method whose result is not a loadable adapter refuses."""
        raise UserError(f"model.adapter: method '{self.name}' cannot continue from an adapter folder; "
                        f"use a peft method (lora, ia3) or drop model.adapter")

    def merge(self, model):
        """A plain transformers model with the training folded in; UserError when the method cannot merge."""
        if not self.capabilities.mergeable:
            raise UserError(f"method '{self.name}' cannot be merged into the base model; export the "
                            f"adapter instead, or train with a mergeable method (lora, ia3, full)")
        return model


class Evaluator(Component):
    """Scores predictions: ``score(examples)`` gets one dict per test example and returns metrics.

    Each example has ``input``, ``reference`` and ``prediction`` (strings; labels for classification).

    What scoring does for an evaluator follows from what it declares, never from its name:

    - ``compares_pairs``: it compares the fine-tuned model's answers with the base model's (like
      ``llm_judge`` in ``mode: pairwise``). Scoring runs it once, on the fine-tuned side, with
      ``base_prediction`` added to each example from ``predictions/base.jsonl`` (a run without base
      predictions is refused with a message); baselines' answers are not scored by it. A class attribute,
      or a property when it depends on the Config.
    - ``asks_model``: it asks the model new questions (like ``scenarios``). Before ``score``, the run
      engine sets ``responder`` to a function answering a list of inputs with the model in memory;
      baselines' fixed answers are not scored by it.
    - ``calls_model``: scoring calls a model (a judge, an endpoint, the model under test; ``llm_judge``,
      ``scenarios``), so error analysis does not re-score examples with it.
    """

    kind = "evaluator"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    #: Whether a higher value is better, for each metric name this evaluator returns.
    higher_is_better: ClassVar[bool] = True
    #: It compares fine-tuned answers with the base model's (``base_prediction``); see the class docstring.
    compares_pairs: bool = False
    #: It asks the model new questions through ``responder``; see the class docstring.
    asks_model: bool = False
    #: Scoring calls a model (a judge, an endpoint, the model under test): error analysis does not re-score
    #: examples with it (its scores come from metrics.json and eval_details.json).
    calls_model: bool = False
    #: Set by the run engine for an evaluator that ``asks_model``: answers a list of inputs with the model.
    responder = None

    @abc.abstractmethod
    def score(self, examples: list[dict]) -> dict[str, float]:
        """The component's verb: every subclass implements it (``check`` refuses one that does not)."""

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check() + _tasks_problems(cls)
        for flag in ("compares_pairs", "asks_model", "calls_model"):
            value = getattr(cls, flag)
            if not isinstance(value, (bool, property)):
                problems.append(f"{cls.__qualname__}.{flag} must be True, False or a property, got {value!r}")
        return problems

    def headline(self) -> str:
        """The key of ``score``'s result a run is judged on when this evaluator is listed first (the
        verdict, ``ft-lab runs``); an evaluator returning several metrics names its main one."""
        return self.name

    def per_example(self, examples: list[dict]) -> list[float] | None:
        """One score per example, in order (for error analysis), or None when there is no such score."""
        return None

    def details(self, examples: list[dict]) -> dict:
        """Non-scalar results (confusion matrix, per-class table, tokenizer used); kept out of metrics.json."""
        return {}


class Baseline(Component):
    """Answers the test split without fine-tuning, scored beside the base and fine-tuned models.

    ``predict(train, test, context)`` gets the prepared train and test examples and returns one
    prediction per test example: a label (classification), a text (generation), or a predictions row
    (a dict with at least ``prediction``). ``context`` has ``recipe``, ``labels`` and, for a baseline
    with ``needs_model = True``, the base ``model`` and ``tokenizer``.
    """

    kind = "baseline"
    #: the baseline in a few words, for the verdict sentence ("0.92 for TF-IDF + logistic regression")
    title: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = TASKS
    #: It asks the base model (run in the worker, where the model is loaded); else it needs only the data.
    needs_model: ClassVar[bool] = False
    #: Run it when the recipe does not list baselines (cheap ones only).
    default: ClassVar[bool] = False

    @abc.abstractmethod
    def predict(self, train: list[dict], test: list[dict], context) -> list:
        """The component's verb: every subclass implements it (``check`` refuses one that does not)."""

    @classmethod
    def check(cls) -> list[str]:
        problems = super().check() + _tasks_problems(cls)
        for flag in ("needs_model", "default"):
            if not isinstance(getattr(cls, flag), bool):
                problems.append(f"{cls.__qualname__}.{flag} must be True or False, got {getattr(cls, flag)!r}")
        return problems


def _tasks_problems(cls) -> list[str]:
    tasks = cls.tasks
    if not isinstance(tasks, tuple) or not tasks or any(t not in TASKS for t in tasks):
        return [f"{cls.__qualname__}.tasks must be a non-empty tuple of {', '.join(TASKS)}, got {tasks!r}"]
    return []

