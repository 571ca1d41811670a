"""Start ``ft-lab serve`` as a user would (the console script, a subprocess on a free 127.0.0.1 port), wait
for it to listen, stop it after."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from waiting import wait_for

KEY = "test-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_server(source, serve_dir: Path, *args: str, env: dict | None = None):
    """Yield ``(base_url, process)`` of ``ft-lab serve SOURCE --serve-dir DIR ARGS`` with the key ``KEY``."""
    port = free_port()
    log = open(Path(serve_dir).parent / f"{Path(serve_dir).name}.out", "w")
    exe = Path(sys.executable).with_name("ft-lab")
    proc = subprocess.Popen([str(exe), "serve", str(source), "--port", str(port), "--serve-dir", str(serve_dir), *args],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "FT_LAB_API_KEY": KEY, **(env or {})})

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"ft-lab serve exited with {proc.returncode}: "
                                 + Path(log.name).read_text(encoding="utf-8")[-2000:])
        return _listening(port)

    try:
        wait_for(up, f"ft-lab serve listening on 127.0.0.1:{port}", timeout=180, poll=0.2)
        yield f"http://127.0.0.1:{port}/v1", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
