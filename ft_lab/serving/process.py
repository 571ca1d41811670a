"""``ft-lab serve`` as a child process, for the Studio's Serve step and the JupyterLab sidebar: started on a
port of this machine, waited on until it listens (or until it gives up with its one-line error), stopped.

    server = ServeProcess("runs/r1", serve_dir="serving/r1", api_key_file=new_key_file("serving/r1"))
    server.start().wait_listening(timeout=180)
    server.url                      # http://127.0.0.1:PORT/v1 (https with a certificate)
    server.stop()

The key never goes on the command line (other users of the machine can read that): it is read by the
server from ``--api-key-file`` or from ``$FT_LAB_API_KEY``, which the child inherits.
"""
from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import UserError
from .security import KEY_ENV, is_loopback

KEY_FILE = "api-key"
LOG_FILE = "serve.log"
_RUNNING: set["ServeProcess"] = set()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host if is_loopback(host) else "127.0.0.1", 0))
        return s.getsockname()[1]


def new_key_file(folder) -> Path:
    """``FOLDER/api-key``: a new random key readable by this user only (kept if it is already there)."""
    path = Path(folder) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or len(path.read_text(encoding="utf-8").strip()) < 8:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    os.chmod(path, 0o600)
    return path


def read_key(api_key_file) -> str | None:
    """The key a client sends: the file's first line, else ``$FT_LAB_API_KEY`` (None: serving without one)."""
    if api_key_file:
        return Path(api_key_file).read_text(encoding="utf-8").strip().splitlines()[0].strip()
    return os.environ.get(KEY_ENV, "").strip() or None


class ServeProcess:
    def __init__(self, source, serve_dir, host: str = "127.0.0.1", port: int | None = None,
                 api_key_file=None, no_key: bool = False, certfile=None, keyfile=None, extra: list[str] | None = None):
        self.source, self.serve_dir = Path(source), Path(serve_dir)
        self.host, self.port = host, port or free_port(host)
        self.api_key_file, self.no_key = api_key_file, no_key
        self.certfile, self.keyfile = certfile, keyfile
        self.extra = list(extra or [])
        self.process: subprocess.Popen | None = None
        self.stopped = False  # stopped on purpose (not failed)

    @property
    def url(self) -> str:
        """The base URL a client uses (``0.0.0.0`` and ``::`` are reached on this machine's loopback)."""
        host = f"[{self.client_host}]" if ":" in self.client_host else self.client_host
        return f"{'https' if self.certfile else 'http'}://{host}:{self.port}/v1"

    @property
    def client_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    @property
    def log_path(self) -> Path:
        return self.serve_dir / LOG_FILE

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "ft_lab.cli", "serve", str(self.source), "--host", self.host,
               "--port", str(self.port), "--serve-dir", str(self.serve_dir)]
        if self.api_key_file:
            cmd += ["--api-key-file", str(self.api_key_file)]
        if self.no_key:
            cmd.append("--no-key")
        if self.certfile:
            cmd += ["--certfile", str(self.certfile), "--keyfile", str(self.keyfile)]
        return cmd + self.extra

    def start(self) -> "ServeProcess":
        self.serve_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                            stdin=subprocess.DEVNULL)
        _RUNNING.add(self)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def listening(self) -> bool:
        """True once the server accepts connections; UserError (its last line) if it exited first."""
        if self.process is None:
            return False
        if self.process.poll() is not None:
            raise UserError(self.error() or f"ft-lab serve exited with status {self.process.returncode}")
        with socket.socket(socket.AF_INET6 if ":" in self.client_host else socket.AF_INET) as s:
            s.settimeout(1)
            return s.connect_ex((self.client_host, self.port)) == 0

    def state(self) -> dict:
        """``{"state": "starting" | "serving" | "stopped" | "failed", "url", "error"}`` (does not wait)."""
        try:
            state = "serving" if self.listening() else "starting" if self.running else "stopped"
            error = None
        except UserError as exc:
            state, error = ("stopped", None) if self.stopped else ("failed", str(exc))
        return {"state": state, "url": self.url, "error": error}

    def wait_listening(self, timeout: float = 300, poll: float = 0.2) -> "ServeProcess":
        deadline = time.monotonic() + timeout
        while not self.listening():
            if time.monotonic() > deadline:
                self.stop()
                raise UserError(f"ft-lab serve did not listen on port {self.port} within {timeout:g} s; "
                                f"see {self.log_path}")
            time.sleep(poll)
        return self

    def error(self) -> str:
        """The server's last output line (its one-line error when it refused to start)."""
        try:
            lines = [x.strip() for x in self.log_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self, timeout: float = 30) -> None:
        self.stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _RUNNING.discard(self)


@atexit.register
def _stop_all() -> None:  # a kernel or Jupyter server that exits takes its servers with it
    for server in list(_RUNNING):
        server.stop(timeout=10)
