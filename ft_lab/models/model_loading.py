"""Load the recipe's base model and tokenizer: a hub id (from the local cache when offline), a local
folder, a packaged model (``minilm``, ``smollm2``: ft_lab.models.packaged) or ``tiny``. Remote code runs only when the recipe sets ``model.trust_remote_code: true``."""
from __future__ import annotations

import os
from pathlib import Path

from ..core.packaged_models import packaged_location
from ..errors import UserError
from ..safety.model_folder import check_model_folder
from .gguf import as_plain_model, check_gguf_support, gguf_kwargs, gguf_location
from .tiny import ensure_tiny


def resolve_source(model_spec) -> str:
    name = model_spec.name_or_path
    gguf = gguf_location(model_spec)
    if gguf is not None:  # a folder (or hub repo) holding a GGUF file: no config.json needed
        check_gguf_support()
        return gguf[0]
    if name == "tiny":
        return str(ensure_tiny())
    packaged = packaged_location(name)
    if packaged is not None:
        return packaged[0]
    path = Path(os.path.expanduser(name))
    if path.exists():
        check_model_folder(path)  # corrupt config.json, truncated weights, no tokenizer: named here
        return str(path.resolve())
    return name


def _hub_error(name: str, exc: Exception) -> UserError:
    if Path(os.path.expanduser(name)).is_dir():  # a local folder: the hub has nothing to do with it
        return UserError(f"model.name_or_path: cannot load the folder {name} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:300]})")
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = ("the hub is offline (HF_HUB_OFFLINE=1) and it is not in the local cache; "
            "download it on a connected machine or give a local folder" if offline
            else "check the id, your network and your access token")
    return UserError(f"model.name_or_path: cannot load '{name}': {hint} ({type(exc).__name__}: "
                     f"{str(exc).splitlines()[0][:200]})")


def load_tokenizer(model_spec, source: str):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(source, revision=model_spec.revision,
                                            trust_remote_code=model_spec.trust_remote_code, **gguf_kwargs(model_spec))
    except (OSError, ValueError) as exc:
        raise _hub_error(model_spec.name_or_path, exc) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def load_model(model_spec, source: str, task: str, labels: list[str] | None, tokenizer, dtype=None,
               **extra):
    """A sequence-classification model (new head over ``labels``) or a causal LM."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kwargs = dict(revision=model_spec.revision, trust_remote_code=model_spec.trust_remote_code)
    if dtype is not None:
        kwargs["dtype"] = dtype
    kwargs.update(gguf_kwargs(model_spec))
    kwargs.update(extra)  # the method's own loading arguments (e.g. qlora's quantization config)
    try:
        if task == "classification":
            model = AutoModelForSequenceClassification.from_pretrained(
                source, num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={l: i for i, l in enumerate(labels)}, **kwargs)
            model.config.pad_token_id = tokenizer.pad_token_id
        else:
            model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise _hub_error(model_spec.name_or_path, exc) from None
    if "gguf_file" in kwargs:
        model = as_plain_model(model)
        if task == "classification":
            model.config.pad_token_id = tokenizer.pad_token_id
    return model
