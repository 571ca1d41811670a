"""A real PostgreSQL server for the tests of searches shared by several machines (``postgres_url``): Debian's
server binaries (`make setup` installs them), a temporary data folder, a free port on 127.0.0.1, run as an
unprivileged user when the tests run as root (the server refuses root); stopped and removed afterwards."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from serve_support import free_port

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PG_USER = "ftlab-pg"


def _pg_prefix() -> list[str]:
    """The server refuses to run as root: as root, run it as an unprivileged user (created when missing)."""
    if os.geteuid() != 0:
        return []
    if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--"]


@pytest.fixture
def postgres_url():
    if not PG_BIN:
        pytest.skip("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin): `make setup` installs "
                    "Debian's postgresql where apt-get can")
    bin_dir, prefix = PG_BIN[-1].parent, _pg_prefix()
    home = Path(tempfile.mkdtemp(prefix="ftlab-pg-"))
    if prefix:
        shutil.chown(home, PG_USER)
    data, port = home / "data", free_port()
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "ftlab", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o",
                                f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg2://ftlab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
