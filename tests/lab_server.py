"""A real JupyterLab server for the extension tests, isolated from the user's Jupyter settings.

    with LabServer(home, root, extra_args=["--FtLab.runs_dir=/tmp/runs"]) as lab:
        status, body = lab.api("GET", "ft-lab/api/runs")

Config, data, runtime, settings and workspaces folders are temporary (JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR
...): nothing is installed into the user's environment; the installed extension is found in the
interpreter's prefix (share/jupyter/labextensions, etc/jupyter) like any pip-installed one.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from waiting import wait_for


def isolated_jupyter_env(home: Path, **extra) -> dict:
    """Environment variables that keep Jupyter's config and data in ``home`` (created here)."""
    config = home / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    # no "receive Jupyter news?" toast and no network call for it (the network is closed)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_PLATFORM_DIRS": "1", **extra}


def jupyter_outputs(*commands: list[str], env: dict, timeout: float = 180) -> list[str]:
    """Run ``jupyter <command>`` for each command at once, from this interpreter's environment; their
    outputs (stdout and stderr)."""
    exe = str(Path(sys.executable).with_name("jupyter"))
    procs = [subprocess.Popen([exe, *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for cmd in commands]
    return [p.communicate(timeout=timeout)[0] for p in procs]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``python -m jupyterlab`` on 127.0.0.1, an ephemeral port and a random token; stopped on exit."""

    def __init__(self, home: Path, root: Path, extra_args=(), env_extra: dict | None = None,
                 log_path: Path | None = None):
        self.home, self.root = Path(home), Path(root)
        self.token = secrets.token_hex(24)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = isolated_jupyter_env(self.home, **(env_extra or {}))
        self.log_path = log_path or self.home / "jupyterlab.log"
        self.cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                    f"--port={self.port}", "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *extra_args]
        self.proc = None

    def __enter__(self) -> "LabServer":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.root, start_new_session=True)
        def answers() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; see {self.log_path}")
            try:
                return self.api("GET", "api/status")[0] == 200
            except OSError:
                return False
        wait_for(answers, f"JupyterLab to answer on {self.url} (see {self.log_path})", timeout=120, poll=0.3)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_jupyter(self.proc)
        self._log.close()

    def api(self, method: str, path: str, token: bool = True, raw_path: bool = False) -> tuple[int, str]:
        """(status, body) of one request; ``token=False`` sends no credentials at all."""
        headers = {"Authorization": f"token {self.token}"} if token else {}
        req = urllib.request.Request(f"{self.url}/{path}", method=method, headers=headers,
                                     data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def json(self, path: str, method: str = "GET"):
        status, body = self.api(method, path)
        assert status in (200, 202), f"{method} {path}: {status} {body[:500]}"
        return json.loads(body)

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}/{path}?token={self.token}&reset"


def stop_jupyter(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a Jupyter server started in its own session: SIGTERM, its clean stop (kernels shut down too), then
    SIGKILL to the group after ``timeout`` s. Not SIGINT: a shell that runs the tests in the background (CI)
    hands them SIGINT ignored, and the server then waited out every timeout and left its kernels behind."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
