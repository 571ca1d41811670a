"""The Serve section (in the Studio's Export step): start and stop ``ft-lab serve`` on a completed run (or
an export folder), see its URL, where its key is and how a client sends it, and try it with one message.

    panel = ServePanel("runs")
    panel.run.value = "runs/<id>"           # or panel.folder.value = "exports/merged"
    panel.start_button.click(); panel.wait_started(300)
    panel.prompt.value = "my card was stolen"; panel.send_button.click()   # panel.answer.value
    panel.stop_button.click()

The server is a child process (``ft_lab.serving.process``), stopped with Stop or when the kernel exits;
its requests land in ``SERVE_DIR/requests.sqlite``, which the Monitor view below it reads. The key is
never shown (it would be saved with the notebook): a new key goes to ``SERVE_DIR/api-key``, readable by
you only.
"""
from __future__ import annotations

import html
import threading
from pathlib import Path

import ipywidgets as W

from ..errors import UserError
from ..safety.atomic import read_json
from ..serving.client import ask
from ..serving.process import ServeProcess, new_key_file, read_key
from ..serving.security import KEY_ENV
from ..serving.start import default_serve_dir
from .forms import row
from .playground import JobPanel
from .state import problems_html

_E = html.escape
KEYS = (("new key (a file in the serve folder)", "new"), ("key file", "file"), (f"${KEY_ENV}", "env"),
        ("no key (this machine only)", "none"))


