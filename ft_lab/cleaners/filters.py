"""Row filters (each drops rows with a reason) and ``label_map`` (unifies label spellings).

    LengthFilter(LengthFilter.Config(min=5, max=2000)).clean(rows, ["text"])
    LanguageFilter(LanguageFilter.Config(keep=["ja"])).clean(rows, ["text"])
    StaleFilter(StaleFilter.Config(column="updated", before="2023-01-01")).clean(rows, ["text"])
    LabelMap(LabelMap.Config(mapping={"bug": ["Bug", "不具合"]})).clean(rows, ["text"])
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Optional

from ..core.components import Cleaner, CleanResult
from ..errors import UserError
from .measure import language_of, token_counter
from .text import available_columns, lookup, row_text, texts_of


class LengthFilter(Cleaner):
    """Drop rows whose text is shorter than ``min`` or longer than ``max`` (characters or tokens)."""

    name = "length_filter"

    @dataclass
    class Config:
        min: int = field(default=1, metadata={"help": "fewest characters (or tokens) a row's text may have"})
        max: Optional[int] = field(default=None, metadata={"help": "most characters (or tokens); none: no limit"})
        unit: Literal["chars", "tokens"] = field(default="chars", metadata={"help": "what is counted"})
        tokenizer: str = field(default="approx", metadata={
            "help": "tokens: a tokenizer folder or hub id, or 'approx' (words and CJK characters)"})
        per_column: bool = field(default=False, metadata={
            "help": "apply the limits to each text column apart instead of to all of them together"})

        def __post_init__(self):
            if self.min < 0 or (self.max is not None and self.max < self.min):
                raise ValueError(f"expected 0 <= min <= max, got min={self.min}, max={self.max}")

    def clean(self, rows, columns):
        c = self.config
        count = len if c.unit == "chars" else token_counter(c.tokenizer)[0]
        kept, rejected = [], []
        for row in rows:
            lengths = ([count(t) for t in texts_of(row, columns)] if c.per_column
                       else [count(row_text(row, columns, sep=""))])
            short = [n for n in lengths if n < c.min]
            long = [n for n in lengths if c.max is not None and n > c.max]
            if short:
                rejected.append((row, f"too short: {short[0]} {c.unit} < min {c.min}"))
            elif long:
                rejected.append((row, f"too long: {long[0]} {c.unit} > max {c.max}"))
            else:
                kept.append(row)
        return CleanResult(rows=kept, rejected=rejected)


class EmptyFilter(Cleaner):
    """Drop rows whose text (or label) is missing, empty or only whitespace."""

    name = "empty_filter"
    drops_empty_rows = True

    @dataclass
    class Config:
        any_column: bool = field(default=True, metadata={
            "help": "drop a row when any text column is empty (false: only when all of them are)"})
        check_label: bool = field(default=True, metadata={"help": "also drop rows with an empty label"})

    def clean(self, rows, columns):
        kept, rejected = [], []
        for row in rows:
            empty = [c for c in columns if not _has_text(row.get(c))]
            if self.config.check_label and "label" in row and not str(row.get("label") or "").strip():
                rejected.append((row, "empty label"))
            elif empty and (self.config.any_column or len(empty) == len(columns)):
                rejected.append((row, f"empty {', '.join(empty)}"))
            else:
                kept.append(row)
        return CleanResult(rows=kept, rejected=rejected)


def _has_text(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(isinstance(m, dict) and str(m.get("content") or "").strip() for m in value)
    return value is not None and bool(str(value).strip())


class LanguageFilter(Cleaner):
    """Keep rows whose script-based language (ja, en, other) is in ``keep``."""

    name = "language_filter"

    @dataclass
    class Config:
        keep: list[Literal["ja", "en", "other"]] = field(default_factory=lambda: ["ja", "en"], metadata={
            "help": "languages to keep: ja (kana and kanji), en (Latin script), other"})
        min_ratio: float = field(default=0.5, metadata={
            "help": "share of a row's letters its script must hold to count as that language"})

        def __post_init__(self):
            if not 0 < self.min_ratio <= 1:
                raise ValueError(f"min_ratio must be in (0, 1], got {self.min_ratio}")

    def clean(self, rows, columns):
        kept, rejected, seen = [], [], {}
        for row in rows:
            lang = language_of(row_text(row, columns), self.config.min_ratio)
            seen[lang] = seen.get(lang, 0) + 1
            if lang in self.config.keep:
                kept.append(row)
            else:
                rejected.append((row, f"language {lang} not in {', '.join(self.config.keep)}"))
        return CleanResult(rows=kept, rejected=rejected, info={"languages": seen})


class PatternFilter(Cleaner):
    """Keep rows matching any ``keep`` pattern (when given) and drop rows matching any ``drop`` pattern."""

    name = "pattern_filter"

    @dataclass
    class Config:
        keep: list[str] = field(default_factory=list, metadata={
            "help": "regular expressions; when given, a row must match one of them"})
        drop: list[str] = field(default_factory=list, metadata={"help": "regular expressions that drop a row"})
        ignore_case: bool = field(default=False, metadata={"help": "match without regard to case"})

        def __post_init__(self):
            for key in ("keep", "drop"):
                for p in getattr(self, key):
                    try:
                        re.compile(p)
                    except re.error as exc:
                        raise ValueError(f"{key}: invalid regular expression {p!r} ({exc})") from None

    def clean(self, rows, columns):
        flags = re.I if self.config.ignore_case else 0
        keep = [re.compile(p, flags) for p in self.config.keep]
        drop = [re.compile(p, flags) for p in self.config.drop]
        kept, rejected = [], []
        for row in rows:
            text = row_text(row, columns)
            hit = next((p for p in drop if p.search(text)), None)
            if hit is not None:
                rejected.append((row, f"matches drop pattern {hit.pattern!r}"))
            elif keep and not any(p.search(text) for p in keep):
                rejected.append((row, "matches no keep pattern"))
            else:
                kept.append(row)
        return CleanResult(rows=kept, rejected=rejected)


def parse_date(value) -> date | None:
    """A date from ISO text, 2024/01/31, 2024年1月31日, a datetime or epoch seconds; None when unreadable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value if value < 1e11 else value / 1000).date()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    s = unicodedata.normalize("NFKC", value).strip()
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(s).date()
    except ValueError:
        return None


