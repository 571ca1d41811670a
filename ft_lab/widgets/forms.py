"""Forms generated from Config dataclasses: a third-party component gets its form with no UI code.

    form = ConfigForm(LoraMethod.Config, {"r": 16})
    form.value()            # {"r": 16, "alpha": 16, ...}: every field, as plain data
    form.set_value({"r": 4})

Each field becomes a widget by its type (bool: checkbox, Literal: dropdown, int/float/str: text boxes;
optional, list and dict fields: a one-line YAML box, empty meaning null). The field's help is the
widget's tooltip and a small grey line under it. Values are kept as plain data and only the fields the
user touches are re-read from their widgets, so a recipe loaded into a form comes back out unchanged.
"""
from __future__ import annotations

import dataclasses
import html
from typing import Any, Literal, get_args, get_origin

import ipywidgets as W
import yaml

from .. import configs

_DESC = {"description_width": "170px"}
_WIDE = W.Layout(width="520px")


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


def widget_value(tp, value: Any) -> tuple[str, Any]:
    """How a field's value is shown: (kind, the widget's value). Values of another type show as YAML."""
    kind = _kind(tp)
    if kind == "bool":
        return kind, bool(value)
    if kind == "choice":
        return kind, value if value is not None else list(get_args(tp))[0]
    if kind == "int" and isinstance(value, int):
        return kind, value
    if kind == "float" and isinstance(value, (int, float)):
        return kind, float(value)
    if kind in ("str", "optional_str") and (value is None or isinstance(value, str)):
        return kind, value or ""
    return "yaml", _show_yaml(value)


def field_widget(name: str, tp, value: Any, help_text: str = "") -> W.Widget:
    """One widget for one field; ``widget.ft_kind`` says how to read it back."""
    kind, shown = widget_value(tp, value)
    common = dict(description=name, style=_DESC, layout=_WIDE, tooltip=help_text)
    if kind == "bool":
        w = W.Checkbox(value=shown, indent=False, **{**common, "layout": W.Layout(width="auto")})
    elif kind == "choice":
        options = list(get_args(tp))
        if shown not in options:
            options.append(shown)
        w = W.Dropdown(options=options, value=shown, **common)
    elif kind == "int":
        w = W.IntText(value=shown, **common)
    elif kind == "float":
        w = W.FloatText(value=shown, **common)
    elif kind in ("str", "optional_str"):
        w = W.Text(value=shown, **common)
    else:
        w = W.Text(value=shown, placeholder="null" if value is None else "", **common)
    w.ft_kind = kind
    w.ft_field = name
    return w


def read_widget(w: W.Widget) -> Any:
    kind = w.ft_kind
    if kind == "optional_str":
        return w.value or None
    if kind == "yaml":
        return _read_yaml(w.value)
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


