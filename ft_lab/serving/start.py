"""``ft-lab serve``: check everything that can be checked, load the model, then listen.

    serve("runs/r1", ServeOptions(port=8000, api_key_file="key.txt"))

Checks come before any model is loaded, each a one-line error: the source (a completed run, or an export
folder), the key and the address, the TLS files, the port, the engine.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..safety.atomic import atomic_write_json
from .app import Limits, ServeApp
from .classifier import Classifier
from .drift import FILE as DRIFT_FILE, DriftIndex
from .engines import ProxyEngine, choose_engine, transformers_engine, vllm_command
from .security import check_bind, check_port_free, check_tls, load_api_key
from .source import open_source
from .store import RequestLog


GRACEFUL_SHUTDOWN_S = 5  # answers in flight get this long to finish when the server is stopped


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    engine: str = "auto"
    api_key_file: str | None = None
    no_key: bool = False
    serve_dir: str | None = None
    store_text: bool = True
    certfile: str | None = None
    keyfile: str | None = None
    device: str = "auto"
    limits: Limits = field(default_factory=Limits)


def default_serve_dir(source) -> Path:
    return Path("serving") / Path(source).resolve().name


def build_app(source, options: ServeOptions, announce=print):
    """The checked, loaded ``ServeApp`` (and a vLLM process to stop, if one was started)."""
    key = load_api_key(options.api_key_file)
    check_bind(options.host, key, options.no_key)
    check_tls(options.certfile, options.keyfile)
    check_port_free(options.host, options.port)
    engine_name = choose_engine(options.engine)
    serve_dir = Path(options.serve_dir) if options.serve_dir else default_serve_dir(source)
    served = open_source(source, serve_dir)
    serve_dir.mkdir(parents=True, exist_ok=True)
    log = RequestLog(serve_dir)
    atomic_write_json(serve_dir / "served.json", {"name": served.name, "kind": served.kind,
                                                  "source": str(served.source), "labels": served.labels})
    drift = None
    if served.train_texts:
        drift = DriftIndex(served.train_texts)
        atomic_write_json(serve_dir / DRIFT_FILE, drift.calibrate(served.held_out_texts))
    process, engine, engine_model, classifier = None, None, None, None
    if served.kind == "classification":
        classifier = Classifier.load(served)
    elif engine_name == "transformers":
        engine, engine_model = transformers_engine(served.model_folder, options.device)
    else:
        port = _free_port()
        process = subprocess.Popen(vllm_command(served, port), stdout=sys.stderr, stderr=sys.stderr)
        announce(f"waiting for vLLM on 127.0.0.1:{port}")
        _wait_for_port(port, process)
        engine, engine_model = ProxyEngine(f"http://127.0.0.1:{port}", served.name), served.name
    app = ServeApp(served, engine, engine_model, log, key, options.limits, options.store_text, classifier, drift)
    return app, serve_dir, process


def serve(source, options: ServeOptions, announce=print) -> int:
    import uvicorn

    app, serve_dir, process = build_app(source, options, announce)
    scheme = "https" if options.certfile else "http"
    announce(f"serving {app.served.name} ({app.served.kind}) at {scheme}://{options.host}:{options.port}/v1 "
             f"(request log: {serve_dir / 'requests.sqlite'}; stop with Ctrl+C)")
    try:
        # a client that keeps its connection open (an idle keep-alive) must not hold a stop for long
        uvicorn.run(app, host=options.host, port=options.port, log_level="warning", access_log=False,
                    ssl_certfile=options.certfile, ssl_keyfile=options.keyfile, lifespan="on",
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process, timeout: float = float(os.environ.get("FT_LAB_ENGINE_TIMEOUT", 900))) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"--engine vllm: vLLM exited with status {process.returncode} before listening; "
                            f"see its output above")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    process.terminate()
    raise UserError(f"--engine vllm: not listening after {timeout:g} s")
