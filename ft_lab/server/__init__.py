"""The Jupyter server extension behind the JupyterLab sidebar: a REST API under ``/ft-lab/api/``.

Enabled on install (``etc/jupyter/jupyter_server_config.d/ft_lab.json`` in the wheel). The runs folder
is the setting ``FtLab.runs_dir``::

    jupyter lab --FtLab.runs_dir=/data/runs

or ``c.FtLab.runs_dir = "/data/runs"`` in ``jupyter_server_config.py``. A relative folder is taken from
the server's root folder. Unset, it is ``$FT_LAB_RUNS_DIR`` or, failing that, ``runs`` in the root folder:
the same folder the CLI (``./runs``, started there) and the Studio (``./runs`` of a notebook there) use.
"""
from __future__ import annotations

import os
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable


class FtLab(Configurable):
    """ft-lab settings for the Jupyter server extension."""

    runs_dir = Unicode("", config=True, help="Folder of ft-lab run directories (relative: to the server's "
                                             "root folder). Default: $FT_LAB_RUNS_DIR, else <root>/runs.")

    def resolve_runs_dir(self, root_dir: str | os.PathLike) -> Path:
        root = Path(root_dir).expanduser()
        chosen = self.runs_dir or os.environ.get("FT_LAB_RUNS_DIR") or "runs"
        path = Path(chosen).expanduser()
        return (path if path.is_absolute() else root / path).resolve()


def _jupyter_server_extension_points():
    return [{"module": "ft_lab.server"}]


def _load_jupyter_server_extension(serverapp):
    from .handlers import handlers
    from .serve_handlers import serve_handlers

    runs_dir = FtLab(parent=serverapp).resolve_runs_dir(serverapp.root_dir)
    serverapp.web_app.settings["ft_lab_runs_dir"] = runs_dir
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", handlers(base_url) + serve_handlers(base_url))
    serverapp.log.info("ft-lab: API at %sft-lab/api/, runs folder %s", serverapp.web_app.settings["base_url"],
                       runs_dir)
