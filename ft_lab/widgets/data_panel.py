"""The Data step: a file or a DataFrame, a preview, the column mapping, cleaners, the data report.

    panel = DataPanel()
    panel.path.value = "tickets.csv"; panel.preview_button.click()   # preview + suggested mapping
    panel.cleaners.add("dedup", {"method": "near"})
    panel.clean_button.click()                                        # report, rejected and changed rows
"""
from __future__ import annotations

import hashlib
import html
from pathlib import Path

import ipywidgets as W

from ..analysis.diff import diff_html
from ..core.recipe import DataSection, TaskSection
from ..core.sections import ROLES
from ..data.inspect import inspect_file
from ..data.prepare import prepare_data
from .masking_sample import MaskingSample, source_rows
from ..data.report import render_html
from ..errors import RecipeError, UserError, did_you_mean
from ..rundir.layout import RunLayout
from ..safety.atomic import atomic_write_bytes
from .forms import ComponentListForm, ConfigForm, problems_box_html, row
from .plots import table_html
from .state import RecipeState, problems_html

_E = html.escape


#: fields of the task form that apply only to some tasks (hidden elsewhere)
def task_hidden(task: dict) -> set[str]:
    kind = task.get("type") or "classification"
    if kind != "classification":
        return {"classifier", "label_words", "classify_prompt"}
    hidden = {"system_prompt", "max_new_tokens"}
    if task.get("classifier") != "lm":
        hidden |= {"label_words", "classify_prompt"}
    return hidden


def data_hidden(task: dict) -> set[str]:
    return {"template"} if (task.get("type") or "classification") == "classification" else {"stratify"}


