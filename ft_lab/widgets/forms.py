"""Forms generated from Config dataclasses: a third-party component gets its form with no UI code.

    form = ConfigForm(LoraMethod.Config, {"r": 16}, basic=("r", "alpha"))
    form.value()            # {"r": 16, "alpha": 16, ...}: every field, as plain data
    form.set_value({"r": 4})
    form.show_problems(["method.r: expected an integer, got 'eight'"])   # shown under the r field

Each field becomes a widget by its type (bool: checkbox, Literal: dropdown, int/float/str: text boxes;
optional, list and dict fields: a one-line YAML box, empty meaning null). Labels are plain words
("Learning rate"); the recipe's field name and its help are in the grey line beside the widget and in
the tooltip. Fields outside ``basic`` sit in a collapsed "Advanced" section. A value typed into a
number box that is not a number stays as typed and the form says why under the field (it is never
silently reverted). Values are kept as plain data and only the fields the user touches are re-read from
their widgets, so a recipe loaded into a form comes back out unchanged.
"""
from __future__ import annotations

import dataclasses
import html
import re
from typing import Any, Literal, get_args, get_origin

import ipywidgets as W
import yaml

from ..core import configs
from ..core.plugins import get_registry

_DESC = {"description_width": "170px"}
_WIDE = W.Layout(width="380px", min_width="300px", flex="0 0 auto")
#: labels that read better than the field name made into words
LABELS = {"name_or_path": "Model", "max_length": "Max length (tokens)", "max_new_tokens": "New tokens (max)",
          "r": "Rank (r)", "lr": "Learning rate", "path": "Data file", "type": "Task",
          "eval_batch_size": "Eval batch size", "num_processes": "Processes (GPUs)",
          "gradient_accumulation_steps": "Gradient accumulation", "max_grad_norm": "Gradient clipping",
          "trust_remote_code": "Trust remote code", "compare_base": "Compare with base",
          "early_stopping_patience": "Early stop patience", "gradient_checkpointing": "Grad. checkpointing"}


def row(*children, **layout) -> W.HBox:
    """Widgets side by side that wrap onto the next line when the notebook is narrow (never squeezed)."""
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="center", **layout))


