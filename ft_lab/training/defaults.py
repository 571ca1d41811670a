"""Settings left at ``auto`` in a recipe, resolved at run start from the method, the model and the data.

    recipe, choices = resolve_defaults(recipe, prepared_data)
    for c in choices: print(c.line())     # train.learning_rate = 0.001  (lora on an encoder)

The resolved recipe (every ``auto`` replaced by a number) is what the run directory keeps, so a user
sees the values before training and can pin any of them. ``learning_rate: find`` stays as written
here: the worker runs a short range test (``ft_lab.training.lr_find``) once the model is loaded.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from ..core.plugins import get_registry
from ..core.recipe import Recipe
from ..data.pairs import answer_views, is_preference
from ..data.prepare import prepare_data
from ..errors import UserError
from ..models.gguf import gguf_kwargs
from ..models.model_loading import load_tokenizer, resolve_source
from .tokenization import encode_generation, verbalized

AUTO = "auto"
SMALL_CAUSAL_LORA_RATE = 5e-4  # measured: see SMALL_CAUSAL_PARAMETERS
#: peak learning rate by method and model kind (encoder: BERT-like with a new head; causal: a decoder LM;
#: small_causal, where given: a decoder LM under SMALL_CAUSAL_PARAMETERS). A method's own
#: ``default_learning_rates`` (same keys) comes first: built-in or plugin, the same rule.
LEARNING_RATES = {
    "full": {"encoder": 1e-4, "causal": 2e-5},
    "lora": {"encoder": 1e-3, "causal": 2e-4, "small_causal": SMALL_CAUSAL_LORA_RATE},
    "qlora": {"encoder": 1e-3, "causal": 2e-4, "small_causal": SMALL_CAUSAL_LORA_RATE},
    "adalora": {"encoder": 1e-3, "causal": 5e-4},
    "ia3": {"encoder": 3e-3, "causal": 3e-3},
    "freeze": {"encoder": 1e-4, "causal": 5e-5},
    "head": {"encoder": 3e-3, "causal": 3e-3},
    "prompt_tuning": {"encoder": 3e-2, "causal": 3e-2},
    "prefix_tuning": {"encoder": 1e-2, "causal": 1e-2},
    "p_tuning": {"encoder": 1e-2, "causal": 1e-2},
    "adapter": {"encoder": 1e-3, "causal": 3e-4},
}
#: a preference objective (dpo, orpo, kto, simpo) takes the method's SFT rate divided by this
PREFERENCE_RATE_DIVISOR = 10
FALLBACK_RATE = {"encoder": 5e-4, "causal": 2e-4}
#: A rate table's ``small_causal`` applies to a causal language model under this size. LoRA's
#: (SMALL_CAUSAL_LORA_RATE): SmolLM2-135M at 5e-4 against 2e-4, 75 to 126 updates, 2 cores: DialogSum ROUGE-L 0.242 -> 0.318, JCommonsenseQA exact match
#: 0.125 -> 0.175 (docs/defaults.md); 2e-4 stays the rate of larger models (the usual QLoRA setting)
SMALL_CAUSAL_PARAMETERS = 1_000_000_000
#: a new classification head starts from random weights: it learns at this rate unless the body's is higher
HEAD_LEARNING_RATE = 3e-3
#: updates a run aims for, and the range its epochs stay in (generation overfits after a few passes)
TARGET_UPDATES = {"classification": 3000, "generation": 1000}
EPOCH_RANGE = {"classification": (1.0, 10.0), "generation": (1.0, 3.0)}
#: ``method: auto`` fine-tunes every weight of encoders up to this size (all-MiniLM-L6-v2 on BANKING77:
#: accuracy 0.925 full against 0.888 LoRA, in 9.6 min on 2 cores), and trains LoRA adapters above it
FULL_MAX_PARAMETERS = 150_000_000
#: early stopping (with validation every tenth of the run) turns on from this many updates
LONG_RUN_UPDATES = 2000
#: under this size (the built-in ``tiny``: about 1M) ``method: auto`` trains every weight, at TOY_RATE
#: (``tiny`` on the bundled BANKING77 sample: 0.91 accuracy at 1e-3, against 0.64 with LoRA)
TOY_PARAMETERS = 10_000_000
TOY_RATE = 1e-3
LENGTH_PERCENTILE = 99
LENGTH_CEILING = 2048
LENGTH_SAMPLE = 2000


@dataclass
class Choice:
    """One resolved setting: where it lives in the recipe, its value and why."""

    field: str
    value: Any
    why: str

    def line(self) -> str:
        return f"{self.field} = {self.value}  ({self.why})"

    def as_json(self) -> dict:
        return {"field": self.field, "value": self.value, "why": self.why}


def has_auto(recipe) -> bool:
    t, m = recipe.train, recipe.model
    return not recipe.method.named or AUTO in (
        t.learning_rate, t.head_learning_rate, t.warmup_ratio, t.epochs, t.early_stopping_patience,
        t.early_stopping_metric, t.keep_best, m.max_length)


def parameter_estimate(config) -> int | None:
    """About how many weights a transformer of this config has (embeddings and blocks; no weights read)."""
    get = lambda *names: next((getattr(config, n) for n in names if isinstance(getattr(config, n, None), int)), None)  # noqa: E731
    hidden, layers = get("hidden_size", "d_model", "n_embd", "dim"), get("num_hidden_layers", "n_layer", "num_layers")
    if config is None or not hidden or not layers:
        return None
    inner = get("intermediate_size", "ffn_dim", "n_inner", "hidden_dim") or 4 * hidden
    return layers * (4 * hidden * hidden + 2 * hidden * inner) + (get("vocab_size") or 0) * hidden


def choose_method(recipe, config, kind: str) -> tuple[str, str]:
    """``method: auto``: full fine-tuning for an encoder of at most FULL_MAX_PARAMETERS with a new head
    (cheap at that size, and more accurate than LoRA: docs/defaults.md) and for any model under
    TOY_PARAMETERS (adapters over so few weights learn little: ``tiny`` scored 0.64 with LoRA against
    0.91 fully tuned on the bundled sample), else LoRA."""
    size = parameter_estimate(config)
    words = f"about {size / 1e6:.0f}M parameters" if size else "size unknown"
    if size is not None and size < TOY_PARAMETERS:
        return "full", f"a model of {words}: too small for adapters to learn much, every weight trains"
    if recipe.model_task() != "classification" or kind != "encoder":
        return "lora", f"{'a causal language model' if kind == 'causal' else 'generation'} ({words}): adapters"
    if size is None or size > FULL_MAX_PARAMETERS:
        return "lora", f"an encoder of {words}: above {FULL_MAX_PARAMETERS / 1e6:.0f}M, adapters"
    return "full", (f"an encoder of {words} with a new head: every weight trains, cheap at this size and "
                    f"more accurate than LoRA")


def model_kind(config) -> str:
    """encoder (BERT-like, bidirectional) or causal (a decoder-only language model), as transformers maps the
    config's model type: a causal-LM class and no masked-LM class (BERT-likes have both) means causal."""
    if config is None:
        return "causal"
    archs = " ".join(getattr(config, "architectures", None) or [])
    if "CausalLM" in archs or "LMHead" in archs or getattr(config, "is_decoder", False):
        return "causal"
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )
    model_type = getattr(config, "model_type", "")
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "causal"
    return "encoder"


