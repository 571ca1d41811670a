"""Human review: ratings and comments per example, stored in the run directory.

    store = ReviewStore("runs/r1")
    store.add(12, rating=2, comment="敬語が不自然", reviewer="sato")
    store.reviews()        # {12: {'id': 12, 'rating': 2, 'comment': '...', 'reviewer': 'sato', ...}}
    store.summary()        # {'reviewed': 1, 'mean_rating': 2.0, 'ratings': {'2': 1}, 'comments': 1, ...}

Storage: ``RUN_DIR/review/reviews.jsonl``, one line per action (append-only; the latest action for an
example and reviewer wins) and ``RUN_DIR/review/summary.json``, rewritten atomically after each action,
which the report and ``run_summary`` show next to the metrics. Ratings are integers from 1 to 5.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from ..errors import UserError
from ..rundir.layout import RunLayout
from ..rundir.predictions import atomic_write_json
from ..safety.atomic import read_json

RATING_MIN, RATING_MAX = 1, 5


class ReviewStore:
    def __init__(self, run_dir: str | Path, which: str = "finetuned"):
        layout = RunLayout(run_dir)
        self.dir = layout.review
        self.path = layout.reviews
        self.summary_path = layout.review_summary
        self.which = which

    def add(self, example_id: int, rating: int | None = None, comment: str = "", reviewer: str = "") -> dict:
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)
                                   or not RATING_MIN <= rating <= RATING_MAX):
            raise UserError(f"rating: expected an integer from {RATING_MIN} to {RATING_MAX}, got {rating!r}")
        if rating is None and not comment:
            raise UserError("review: give a rating, a comment, or both")
        rec = {"id": example_id, "which": self.which, "rating": rating, "comment": str(comment),
               "reviewer": str(reviewer), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.dir.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)  # one write of one line: concurrent appends do not interleave
        finally:
            os.close(fd)
        atomic_write_json(self.summary_path, self.summary())
        return rec

    def _records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{self.path}, line {lineno}: not valid JSON; fix or delete that line") from None
        return out

    def reviews(self) -> dict:
        """The latest review of each example (by any reviewer: the latest per reviewer, listed per id)."""
        latest: dict[tuple, dict] = {}
        for rec in self._records():
            if rec.get("which", "finetuned") == self.which:
                latest[(rec["id"], rec.get("reviewer", ""))] = rec
        by_id: dict = {}
        for (ex_id, _), rec in latest.items():
            by_id.setdefault(ex_id, []).append(rec)
        return {k: (v[0] if len(v) == 1 else {"id": k, "reviews": v,
                                              "rating": _mean([r["rating"] for r in v if r["rating"] is not None]),
                                              "comment": " / ".join(r["comment"] for r in v if r["comment"])})
                for k, v in by_id.items()}

    def summary(self) -> dict:
        latest = {}
        for rec in self._records():
            if rec.get("which", "finetuned") == self.which:
                latest[(rec["id"], rec.get("reviewer", ""))] = rec
        ratings = [r["rating"] for r in latest.values() if r["rating"] is not None]
        return {"which": self.which, "reviewed": len({k[0] for k in latest}), "reviews": len(latest),
                "mean_rating": _mean(ratings), "ratings": {str(k): v for k, v in sorted(Counter(ratings).items())},
                "comments": sum(1 for r in latest.values() if r["comment"]),
                "reviewers": sorted({k[1] for k in latest if k[1]})}


def _mean(values):
    return sum(values) / len(values) if values else None


def run_summary(run_dir: str | Path) -> dict:
    """The run's metrics with the human review summary beside them."""
    run_dir = Path(run_dir)
    metrics = read_json(RunLayout(run_dir).metrics, default={}) or {}
    return {**metrics, "review": ReviewStore(run_dir).summary()}
