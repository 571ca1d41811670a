"""Load a data source into a list of row dicts, with clear errors for broken input.

Sources: JSON lines, JSON (array of objects, object of lists, SQuAD-style nested QA, or one list of
objects under a key), CSV/TSV, Parquet, Excel (.xlsx), a folder saved by ``datasets``
(``save_to_disk``), and a pandas DataFrame in a notebook::

    rows = load_rows("tickets.csv")                      # [{"text": ..., "label": ...}, ...]
    table = load_table("faq_sjis.csv")                   # table.rows, table.encoding == 'cp932'
    rows = load_rows(df)                                 # a DataFrame

Every error is a UserError naming the file, the line (or byte offset, row, column), what was expected
and what to do. Text files are decoded with ``encoding.decode_file`` (auto-detected by default).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..safety import json_limits
from .charsets import decode_file

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
              ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel"}
FORMATS = ("jsonl", "json", "csv", "tsv", "parquet", "excel", "datasets")
DEFAULT_MAX_BYTES = 2 * 1024 ** 3


def max_bytes() -> int:
    """The largest file ft-lab reads into memory (``FT_LAB_MAX_DATA_BYTES`` overrides 2 GiB)."""
    raw = os.environ.get("FT_LAB_MAX_DATA_BYTES")
    try:
        return int(raw) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


@dataclass
class Table:
    """Rows read from one source, with what was detected on the way."""

    rows: list[dict]
    source: str
    format: str
    encoding: str | None = None
    layout_note: str | None = None
    columns: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.columns:
            seen: dict[str, None] = {}
            for r in self.rows[:1000]:
                for k in r:
                    seen.setdefault(k, None)
            self.columns = list(seen)


def detect_format(path: str, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise UserError(f"{path}: unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
        return fmt
    if os.path.isdir(path):
        if any(os.path.exists(os.path.join(path, f)) for f in ("dataset_info.json", "state.json",
                                                               "dataset_dict.json")):
            return "datasets"
        raise UserError(f"{path}: a folder, but not one saved by datasets' save_to_disk (no dataset_info.json "
                        f"or dataset_dict.json); point data.path at a file")
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise UserError(f"{path}: cannot tell the format from the extension '{ext}'; "
                        f"set data.format to one of {', '.join(FORMATS)}")
    return EXTENSIONS[ext]


def load_rows(path, fmt: str = "auto", encoding: str = "auto", sheet: str | None = None) -> list[dict]:
    """Every row of ``path`` (or of a DataFrame) as a dict; a clear UserError for bad input."""
    return load_table(path, fmt, encoding, sheet).rows


def load_table(path, fmt: str = "auto", encoding: str = "auto", sheet: str | None = None) -> Table:
    if _is_dataframe(path):
        return Table(rows_from_dataframe(path, "DataFrame"), "DataFrame", "dataframe")
    path = str(path)
    if not os.path.exists(path):
        raise UserError(f"{path}: file not found; check data.path (relative paths are read from the recipe's folder)")
    fmt = detect_format(path, fmt)
    if fmt != "datasets":
        size = os.path.getsize(path)
        if size == 0:
            raise UserError(f"{path}: the file is empty; it needs at least one row of data")
        if size > max_bytes():
            raise UserError(f"{path}: the file is {size / 1024 ** 2:,.0f} MiB, over the {max_bytes() / 1024 ** 2:,.0f} "
                            f"MiB ft-lab reads into memory; split it into smaller files, or raise the limit with "
                            f"FT_LAB_MAX_DATA_BYTES if the machine has the memory")
    reader = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv, "tsv": _read_csv,
              "parquet": _read_parquet, "excel": _read_excel, "datasets": _read_datasets}[fmt]
    table = reader(path, fmt=fmt, encoding=encoding, sheet=sheet)
    if not table.rows:
        raise UserError(f"{path}: no rows found; the file needs at least one row of data")
    return table


# --- text formats ---------------------------------------------------------------------------------
def _read_jsonl(path: str, encoding: str, **_) -> Table:
    text, enc = decode_file(path, encoding)
    return Table(_parse_jsonl(path, text), path, "jsonl", enc)


def _parse_jsonl(path: str, text: str) -> list[dict]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json_limits.loads(line, f"{path}: line {lineno}")
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: line {lineno}: invalid JSON ({exc.msg} at column {exc.colno}); expected one "
                            f"JSON object per line; fix or remove that line") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path}: line {lineno}: expected a JSON object per line, got {type(obj).__name__}; "
                            f"wrap the values in an object like {{\"text\": ...}}")
        rows.append(obj)
    return rows


def _read_json(path: str, encoding: str, **_) -> Table:
    text, enc = decode_file(path, encoding)
    try:
        data = json_limits.loads(text, path)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):  # JSON lines saved as .json
            return Table(_parse_jsonl(path, text), path, "jsonl", enc, "JSON lines in a .json file")
        raise UserError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}); fix the file "
                        f"or validate it with `python -m json.tool {Path(path).name}`") from None
    rows, note = rows_from_json(data, path)
    return Table(rows, path, "json", enc, note)


def rows_from_json(data: Any, path: str) -> tuple[list[dict], str | None]:
    """Rows of a parsed JSON document, whatever the usual layout; the layout found is returned too."""
    if isinstance(data, list):
        bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None)
        if bad is not None:
            raise UserError(f"{path}: item {bad + 1} of the array is {type(data[bad]).__name__}; expected an "
                            f"array of objects, one per row")
        return data, None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected an array of objects, an object of columns or SQuAD-style data, "
                        f"got a single {type(data).__name__}")
    if isinstance(data.get("data"), list) and data["data"] and isinstance(data["data"][0], dict) \
            and "paragraphs" in data["data"][0]:
        return squad_rows(data["data"], path), "SQuAD-style (flattened to one row per question)"
    lists = {k: v for k, v in data.items() if isinstance(v, list)}
    if lists and len(lists) == len(data):
        lengths = {k: len(v) for k, v in lists.items()}
        if len(set(lengths.values())) == 1 and not all(isinstance(x, dict) for v in lists.values() for x in v[:1]):
            keys = list(lists)
            return [{k: lists[k][i] for k in keys} for i in range(next(iter(lengths.values())))], "object of columns"
        if len(lists) > 1 and not all(isinstance(x, dict) for v in lists.values() for x in v[:1]):
            raise UserError(f"{path}: an object of columns whose lists differ in length "
                            f"({', '.join(f'{k}: {n}' for k, n in lengths.items())}); every column needs one value per row")
    records = [(k, v) for k, v in data.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    if len(records) == 1:
        return records[0][1], f"rows under the key '{records[0][0]}'"
    raise UserError(f"{path}: a JSON object whose rows ft-lab cannot find; expected an array of objects, an "
                    f"object of equal-length column lists, SQuAD-style {{data: [{{paragraphs: ...}}]}}, or one key "
                    f"holding an array of objects (keys here: {', '.join(list(data)[:10])})")


def squad_rows(articles: list, path: str) -> list[dict]:
    rows = []
    for a, article in enumerate(articles):
        for p, para in enumerate(article.get("paragraphs") or []):
            context = para.get("context")
            if not isinstance(context, str):
                raise UserError(f"{path}: data[{a}].paragraphs[{p}]: missing 'context' text")
            for q in para.get("qas") or []:
                answers = q.get("answers") or []
                first = answers[0] if answers else {}
                rows.append({"id": q.get("id"), "title": article.get("title"), "context": context,
                             "question": q.get("question"), "answer": first.get("text"),
                             "answer_start": first.get("answer_start"),
                             "is_impossible": bool(q.get("is_impossible", not answers))})
    return rows


def _read_csv(path: str, fmt: str, encoding: str, **_) -> Table:
    import csv
    import io

    text, enc = decode_file(path, encoding)
    sep = "\t" if fmt == "tsv" else ","
    csv.field_size_limit(2**31 - 1)  # a huge cell is a data check's business (data.max_chars), not a csv.Error
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UserError(f"{path}: line 1: cannot read the header ({exc})") from None
    if not header or not any(h.strip() for h in header):
        raise UserError(f"{path}: line 1: expected a header row naming the columns; add one")
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    dup = next((h for h in header if header.count(h) > 1), None)
    if dup:
        raise UserError(f"{path}: line 1: the column name '{dup}' appears twice in the header; rename one")
    if len(header) == 1 and fmt == "csv" and "\t" in text.split("\n", 1)[0]:
        raise UserError(f"{path}: the header has tabs but no commas; it looks like TSV: set data.format: tsv "
                        f"or rename the file to .tsv")
    rows = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise UserError(f"{path}: line {reader.line_num}: {len(row)} fields where the header has "
                                f"{len(header)}; check the quoting and the {'tabs' if sep == chr(9) else 'commas'} "
                                f"on that line")
            rows.append(dict(zip(header, row)))
    except csv.Error as exc:
        raise UserError(f"{path}: line {reader.line_num}: {exc}; check the quoting on that line") from None
    return Table(rows, path, fmt, enc, columns=header)


# --- binary formats -------------------------------------------------------------------------------
def _read_parquet(path: str, **_) -> Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise UserError(f"{path}: not a readable Parquet file ({_first_line(exc)}); re-export it, or set "
                        f"data.format if it is another format") from None
    return Table(_plain(table.to_pylist()), path, "parquet", columns=table.column_names)


def _read_excel(path: str, sheet: str | None = None, **_) -> Table:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise UserError(f"{path}: reading Excel files needs openpyxl: pip install openpyxl") from None
    import pandas as pd

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise UserError(f"{path}: not a readable .xlsx file ({_first_line(exc)}); save it again from Excel "
                        f"as .xlsx, or export it to CSV") from None
    name = sheet if sheet is not None else book.sheet_names[0]
    if name not in book.sheet_names:
        raise UserError(f"{path}: no sheet named '{name}'; sheets: {', '.join(book.sheet_names)}. Set data.sheet")
    df = book.parse(name, dtype=object)
    return Table(rows_from_dataframe(df, f"{path} [{name}]"), path, "excel",
                 layout_note=f"sheet '{name}'", columns=[str(c) for c in df.columns])


def _read_datasets(path: str, sheet: str | None = None, **_) -> Table:
    import datasets

    try:
        ds = datasets.load_from_disk(path)
    except Exception as exc:
        raise UserError(f"{path}: not a folder saved by datasets' save_to_disk ({_first_line(exc)})") from None
    note = None
    if isinstance(ds, datasets.DatasetDict):
        split = sheet or ("train" if "train" in ds else None)
        if split not in ds:
            raise UserError(f"{path}: a DatasetDict with splits {', '.join(ds)}; set data.sheet to the split "
                            f"to read, or point data.path at that split's folder")
        ds, note = ds[split], f"split '{split}'"
    return Table(_plain(ds.to_list()), path, "datasets", layout_note=note, columns=list(ds.column_names))


def _is_dataframe(obj) -> bool:
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame"


def rows_from_dataframe(df, source: str = "DataFrame") -> list[dict]:
    """A DataFrame's rows as dicts, with NaN and NaT as None and numpy scalars as Python values."""
    cols = [str(c) for c in df.columns]
    dup = next((c for c in cols if cols.count(c) > 1), None)
    if dup:
        raise UserError(f"{source}: the column '{dup}' appears twice; rename one")
    return _plain([dict(zip(cols, rec)) for rec in df.itertuples(index=False, name=None)])


def _plain(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        new = {}
        for k, v in r.items():
            if hasattr(v, "to_pydatetime"):
                v = v.to_pydatetime()
            elif hasattr(v, "item") and not isinstance(v, (list, dict, str)) and getattr(v, "ndim", 0) == 0:
                v = v.item()
            elif hasattr(v, "tolist") and not isinstance(v, (list, dict, str)):
                v = v.tolist()
            if isinstance(v, float) and math.isnan(v):
                v = None
            if type(v).__name__ in ("NaTType", "NAType"):
                v = None
            new[str(k)] = v
        out.append(new)
    return out


def _first_line(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).strip().splitlines()[0][:300]