def model_limit(config, tokenizer) -> int | None:
    """The longest sequence the model takes (its position embeddings, or the tokenizer's stated limit)."""
    limits = [getattr(config, "max_position_embeddings", None) if config is not None else None,
              getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None]
    limits = [int(x) for x in limits if isinstance(x, (int, float)) and 8 <= x < 1_000_000]
    return min(limits) if limits else None


def token_lengths(recipe, examples: list[dict], tokenizer, labels) -> list[int]:
    """Token lengths of (a sample of) the training examples, as the trainer will encode them."""

    if len(examples) > LENGTH_SAMPLE:
        examples = random.Random(0).sample(examples, LENGTH_SAMPLE)
    if recipe.task.type == "classification" and recipe.model_task() == "classification":
        return [len(tokenizer(ex["text"])["input_ids"]) for ex in examples]
    if recipe.task.type == "classification":
        examples = verbalized(recipe, examples, list(labels or []))
    examples = [view for ex in examples for view in (answer_views(ex) if is_preference(ex) else [ex])]
    out = []
    for ex in examples:
        enc = encode_generation(tokenizer, ex, recipe.task.system_prompt, 10**9)
        if enc is not None:
            out.append(len(enc["input_ids"]))
    return out


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def load_model_info(recipe):
    """The model's config and tokenizer (no weights), or (None, None, reason) when they cannot be read."""

    try:
        source = resolve_source(recipe.model)
        tokenizer = load_tokenizer(recipe.model, source)
        from transformers import AutoConfig
        config = AutoConfig.from_pretrained(source, **model_file_kwargs(recipe.model))
        return config, tokenizer, None
    except (UserError, OSError, ValueError) as exc:
        return None, None, str(exc).splitlines()[0][:160]


