"""The request log of a served model: one SQLite file, ``SERVE_DIR/requests.sqlite``.

    log = RequestLog(serve_dir)
    log.add(Request(id="req-1", endpoint="/v1/chat/completions", status=200, latency_ms=12.5, ...))
    log.feedback("req-1", rating=-1, corrected="the right answer")
    log.requests(), log.feedbacks()

Texts arrive here already masked by the run's PII cleaners (app.py), or as None when the server was
started with ``--no-store-text``; API keys never reach this file.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import UserError

FILE = "requests.sqlite"


@dataclass
class Request:
    id: str
    endpoint: str
    status: int
    latency_ms: float
    time: float = 0.0
    model: str | None = None
    input_text: str | None = None
    output_text: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    label: str | None = None
    probability: float | None = None
    similarity: float | None = None  # cosine similarity to the nearest training row (drift.py)
    oov_rate: float | None = None  # share of the request's words never seen in training
    error: str | None = None


_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL"}
_COLUMNS = [(f.name, _TYPES[str(f.type).split(" ")[0]]) for f in fields(Request)]
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS requests ({", ".join(f"{n} {t}" + (" PRIMARY KEY" if n == "id" else "") for n, t in _COLUMNS)});
CREATE TABLE IF NOT EXISTS feedback (request_id TEXT NOT NULL, time REAL NOT NULL, rating INTEGER,
                                     corrected TEXT, label TEXT);
"""


class RequestLog:
    """Append-only request and feedback tables; safe to use from several threads of one process."""

    def __init__(self, serve_dir, create: bool = True):
        self.path = Path(serve_dir) / FILE
        if not create and not self.path.is_file():
            raise UserError(f"{serve_dir}: no {FILE}; is this the folder of an `ft-lab serve`? (--serve-dir)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: no corruption on a crash, no fsync per request
        self._db.executescript(_SCHEMA)

    def add(self, request: Request) -> None:
        row = asdict(request)
        row["time"] = row["time"] or time.time()
        with self._lock:
            self._db.execute(f"INSERT INTO requests ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                             list(row.values()))

    def get(self, request_id: str) -> dict | None:
        found = self._select("SELECT * FROM requests WHERE id = ?", (request_id,))
        return found[0] if found else None

    def feedback(self, request_id: str, rating: int | None, corrected: str | None = None,
                 label: str | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
                             (request_id, time.time(), rating, corrected, label))

    def requests(self) -> list[dict]:
        return self._select("SELECT * FROM requests ORDER BY time")

    def feedbacks(self) -> list[dict]:
        return self._select("SELECT * FROM feedback ORDER BY time")

    def _select(self, sql: str, params=()) -> list[dict]:
        with self._lock:
            cur = self._db.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def close(self) -> None:
        self._db.close()
