"""The "search" toggle beside each numeric or choice field of the Studio's forms, and the range it opens.

    fields = SearchFields({"train": lambda: panel.form, "method": lambda: model.method.form})
    fields["train.learning_rate"].toggle.value = True     # opens low / high / log (defaults around the value)
    fields["method.r"].set_spec([4, 8, 16])               # a list of choices
    fields.space()      # {"train.learning_rate": {"low": 0.0001, "high": 0.01, "log": True}, "method.r": [4, 8, 16]}

A number field's range is ``low`` / ``high`` (``log`` for a log scale) or, when the "choices" box is
filled, that list; a dropdown's is the values ticked in a list. The values are read as the field's type
and the recipe's own validation says what is wrong with a range (shown under it). Forms that are built
again (the method form, when another method is picked) get their toggles on ``refresh()``; a searched
path with no field on screen is kept as it was given.
"""
from __future__ import annotations

import html
from typing import Any, get_args

import ipywidgets as W

from .forms import read_number, problems_box_html

KINDS = ("int", "float", "choice", "bool")


def search_kind(tp, widget_kind: str) -> str | None:
    """How a field is searched: int or float (a number, also inside ``Union[Literal["auto"], float]`` or
    ``Optional[int]``), choice (a dropdown), bool; None for the rest (text, lists)."""
    if widget_kind in KINDS:
        return widget_kind
    args = set(get_args(tp))
    return "float" if float in args else "int" if int in args else None


def _shown(v: Any) -> str:
    return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


