"""The Model and method step: the base model, the tuning method with its generated form, capability
warnings, and (on "Check") the trainable parameter count.

    panel = ModelPanel()
    panel.model_form.set_field("name_or_path", "tiny")
    panel.method.set_value({"name": "lora", "r": 4})
    panel.warnings()          # [] or messages such as "method: 'qlora' needs a CUDA GPU ..."
    panel.check_button.click()   # loads the model once (lazily imports torch) and counts parameters
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..core.method_checks import check_capabilities
from ..core.packaged_models import model_choices
from ..core.recipe import AUTO_METHOD, FALLBACK_METHOD, ModelSection
from ..errors import RecipeError, UserError
from ..methods.budget import describe_budget, trainable_parameters
from ..models.model_loading import load_model, load_tokenizer, resolve_source
from .forms import ComponentForm, ConfigForm, row
from .from_run_picker import FromRunPicker
from .state import RecipeState, problems_html


def count_trainable(recipe) -> dict:
    """Load the recipe's model, apply its method and count parameters (imports torch; an explicit action)."""

    source = resolve_source(recipe.model)
    tokenizer = load_tokenizer(recipe.model, source)
    method = recipe.method.create("method")
    labels = None
    if recipe.model_task() == "classification":
        labels = ["label_0", "label_1"]  # the head's size does not change the count much; real labels come at run time
    model = load_model(recipe.model, source, recipe.model_task(), labels, tokenizer, **method.load_kwargs())
    method.bind(tokenizer=tokenizer, total_steps=100)
    model = method.prepare(model, recipe.model_task())
    trainable, total = trainable_parameters(model)
    return {"trainable": trainable, "total": total, "summary": describe_budget(model)}


class ModelPanel(W.VBox):
    def __init__(self, state: RecipeState | None = None):
        super().__init__()
        self.state = state or RecipeState()
        self.state.panels.append(self)
        choices = model_choices()
        self.model_form = ConfigForm(ModelSection, self.state.sections.get("model") or {},
                                     basic=("name_or_path", "max_length"), path="model",
                                     suggestions={"name_or_path": [name for name, _ in choices]})
        self.models_html = W.HTML("<div class='ft-lab-model-choices' style='color:#555;font-size:90%'>"
                                  + "<br>".join(f"<b>{html.escape(name)}</b> · {html.escape(text.split(': ', 1)[1])}"
                                                for name, text in choices) + "</div>")
        model = self.state.sections.get("model") or {}
        self.from_run = FromRunPicker(self.state.runs_dir, model.get("from_run") or "",
                                      bool(model.get("joint_retrain")), on_pick=self._pick_run)
        self.auto_method = W.Checkbox(value=self._is_auto(self.state.sections.get("method")), indent=False,
                                      description="auto: chosen at Start for the model (full fine-tuning for a "
                                                  "small encoder or a tiny model, else LoRA); untick to choose")
        self.auto_method.add_class("ft-lab-auto-method")
        self.method = ComponentForm("method", self._shown(self.state.sections.get("method")), path="method")
        self.auto_method.observe(lambda _c: self._show_auto(), names="value")
        self.warnings_html = W.HTML()
        self.warnings_html.add_class("ft-lab-capability-warnings")
        self.check_button = W.Button(description="Check", icon="calculator",
                                     tooltip="load the model and count the parameters the method trains")
        self.check_button.add_class("ft-lab-check")
        self.check_button.on_click(lambda _b: self.check())
        self.budget_html = W.HTML()
        self.budget_html.add_class("ft-lab-budget")
        self.model_form.on_change(lambda _f: self.update_warnings())
        self.method.on_change(lambda _f: self.update_warnings())
        self.children = [W.HTML("<h3>Model</h3>"), self.models_html, self.from_run, self.model_form,
                         W.HTML("<h3>Tuning method</h3>"),
                         self.auto_method, self.method,
                         self.warnings_html, row(self.check_button, self.budget_html)]
        self.add_class("ft-lab-model-panel")
        self._show_auto()
        self.update_warnings()

    @staticmethod
    def _is_auto(section) -> bool:
        return section in (None, AUTO_METHOD) or (isinstance(section, dict) and section.get("name") == AUTO_METHOD)

    def _shown(self, section) -> dict:
        """What the method form shows: the method, or for auto the LoRA settings used when it is chosen."""
        return {"name": FALLBACK_METHOD} if self._is_auto(section) else section

    def _show_auto(self) -> None:
        self.method.layout.display = "none" if self.auto_method.value else None

    def sync(self) -> None:
        self.state.sections["model"] = self.model_form.value()
        self.state.sections["method"] = {"name": AUTO_METHOD} if self.auto_method.value else self.method.value()

    def _pick_run(self, run_dir: str | None, model: str | None, joint: bool) -> None:
        """Start from an earlier run (model.from_run; docs/continual.md): its base model, and joint or not."""
        self.model_form.set_field("from_run", run_dir)
        self.model_form.set_field("joint_retrain", joint)
        if model:
            self.model_form.set_field("name_or_path", model)
        self.update_warnings()

    def refresh(self) -> None:
        self.model_form.set_value(self.state.sections.get("model") or {})
        self.from_run.refresh((self.state.sections.get("model") or {}).get("from_run") or "")
        section = self.state.sections.get("method")
        self.auto_method.value = self._is_auto(section)
        self.method.set_value(self._shown(section))
        self.update_warnings()

    def show_problems(self, problems: list[str]) -> list[str]:
        rest = self.model_form.show_problems([p for p in problems if p.startswith("model")])
        return self.method.show_problems([p for p in problems if not p.startswith("model")]) + rest

    def warnings(self) -> list[str]:
        """Capability problems of the chosen method with the task and training settings, before any run."""
        self.sync()
        try:
            cls = self.method.registry.get("method", self.method.choice.value)
        except KeyError as exc:
            return [exc.args[0]]
        plain = {k: v for k, v in self.state.sections.items() if v is not None}
        task = self.state.sections.get("task") or {}
        if isinstance(task, dict) and task.get("classifier") == "lm":
            plain["task"] = "generation"
        return check_capabilities(plain, cls, registry=self.method.registry)

    def update_warnings(self) -> list[str]:
        problems = self.warnings()
        self.warnings_html.value = problems_html(problems) if problems else ""
        return problems

    def check(self) -> dict | None:
        self.budget_html.value = "<i>loading the model ...</i>"
        try:
            result = count_trainable(self.state.recipe())
        except RecipeError as exc:
            self.budget_html.value = problems_html(exc.problems)
            return None
        except (UserError, OSError, ValueError, RuntimeError) as exc:
            self.budget_html.value = problems_html([str(exc)])
            return None
        self.budget_html.value = html.escape(result["summary"])
        return result
