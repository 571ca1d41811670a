"""Serve a completed run from the JupyterLab sidebar: ``ft-lab serve`` in a child process of the Jupyter
server, on a free 127.0.0.1 port, with a new key in ``<root>/serving/<run id>/api-key`` (readable by the
server's user only; the API answers where the key is, never the key).

    POST   /ft-lab/api/runs/<id>/serve    start serving a completed run (202: starting)
    DELETE /ft-lab/api/runs/<id>/serve    stop it (the request log stays in the serve folder)

``GET /ft-lab/api/runs`` gives each served run's ``serving``: state (starting, serving, failed, stopped),
url, key file, serve folder and error. The servers stop with the Jupyter server.
"""
from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..rundir.status import COMPLETED
from ..serving.process import ServeProcess, new_key_file
from .handlers import FtLabHandler
from .summary import servers, serving_summary



class ServeHandler(FtLabHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id):
        handle = self.run_handle(run_id)
        running = servers(self.settings).get(handle.id)
        if running is not None and running.running:
            self.write_json({"id": handle.id, "serving": serving_summary(running, self.root_dir)}, status=200)
            return
        status = await self.blocking(lambda: handle.status)
        if status != COMPLETED:
            raise web.HTTPError(409, f"run {run_id!r} is {status}; only a completed run can be served")
        serve_dir = self.root_dir / "serving" / handle.id
        server = ServeProcess(handle.dir, serve_dir, api_key_file=new_key_file(serve_dir)).start()
        servers(self.settings)[handle.id] = server
        self.log.info("ft-lab: serving run %s at %s", handle.id, server.url)
        self.write_json({"id": handle.id, "serving": serving_summary(server, self.root_dir)}, status=202)

    @web.authenticated
    @authorized
    async def delete(self, run_id):
        handle = self.run_handle(run_id)
        server = servers(self.settings).pop(handle.id, None)
        if server is None:
            raise web.HTTPError(404, f"run {run_id!r} is not served from here")
        await self.blocking(server.stop)
        self.log.info("ft-lab: stopped serving run %s", handle.id)
        self.write_json({"id": handle.id, "serving": serving_summary(server, self.root_dir)})


def serve_handlers(base_url: str) -> list[tuple]:
    return [(url_path_join(base_url, "ft-lab", "api", "runs", "([^/]+)", "serve"), ServeHandler)]