class FieldSearch(W.VBox):
    """The toggle of one field (``self.toggle``) and the range editor it opens (``self.editor``)."""

    def __init__(self, path: str, kind: str, options=(), current: Any = None):
        super().__init__()
        self.path, self.kind, self.current = path, kind, current
        self.toggle = W.ToggleButton(description="search", icon="search", layout=W.Layout(width="86px"),
                                     tooltip=f"search {path}: try a range of values (a hyperparameter search)")
        self.toggle.add_class("ft-lab-search-toggle")
        self.error = W.HTML()
        if kind in ("int", "float"):
            text = dict(layout=W.Layout(width="150px"), style={"description_width": "40px"})
            self.low, self.high = W.Text(description="low", **text), W.Text(description="high", **text)
            self.log_scale = W.Checkbox(description="log scale", indent=False, layout=W.Layout(width="100px"))
            self.choices = W.Text(description="or values", placeholder="e.g. 4, 8, 16 (instead of the range)",
                                  layout=W.Layout(width="340px"), style={"description_width": "70px"})
            inputs = [self.low, self.high, self.log_scale, self.choices]
        else:
            self.picked = W.SelectMultiple(options=list(options), description="values", rows=min(6, len(options)),
                                           layout=W.Layout(width="300px"), style={"description_width": "50px"})
            inputs = [self.picked]
        self.editor = W.HBox(inputs, layout=W.Layout(flex_flow="row wrap", margin="0 0 4px 40px", display="none"))
        self.editor.add_class("ft-lab-search-range")
        self.children = [self.editor, self.error]
        self.toggle.observe(self._toggled, names="value")

    def _toggled(self, change) -> None:
        if change["new"] and not self._filled():
            self._defaults()
        self.editor.layout.display = None if change["new"] else "none"
        if not change["new"]:
            self.error.value = ""

    def _filled(self) -> bool:
        if self.kind in ("int", "float"):
            return bool(self.low.value.strip() or self.high.value.strip() or self.choices.value.strip())
        return bool(self.picked.value)

    def _defaults(self) -> None:
        """A starting range around the field's value: a tenth to ten times (log) for a float, half to
        twice for an int; for a dropdown its value and the next one."""
        v = self.current
        if self.kind == "float" and isinstance(v, (int, float)) and v > 0:
            self.low.value, self.high.value, self.log_scale.value = _shown(v / 10), _shown(v * 10), True
        elif self.kind == "int" and isinstance(v, int) and not isinstance(v, bool) and v > 0:
            self.low.value, self.high.value = str(max(1, v // 2)), str(v * 2)
        elif self.kind not in ("int", "float"):
            options = list(self.picked.options)
            if v in options:
                i = options.index(v)
                self.picked.value = tuple(options[j] for j in sorted({i, (i + 1) % len(options)}))

    def _number(self, text: str) -> Any:
        value = read_number(text, self.kind)
        return float(value) if self.kind == "float" and isinstance(value, int) else value

    def spec(self) -> Any:
        """The space entry (a range dict or a list of choices), or None when the toggle is off."""
        if not self.toggle.value:
            return None
        if self.kind not in ("int", "float"):
            return list(self.picked.value)
        if self.choices.value.strip():
            return [self._number(t) for t in self.choices.value.split(",") if t.strip()]
        spec = {"low": self._number(self.low.value), "high": self._number(self.high.value)}
        return {**spec, "log": True} if self.log_scale.value else spec

    def set_spec(self, spec: Any) -> None:
        """Show a space entry (None: toggle off)."""
        if spec is None:
            self.toggle.value = False
            return
        if isinstance(spec, dict) and "choices" in spec:
            spec = spec["choices"]
        if self.kind in ("int", "float"):
            if isinstance(spec, (list, tuple)):
                self.low.value = self.high.value = ""
                self.choices.value = ", ".join(_shown(v) for v in spec)
            else:
                self.choices.value = ""
                self.low.value, self.high.value = _shown(spec.get("low")), _shown(spec.get("high"))
                self.log_scale.value = bool(spec.get("log"))
        else:
            values = list(spec)
            missing = [v for v in values if v not in self.picked.options]
            if missing:
                self.picked.options = [*self.picked.options, *missing]
            self.picked.value = tuple(values)
        self.toggle.value = True

    def show_problems(self, problems: list[str]) -> None:
        self.error.value = problems_box_html(problems)


class SearchFields:
    """The search toggles of a set of forms, by the recipe section each form writes (``train``, ``method`` ...)."""

    def __init__(self, forms: dict, method_choice=None):
        self.forms = forms  # section -> a function returning its ConfigForm (the form may be rebuilt)
        self.method_choice = method_choice  # the method dropdown: method.name is searchable too
        self.fields: dict[str, FieldSearch] = {}
        self._attached: dict[str, int] = {}
        self.extra: dict[str, Any] = {}  # searched paths with no field on screen (kept as given)
        self.on_change: list = []
        self.refresh()

    def __getitem__(self, path: str) -> FieldSearch:
        return self.fields[path]

    def __contains__(self, path: str) -> bool:
        return path in self.fields

    def refresh(self) -> None:
        """Give a toggle to each numeric or choice field of forms built since the last call."""
        for section, get_form in self.forms.items():
            form = get_form()
            if self._attached.get(section) == id(form) or not hasattr(form, "rows"):
                continue
            self._attached[section] = id(form)
            for path in [p for p in self.fields if p.startswith(f"{section}.") and p != "method.name"]:
                del self.fields[path]  # a rebuilt form (another method): its old toggles are gone
            for name, w in form.widgets.items():
                kind = search_kind(form._hints.get(name), getattr(w, "ft_kind", ""))
                if kind is None:
                    continue
                options = list(w.options) if kind == "choice" else [True, False]
                field = FieldSearch(f"{section}.{name}", kind, options, form.value().get(name))
                self._place(field, form.rows[name])
        if self.method_choice is not None and "method.name" not in self.fields:
            field = FieldSearch("method.name", "choice", list(self.method_choice.options), self.method_choice.value)
            self.fields["method.name"] = field
            field.toggle.observe(lambda _c: self._changed(), names="value")
            field.picked.observe(lambda _c: self._changed(), names="value")
        for path in [p for p in self.extra if p in self.fields]:
            self.fields[path].set_spec(self.extra.pop(path))

    def _place(self, field: FieldSearch, form_row: W.VBox) -> None:
        """The toggle goes beside the field's widget; the range editor under it."""
        line, *rest = form_row.children
        line.children = [line.children[0], field.toggle, *line.children[1:]]
        form_row.children = [line, field, *rest]
        self.fields[field.path] = field
        for w in [field.toggle, *field.editor.children]:
            w.observe(lambda _c: self._changed(), names="value")

    def _changed(self) -> None:
        for cb in self.on_change:
            cb(self)

    def space(self) -> dict:
        """The recipe's ``search.space``: each toggled field's range (and the paths kept from a recipe)."""
        self.refresh()
        out = dict(self.extra)
        for path, field in self.fields.items():
            spec = field.spec()
            if spec is not None:
                out[path] = spec
        return out

    def set_space(self, space: dict | None) -> None:
        self.refresh()
        space = dict(space or {})
        for path, field in self.fields.items():
            field.set_spec(space.pop(path, None))
        self.extra = space

    def show_problems(self, problems: list[str]) -> list[str]:
        """Each ``search.space.PATH: ...`` problem under its range; the others are returned."""
        mine: dict[str, list[str]] = {}
        rest = []
        for p in problems:
            path = next((k for k in self.fields if p.startswith((f"search.space.{k}:", f"search.space.{k} "))), None)
            (mine.setdefault(path, []) if path else rest).append(p)
        for path, field in self.fields.items():
            field.show_problems(mine.get(path, []))
        return rest

    def summary_html(self) -> str:
        space = self.space()
        if not space:
            return ("<i style='color:#777'>no field is searched: press <b>search</b> beside a number or a choice "
                    "in the Data, Model or Train step</i>")
        return "<ul class='ft-lab-search-space'>" + "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(str(v))}</li>" for k, v in space.items()) + "</ul>"