def column_problems(mapping: dict, columns: list[str], stats: dict, task: str) -> dict[str, list[str]]:
    """Problems of the column mapping against the file's columns, by role: a column not in the file (with
    the closest name), two roles on one column, a label column with an absurd number of classes."""
    out: dict[str, list[str]] = {}
    if not columns:
        return out
    for role, col in mapping.items():
        if col and col not in columns:
            out.setdefault(role, []).append(
                f"data.columns.{role}: column '{col}' is not in the file" + did_you_mean(col, columns)
                + f" (columns: {', '.join(columns)})")
    roles = ROLES.get(task, ())
    used: dict[str, list[str]] = {}
    for role in roles:
        col = mapping.get(role) or (role if role in columns else None)
        if col:
            used.setdefault(col, []).append(role)
    for col, rs in used.items():
        if len(rs) > 1:
            for role in rs:
                out.setdefault(role, []).append(f"data.columns.{role}: {' and '.join(rs)} are both mapped to "
                                                f"column '{col}'; give each role its own column")
    label = mapping.get("label") or ("label" if "label" in columns else None)
    col_stats = (stats.get("columns") or {}).get(label) if task == "classification" and label else None
    rows = stats.get("rows") or 0
    if col_stats and label in columns:
        distinct = col_stats.get("distinct", 0)
        if distinct < 2:
            out.setdefault("label", []).append(f"data.columns.label: column '{label}' has {distinct} distinct "
                                               "value(s); a classifier needs at least 2 classes")
        elif distinct > max(200, rows // 2):
            out.setdefault("label", []).append(
                f"data.columns.label: column '{label}' has {distinct} distinct values in {rows} rows: that looks "
                "like text, not labels; pick the column that holds the classes")
    return out


class DataPanel(W.VBox):
    def __init__(self, state: RecipeState | None = None):
        super().__init__()
        self.state = state or RecipeState()
        self.state.panels.append(self)
        self.on_preview: list = []  # callbacks() after a preview (the Studio checks the whole recipe)
        self.task_form = ConfigForm(TaskSection, self._task_plain(), path="task")
        self.task_form.on_change(lambda _f: self._task_changed())
        data_values = self.state.sections.get("data") or {}
        self.data_form = ConfigForm(DataSection, data_values, skip=("columns", "path"), basic=(), path="data",
                                    advanced_title="Data options: format, split, leakage ...")
        self.path = W.Text(value=data_values.get("path") or "", description="Data file",
                           placeholder="a CSV, JSONL, JSON, Parquet or Excel file",
                           tooltip="data.path: one data file, split into train/validation/test",
                           style={"description_width": "170px"}, layout=W.Layout(width="480px", min_width="300px"))
        self.path.add_class("ft-lab-path")
        self.path_error = W.HTML()
        self.path_error.add_class("ft-lab-path-error")
        self.upload = W.FileUpload(accept=".csv,.tsv,.jsonl,.ndjson,.json,.parquet,.xlsx", multiple=False,
                                   description="Upload", tooltip="upload a data file from this computer")
        self.upload.observe(self._uploaded, names="value")
        self.preview_button = W.Button(description="Preview", icon="eye", layout=W.Layout(width="100px"))
        self.preview_button.add_class("ft-lab-preview-button")
        self.preview_button.on_click(lambda _b: self.preview())
        self.preview_html = W.HTML()
        self.preview_html.add_class("ft-lab-preview")
        self.mapping_box = W.VBox()
        self.role_widgets: dict[str, W.Dropdown] = {}
        self.role_errors: dict[str, W.HTML] = {}
        self.columns_seen: list[str] = []
        self.stats: dict = {}
        self._unknown: dict[str, str] = {}  # role -> a column the file lacks (kept so Start says so too)
        self.cleaners = ComponentListForm("cleaner", self.state.sections.get("clean") or [],
                                          title="Cleaners (run in order)", path="clean")
        self.clean_button = W.Button(description="Run cleaning", icon="filter", button_style="info")
        self.clean_button.on_click(lambda _b: self.run_cleaning())
        self.status = W.HTML()
        self.status.add_class("ft-lab-data-status")
        self.report_html = W.HTML()
        self.report_html.add_class("ft-lab-data-report")
        self.rejected_html = W.HTML()
        self.changes_html = W.HTML()
        self.masking = MaskingSample()
        self.prepared = None
        self._build_mapping()
        self._apply_visibility()
        cleaning = W.Accordion(children=[W.VBox([self.cleaners, self.clean_button])],
                               titles=("Cleaning (dedup, filters, PII ...)",))
        cleaning.selected_index = None
        self.children = [W.HTML("<h3>Data</h3>"), self.task_form,
                         row(self.path, self.preview_button, self.upload),
                         self.path_error, self.preview_html,
                         W.HTML("<b>Column for each role</b> <span style='color:#777'>(suggested from the file; "
                                "edit if needed)</span>"), self.mapping_box, self.data_form,
                         cleaning, self.status, self.report_html, self.masking, self.rejected_html,
                         self.changes_html]
        self.add_class("ft-lab-data-panel")

    # --- state ----------------------------------------------------------------------------------
    def _task_plain(self) -> dict:
        task = self.state.sections.get("task") or {"type": "classification"}
        return {"type": task} if isinstance(task, str) else task

    def _columns_value(self) -> dict:
        return dict((self.state.sections.get("data") or {}).get("columns") or {})

    def _build_mapping(self, columns: dict | None = None) -> None:
        columns = self._columns_value() if columns is None else columns
        roles = ROLES.get(self.task_form.value().get("type") or "classification", ())
        seen = self.columns_seen
        # a column the file lacks is not offered as if it existed: it is kept aside and reported
        self._unknown = {r: c for r, c in columns.items() if r in roles and c and seen and c not in seen}
        options = [""] + list(dict.fromkeys([*seen, *(c for r, c in columns.items()
                                                       if r in roles and c and r not in self._unknown)]))
        self.role_widgets, self.role_errors = {}, {}
        rows = []
        for role in roles:
            value = columns.get(role, "") if role not in self._unknown else ""
            w = W.Dropdown(options=options, value=value, description=role.capitalize(),
                           tooltip=f"data.columns.{role}: the column that holds the {role} "
                                   f"(empty: a column named '{role}')",
                           style={"description_width": "170px"}, layout=W.Layout(width="380px"))
            w.observe(lambda _c, role=role: self._role_changed(role), names="value")
            self.role_widgets[role] = w
            self.role_errors[role] = W.HTML()
            rows.append(W.VBox([w, self.role_errors[role]]))
        self._extra_columns = {k: v for k, v in columns.items() if k not in roles}
        self.mapping_box.children = rows
        self.check_columns()

    def _role_changed(self, role: str) -> None:
        self._unknown.pop(role, None)
        self.check_columns()

    def mapping(self) -> dict:
        out = dict(self._extra_columns)
        out.update(self._unknown)
        out.update({role: w.value for role, w in self.role_widgets.items() if w.value})
        return out

    def check_columns(self) -> list[str]:
        """Check the mapping against the previewed file; show each problem under its role; return them."""
        task = self.task_form.value().get("type") or "classification"
        found = column_problems(self.mapping(), self.columns_seen, self.stats, task)
        for role, err in self.role_errors.items():
            err.value = problems_box_html(found.get(role, []))
        return list(dict.fromkeys(p for ps in found.values() for p in ps))

    def _apply_visibility(self) -> None:
        task = self.task_form.value()
        self.task_form.set_hidden(task_hidden(task))
        self.data_form.set_hidden(data_hidden(task))

    def _task_changed(self) -> None:
        self.state.sections["task"] = self.task_form.value()
        self._apply_visibility()
        self._build_mapping(self.mapping())

    def sync(self) -> None:
        """Write task, data and clean into the shared state."""
        self.state.sections["task"] = self.task_form.value()
        self.state.sections["data"] = {**self.data_form.value(), "path": self.path.value.strip() or None,
                                       "columns": self.mapping()}
        self.state.sections["clean"] = self.cleaners.value()

    def refresh(self) -> None:
        self.task_form.set_value(self._task_plain())
        data = self.state.sections.get("data") or {}
        self.data_form.set_value({k: v for k, v in data.items() if k not in ("columns", "path")})
        self.path.value = data.get("path") or ""
        self.cleaners.set_value(self.state.sections.get("clean") or [])
        self._apply_visibility()
        self._build_mapping()

    def show_problems(self, problems: list[str]) -> list[str]:
        """Show the problems about the task, data and cleaning next to their fields; return the others."""
        path_p = [p for p in problems if p.startswith(("data.path:", "data.train:")) or p.startswith("data: give")]
        self.path_error.value = problems_box_html(path_p)
        rest = [p for p in problems if p not in path_p]
        role_p = [p for p in rest if p.startswith("data.columns.")]
        for role, err in self.role_errors.items():
            err.value = problems_box_html(list(dict.fromkeys(
                p for p in [*role_p, *self.check_columns()] if p.startswith(f"data.columns.{role}:"))))
        rest = [p for p in rest if p not in role_p]
        rest = self.task_form.show_problems([p for p in rest if p.startswith("task")]) + \
            [p for p in rest if not p.startswith("task")]
        data_p = [p for p in rest if p.startswith("data")]
        rest = [p for p in rest if not p.startswith("data")] + self.data_form.show_problems(data_p)
        return self.cleaners.show_problems(rest)

    # --- actions --------------------------------------------------------------------------------
    def _resolve(self, path: str) -> str:
        p = Path(path).expanduser()
        if not p.is_absolute() and self.state.base_dir:
            p = Path(self.state.base_dir) / p
        return str(p)

    def preview(self) -> dict | None:
        """Inspect the file: encoding, layout, preview rows, a suggested mapping for unset roles, and the
        mapping's problems (a missing column, two roles on one column, absurd class counts)."""
        path = self.path.value.strip()
        self.preview_html.value = ""  # an old preview never stays under a new problem
        self.columns_seen, self.stats = [], {}
        if not path:
            self.path_error.value = problems_box_html(["data.path: give a file path (or upload a file)"])
            self._build_mapping(self.mapping())
            return None
        try:
            info = inspect_file(self._resolve(path), self.data_form.value().get("format") or "auto")
        except (UserError, OSError, ValueError) as exc:
            self.path_error.value = problems_box_html([f"data.path: {exc}"])
            self._build_mapping(self.mapping())
            return None
        self.path_error.value = ""
        self.columns_seen = list(info["columns"])
        self.stats = info.get("stats") or {}
        schema = info["schema"]
        suggested = dict(schema.get("mapping") or {})
        current = self.mapping()
        if schema.get("task") in ROLES and not current and schema["task"] != self.task_form.value().get("type"):
            self.task_form.set_field("type", schema["task"])
            self.state.sections["task"] = self.task_form.value()
            self._apply_visibility()
        self._build_mapping({**suggested, **current})
        rows = [[r.get(c, "") for c in info["columns"]] for r in info["preview"]]
        notes = "; ".join(schema.get("notes") or [])
        self.preview_html.value = (
            f"<div style='color:#555'>{_E(str(info['format']))} · encoding {_E(str(info['encoding']))} · "
            f"{info['stats']['rows']} rows · layout {_E(str(schema.get('layout')))}"
            f"{' · ' + _E(notes) if notes else ''}</div><div style='overflow-x:auto;max-width:100%'>"
            + table_html(info["columns"], rows, cls="ft-lab-table ft-lab-fit") + "</div>")
        self.status.value = ""
        for cb in self.on_preview:
            cb()
        return info

    def set_dataframe(self, df, name: str = "dataframe") -> str:
        """Use a pandas DataFrame: it is written once as JSONL (the recipe names a file) and previewed."""
        folder = Path(self.state.runs_dir or "runs").resolve() / "_dataframes"
        folder.mkdir(parents=True, exist_ok=True)
        text = df.to_json(orient="records", lines=True, force_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
        path = folder / f"{name}-{digest}.jsonl"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        self.path.value = str(path)
        self.preview()
        return str(path)

    def use_upload(self, name: str, content: bytes) -> str:
        """Keep an uploaded file under RUNS_DIR/_uploads (named by its content, never overwriting
        another file), point the recipe at it and preview it."""

        folder = Path(self.state.runs_dir or "runs").resolve() / "_uploads"
        stem, suffix = Path(Path(name).name).stem or "upload", Path(name).suffix.lower()
        digest = hashlib.sha256(content).hexdigest()[:10]
        path = folder / f"{stem}-{digest}{suffix}"
        if not path.exists():
            atomic_write_bytes(path, content)
        self.path.value = str(path)
        self.preview()
        return str(path)

    def _uploaded(self, change) -> None:
        for item in change["new"] or ():
            self.use_upload(item["name"], bytes(item["content"]))

    def run_cleaning(self):
        """Load, clean and split as a run would; show the data report, rejected and changed rows."""
        try:
            recipe = self.state.recipe()
            self.status.value = "<i>cleaning ...</i>"
            prepared = prepare_data(recipe.resolved())
        except RecipeError as exc:
            self.status.value = problems_html(exc.problems)
            return None
        except UserError as exc:
            self.status.value = problems_html([str(exc)])
            return None
        self.prepared = prepared
        self.status.value = (f"<span style='color:#070'>train {len(prepared.train)} · validation "
                             f"{len(prepared.validation)} · test {len(prepared.test)} · rejected "
                             f"{len(prepared.rejected)} · changed {len(prepared.changes)}</span>")
        self.report_html.value = render_html({**prepared.report, "labels": prepared.labels}, fragment=True)
        self.rejected_html.value = rejected_html(prepared.rejected)
        self.changes_html.value = changes_html(prepared.changes)
        self.masking.show(self.cleaners, *source_rows(recipe.resolved()))
        return prepared

    def load_report(self, run_dir) -> None:
        """Show the data report of an existing run (``data/report.json`` in its directory)."""
        import json

        path = RunLayout(run_dir).data_report
        if path.exists():
            self.report_html.value = render_html(json.loads(path.read_text(encoding="utf-8")), fragment=True)


def _row_text(row: dict) -> str:
    return " | ".join(str(v) for k, v in row.items() if k != "meta")


def rejected_html(rejected: list[dict], limit: int = 50) -> str:
    if not rejected:
        return "<h4>Rejected rows</h4><p style='color:#777'>none</p>"
    rows = [[r.get("split", ""), r.get("cleaner", ""), r.get("reason", ""), _row_text(r.get("row") or {})]
            for r in rejected[:limit]]
    more = f"<p>... and {len(rejected) - limit} more</p>" if len(rejected) > limit else ""
    return f"<h4>Rejected rows ({len(rejected)})</h4>" + table_html(["split", "cleaner", "reason", "row"], rows,
                                                                   cls="ft-lab-rejected") + more


def changes_html(changes: list[dict], limit: int = 50) -> str:
    if not changes:
        return "<h4>Changed rows</h4><p style='color:#777'>none</p>"
    rows = []
    for ch in changes[:limit]:
        before, after = ch.get("before"), ch.get("after")
        b = _row_text(before) if isinstance(before, dict) else ("" if before is None else str(before))
        a = _row_text(after) if isinstance(after, dict) else ("" if after is None else str(after))
        rows.append([_E(ch.get("split", "")), _E(ch.get("cleaner", "")), _E(b) if b else "<i>(not kept)</i>",
                     diff_html(b, a) if b else _E(a)])
    more = f"<p>... and {len(changes) - limit} more</p>" if len(changes) > limit else ""
    return (f"<h4>Changed rows ({len(changes)}): before and after</h4>"
            + table_html(["split", "cleaner", "before", "after"], rows, cls="ft-lab-changes", raw_columns=(0, 1, 2, 3))
            + more)
