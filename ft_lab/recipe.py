"""The recipe: one fine-tuning run as data (YAML file, Python object, or what the panels build).

Sections: ``task``, ``data``, ``clean``, ``model``, ``method``, ``train``, ``evaluate``. Components are
written as their registered name plus their Config fields::

    recipe = Recipe.from_yaml("recipe.yaml")
    recipe = Recipe(task="classification", data={"path": "tickets.csv",
                    "columns": {"text": "body", "label": "queue"}}, method={"name": "lora", "r": 8})
    assert Recipe.from_yaml(recipe.to_yaml()) == recipe

Every problem is reported at once with its path (``method.r: expected an integer, got "eight"``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from . import configs
from .errors import RecipeError, UserError, did_you_mean

Task = Literal["classification", "generation"]
ROLES = {"classification": ("text", "label"), "generation": ("prompt", "response", "messages")}
DEFAULT_EVALUATORS = {"classification": ["accuracy", "macro_f1"], "generation": ["exact_match", "chrf"]}


@dataclass
class TaskSection:
    type: Task = field(metadata={"help": "classification (text -> label) or generation (prompt -> response)"})
    system_prompt: Optional[str] = field(default=None, metadata={
        "help": "system message for chat-formatted generation data"})
    max_new_tokens: int = field(default=48, metadata={"help": "tokens to generate per test example"})
    classifier: Literal["head", "lm"] = field(default="head", metadata={
        "help": "classification: a new classification head (head), or the language model answering with "
                "the label as words (lm: trained on verbalized labels, predicted by each label's likelihood)"})
    label_words: dict[str, str] = field(default_factory=dict, metadata={
        "help": "lm classifier: the words that stand for each label (default: the label itself)"})
    classify_prompt: Optional[str] = field(default=None, metadata={
        "help": "lm classifier: the prompt, with {text} and optionally {labels} and {system} "
                "(default: 'Classify the text into one of: {labels}. Text: {text} Label:')"})

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        lm_only = [n for n in ("label_words", "classify_prompt") if getattr(self, n)]
        if lm_only and (self.type != "classification" or self.classifier != "lm"):
            raise ValueError(f"{', '.join(lm_only)} apply only to type: classification with classifier: lm")
        if self.classifier == "lm" and self.type != "classification":
            raise ValueError("classifier: lm applies only to type: classification")
        if self.classify_prompt is not None and "{text}" not in self.classify_prompt:
            raise ValueError("classify_prompt must contain the {text} placeholder")


@dataclass
class DataSection:
    path: Optional[str] = field(default=None, metadata={
        "help": "one data file, split into train/validation/test by `split`"})
    train: Optional[str] = field(default=None, metadata={"help": "training file (instead of `path`)"})
    validation: Optional[str] = field(default=None, metadata={"help": "validation file (optional)"})
    test: Optional[str] = field(default=None, metadata={"help": "test file (optional)"})
    format: Literal["auto", "jsonl", "json", "csv", "tsv", "parquet", "excel", "datasets"] = field(
        default="auto", metadata={"help": "file format; auto picks it from the file extension (a folder saved "
                                          "by datasets is 'datasets')"})
    encoding: str = field(default="auto", metadata={
        "help": "text encoding of JSON/CSV files: auto (UTF-8, UTF-8 BOM, UTF-16, CP932, EUC-JP) or a codec name"})
    sheet: Optional[str] = field(default=None, metadata={
        "help": "Excel sheet to read (default: the first), or the split of a saved DatasetDict"})
    columns: dict[str, str] = field(default_factory=dict, metadata={
        "help": "column for each role: text and label (classification); prompt and response, "
                "or messages (generation). Unset roles use the column of the same name"})
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1], metadata={
        "help": "train/validation/test fractions used when only `path` or `train` is given"})
    seed: int = field(default=42, metadata={"help": "seed of the split shuffle"})
    max_rows: Optional[int] = field(default=None, metadata={"help": "use at most this many rows (after shuffling)"})
    stratify: bool = field(default=True, metadata={
        "help": "classification: keep each label's share the same in every split"})
    group_column: Optional[str] = field(default=None, metadata={
        "help": "column whose rows stay in one split (a customer, thread or document id)"})
    leakage: Literal["report", "remove", "off"] = field(default="report", metadata={
        "help": "exact and near-duplicate rows shared between splits: report them, remove them, or skip the check"})
    leakage_threshold: float = field(default=0.85, metadata={
        "help": "similarity (character n-gram Jaccard) at which rows in two splits count as near duplicates"})
    template: Optional[str] = field(default=None, metadata={
        "help": "generation: alpaca, alpaca_ja, chat (messages for the tokenizer's chat template), or a "
                "string with {prompt}; none leaves prompts as they are"})
    length_tokenizer: str = field(default="approx", metadata={
        "help": "tokenizer for the report's token lengths: a local folder or cached hub id, or approx"})

    def __post_init__(self):
        if len(self.split) != 3 or any(x < 0 for x in self.split) or abs(sum(self.split) - 1) > 1e-6:
            raise ValueError(f"split: expected three fractions that add up to 1, got {self.split}")
        if self.max_rows is not None and self.max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if not 0 < self.leakage_threshold <= 1:
            raise ValueError(f"leakage_threshold must be in (0, 1], got {self.leakage_threshold}")


@dataclass
class ModelSection:
    name_or_path: str = field(default="tiny", metadata={
        "help": "a hub id, a local folder, or 'tiny' (the built-in small model that runs anywhere)"})
    revision: Optional[str] = field(default=None, metadata={"help": "hub revision (branch, tag or commit)"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "run the model repository's own Python code (only for sources you trust)"})
    max_length: int = field(default=256, metadata={"help": "longest sequence in tokens; longer ones are cut"})
    compare_base: bool = field(default=True, metadata={
        "help": "also evaluate the model before tuning, for the base-vs-tuned table"})

    def __post_init__(self):
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8")


@dataclass
class TrainSection:
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate"})
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = field(
        default="cosine", metadata={"help": "learning-rate decay after warmup"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "fraction of steps spent warming up"})
    batch_size: int = field(default=8, metadata={"help": "examples per device per step"})
    eval_batch_size: int = field(default=32, metadata={"help": "examples per batch at evaluation"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "steps whose gradients add up before an update"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training data"})
    max_steps: Optional[int] = field(default=None, metadata={"help": "stop after this many updates (overrides epochs)"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm"})
    precision: Literal["auto", "fp32", "bf16", "fp16"] = field(default="auto", metadata={
        "help": "auto: bf16 on GPUs that support it, else fp32"})
    seed: int = field(default=42, metadata={"help": "seed for model initialisation and data order"})
    logging_steps: int = field(default=10, metadata={"help": "log loss every this many updates"})
    eval_steps: Optional[int] = field(default=None, metadata={
        "help": "validate every this many updates (default: once per epoch)"})
    save_steps: Optional[int] = field(default=None, metadata={
        "help": "save a checkpoint every this many updates (default: with each validation)"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept on disk"})
    early_stopping_patience: Optional[int] = field(default=None, metadata={
        "help": "stop after this many validations without improvement"})
    early_stopping_metric: str = field(default="loss", metadata={
        "help": "validation metric watched for early stopping and the best checkpoint (loss, accuracy, ...)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory"})
    num_processes: int = field(default=1, metadata={"help": "processes (GPUs) to train on, through Accelerate"})
    packing: Literal["auto", True, False] = field(default="auto", metadata={
        "help": "train on rows packed padding-free into token-budget batches (no attention across rows); "
                "auto: on for generation where the method supports it"})
    tokens_per_batch: Optional[int] = field(default=None, metadata={
        "help": "tokens per packed batch (default: batch_size rows of the mean length)"})
    compile: Literal["auto", True, False] = field(default="auto", metadata={
        "help": "torch.compile the model; auto: off until measured on a GPU (true: where the method supports it)"})
    optimizer: Literal["auto", "adamw_torch", "adamw_torch_fused"] = field(default="auto", metadata={
        "help": "AdamW implementation; auto: the fused one on a CUDA GPU"})
    liger: Literal["auto", True, False] = field(default="auto", metadata={
        "help": "Liger kernels (fused linear cross-entropy, RMSNorm, RoPE, SwiGLU; pip install "
                "'ft-lab[liger]'); auto: off until measured on a GPU (true: when installed and supported)"})

    def __post_init__(self):
        for name in ("learning_rate", "epochs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0, got {getattr(self, name)}")
        for name in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "logging_steps",
                     "save_total_limit", "num_processes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if self.tokens_per_batch is not None and self.tokens_per_batch < 1:
            raise ValueError("tokens_per_batch must be at least 1")


@dataclass
class ComponentSpec:
    """A component by registered name, with its Config instance."""

    name: str
    config: Any = None

    def to_plain(self, minimal: bool = False) -> dict:
        return {"name": self.name, **(configs.to_plain(self.config, minimal) if self.config is not None else {})}

    def create(self, kind: str, registry=None):
        from .plugins import get_registry
        cls = (registry or get_registry()).get(kind, self.name)
        return cls(self.config)


SECTIONS = ("task", "data", "clean", "model", "method", "train", "evaluate")


@dataclass
class Recipe:
    """A whole run. Sections may be given as plain data; they are validated on construction."""

    task: Any = None
    data: Any = None
    model: Any = None
    method: Any = None
    train: Any = None
    clean: Any = None
    evaluate: Any = None
    base_dir: Optional[str] = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        plain = {k: configs.to_plain(getattr(self, k)) for k in SECTIONS if getattr(self, k) is not None}
        parsed = _parse(plain, source=None, base_dir=self.base_dir)
        for k in SECTIONS:
            object.__setattr__(self, k, getattr(parsed, k))

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str | None = None, base_dir: str | None = None) -> "Recipe":
        if not isinstance(data, dict):
            raise RecipeError([f"expected a mapping of sections ({', '.join(SECTIONS)}), got {type(data).__name__}"],
                              source)
        unknown = [k for k in data if k not in SECTIONS]
        problems = [f"{k}: unknown section" + did_you_mean(k, SECTIONS) + f" (sections: {', '.join(SECTIONS)})"
                    for k in unknown]
        if problems:
            raise RecipeError(problems, source)
        try:
            return cls(**{k: v for k, v in data.items()}, base_dir=base_dir)
        except RecipeError as exc:
            raise RecipeError(exc.problems, source) from None

    @classmethod
    def from_yaml(cls, path_or_text: str | os.PathLike, base_dir: str | None = None) -> "Recipe":
        """Load a recipe from a YAML file path (or YAML text). Relative data paths are read from the
        file's folder (for text: from ``base_dir``, else the current folder)."""
        import yaml
        text, source, file_dir = _read_source(path_or_text)
        base_dir = file_dir or base_dir
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise RecipeError([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"], source) from None
        return cls.from_dict(data if data is not None else {}, source=source, base_dir=base_dir)

    # --- output -------------------------------------------------------------------------------
    def to_dict(self, minimal: bool = False) -> dict:
        out = {}
        for k in SECTIONS:
            value = configs.to_plain(getattr(self, k), minimal)
            if k == "task" and minimal and set(value) <= {"type"}:
                value = value.get("type", self.task.type)
            if minimal and value in ({}, []) and k not in ("task", "data"):
                continue
            out[k] = value
        return out

    def to_yaml(self, minimal: bool = False) -> str:
        import yaml
        return yaml.safe_dump(self.to_dict(minimal), sort_keys=False, allow_unicode=True)

    def save(self, path: str | os.PathLike, minimal: bool = True) -> Path:
        from .runs import atomic_write_text
        return atomic_write_text(Path(path), self.to_yaml(minimal))

    def to_python(self) -> str:
        """Python source that builds this same recipe."""
        parts = ",\n    ".join(f"{k}={v!r}" for k, v in self.to_dict(minimal=True).items())
        return f"from ft_lab import Recipe\n\nrecipe = Recipe(\n    {parts},\n)\n"

    def validate(self) -> "Recipe":
        """Re-check after in-place edits (panels change fields one by one); returns a fresh Recipe."""
        return Recipe.from_dict(self.to_dict(), base_dir=self.base_dir)

    def resolve_path(self, p: str | None) -> str | None:
        if p is None:
            return None
        path = Path(os.path.expanduser(p))
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        return str(path.resolve())

    def resolved(self) -> "Recipe":
        """A copy with absolute data paths, as written into the run directory."""
        data = self.to_dict()
        for key in ("path", "train", "validation", "test"):
            data["data"][key] = self.resolve_path(data["data"].get(key))
        return Recipe.from_dict(data)

    def model_task(self) -> str:
        """What the model itself does: classification (a head) or generation (also for classifier: lm)."""
        if self.task.type == "classification" and self.task.classifier == "lm":
            return "generation"
        return self.task.type

    def headline_metric(self) -> str:
        return self.evaluate[0].name if self.evaluate else "loss"


def _read_source(path_or_text) -> tuple[str, str | None, str | None]:
    s = str(path_or_text)
    if "\n" not in s and (isinstance(path_or_text, os.PathLike) or s.endswith((".yaml", ".yml"))
                          or os.path.exists(s)):
        path = Path(s)
        try:
            return path.read_text(encoding="utf-8"), str(path), str(path.resolve().parent)
        except FileNotFoundError:
            raise UserError(f"{path}: recipe file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read the recipe file ({exc})") from None
    return s, None, None


def _component(kind: str, value: Any, path: str, problems: list[str], registry) -> ComponentSpec | None:
    if isinstance(value, ComponentSpec):
        value = value.to_plain()
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        problems.append(f"{path}: expected a {kind} as a name or a mapping with 'name', got {value!r}")
        return None
    fields = dict(value)
    name = fields.pop("name")
    try:
        cls = registry.get(kind, str(name))
    except KeyError as exc:
        problems.append(f"{path}: {exc.args[0]}")
        return None
    config, sub = configs.build(cls.Config, fields, path)
    problems.extend(sub)
    return ComponentSpec(name, config) if not sub else None


def _parse(plain: dict, source: str | None, base_dir: str | None) -> Recipe:
    from .plugins import get_registry
    registry = get_registry()
    problems: list[str] = []
    out = object.__new__(Recipe)
    object.__setattr__(out, "base_dir", base_dir)

    task_raw = plain.get("task")
    if isinstance(task_raw, str):
        task_raw = {"type": task_raw}
    if task_raw is None:
        problems.append("task: required section is missing (classification or generation)")
        task = None
    else:
        task, sub = configs.build(TaskSection, task_raw, "task")
        problems.extend(sub)
    task_type = task.type if task else None

    if plain.get("data") is None:
        problems.append("data: required section is missing (give `path`, or `train` and optionally "
                        "`validation` and `test`)")
        data = None
    else:
        data, sub = configs.build(DataSection, plain.get("data"), "data")
        problems.extend(sub)
    if data is not None:
        if not data.path and not data.train:
            problems.append("data: give `path` (one file to split) or `train` (and optionally `validation`, `test`)")
        if data.path and data.train:
            problems.append("data: give either `path` or `train`, not both")
        for key in ("path", "train", "validation", "test"):
            p = getattr(data, key)
            if p is None:
                continue
            full = Path(os.path.expanduser(p))
            if not full.is_absolute() and base_dir:
                full = Path(base_dir) / full
            if not full.exists():
                problems.append(f"data.{key}: file not found: {full}")
        if task_type:
            for role in data.columns:
                if role not in ROLES[task_type]:
                    problems.append(f"data.columns.{role}: unknown role for {task_type}"
                                    + did_you_mean(role, ROLES[task_type])
                                    + f" (roles: {', '.join(ROLES[task_type])})")

    model, sub = configs.build(ModelSection, plain.get("model") or {}, "model")
    problems.extend(sub)
    train, sub = configs.build(TrainSection, plain.get("train") or {}, "train")
    problems.extend(sub)

    method = _component("method", plain.get("method") or "lora", "method", problems, registry)
    if method is not None and task_type and train is not None:
        from .methods.capabilities import check_capabilities
        problems.extend(check_capabilities({**plain, "task": configs.to_plain(task), "train": configs.to_plain(train)},
                                           registry.get("method", method.name), registry=registry))

    clean_raw = plain.get("clean") or []
    if not isinstance(clean_raw, list):
        problems.append(f"clean: expected a list of cleaners, got {clean_raw!r}")
        clean_raw = []
    clean = [_component("cleaner", v, f"clean[{i}]", problems, registry) for i, v in enumerate(clean_raw)]

    eval_raw = plain.get("evaluate")
    if eval_raw is None and task_type:
        eval_raw = DEFAULT_EVALUATORS[task_type]
    if not isinstance(eval_raw or [], list):
        problems.append(f"evaluate: expected a list of evaluators, got {eval_raw!r}")
        eval_raw = []
    evaluate = [_component("evaluator", v, f"evaluate[{i}]", problems, registry)
                for i, v in enumerate(eval_raw or [])]
    if task_type:
        for i, spec in enumerate(evaluate):
            if spec is not None:
                tasks = registry.get("evaluator", spec.name).tasks
                if task_type not in tasks:
                    problems.append(f"evaluate[{i}]: '{spec.name}' does not apply to {task_type} "
                                    f"(it scores: {', '.join(tasks)})")
    if train is not None and train.early_stopping_patience is not None and evaluate:
        allowed = {"loss"} | ({"accuracy"} if task_type == "classification" and task.classifier == "head" else set())
        if train.early_stopping_metric not in allowed:
            problems.append(f"train.early_stopping_metric: expected one of {', '.join(sorted(allowed))}, "
                            f"got {train.early_stopping_metric!r}")

    if problems:
        raise RecipeError(problems, source)
    for k, v in dict(task=task, data=data, model=model, method=method, train=train, clean=clean,
                     evaluate=evaluate).items():
        object.__setattr__(out, k, v)
    return out