def plain_label(name: str) -> str:
    """``learning_rate`` -> ``Learning rate`` (or the label in LABELS)."""
    if name in LABELS:
        return LABELS[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _kind(tp) -> str:
    optional, inner = configs._is_optional(tp)
    if optional:
        return "optional_str" if inner is str else "yaml"
    if get_origin(tp) is Literal:
        return "choice"
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(tp, "yaml")


def _show_yaml(value: Any) -> str:
    if value is None:
        return ""
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


def _read_yaml(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # validation then says what was expected


def read_number(text: str, kind: str) -> Any:
    """An int or float from a text box; what is not a number stays the typed text (validation says why)."""
    text = text.strip()
    for parse in ((int,) if kind == "int" else (int, float)):
        try:
            return parse(text)
        except ValueError:
            pass
    if kind == "int":
        try:
            value = float(text)
            return int(value) if value.is_integer() else value
        except ValueError:
            pass
    return text


def widget_value(tp, value: Any) -> tuple[str, Any]:
    """How a field's value is shown: (kind, the widget's value). Values of another type show as YAML."""
    kind = _kind(tp)
    if kind == "bool":
        return kind, bool(value)
    if kind == "choice":
        return kind, value if value is not None else list(get_args(tp))[0]
    if kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return kind, str(value)
    if kind in ("str", "optional_str") and (value is None or isinstance(value, str)):
        return kind, value or ""
    return "yaml", _show_yaml(value)


def field_widget(name: str, tp, value: Any, help_text: str = "", suggestions: list[str] | None = None) -> W.Widget:
    """One widget for one field; ``widget.ft_kind`` says how to read it back. A text field with
    ``suggestions`` is a box that offers them (and still takes any text)."""
    kind, shown = widget_value(tp, value)
    tooltip = f"{name}: {help_text}" if help_text else name
    common = dict(description=plain_label(name), style=_DESC, layout=_WIDE, tooltip=tooltip)
    if kind == "bool":
        w = W.Checkbox(value=shown, indent=True, **common)
    elif kind == "choice":
        options = list(get_args(tp))
        if shown not in options:
            options.append(shown)
        w = W.Dropdown(options=options, value=shown, **common)
    elif suggestions and kind in ("str", "optional_str"):
        w = W.Combobox(value=shown, options=list(suggestions), ensure_option=False, **common)
    else:
        w = W.Text(value=shown, placeholder="null" if kind == "yaml" and value is None else "", **common)
    w.ft_kind = kind
    w.ft_field = name
    return w


def read_widget(w: W.Widget) -> Any:
    kind = w.ft_kind
    if kind == "optional_str":
        return w.value or None
    if kind == "yaml":
        return _read_yaml(w.value)
    if kind in ("int", "float"):
        return read_number(w.value, kind)
    return w.value


def _defaults(cls) -> dict:
    out = {}
    for f in configs.fields_of(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = configs.to_plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = configs.to_plain(f.default_factory())
        else:
            out[f.name] = None
    return out


def field_of_problem(problem: str, path: str, names) -> str | None:
    """The field a validation message is about (``train.learning_rate: ...`` or ``train: learning_rate
    must ...``), or None."""
    head, _, body = problem.partition(":")
    head = head.strip()
    prefix = f"{path}." if path else ""
    if prefix and head.startswith(prefix) or (not prefix and head):
        name = re.split(r"[.\[]", head[len(prefix):], maxsplit=1)[0]
        if name in names:
            return name
    if head == path or not path:
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", body)
        if m and m.group(1) in names:
            return m.group(1)
    return None


def problems_box_html(problems: list[str]) -> str:
    return ("<div class='ft-lab-field-error' style='color:#b00;font-size:90%'>"
            + "<br>".join(html.escape(p, quote=False) for p in problems) + "</div>") if problems else ""


class ConfigForm(W.VBox):
    """A form for one Config dataclass; ``value()`` gives plain data, ``problems()`` the validation."""

    def __init__(self, cls, values: dict | None = None, skip: tuple[str, ...] = (), show_help: bool = True,
                 basic: tuple[str, ...] | None = None, path: str = "", advanced_title: str = "Advanced",
                 suggestions: dict[str, list[str]] | None = None):
        super().__init__()
        self.cls = cls
        self.path = path
        self.skip = set(skip)
        self._values = {**_defaults(cls), **(values or {})}
        self._hints = configs._hints(cls)
        self.widgets: dict[str, W.Widget] = {}
        self.rows: dict[str, W.Box] = {}
        self.field_errors: dict[str, W.HTML] = {}
        self.error = W.HTML()  # problems not about one field
        self.error.add_class("ft-lab-form-error")
        self._loading = False
        self._callbacks: list = []
        self._hidden: set[str] = set()
        basic_rows, advanced_rows = [], []
        for f in configs.fields_of(cls):
            if f.name in self.skip:
                continue
            help_text = configs.help_of(f)
            w = field_widget(f.name, self._hints[f.name], self._values.get(f.name), help_text,
                             (suggestions or {}).get(f.name))
            w.observe(self._changed, names="value")
            self.widgets[f.name] = w
            note = W.HTML(f"<span class='ft-lab-help' style='color:#777;font-size:85%;line-height:1.3;"
                          f"display:inline-block'>"
                          f"{html.escape(help_text) + ' · ' if show_help and help_text else ''}"
                          f"<code style='font-size:90%'>{html.escape(f.name)}</code></span>",
                          layout=W.Layout(flex="1 1 160px", min_width="120px", margin="0 0 0 8px"))
            err = W.HTML()
            self.field_errors[f.name] = err
            row = W.VBox([W.HBox([w, note], layout=W.Layout(align_items="center", flex_flow="row wrap")), err],
                         layout=W.Layout(margin="0"))
            row.add_class("ft-lab-field")
            row.add_class(f"ft-lab-field-{f.name}")
            self.rows[f.name] = row
            (advanced_rows if basic is not None and f.name not in basic else basic_rows).append(row)
        children = list(basic_rows)
        self.advanced = None
        if advanced_rows:
            self.advanced = W.Accordion(children=[W.VBox(advanced_rows)],
                                        titles=(f"{advanced_title} ({len(advanced_rows)} settings)",))
            self.advanced.selected_index = None
            self.advanced.add_class("ft-lab-advanced")
            children.append(self.advanced)
        if not children:
            children.append(W.HTML("<i style='color:#777'>no settings</i>"))
        self.children = [*children, self.error]
        self.add_class("ft-lab-form")

    def _changed(self, change):
        if self._loading:
            return
        w = change["owner"]
        self._values[w.ft_field] = read_widget(w)
        self.show_problems(self.problems(self.path))
        for cb in self._callbacks:
            cb(self)

    def on_change(self, callback) -> None:
        """Call ``callback(form)`` after the user changes any field."""
        self._callbacks.append(callback)

    def value(self) -> dict:
        return dict(self._values)

    def _set_widget(self, name: str, value: Any) -> None:
        w = self.widgets[name]
        kind, shown = widget_value(self._hints[name], value)
        if kind != w.ft_kind and isinstance(w, W.Text):
            w.ft_kind = "yaml" if kind == "yaml" else kind  # e.g. a float field given a string
        if isinstance(w, W.Dropdown) and shown not in w.options:
            w.options = [*w.options, shown]
        if isinstance(w, W.Checkbox):
            w.value = bool(value)
        else:
            w.value = shown if w.ft_kind == kind else _show_yaml(value)

    def set_value(self, values: dict) -> None:
        self._values = {**_defaults(self.cls), **(values or {})}
        self._loading = True
        try:
            for name in self.widgets:
                self._set_widget(name, self._values.get(name))
        finally:
            self._loading = False
        self.show_problems([])

    def set_field(self, name: str, value: Any) -> None:
        """Set one field (from code or another widget), updating its widget if it has one."""
        self._values[name] = value
        if name in self.widgets:
            self._loading = True
            try:
                self._set_widget(name, value)
            finally:
                self._loading = False

    def problems(self, path: str | None = None) -> list[str]:
        return configs.build(self.cls, self._values, self.path if path is None else path)[1]

    def show_problems(self, problems: list[str]) -> list[str]:
        """Show each problem under its field; return (and show at the form's end) the others."""
        by_field: dict[str, list[str]] = {}
        rest = []
        for p in problems:
            name = field_of_problem(p, self.path, self.widgets)
            if name is None or name in self._hidden:
                rest.append(p)
            else:
                by_field.setdefault(name, []).append(p)
        for name, err in self.field_errors.items():
            value = problems_box_html(by_field.get(name, []))
            if err.value != value:
                err.value = value
        if self.advanced is not None and any(n for n in by_field if self.rows[n] in self.advanced.children[0].children):
            self.advanced.selected_index = 0  # an advanced field has a problem: open the section
        self.error.value = problems_box_html(rest)
        return rest

    def set_hidden(self, names) -> None:
        """Hide the fields that do not apply (their values stay as they are)."""
        self._hidden = set(names)
        for name, row in self.rows.items():
            display = "none" if name in self._hidden else None
            if row.layout.display != display:
                row.layout.display = display


class ComponentForm(W.VBox):
    """Pick one registered component (a method) and fill its generated form."""

    def __init__(self, kind: str, value: dict | str | None = None, default: str | None = None, path: str = ""):
        super().__init__()
        self.kind = kind
        self.path = path or kind
        self.registry = get_registry()
        names = self.registry.names(kind)
        value = {"name": value} if isinstance(value, str) else dict(value or {"name": default or names[0]})
        name = value.pop("name")
        self.choice = W.Dropdown(options=names if name in names else [*names, name], value=name,
                                 description=plain_label(kind), style=_DESC, layout=_WIDE,
                                 tooltip=f"the {kind} (registered name)")
        self.summary = W.HTML()
        self.form = self._form(name, value)
        self._callbacks: list = []
        self.choice.observe(self._picked, names="value")
        self.children = [self.choice, self.summary, self.form]

    def _form(self, name: str, values: dict) -> W.Widget:
        try:
            cls = self.registry.get(self.kind, name)
        except KeyError as exc:
            self.summary.value = f"<span style='color:#b00'>{html.escape(exc.args[0])}</span>"
            return ConfigForm(_Empty)
        self.summary.value = (f"<span style='color:#555'>{html.escape(cls.summary())} "
                              f"<small>({html.escape(self.registry.owner(self.kind, name))})</small></span>")
        first = tuple(f.name for f in configs.fields_of(cls.Config))[:3]
        form = ConfigForm(cls.Config, values, basic=first, path=self.path)
        form.on_change(lambda _f: self._notify())
        return form

    def _picked(self, change):
        self.form = self._form(change["new"], {})
        self.children = [self.choice, self.summary, self.form]
        self._notify()

    def _notify(self):
        for cb in self._callbacks:
            cb(self)

    def on_change(self, callback) -> None:
        self._callbacks.append(callback)

    def value(self) -> dict:
        return {"name": self.choice.value, **self.form.value()}

    def show_problems(self, problems: list[str]) -> list[str]:
        """Problems of this component under their fields; the rest (not about one field) are returned."""
        mine = [p for p in problems if p.startswith((f"{self.path}.", f"{self.path}:"))]
        rest = self.form.show_problems(mine) if isinstance(self.form, ConfigForm) else mine
        return [p for p in problems if p not in mine] + rest

    def set_value(self, value: dict | str) -> None:
        value = {"name": value} if isinstance(value, str) else dict(value)
        if value == self.value():
            return  # rebuilding would replace widgets a browser may be drawing right now
        name = value.pop("name")
        if name not in self.choice.options:
            self.choice.options = [*self.choice.options, name]
        self.choice.unobserve(self._picked, names="value")
        self.choice.value = name
        self.choice.observe(self._picked, names="value")
        self.form = self._form(name, value)
        self.children = [self.choice, self.summary, self.form]


@dataclasses.dataclass
class _Empty:
    pass


class ComponentListForm(W.VBox):
    """An ordered list of components (cleaners, evaluators): add from the registry, remove, edit each."""

    def __init__(self, kind: str, values: list | None = None, title: str = "", path: str = ""):
        super().__init__()
        self.kind = kind
        self.path = path or kind
        self.registry = get_registry()
        self.picker = W.Dropdown(options=self.registry.names(kind), description=f"add {kind}",
                                 style=_DESC, layout=W.Layout(width="420px"))
        self.add_button = W.Button(description="Add", icon="plus", layout=W.Layout(width="80px"))
        self.add_button.on_click(lambda _b: self.add(self.picker.value))
        self.items: list[tuple[str, ComponentForm]] = []
        self.box = W.VBox()
        self.title = W.HTML(f"<b>{html.escape(title)}</b>") if title else W.HTML()
        self.children = [self.title, self.box, row(self.picker, self.add_button)]
        self.set_value(values or [])

    def add(self, name: str, values: dict | None = None) -> None:
        form = ComponentForm(self.kind, {"name": name, **(values or {})}, path=f"{self.path}[{len(self.items)}]")
        form.choice.disabled = True
        self.items.append(form)
        self._redraw()

    def remove(self, index: int) -> None:
        del self.items[index]
        for i, form in enumerate(self.items):
            form.path = form.form.path = f"{self.path}[{i}]"
        self._redraw()

    def show_problems(self, problems: list[str]) -> list[str]:
        for form in self.items:
            problems = form.show_problems(problems)
        return problems

    def _redraw(self) -> None:
        rows = []
        for i, form in enumerate(self.items):
            rm = W.Button(description="Remove", icon="trash", layout=W.Layout(width="100px"))
            rm.on_click(lambda _b, i=i: self.remove(i))
            rows.append(W.VBox([row(W.HTML(f"<b>{i + 1}.</b>&nbsp;"), form.choice, rm), form.summary,
                                form.form], layout=W.Layout(border="1px solid #ddd", padding="4px",
                                                             margin="2px 0")))
        self.box.children = rows

    def value(self) -> list[dict]:
        return [form.value() for form in self.items]

    def names(self) -> list[str]:
        return [form.choice.value for form in self.items]

    def set_value(self, values: list) -> None:
        wanted = [{"name": v} if isinstance(v, str) else dict(v) for v in values]
        if self.items and wanted == self.value():
            return  # same components and settings: keep the rows (and the views drawing them)
        self.items = []
        for v in values:
            v = {"name": v} if isinstance(v, str) else dict(v)
            name = v.pop("name")
            form = ComponentForm(self.kind, {"name": name, **v}, path=f"{self.path}[{len(self.items)}]")
            form.choice.disabled = True
            self.items.append(form)
        self._redraw()
