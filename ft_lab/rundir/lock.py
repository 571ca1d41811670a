"""The run lock: ``worker.lock``, held (``flock``) by the live worker for its whole life.

    fd = try_lock(run_dir, wait=2.0)   # an fd holding the lock, or None while a live worker holds it
    lock_holder(run_dir)               # the pid of the live worker, or None

The kernel drops the lock when the process ends, even by ``kill -9``, and a reused pid cannot hold it;
so a free lock on a run whose status is live means its worker is gone (``ft_lab.workflows.runner``).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .layout import RunLayout


def try_lock(run_dir: Path, wait: float = 0.0) -> int | None:
    """An fd holding the run's lock (exclusive, released when every copy of the fd is closed, even by
    a kill -9, so pid reuse cannot fool it), or None while a live worker holds it."""
    import fcntl

    fd = os.open(RunLayout(run_dir).worker_lock, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.1)


def write_lock_info(fd: int, pid: int) -> None:
    """Record the pid of the process that holds (or is handed) the lock, for ``lock_holder``."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": pid, "started": round(time.time(), 3)}).encode(), 0)


def lock_holder(run_dir: Path) -> int | None:
    """The pid of the live worker of the run, or None."""
    try:
        fd = try_lock(run_dir)
    except OSError:
        return None
    if fd is not None:
        os.close(fd)
        return None
    try:
        return int(json.loads(RunLayout(run_dir).worker_lock.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
