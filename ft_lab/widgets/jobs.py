"""Short-lived worker processes for the Playground and Export steps, so the kernel stays free.

    job = Job("try", {"run_dir": "runs/<id>", "inputs": ["my card was stolen"]}, on_done=print).start()
    job.wait(120)        # {"ok": True, "base": [...], "finetuned": [...]} or {"ok": False, "error": "..."}

The request goes as JSON on stdin to ``python -m ft_lab.widgets.jobs``, which loads the models (torch is
imported there, never in the kernel), answers one JSON line on stdout and exits. A thread in the kernel
waits for it and calls ``on_done(result)``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from ..errors import RecipeError, UserError
from ..evaluation.predict import make_responder
from ..models.from_run import load_base, load_trained, run_labels
from ..workflows.export import export_run
from ..workflows.runner import completed_run


class Job:
    def __init__(self, action: str, payload: dict, on_done=None):
        self.action, self.payload, self.on_done = action, payload, on_done
        self.result: dict | None = None
        self.process: subprocess.Popen | None = None
        self._done = threading.Event()

    def start(self) -> "Job":
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "ft_lab.widgets.jobs"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        threading.Thread(target=self._run, name=f"ft-lab-{self.action}", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            out, err = self.process.communicate(json.dumps({"action": self.action, **self.payload}))
            lines = [x for x in out.splitlines() if x.startswith("{")]
            if lines:
                self.result = json.loads(lines[-1])
            else:
                tail = (err or "").strip().splitlines()[-3:]
                self.result = {"ok": False, "error": f"the worker process ended with code {self.process.returncode}"
                               + (": " + " | ".join(tail) if tail else "")}
        except Exception as exc:  # the panel must always hear back
            self.result = {"ok": False, "error": str(exc)}
        self._done.set()
        if self.on_done is not None:
            self.on_done(self.result)

    def wait(self, timeout: float | None = None) -> dict | None:
        self._done.wait(timeout)
        return self.result

    @property
    def done(self) -> bool:
        return self._done.is_set()


# --- the worker side -----------------------------------------------------------------------------
def _models(run_dir):
    """The base model and the fine-tuned model of a completed run, with the tokenizer and labels."""

    run_dir, recipe = completed_run(run_dir)
    labels = run_labels(run_dir)
    tuned, tokenizer, _method = load_trained(run_dir, recipe)
    try:
        from transformers import set_seed
        set_seed(recipe.train.seed)  # the base's new head is drawn as in the run's base evaluation
    except ImportError:
        pass
    base, _ = load_base(recipe, labels)
    base.eval()
    return recipe, base, tuned, tokenizer, labels


def answer(request: dict) -> dict:
    action = request.get("action")
    if action == "try":
        inputs = [str(x) for x in request.get("inputs") or [] if str(x).strip()]
        if not inputs:
            return {"ok": False, "error": "type a text first"}
        recipe, base, tuned, tokenizer, labels = _models(request["run_dir"])
        if request.get("max_new_tokens"):
            recipe.task.max_new_tokens = int(request["max_new_tokens"])
        return {"ok": True, "task": recipe.task.type, "inputs": inputs,
                "base": make_responder(recipe, base, tokenizer, labels)(inputs),
                "finetuned": make_responder(recipe, tuned, tokenizer, labels)(inputs)}
    if action == "export":
        from pathlib import Path

        out = export_run(request["run_dir"], request["out"], merge=bool(request.get("merge")))
        return {"ok": True, "out": str(out), "files": sorted(p.name for p in Path(out).iterdir()),
                "card": (Path(out) / "README.md").read_text(encoding="utf-8")}
    return {"ok": False, "error": f"unknown action {action!r}"}


def main() -> int:
    try:
        result = answer(json.loads(sys.stdin.read() or "{}"))
    except (UserError, RecipeError, OSError, ValueError, KeyError) as exc:
        result = {"ok": False, "error": str(exc)}
    sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