class ServePanel(JobPanel):
    def __init__(self, runs_dir=None):
        super().__init__(runs_dir, label_width="110px")
        style, wide = {"description_width": "110px"}, W.Layout(width="520px", min_width="300px")
        self.folder = W.Text(description="or export", placeholder="a folder of ft-lab export (instead of a run)",
                             style=style, layout=wide)
        self.serve_dir = W.Text(description="Serve folder", placeholder="serving/<name> (the request log)",
                                style=style, layout=wide)
        self.host = W.Text(value="127.0.0.1", description="Address", style=style,
                           tooltip="127.0.0.1: this machine only; another address needs a key")
        self.port = W.BoundedIntText(value=0, min=0, max=65535, description="Port", style={"description_width": "40px"},
                                     tooltip="0: a free port", layout=W.Layout(width="150px"))
        self.key = W.Dropdown(options=KEYS, value="new", description="API key", style=style)
        self.key_file = W.Text(description="key file", placeholder="first line: the key", style=style)
        self.certfile = W.Text(description="TLS cert", placeholder="certificate (PEM), optional", style=style)
        self.keyfile = W.Text(description="TLS key", placeholder="its private key (PEM)", style=style)
        self.start_button = W.Button(description="Start serving", icon="play", button_style="primary")
        self.stop_button = W.Button(description="Stop", icon="stop", disabled=True)
        self.start_button.add_class("ft-lab-serve-start")
        self.stop_button.add_class("ft-lab-serve-stop")
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.status.add_class("ft-lab-serve-status")
        self.prompt = W.Text(description="Try it", placeholder="a message (or a text to classify)", style=style,
                             layout=wide)
        self.max_tokens = W.BoundedIntText(value=48, min=1, max=4096, description="tokens",
                                           style={"description_width": "50px"}, layout=W.Layout(width="140px"))
        self.send_button = W.Button(description="Send", icon="paper-plane", disabled=True)
        self.send_button.on_click(lambda _b: self.send())
        self.answer = W.HTML()
        self.answer.add_class("ft-lab-serve-answer")
        self.server: ServeProcess | None = None
        self.on_started: list = []  # callbacks(serve_dir) once the server listens
        self.on_request: list = []  # callbacks(serve_dir) after a try-it request
        self._ready = threading.Event()
        self.key.observe(lambda _c: self._show_key_file(), names="value")
        self.children = [W.HTML("<h3>Serve</h3><span style='color:#555'>An OpenAI-compatible API on this machine "
                                "(<code>ft-lab serve</code>); every request is logged, PII-masked, for the Monitor "
                                "step.</span>"),
                         self.run, self.folder, self.serve_dir, row(self.host, self.port),
                         row(self.key, self.key_file), row(self.certfile, self.keyfile),
                         row(self.start_button, self.stop_button), self.status,
                         row(self.prompt, self.max_tokens, self.send_button), self.answer]
        self.add_class("ft-lab-serve-panel")
        self._show_key_file()
        self.refresh()

    def _show_key_file(self) -> None:
        self.key_file.layout.display = None if self.key.value == "file" else "none"

    def source(self) -> str | None:
        return self.folder.value.strip() or self.run.value

    # --- start / stop ----------------------------------------------------------------------------
    def start(self) -> ServeProcess | None:
        if self.server is not None and self.server.running:
            return self.server
        if not self.folder.value.strip() and not self.run.value:
            self.refresh()
        source = self.source()
        problems = [] if source else ["no completed run yet: train one, or give an export folder"]
        if self.key.value == "file" and not self.key_file.value.strip():
            problems.append("key file: give the file whose first line is the key")
        if bool(self.certfile.value.strip()) != bool(self.keyfile.value.strip()):
            problems.append("TLS: give both the certificate and its key, or neither")
        if problems:
            self.status.value = problems_html(problems)
            return None
        serve_dir = Path(self.serve_dir.value.strip() or default_serve_dir(source))
        self.serve_dir.value = str(serve_dir)
        key_file = {"new": lambda: new_key_file(serve_dir), "file": lambda: self.key_file.value.strip()}.get(
            self.key.value, lambda: None)()
        self.server = ServeProcess(source, serve_dir, host=self.host.value.strip() or "127.0.0.1",
                                   port=self.port.value or None, api_key_file=key_file,
                                   no_key=self.key.value == "none", certfile=self.certfile.value.strip() or None,
                                   keyfile=self.keyfile.value.strip() or None).start()
        self._ready.clear()
        self.start_button.disabled, self.stop_button.disabled, self.send_button.disabled = True, False, True
        self.status.value = "<i style='color:#06c'>starting (loading the model) ...</i>"
        threading.Thread(target=self._wait_listening, args=(self.server,), daemon=True,
                         name="ft-lab-serve-start").start()
        return self.server

    def _wait_listening(self, server: ServeProcess) -> None:
        try:
            server.wait_listening()
        except UserError as exc:
            if server is self.server:
                self.status.value = problems_html([str(exc)])
                self.start_button.disabled, self.stop_button.disabled = False, True
            self._ready.set()
            return
        if server is self.server:
            self.status.value = self.serving_html()
            self.send_button.disabled = False
            for callback in self.on_started:
                callback(server.serve_dir)
        self._ready.set()

    def wait_started(self, timeout: float | None = 300) -> bool:
        """Block until the server listens (True) or has failed (False, said in ``status``)."""
        self._ready.wait(timeout)
        return self.server is not None and self.server.running and not self.send_button.disabled

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.status.value = f"<span style='color:#555'>stopped; the request log stays in " \
                                f"<code>{_E(str(self.server.serve_dir))}</code></span>"
        self.start_button.disabled, self.stop_button.disabled, self.send_button.disabled = False, True, True

    def serving_html(self) -> str:
        s = self.server
        if s.api_key_file:
            key_line = (f"key: first line of <code>{_E(str(s.api_key_file))}</code> (readable by you only; never "
                        "shown here)")
            key_code = f'open("{s.api_key_file}").read().strip()'
        elif s.no_key:
            key_line, key_code = "no key: anyone on this machine can call it", '"none"'
        else:
            key_line, key_code = f"key: <code>${KEY_ENV}</code>", f'os.environ["{KEY_ENV}"]'
        tls = (f', http_client=httpx.Client(verify="{s.certfile}")' if s.certfile else "")
        snippet = f'client = openai.OpenAI(base_url="{s.url}", api_key={key_code}{tls})'
        return (f"<div style='color:#070'>serving at <code class='ft-lab-serve-url'>{_E(s.url)}</code> · "
                f"request log <code>{_E(str(s.serve_dir / 'requests.sqlite'))}</code></div>"
                f"<div>{key_line}; clients send <code>Authorization: Bearer KEY</code></div>"
                f"<pre style='margin:2px 0;white-space:pre-wrap'>{_E(snippet)}</pre>")

    # --- try it ----------------------------------------------------------------------------------
    def send(self) -> dict | None:
        s = self.server
        if s is None or not s.running:
            self.answer.value = problems_html(["start the server first"])
            return None
        if not self.prompt.value.strip():
            self.answer.value = problems_html(["type a message first"])
            return None
        kind = (read_json(s.serve_dir / "served.json", None) or {}).get("kind", "generation")
        try:
            result = ask(s.url, self.prompt.value, key=None if s.no_key else read_key(s.api_key_file), kind=kind,
                         max_tokens=self.max_tokens.value, cafile=s.certfile)
        except (UserError, OSError) as exc:
            self.answer.value = problems_html([str(exc)])
            return None
        extra = f" (p={result['probability']:.2f})" if result["probability"] is not None else ""
        self.answer.value = (f"<div><b>{_E(str(result['answer']))}</b>{_E(extra)}</div><span style='color:#555'>"
                             f"{result['ms']:.0f} ms · request <code>{_E(result['id'])}</code></span>")
        for callback in self.on_request:
            callback(s.serve_dir)
        return result
