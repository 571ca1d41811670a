"""The engines behind ``ft-lab serve``: existing OpenAI-compatible servers, not one written here.

- ``transformers``: transformers' own server (``transformers serve``; its FastAPI app, its chat and
  completion handlers), built in this process around the model folder and wrapped by app.py.
- ``vllm``: ``vllm serve`` started as a subprocess on a private loopback port (the run's adapter as a LoRA
  module under the run's name, or the merged folder), which app.py reaches through ``ProxyEngine``.

    engine = choose_engine("auto")          # "vllm" where it is installed with a GPU, else "transformers"
    app = transformers_engine(folder)       # an ASGI app
    vllm_command(served, port=8100)         # ["vllm", "serve", ...]
"""
from __future__ import annotations

import importlib.util
import json

from ..errors import UserError
from ..models.model_loading import resolve_source
from ..workflows.export import vllm_args

ENGINES = ("auto", "transformers", "vllm")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def choose_engine(name: str) -> str:
    has_vllm = importlib.util.find_spec("vllm") is not None
    if name == "vllm":
        if not has_vllm:
            raise UserError("--engine vllm: vLLM is not installed (pip install vllm, on a machine with an NVIDIA "
                            "GPU); use --engine transformers")
        if not _cuda():
            raise UserError("--engine vllm: no CUDA GPU is visible; use --engine transformers")
        return "vllm"
    if name == "auto" and has_vllm and _cuda():
        return "vllm"
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        raise UserError("--engine transformers: transformers' server needs fastapi, uvicorn, pydantic and openai: "
                        "pip install 'ft-lab[serve]'")
    return "transformers"


def transformers_engine(folder, device: str = "auto"):
    """transformers' OpenAI-compatible app (``transformers serve``) pinned to the model in ``folder``."""
    from transformers.cli.serving.chat_completion import ChatCompletionHandler
    from transformers.cli.serving.completion import CompletionHandler
    from transformers.cli.serving.model_manager import ModelManager
    from transformers.cli.serving.response import ResponseHandler
    from transformers.cli.serving.server import build_server
    from transformers.cli.serving.systemone import SystemOneHandler
    from transformers.cli.serving.transcription import TranscriptionHandler
    from transformers.cli.serving.utils import GenerationState

    manager = ModelManager(device=device, dtype="auto", force_model=str(folder))
    state = GenerationState(continuous_batching=False, compile=False, cb_config=None)
    app = build_server(
        manager, ChatCompletionHandler(model_manager=manager, generation_state=state, chat_template_kwargs={}),
        completion_handler=CompletionHandler(model_manager=manager, generation_state=state),
        response_handler=ResponseHandler(model_manager=manager, generation_state=state, chat_template_kwargs={}),
        transcription_handler=TranscriptionHandler(manager, state),
        systemone_handler=SystemOneHandler(model_manager=manager, generation_state=state, chat_template_kwargs={},
                                           decision_config=None),
        generation_state=state)
    return app, str(folder)


def vllm_command(served, port: int, host: str = "127.0.0.1") -> list[str]:
    """``vllm serve`` for the served model: a run's peft LoRA adapter as a LoRA module named after the run
    (over the recipe's base model), else the merged or exported folder under the run's name."""
    adapter = served.run_dir / "final" if served.run_dir is not None else None
    config = json.loads((adapter / "adapter_config.json").read_text()) \
        if adapter is not None and (adapter / "adapter_config.json").is_file() else {}
    if config.get("peft_type") == "LORA":
        cmd = vllm_args(str(resolve_source(served.recipe.model)), served.name, str(adapter), config.get("r", 16))
    else:
        cmd = vllm_args(str(served.model_folder), served.name)
    return cmd + ["--host", host, "--port", str(port)]


class ProxyEngine:
    """An ASGI app that forwards each request to an OpenAI-compatible server at ``base_url`` (vLLM's),
    streaming the answer back as it comes."""

    def __init__(self, base_url: str, model: str):
        import httpx

        self.model = model
        self._client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(600.0, connect=10.0))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    await self._client.aclose()
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in (b"content-type", b"x-request-id")}
        request = self._client.build_request(scope["method"], scope["path"], content=body, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()
                                    if k.lower() in ("content-type",)]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
