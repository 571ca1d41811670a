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

from ..errors import RecipeError, UserError
from ..recipe import ROLES, DataSection, TaskSection
from .forms import ComponentListForm, ConfigForm
from .plots import table_html
from .state import RecipeState, problems_html

_E = html.escape


class DataPanel(W.VBox):
    def __init__(self, state: RecipeState | None = None):
        super().__init__()
        self.state = state or RecipeState()
        self.state.panels.append(self)
        self.task_form = ConfigForm(TaskSection, self._task_plain(), show_help=False)
        self.task_form.on_change(lambda _f: self._task_changed())
        self.data_form = ConfigForm(DataSection, self.state.sections.get("data") or {},
                                    skip=("columns",), show_help=False)
        self.path = self.data_form.widgets["path"]
        self.path.placeholder = "a CSV, JSONL, JSON, Parquet or Excel file"
        self.upload = W.FileUpload(accept=".csv,.tsv,.jsonl,.ndjson,.json,.parquet,.xlsx", multiple=False,
                                   description="Upload", tooltip="upload a data file from this computer")
        self.upload.observe(self._uploaded, names="value")
        self.preview_button = W.Button(description="Preview", icon="eye")
        self.preview_button.on_click(lambda _b: self.preview())
        self.preview_html = W.HTML()
        self.preview_html.add_class("ft-lab-preview")
        self.mapping_box = W.VBox()
        self.role_widgets: dict[str, W.Dropdown] = {}
        self.columns_seen: list[str] = []
        self.cleaners = ComponentListForm("cleaner", self.state.sections.get("clean") or [],
                                          title="Cleaners (run in order)")
        self.clean_button = W.Button(description="Run cleaning", icon="filter", button_style="info")
        self.clean_button.on_click(lambda _b: self.run_cleaning())
        self.status = W.HTML()
        self.status.add_class("ft-lab-data-status")
        self.report_html = W.HTML()
        self.report_html.add_class("ft-lab-data-report")
        self.rejected_html = W.HTML()
        self.changes_html = W.HTML()
        self.prepared = None
        self._build_mapping()
        options = W.Accordion(children=[self.data_form], titles=("Data options (format, split, leakage ...)",))
        options.selected_index = None
        self.children = [W.HTML("<h3>Data</h3>"), self.task_form, W.HBox([self.path, self.preview_button, self.upload]),
                         self.preview_html, W.HTML("<b>Column for each role</b> (suggested from the file; "
                                                   "edit if needed)"), self.mapping_box, options,
                         self.cleaners, self.clean_button, self.status, self.report_html,
                         self.rejected_html, self.changes_html]
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
        options = [""] + list(dict.fromkeys([*self.columns_seen, *columns.values()]))
        self.role_widgets = {}
        for role in roles:
            w = W.Dropdown(options=options, value=columns.get(role, ""), description=role,
                           tooltip=f"the column that holds the {role} (empty: a column named '{role}')",
                           style={"description_width": "170px"})
            self.role_widgets[role] = w
        self._extra_columns = {k: v for k, v in columns.items() if k not in roles}
        self.mapping_box.children = list(self.role_widgets.values())

    def mapping(self) -> dict:
        out = dict(self._extra_columns)
        out.update({role: w.value for role, w in self.role_widgets.items() if w.value})
        return out

    def _task_changed(self) -> None:
        self.state.sections["task"] = self.task_form.value()
        self._build_mapping(self.mapping())

    def sync(self) -> None:
        """Write task, data and clean into the shared state."""
        self.state.sections["task"] = self.task_form.value()
        self.state.sections["data"] = {**self.data_form.value(), "columns": self.mapping()}
        self.state.sections["clean"] = self.cleaners.value()

    def refresh(self) -> None:
        self.task_form.set_value(self._task_plain())
        self.data_form.set_value(self.state.sections.get("data") or {})
        self.cleaners.set_value(self.state.sections.get("clean") or [])
        self._build_mapping()

    # --- actions --------------------------------------------------------------------------------
    def _resolve(self, path: str) -> str:
        p = Path(path).expanduser()
        if not p.is_absolute() and self.state.base_dir:
            p = Path(self.state.base_dir) / p
        return str(p)

    def preview(self) -> dict | None:
        """Inspect the file: encoding, layout, preview rows, and a suggested mapping for unset roles."""
        from ..data.inspect import inspect_file
        path = self.path.value.strip()
        if not path:
            self.status.value = problems_html(["data: give a file path (or use set_dataframe)"])
            return None
        try:
            info = inspect_file(self._resolve(path), self.data_form.value().get("format") or "auto")
        except (UserError, OSError, ValueError) as exc:
            self.status.value = problems_html([str(exc)])
            return None
        self.columns_seen = list(info["columns"])
        schema = info["schema"]
        suggested = dict(schema.get("mapping") or {})
        current = self.mapping()
        if schema.get("task") in ROLES and not current and schema["task"] != self.task_form.value().get("type"):
            self.task_form.set_field("type", schema["task"])
            self.state.sections["task"] = self.task_form.value()
        self._build_mapping({**suggested, **current})
        rows = [[r.get(c, "") for c in info["columns"]] for r in info["preview"]]
        notes = "; ".join(schema.get("notes") or [])
        self.preview_html.value = (
            f"<div style='color:#555'>{_E(str(info['format']))} · encoding {_E(str(info['encoding']))} · "
            f"{info['stats']['rows']} rows · layout {_E(str(schema.get('layout')))}"
            f"{' · ' + _E(notes) if notes else ''}</div>" + table_html(info["columns"], rows))
        self.status.value = ""
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
        from ..atomic import atomic_write_bytes

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
        from ..data.prepare import prepare_data
        from ..data.report import render_html
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
        self.report_html.value = render_html({**prepared.report, "labels": prepared.labels})
        self.rejected_html.value = rejected_html(prepared.rejected)
        self.changes_html.value = changes_html(prepared.changes)
        return prepared

    def load_report(self, run_dir) -> None:
        """Show the data report of an existing run (``data/report.json`` in its directory)."""
        import json

        from ..data.report import render_html
        path = Path(run_dir) / "data" / "report.json"
        if path.exists():
            self.report_html.value = render_html(json.loads(path.read_text(encoding="utf-8")))


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
    from ..analysis.diff import diff_html
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