class StaleFilter(Cleaner):
    """Drop rows dated before ``before`` according to a date column."""

    name = "stale_filter"

    @dataclass
    class Config:
        column: str = field(metadata={"help": "column holding each row's date (ISO, 2024/01/31, 2024年1月31日)"})
        before: str = field(metadata={"help": "rows dated before this day are dropped (YYYY-MM-DD)"})
        unparsable: Literal["keep", "drop"] = field(default="drop", metadata={
            "help": "what to do with rows whose date is missing or unreadable"})

        def __post_init__(self):
            if parse_date(self.before) is None:
                raise ValueError(f"before: expected a date like 2024-01-31, got {self.before!r}")

    def clean(self, rows, columns):
        c = self.config
        cutoff = parse_date(c.before)
        if rows:
            try:
                lookup(rows[0], c.column)
            except KeyError:
                raise UserError(f"stale_filter.column: no column '{c.column}'; columns: "
                                f"{', '.join(available_columns(rows))}. Set `column` to the date column") from None
        kept, rejected = [], []
        for row in rows:
            try:
                value = lookup(row, c.column)
            except KeyError:
                value = None
            d = parse_date(value)
            if d is None:
                if c.unparsable == "drop":
                    rejected.append((row, f"unreadable date in '{c.column}'"))
                else:
                    kept.append(row)
            elif d < cutoff:
                rejected.append((row, f"stale: {d.isoformat()} is before {cutoff.isoformat()}"))
            else:
                kept.append(row)
        return CleanResult(rows=kept, rejected=rejected)


def _label_key(s) -> str:
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFKC", str(s)).casefold()).strip()


class LabelMap(Cleaner):
    """Unify label spellings: map each variant to its canonical label (case, width and spacing ignored)."""

    name = "label_map"

    @dataclass
    class Config:
        mapping: dict[str, list[str]] = field(default_factory=dict, metadata={
            "help": "canonical label -> its other spellings, e.g. {bug: [Bug, 不具合, defect]}"})
        fuzzy: bool = field(default=True, metadata={
            "help": "also match labels that differ only in case, width, spaces, '-' or '_'"})
        unknown: Literal["keep", "drop"] = field(default="keep", metadata={
            "help": "what to do with labels that match no entry"})

    def clean(self, rows, columns):
        c = self.config
        exact, loose = {}, {}
        for canon, variants in c.mapping.items():
            for v in [canon, *variants]:
                exact[str(v)] = canon
                loose[_label_key(v)] = canon
        if c.fuzzy:  # labels that differ only in spelling details fold onto the first one seen
            first_seen: dict[str, str] = {}
            for row in rows:
                lab = row.get("label")
                if lab is not None:
                    first_seen.setdefault(_label_key(lab), str(lab))
            for key, lab in first_seen.items():
                loose.setdefault(key, lab)
        kept, rejected, changes, mapped = [], [], [], {}
        for i, row in enumerate(rows):
            lab = row.get("label")
            if lab is None:
                kept.append(row)
                continue
            new = exact.get(str(lab)) or (loose.get(_label_key(lab)) if c.fuzzy else None)
            if new is None and c.unknown == "drop" and c.mapping:
                rejected.append((row, f"label {lab!r} is not in the mapping"))
                continue
            if new is not None and new != lab:
                out = {**row, "label": new}
                changes.append({"index": i, "before": row, "after": out})
                mapped[f"{lab} -> {new}"] = mapped.get(f"{lab} -> {new}", 0) + 1
                kept.append(out)
            else:
                kept.append(row)
        return CleanResult(rows=kept, rejected=rejected, changed=len(changes), changes=changes,
                           info={"label_changes": mapped})
