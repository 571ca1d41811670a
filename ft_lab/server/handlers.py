"""REST handlers under ``/ft-lab/api/``; every one requires Jupyter's authentication.

    GET  /ft-lab/api/environment             ft-lab version, runs folder, the server environment's kernel
    GET  /ft-lab/api/plugins                 installed plugins and their components; broken ones with errors
    GET  /ft-lab/api/runs                    every run, newest first, as the sidebar shows it (a search's
                                             trials as one row under "searches")
    GET  /ft-lab/api/runs/<id>               one run
    GET  /ft-lab/api/runs/<id>/events?since=N  the events written after step N (all for -1, the default)
    GET  /ft-lab/api/runs/<id>/report        the run's self-contained HTML report
    GET  /ft-lab/api/runs/<id>/recipe        the run's resolved recipe (YAML)
    GET  /ft-lab/api/examples                the example notebooks (name, title)
    GET  /ft-lab/api/examples/<name>         one example notebook (JSON), for the launcher to copy
    POST /ft-lab/api/runs/<id>/stop          ask the worker to checkpoint and stop
    POST, DELETE /ft-lab/api/runs/<id>/serve  start, stop ``ft-lab serve`` on a completed run (serve_handlers.py)
    GET  /ft-lab/api/searches/<name>/report  the search's self-contained HTML page (leaderboard, plots)

The handlers are decorated with ``tornado.web.authenticated`` and ``authorized`` explicitly, so they
refuse anonymous requests even on a server that lets undecorated handlers through
(``ServerApp.allow_unauthenticated_access``). A run id is one folder name inside the runs folder:
anything else (``..``, a slash, a symlink leading out) is answered 400 or 404.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from .. import __version__
from ..analysis.html_report import build_report
from ..core.plugins import load_registry
from ..errors import UserError
from ..rundir.layout import is_run_dir
from ..rundir.status import STOPPABLE
from ..workflows.runner import RunHandle, list_runs
from ..workflows.search_live import searches_summary
from ..workflows.search_report import build_search_report, is_search_folder
from .summary import events_since, run_row, servers

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
AUTH_RESOURCE = "ft-lab"


class FtLabHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def runs_dir(self) -> Path:
        return self.settings["ft_lab_runs_dir"]

    @property
    def root_dir(self) -> Path:
        return Path(self.settings["server_root_dir"]).expanduser()

    def run_handle(self, run_id: str):
        """The RunHandle for ``run_id``, refusing anything that is not a run folder inside the runs folder."""

        if not RUN_ID.fullmatch(run_id) or ".." in run_id:
            raise web.HTTPError(400, f"invalid run id {run_id!r}: a run id is one folder name "
                                     "(letters, digits, '.', '_', '-')")
        root = self.runs_dir.resolve()
        path = (root / run_id).resolve()
        if path.parent != root or not is_run_dir(path):
            raise web.HTTPError(404, f"no run {run_id!r} in {root}")
        return RunHandle(path)

    async def blocking(self, fn, *args):
        """Run file reading (and report building) off the server's event loop."""
        return await IOLoop.current().run_in_executor(None, fn, *args)

    def finish_report(self, html: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        # a report has no scripts; keep it that way when it is opened directly
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        self.finish(html)

    def write_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))


class EnvironmentHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.write_json({"version": __version__, "runs_dir": str(self.runs_dir), "kernel": self._kernel()})

    def _kernel(self) -> str | None:
        """The kernelspec that runs this server's own Python (where ft-lab is installed)."""
        try:
            specs = self.kernel_spec_manager.get_all_specs()
        except Exception:  # a broken kernelspec elsewhere must not hide ft-lab's
            return None
        exe = Path(sys.executable).resolve()
        same = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
        names = sorted(specs, key=lambda n: (n != "python3", n))
        for name in names:
            argv = (specs[name].get("spec") or {}).get("argv") or []
            if argv and (argv[0] in same or _same_file(argv[0], exe)):
                return name
        return None


def _same_file(cmd: str, exe: Path) -> bool:
    try:
        return Path(cmd).resolve() == exe
    except OSError:
        return False


def _plugins() -> dict:
    reg = load_registry(strict=False)
    data = reg.as_json()
    builtin = {p.name: p.builtin for p in reg.plugins}
    for p in data["plugins"]:
        p.setdefault("builtin", builtin.get(p["name"], False))
    return data


class PluginsHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.write_json(await self.blocking(_plugins))


class RunsHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self):
        def summaries():
            root = self.runs_dir.resolve()
            # a symlink in the runs folder that leads out of it is no run of this folder
            served = servers(self.settings)
            runs = [run_row(h, self.root_dir, served) for h in list_runs(root)
                    if h.dir.parent == root and not h.info.get("search")]  # a search's trials: its one row
            return runs, searches_summary(root)
        runs, searches = await self.blocking(summaries)
        self.write_json({"runs_dir": str(self.runs_dir), "runs": runs, "searches": searches})


class RunHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id):
        handle = self.run_handle(run_id)
        self.write_json(await self.blocking(run_row, handle, self.root_dir, servers(self.settings)))


class EventsHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id):
        handle = self.run_handle(run_id)
        raw = self.get_query_argument("since", "-1")
        try:
            since = int(raw)
        except ValueError:
            raise web.HTTPError(400, f"since={raw!r}: expected a step number (an integer; -1 for all events)")
        self.write_json(await self.blocking(events_since, handle, since))


class ReportHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id):
        handle = self.run_handle(run_id)
        try:
            html = await self.blocking(build_report, handle.dir)
        except UserError as exc:
            raise web.HTTPError(409, str(exc))
        self.finish_report(html)


class SearchReportHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        if not RUN_ID.fullmatch(name) or ".." in name:
            raise web.HTTPError(400, f"invalid search name {name!r}: one folder name (letters, digits, '.', '_', '-')")
        root = (self.runs_dir / "searches").resolve()
        folder = (root / name).resolve()
        if folder.parent != root or not is_search_folder(folder):
            raise web.HTTPError(404, f"no search {name!r} in {root}")
        self.finish_report(await self.blocking(build_search_report, folder))


class RecipeHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id):
        handle = self.run_handle(run_id)
        path = handle.layout.recipe
        if not path.is_file():
            raise web.HTTPError(404, f"run {run_id!r} has no recipe.yaml")
        self.set_header("Content-Type", "text/yaml; charset=utf-8")
        self.finish(path.read_text(encoding="utf-8"))


class StopHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id):
        handle = self.run_handle(run_id)
        status = await self.blocking(lambda: handle.status)
        if status not in STOPPABLE:
            raise web.HTTPError(409, f"run {run_id!r} is {status}; there is nothing to stop")
        handle.stop()
        self.log.info("ft-lab: stop requested for run %s", run_id)
        self.write_json({"id": handle.id, "status": status, "stop_requested": True}, status=202)


def example_folders() -> list[Path]:
    """The example notebooks: a checkout's (an editable install: the shared-data copy made at install time
    may be older), else <prefix>/share/ft-lab/examples (the wheel's shared data)."""
    checkout = Path(__file__).resolve().parent.parent.parent / "example_notebooks"
    return [p for p in (checkout, Path(sys.prefix) / "share" / "ft-lab" / "examples") if p.is_dir()]


#: listed first, so that the Examples dialog starts on it
FIRST_EXAMPLE = "quickstart.ipynb"


def _examples() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in example_folders():
        for path in sorted(folder.glob("*.ipynb"), key=lambda p: (p.name != FIRST_EXAMPLE, p.name)):
            found.setdefault(path.name, path)
    return found


def example_title(path: Path) -> str:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells") or []
    except (OSError, ValueError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source") or "").strip()
            if text:
                return text.splitlines()[0].lstrip("# ").strip()
    return path.stem


class ExamplesHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.write_json({"examples": [{"name": name, "title": example_title(path)} for name, path in _examples().items()]})


class ExampleHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        path = _examples().get(name)  # only names listed above: nothing else is read
        if path is None:
            raise web.HTTPError(404, f"no example notebook {name!r}")
        self.set_header("Content-Type", "application/json")
        self.finish(path.read_text(encoding="utf-8"))


def handlers(base_url: str) -> list[tuple]:
    api = url_path_join(base_url, "ft-lab", "api")
    run = api + "/runs/([^/]+)"
    return [
        (api + "/environment", EnvironmentHandler),
        (api + "/plugins", PluginsHandler),
        (api + "/runs", RunsHandler),
        (run, RunHandler),
        (run + "/events", EventsHandler),
        (run + "/report", ReportHandler),
        (run + "/recipe", RecipeHandler),
        (run + "/stop", StopHandler),
        (api + "/searches/([^/]+)/report", SearchReportHandler),
        (api + "/examples", ExamplesHandler),
        (api + "/examples/([^/]+)", ExampleHandler),
    ]
