"""Export a completed run: the trained adapter or model, its tokenizer and a model card.

    ft-lab export RUN_DIR --out DIR [--merge]
    ft-lab export RUN_DIR_OR_MODEL_FOLDER --out DIR --gguf q8_0      # f16 | bf16 | q8_0, plus an Ollama Modelfile
    ft_lab.workflows.export.export_run(run_dir, out, merge=False, gguf=None) -> Path

Without ``merge`` the folder holds what the run saved in ``final/`` (a peft adapter, ft-lab trainable
weights, or the whole model), the tokenizer, the generation config when there is one, and README.md.
With ``merge`` the method folds its training into the base weights and the folder is a plain
transformers model (safetensors) that ``AutoModelFor...from_pretrained(DIR)`` loads without ft-lab or peft.

With ``gguf`` the merged model is written as one GGUF file (gguf_export.py) with an Ollama ``Modelfile``
beside it; the file is read back with transformers and its logits compared with the merged model's on a
sample prompt (the figures go into README.md). Every model card says how to serve the folder with vLLM
(``vllm_args``: the merged folder, or the adapter as a LoRA module) and with ``ft-lab serve``.

The export is written into a temporary folder beside ``out`` and renamed at the end: ``out`` appears
complete or not at all. A non-empty ``out`` is never overwritten.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..core.method_checks import check_capabilities
from ..errors import UserError
from ..evaluation.verdict import sentence, winner
from ..models.from_run import load_trained, starts_from_base
from ..models.model_loading import load_tokenizer, resolve_source
from ..rundir.layout import RunLayout, is_run_dir
from ..safety.atomic import read_json
from .gguf_export import check_family, gguf_check, ollama_modelfile, write_gguf
from .runner import completed_run

#: files of final/ that are not the model (the tokenizer is saved again from the run's tokenizer)
_SKIP = {"README.md"}


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: already exists and is not empty; choose a new folder or remove it first")


def export_run(run_dir, out, merge: bool = False, gguf: str | None = None) -> Path:
    """Export the completed run at ``run_dir`` into the new folder ``out``; return ``out`` (absolute)."""

    out = Path(out).expanduser().resolve()
    if gguf is not None and not is_run_dir(run_dir) and (Path(run_dir) / "config.json").is_file():
        folder = Path(run_dir).resolve()
        return _in_new_folder(out, lambda tmp: _write_gguf(folder, gguf, tmp, None, folder.name))
    run_dir, recipe = completed_run(run_dir)
    _check_out(out)
    method_cls = type(recipe.method.create("method"))
    if gguf is not None:
        if recipe.model_task() == "classification":
            check_family({"architectures": ["ForSequenceClassification"]}, run_dir)
        base_config = Path(resolve_source(recipe.model)) / "config.json"
        if base_config.is_file():
            check_family(json.loads(base_config.read_text(encoding="utf-8")), f"{run_dir} (base model)")
    if merge or gguf is not None:
        # export does not train: a GPU is not needed to merge (qlora merges on a full-precision base)
        problems = [p for p in check_capabilities(recipe, method_cls, merge=True, cuda_available=True)
                    if "merging" in p]
        if problems:
            raise UserError("; ".join(problems))
    elif method_cls.adapter and not starts_from_base(run_dir):
        raise UserError(f"{run_dir}: its adapter sits on an earlier run's trained model (model.from_run), not on "
                        f"{recipe.model.name_or_path}; export it with --merge (a plain model with the whole "
                        f"chain folded in)")


    def write(tmp: Path) -> None:
        if gguf is not None:
            merged = tmp / ".merged"
            _write_merged(run_dir, recipe, merged)
            _write_gguf(merged, gguf, tmp, recipe, run_dir.name)
            shutil.rmtree(merged)
            return
        files = _write_merged(run_dir, recipe, tmp) if merge else _write_unmerged(run_dir, recipe, tmp)
        (tmp / "README.md").write_text(model_card(run_dir, recipe, method_cls, merge, files), encoding="utf-8")

    return _in_new_folder(out, write)


def _in_new_folder(out: Path, write) -> Path:
    """Run ``write(tmp)`` in a temporary folder beside ``out``, then rename it to ``out``."""
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        write(tmp)
        _check_out(out)  # still free?
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _generation_config(recipe, dest: Path) -> None:
    if recipe.task.type != "generation" or (dest / "generation_config.json").exists():
        return
    from transformers import GenerationConfig

    try:
        GenerationConfig.from_pretrained(resolve_source(recipe.model), revision=recipe.model.revision) \
            .save_pretrained(str(dest))
    except (OSError, ValueError):
        pass  # the base has none: generate() uses the model config's defaults


def _write_unmerged(run_dir: Path, recipe, dest: Path) -> list[str]:

    final = RunLayout(run_dir).final
    for item in final.iterdir():
        if item.name in _SKIP:
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name)
        else:
            shutil.copy2(item, dest / item.name)
    if not (dest / "tokenizer_config.json").exists():
        load_tokenizer(recipe.model, resolve_source(recipe.model)).save_pretrained(str(dest))
    _generation_config(recipe, dest)
    return sorted(p.name for p in dest.iterdir())


def _write_merged(run_dir: Path, recipe, dest: Path) -> list[str]:

    model, tokenizer, method = load_trained(run_dir, recipe)
    merged = method.merge(model)
    merged.save_pretrained(str(dest), safe_serialization=True)
    tokenizer.save_pretrained(str(dest))
    _generation_config(recipe, dest)
    return sorted(p.name for p in dest.iterdir())


def _write_gguf(merged: Path, kind: str, dest: Path, recipe, stem: str) -> None:
    from transformers import AutoTokenizer

    name = f"{stem}-{kind}.gguf"
    write_gguf(merged, dest / name, kind)
    tokenizer = AutoTokenizer.from_pretrained(str(merged))
    max_new = recipe.task.max_new_tokens if recipe is not None else 256
    (dest / "Modelfile").write_text(ollama_modelfile(name, tokenizer, max_new_tokens=max_new), encoding="utf-8")
    diff, agree = gguf_check(merged, dest, name)
    (dest / "README.md").write_text(
        f"# {name}\n\nA GGUF ({kind}) export of `{stem}`{' (the run merged)' if recipe is not None else ''}, written by "
        f"ft-lab with the gguf package; the tokenizer and chat template are in its metadata.\n\n"
        f"Checked by loading it back with transformers (`gguf_file=`): on a sample prompt the largest logit "
        f"difference from the merged model is {diff:.4g}, and the top token agrees at {agree:.0%} of positions.\n\n"
        f"Ollama: `ollama create NAME -f Modelfile`, then `ollama run NAME` (the Modelfile sets the chat "
        f"template and the stop tokens). llama.cpp: `llama-server -m {name}`.\n", encoding="utf-8")


def vllm_args(model: str, name: str, adapter: str | None = None, rank: int = 16) -> list[str]:
    """``vllm serve`` arguments: the merged folder (``model``) under ``name``, or ``model`` as the base with
    the ``adapter`` folder as a LoRA module named ``name``."""
    if adapter is None:
        return ["vllm", "serve", model, "--served-model-name", name]
    return ["vllm", "serve", model, "--served-model-name", f"{name}-base", "--enable-lora",
            "--lora-modules", f"{name}={adapter}", "--max-lora-rank", str(max(rank, 8))]


# --- model card ----------------------------------------------------------------------------------
def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def model_card(run_dir: Path, recipe, method_cls, merged: bool, files: list[str]) -> str:

    run_dir = Path(run_dir)
    task = recipe.task.type
    layout = RunLayout(run_dir)
    report = read_json(layout.data_report, {}) or {}
    metrics = read_json(layout.metrics, {}) or {}
    info = read_json(layout.info, {}) or {}
    base_name = recipe.model.name_or_path
    base_text = ("`tiny`, ft-lab's built-in small Llama-style model (2 layers, hidden size 128; "
                 "`ft_lab.models.tiny.ensure_tiny()` builds it)" if base_name == "tiny" else f"`{base_name}`")
    settings = {k: v for k, v in recipe.method.to_plain().items() if k != "name"}
    adapter_peft = "adapter_config.json" in files
    if merged:
        kind = "the base model with the training merged into its weights (a plain transformers model)"
    elif adapter_peft:
        kind = "an adapter in peft format; it needs the base model"
    elif "config.json" in files:
        kind = "the whole trained model"
    else:
        kind = f"ft-lab `{method_cls.name}` trained weights; they need the base model and ft-lab"

    lines = [f"# {run_dir.name}", "",
             f"A {task} model fine-tuned with ft-lab, run `{info.get('id', run_dir.name)}`.",
             "", "## Model", "",
             f"- base model: {base_text}",
             f"- method: `{method_cls.name}` ({method_cls.summary()})",
             f"- settings: " + (", ".join(f"`{k}={v!r}`" for k, v in settings.items()) or "none"),
             f"- this folder: {kind}",
             f"- files: {', '.join(files + ['README.md'])}", ""]

    t = recipe.train
    lines += ["## Training", "",
              f"learning rate {t.learning_rate}, batch size {t.batch_size}, "
              + (f"max steps {t.max_steps}" if t.max_steps else f"epochs {t.epochs}")
              + f", max length {recipe.model.max_length} tokens, seed {t.seed}, precision {t.precision}.", ""]

    rows = report.get("rows") or {}
    source = report.get("source")
    lines += ["## Data", "",
              f"- source file: `{Path(str(source)).name}`" if source else "- source file: -",
              "- rows per split: " + (", ".join(f"{k} {v}" for k, v in rows.items()) or "-")]
    labels = report.get("labels")
    if labels:
        lines.append(f"- labels ({len(labels)}): " + ", ".join(f"`{l}`" for l in labels))
    lines.append("")

    base_m, tuned = metrics.get("base") or {}, metrics.get("finetuned") or {}
    baselines = {k: v for k, v in (metrics.get("baselines") or {}).items() if isinstance(v, dict)}
    verdict = sentence(winner(metrics)) if baselines else ""
    lines += ["## Evaluation", "", f"On the test split ({rows.get('test', '?')} rows)."
              + (f" {verdict[0].upper() + verdict[1:]}." if verdict else ""), "",
              "| metric | base | " + "".join(f"baseline: {k} | " for k in baselines) + "fine-tuned |",
              "|---|---|" + "---|" * len(baselines) + "---|"]
    for name in list(dict.fromkeys([*base_m, *tuned])):
        lines.append(f"| {name} | {_fmt(base_m.get(name))} | "
                     + "".join(f"{_fmt(v.get(name))} | " for v in baselines.values()) + f"{_fmt(tuned.get(name))} |")
    if metrics.get("validation_loss") is not None:
        lines.append("| validation loss | - | " + "- | " * len(baselines) + f"{_fmt(metrics['validation_loss'])} |")
    lines.append("")

    use = (f"routing texts to one of the {len(labels)} labels above" if labels else
           "answering prompts like those it was trained on")
    lines += ["## Intended use and limitations", "",
              f"Intended for {use}, on data like the training data (same domain, language and style). "
              f"It was evaluated on {rows.get('test', 'a few')} held-out rows only; check it on your own data "
              f"before relying on it. "
              + ("It can only answer with the labels it was trained on; out-of-scope inputs still get one of "
                 "them. " if labels else "It can produce wrong or made-up answers. ")
              + "It inherits the biases and limitations of its base model and of the training data.", ""]

    head_labels = labels if recipe.model_task() == "classification" else None  # lm classifiers have no head
    auto = "AutoModelForSequenceClassification" if head_labels else "AutoModelForCausalLM"
    base_src = "BASE" if base_name == "tiny" else repr(base_name)
    lines += ["## How to load it", "", "```python", f"from transformers import AutoTokenizer, {auto}", ""]
    if merged or (not adapter_peft and "config.json" in files):
        lines += [f'model = {auto}.from_pretrained("path/to/this/folder")',
                  'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")']
    elif adapter_peft:
        if base_name == "tiny":
            lines.append("from ft_lab.models.tiny import ensure_tiny; BASE = str(ensure_tiny())")
        lines.append("from peft import PeftModel")
        if head_labels:
            lines += [f"labels = {head_labels!r}",
                      f"base = {auto}.from_pretrained({base_src}, num_labels=len(labels),",
                      "    id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})"]
        else:
            lines.append(f"base = {auto}.from_pretrained({base_src})")
        lines += ['tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")']
        if head_labels:
            lines.append("base.config.pad_token_id = tokenizer.pad_token_id")
        lines += ['model = PeftModel.from_pretrained(base, "path/to/this/folder")',
                  "# model = model.merge_and_unload()  # optional, for mergeable methods"]
    else:
        lines += ["from ft_lab.models.model_loading import load_model, load_tokenizer, resolve_source",
                  "from ft_lab.core.plugins import get_registry", "from ft_lab.core.recipe import ModelSection", "",
                  f"spec = ModelSection(name_or_path={base_name!r})",
                  'tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder")',
                  f"base = load_model(spec, resolve_source(spec), {recipe.model_task()!r}, {head_labels!r}, tokenizer)",
                  f'model = get_registry().get("method", {method_cls.name!r}).load(base, "path/to/this/folder")']
    lines += ["```", ""]
    if head_labels is None and (merged or adapter_peft or "config.json" in files):
        rank = settings.get("r", 16) if isinstance(settings.get("r"), int) else 16
        cmd = (vllm_args("path/to/this/folder", run_dir.name) if not adapter_peft else
               vllm_args("BASE_MODEL" if base_name == "tiny" else str(base_name), run_dir.name, "path/to/this/folder", rank))
        lines += ["## How to serve it", "", "With vLLM (an OpenAI-compatible server on a GPU):", "", "```",
                  " ".join(cmd), "```", "",
                  f"With ft-lab (auth, a PII-masked request log, monitoring): `ft-lab serve {run_dir}` "
                  "(see docs/serving.md).", ""]
    return "\n".join(lines)