def model_file_kwargs(model_spec) -> dict:
    return dict(revision=model_spec.revision, trust_remote_code=model_spec.trust_remote_code,
                **gguf_kwargs(model_spec))


def resolve_defaults(recipe, data, config=None, tokenizer=None) -> tuple[Any, list[Choice]]:
    """A copy of ``recipe`` with every ``auto`` resolved, and the choices made (field, value, why)."""

    if not has_auto(recipe):
        return recipe, []
    reason = None
    if config is None or tokenizer is None:
        config, tokenizer, reason = load_model_info(recipe)
    plain = recipe.to_dict()
    train, model = plain["train"], plain["model"]
    choices: list[Choice] = []

    def choose(section: dict, name: str, value, why: str):
        section[name] = value
        choices.append(Choice(f"{'train' if section is train else 'model'}.{name}", value, why))

    kind = model_kind(config)
    method = recipe.method.name
    if not recipe.method.named:
        method, why = choose_method(recipe, config, kind)
        plain["method"] = {"name": method}
        choices.append(Choice("method", method, why))
    head = recipe.model_task() == "classification"
    task = recipe.model_task()
    kind_words = f"{method} on {'an encoder' if kind == 'encoder' else 'a causal language model'}"
    if train["learning_rate"] == AUTO:
        table = get_registry().get("method", method).default_learning_rates or LEARNING_RATES.get(method)
        rate = (table or FALLBACK_RATE)[kind]
        why = kind_words + ("" if table else " (no table entry: a middle value)")
        size = parameter_estimate(config)
        if method == "full" and size is not None and size < TOY_PARAMETERS:
            rate, why = TOY_RATE, f"{method} on a model of about {size / 1e6:.0f}M parameters: small models take a high rate"
        elif table and "small_causal" in table and kind == "causal" and size is not None \
                and size < SMALL_CAUSAL_PARAMETERS:
            rate, why = table["small_causal"], f"{kind_words} of about {size / 1e6:.0f}M parameters: under " \
                                               f"{SMALL_CAUSAL_PARAMETERS / 1e9:.0f}B, adapters learn faster"
        if recipe.train.objective != "sft":  # preference losses move a tuned model; SFT's rate overshoots
            rate, why = rate / PREFERENCE_RATE_DIVISOR, f"{why}; a tenth for train.objective: {recipe.train.objective}"
        choose(train, "learning_rate", rate, why)
    if train["head_learning_rate"] == AUTO:
        if head and recipe.train.learning_rate != AUTO and recipe.train.learning_rate != "find":
            choose(train, "head_learning_rate", None, "learning_rate is pinned: the head uses it too")
        elif head:
            body = train["learning_rate"] if isinstance(train["learning_rate"], float) else 0.0
            choose(train, "head_learning_rate", max(HEAD_LEARNING_RATE, body),
                   "the new classification head starts from random weights")
        else:
            choose(train, "head_learning_rate", None, "no new head: one learning rate")

    if model["max_length"] == AUTO:
        limit = model_limit(config, tokenizer)
        lengths = token_lengths(recipe, data.train, tokenizer, data.labels) if tokenizer is not None else []
        if lengths:
            p = percentile(lengths, LENGTH_PERCENTILE)
            value = max(16, 8 * math.ceil(p / 8))
            cap = min(limit or LENGTH_CEILING, LENGTH_CEILING)
            why = f"{LENGTH_PERCENTILE}th percentile of {len(lengths)} training examples is {p} tokens"
            if value > cap:
                value, why = cap, why + f", capped at {cap}"
            choose(model, "max_length", value, why)
        else:
            choose(model, "max_length", min(limit or 256, 256), f"token lengths unknown ({reason or 'no tokenizer'})")

    n_train = len(data.train)
    per_update = train["batch_size"] * train["gradient_accumulation_steps"] * train["num_processes"]
    per_epoch = max(1, math.ceil(n_train / per_update))
    if train["epochs"] == AUTO:
        if train["max_steps"]:
            choose(train, "epochs", 1.0, "max_steps sets the length")
        else:
            lo, hi = EPOCH_RANGE[task]
            target = TARGET_UPDATES[task]
            epochs = min(hi, max(lo, round(target / per_epoch * 2) / 2))
            choose(train, "epochs", float(epochs),
                   f"{n_train} training examples, {per_epoch} updates an epoch: about {target} updates, "
                   f"{lo:g} to {hi:g} epochs")
    steps = train["max_steps"] or max(1, math.ceil(per_epoch * train["epochs"]))
    if train["warmup_ratio"] == AUTO:
        ratio = round(min(0.1, max(0.03, 100 / steps)), 3)
        choose(train, "warmup_ratio", ratio, f"about {max(1, round(ratio * steps))} of {steps} updates")

    has_validation = len(data.validation) > 0
    if train["early_stopping_metric"] == AUTO:
        choose(train, "early_stopping_metric", "accuracy" if head else "loss",
               "validation accuracy of the head" if head else "validation loss")
    if train["keep_best"] == AUTO:
        save, every = train["save_steps"], train["eval_steps"]
        if not has_validation:
            choose(train, "keep_best", False, "no validation split")
        elif save and (not every or save % every):
            choose(train, "keep_best", False, f"checkpoints every {save} updates are not validated ones (set eval_steps)")
        else:
            choose(train, "keep_best", True, f"best {train['early_stopping_metric']} on validation")
    if train["early_stopping_patience"] == AUTO:
        if has_validation and steps >= LONG_RUN_UPDATES and not train["max_steps"]:
            choose(train, "early_stopping_patience", 3, f"a long run ({steps} updates)")
        else:
            choose(train, "early_stopping_patience", None,
                   "max_steps sets the length" if train["max_steps"] else
                   f"a short run ({steps} updates)" if has_validation else "no validation split")
    if train["early_stopping_patience"] and not train["eval_steps"]:
        every = max(10, 10 * round(steps / 10 / 10))
        choose(train, "eval_steps", every, "validate ten times in the run, for early stopping")
    resolved = Recipe.from_dict(plain, base_dir=recipe.base_dir)
    return resolved, choices


def resolution_lines(recipe) -> list[str]:
    """What ``ft-lab validate`` prints: each ``auto`` setting with the value a run would use, and why
    (the data is loaded and split as a run would; the model's config and tokenizer are read, not its weights)."""

    if not has_auto(recipe) and recipe.train.learning_rate != "find":
        return []
    recipe = recipe.resolved()
    _, choices = resolve_defaults(recipe, prepare_data(recipe))
    lines = ["settings chosen for this data and model (pin any of them in the recipe):"]
    lines += [f"  {c.line()}" for c in choices]
    if recipe.train.learning_rate == "find":
        lines.append(f"  train.learning_rate = find  (a range test of {recipe.train.lr_find_steps} updates at run start)")
    baselines = ", ".join(b.name for b in recipe.baselines or []) or "none"
    lines.append(f"baselines beside the run: {baselines}")
    return lines
