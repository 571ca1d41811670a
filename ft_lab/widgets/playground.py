"""The Playground step: type a prompt (or a text to classify) and see the base model's and the fine-tuned
model's answers side by side. The models run in a short-lived process (``jobs``), so the kernel stays free.

    panel = PlaygroundPanel("runs")
    panel.run.value = "runs/<id>"; panel.prompt.value = "my card was stolen"
    panel.try_button.click(); panel.wait()      # panel.answers.value: a two-column table
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..rundir.layout import RunLayout
from .forms import row
from .jobs import Job
from .runs_panel import refresh_picker
from .state import problems_html

_E = html.escape


class JobPanel(W.VBox):
    """A step that works on one completed run in a short-lived process (Playground, Export)."""

    def __init__(self, runs_dir=None, label_width: str = "80px"):
        super().__init__()
        self.runs_dir = runs_dir
        self.run = W.Dropdown(options=[], description="Run", style={"description_width": label_width},
                              layout=W.Layout(width="520px", min_width="300px"),
                              tooltip="a completed run (the newest is picked)")
        self.status = W.HTML()
        self.job: Job | None = None

    def refresh(self, select=None) -> None:
        refresh_picker(self.run, self.runs_dir, select, completed_only=True)

    def wait(self, timeout: float | None = 300) -> dict | None:
        return self.job.wait(timeout) if self.job is not None else None

    def _launch(self, button: W.Button, action: str, payload: dict, problems: list[str], busy: str,
                show) -> Job | None:
        """Run ``action`` on the picked run in a short-lived process; ``show(result)`` draws a success."""
        if self.job is not None and not self.job.done:
            return self.job
        if not self.run.value:
            self.refresh()  # a run may have completed since the list was drawn
        if not self.run.value:
            problems = ["no completed run yet: train one in the Train step", *problems]
        if problems:
            self.status.value = problems_html(problems)
            return None
        button.disabled = True
        self.status.value = f"<i style='color:#06c'>{_E(busy)}</i>"

        def done(result: dict) -> None:
            button.disabled = False
            if not result.get("ok"):
                self.status.value = problems_html([result.get("error") or "failed"])
            else:
                show(result)
        self.job = Job(action, {"run_dir": self.run.value, **payload}, on_done=done).start()
        return self.job


class PlaygroundPanel(JobPanel):
    def __init__(self, runs_dir=None):
        super().__init__(runs_dir)
        self.prompt = W.Textarea(placeholder="one prompt (or text to classify) per line", description="Input",
                                 style={"description_width": "80px"},
                                 layout=W.Layout(width="100%", max_width="720px", height="90px"))
        self.prompt.add_class("ft-lab-playground-input")
        self.max_new_tokens = W.BoundedIntText(value=48, min=1, max=2048, description="New tokens",
                                               tooltip="task.max_new_tokens: tokens to generate (generation)",
                                               style={"description_width": "80px"}, layout=W.Layout(width="180px"))
        self.try_button = W.Button(description="Try both models", icon="comments", button_style="primary",
                                   layout=W.Layout(width="170px"))
        self.try_button.add_class("ft-lab-try")
        self.try_button.on_click(lambda _b: self.try_models())
        self.status.add_class("ft-lab-playground-status")
        self.answers = W.HTML()
        self.answers.add_class("ft-lab-playground-answers")
        self.children = [W.HTML("<h3>Playground</h3><span style='color:#555'>The base model and the fine-tuned "
                                "model answer the same input; they run in a separate process.</span>"),
                         self.run, self.prompt,
                         row(self.max_new_tokens, self.try_button),
                         self.status, self.answers]
        self.add_class("ft-lab-playground-panel")
        self.run.observe(lambda _c: self._show_generation_settings(), names="value")
        self.refresh()
        self._show_generation_settings()

    def _show_generation_settings(self) -> None:
        """"New tokens" only for a run that generates: a classifier with a head answers with a label."""
        classifier = bool(self.run.value) and generates(self.run.value) is False
        self.max_new_tokens.layout.display = "none" if classifier else None

    def try_models(self) -> Job | None:
        inputs = [x for x in self.prompt.value.splitlines() if x.strip()]
        self.answers.value = ""
        return self._launch(self.try_button, "try", {"inputs": inputs, "max_new_tokens": self.max_new_tokens.value},
                            [] if inputs else ["type a prompt or a text first"],
                            "loading both models and answering ...", self.show)

    def show(self, result: dict) -> None:
        self.status.value = "<span style='color:#070'>done</span>"
        self.answers.value = answers_html(result)


def answers_html(result: dict) -> str:
    """Inputs with the base and fine-tuned answers side by side (a fixed-layout table that fits its cell)."""
    rows = []
    for text, b, t in zip(result["inputs"], result["base"], result["finetuned"]):
        # answers that differ are marked in bold, not in a colour that would read as "correct"
        mark = (lambda x: f"<b>{x}</b>") if b != t else (lambda x: x)  # noqa: E731
        rows.append(f"<tr><td>{_E(text)}</td><td>{_E(str(b))}</td><td>{mark(_E(str(t)))}</td></tr>")
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("input", "base model", "fine-tuned model"))
    return ("<table class='ft-lab-fit ft-lab-playground-table' style='table-layout:fixed;width:100%;"
            "border-collapse:collapse'><colgroup><col style='width:34%'><col style='width:33%'>"
            f"<col style='width:33%'></colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def generates(run_dir) -> bool | None:
    """Whether a run's model writes text (generation, or classification through the LM), None if unknown."""
    try:
        import yaml
        recipe = yaml.safe_load(RunLayout(run_dir).recipe.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        return None
    task = recipe.get("task")
    if not isinstance(task, dict):
        return task != "classification" if isinstance(task, str) else None
    return task.get("type") != "classification" or task.get("classifier") == "lm"