class ConfigForm(W.VBox):
    """A form for one Config dataclass; ``value()`` gives plain data, ``problems()`` the validation."""

    def __init__(self, cls, values: dict | None = None, skip: tuple[str, ...] = (), show_help: bool = True):
        super().__init__()
        self.cls = cls
        self.skip = set(skip)
        self._values = {**_defaults(cls), **(values or {})}
        self._hints = configs._hints(cls)
        self.widgets: dict[str, W.Widget] = {}
        self.error = W.HTML()
        self.error.add_class("ft-lab-form-error")
        self._loading = False
        self._callbacks: list = []
        rows = []
        for f in configs.fields_of(cls):
            if f.name in self.skip:
                continue
            help_text = configs.help_of(f)
            w = field_widget(f.name, self._hints[f.name], self._values.get(f.name), help_text)
            w.observe(self._changed, names="value")
            self.widgets[f.name] = w
            rows.append(w)
            if show_help and help_text:
                note = W.HTML(f"<span style='color:#777;font-size:85%;margin-left:175px'>"
                              f"{html.escape(help_text)}</span>")
                note.add_class("ft-lab-help")
                rows.append(note)
        if not rows:
            rows.append(W.HTML("<i style='color:#777'>no settings</i>"))
        self.children = [*rows, self.error]
        self.add_class("ft-lab-form")

    def _changed(self, change):
        if self._loading:
            return
        w = change["owner"]
        self._values[w.ft_field] = read_widget(w)
        problems = self.problems()
        self.error.value = ("<span style='color:#b00'>" + "<br>".join(html.escape(p) for p in problems)
                            + "</span>") if problems else ""
        for cb in self._callbacks:
            cb(self)

    def on_change(self, callback) -> None:
        """Call ``callback(form)`` after the user changes any field."""
        self._callbacks.append(callback)

    def value(self) -> dict:
        return dict(self._values)

    def set_value(self, values: dict) -> None:
        self._values = {**_defaults(self.cls), **(values or {})}
        self._loading = True
        try:
            for name, w in self.widgets.items():
                kind, shown = widget_value(self._hints[name], self._values.get(name))
                if kind != w.ft_kind:  # e.g. a float field given a string: show it as YAML
                    w.ft_kind = "yaml"
                if isinstance(w, W.Dropdown) and shown not in w.options:
                    w.options = [*w.options, shown]
                w.value = shown if w.ft_kind == kind else _show_yaml(self._values.get(name))
        finally:
            self._loading = False
        self.error.value = ""

    def set_field(self, name: str, value: Any) -> None:
        """Set one field (from code or another widget), updating its widget if it has one."""
        self._values[name] = value
        w = self.widgets.get(name)
        if w is not None:
            self._loading = True
            try:
                w.value = _show_yaml(value) if w.ft_kind == "yaml" else ("" if value is None else value)
            finally:
                self._loading = False

    def problems(self, path: str = "") -> list[str]:
        return configs.build(self.cls, self._values, path)[1]


class ComponentForm(W.VBox):
    """Pick one registered component (a method) and fill its generated form."""

    def __init__(self, kind: str, value: dict | str | None = None, default: str | None = None):
        super().__init__()
        from ..plugins import get_registry
        self.kind = kind
        self.registry = get_registry()
        names = self.registry.names(kind)
        value = {"name": value} if isinstance(value, str) else dict(value or {"name": default or names[0]})
        name = value.pop("name")
        self.choice = W.Dropdown(options=names if name in names else [*names, name], value=name,
                                 description=kind, style=_DESC, layout=_WIDE)
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
        form = ConfigForm(cls.Config, values)
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

    def __init__(self, kind: str, values: list | None = None, title: str = ""):
        super().__init__()
        from ..plugins import get_registry
        self.kind = kind
        self.registry = get_registry()
        self.picker = W.Dropdown(options=self.registry.names(kind), description=f"add {kind}",
                                 style=_DESC, layout=W.Layout(width="420px"))
        self.add_button = W.Button(description="Add", icon="plus", layout=W.Layout(width="80px"))
        self.add_button.on_click(lambda _b: self.add(self.picker.value))
        self.items: list[tuple[str, ComponentForm]] = []
        self.box = W.VBox()
        self.title = W.HTML(f"<b>{html.escape(title)}</b>") if title else W.HTML()
        self.children = [self.title, self.box, W.HBox([self.picker, self.add_button])]
        self.set_value(values or [])

    def add(self, name: str, values: dict | None = None) -> None:
        form = ComponentForm(self.kind, {"name": name, **(values or {})})
        form.choice.disabled = True
        self.items.append(form)
        self._redraw()

    def remove(self, index: int) -> None:
        del self.items[index]
        self._redraw()

    def _redraw(self) -> None:
        rows = []
        for i, form in enumerate(self.items):
            rm = W.Button(description="Remove", icon="trash", layout=W.Layout(width="100px"))
            rm.on_click(lambda _b, i=i: self.remove(i))
            rows.append(W.VBox([W.HBox([W.HTML(f"<b>{i + 1}.</b>&nbsp;"), form.choice, rm]), form.summary,
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
            form = ComponentForm(self.kind, {"name": name, **v})
            form.choice.disabled = True
            self.items.append(form)
        self._redraw()
