"""One request to a running ``ft-lab serve``, as the Studio's try-it box sends it: a chat message to a
generation model, a text to ``/v1/classify`` for a classifier.

    ask("http://127.0.0.1:8000/v1", "my card is lost", key="...", kind="generation")
    # {"id": "chatcmpl-...", "answer": "...", "label": None, "probability": None, "ms": 812.4}

Over TLS the server's certificate is checked against the system's authorities plus ``cafile`` (the
certificate itself when it is self-signed): nothing is sent to a server that fails the check.
"""
from __future__ import annotations

import ssl
import time

from ..errors import UserError


def tls_context(cafile=None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(str(cafile))
    return context


def ask(url: str, text: str, key: str | None = None, kind: str = "generation", max_tokens: int = 48,
        cafile=None, timeout: float = 300) -> dict:
    import httpx

    if kind == "classification":
        path, body = "/classify", {"input": text}
    else:
        path, body = "/chat/completions", {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    start = time.monotonic()
    try:
        with httpx.Client(verify=tls_context(cafile), timeout=timeout) as client:
            response = client.post(url.rstrip("/") + path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise UserError(f"{url}: {exc}") from None
    ms = (time.monotonic() - start) * 1000
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        message = (data.get("error") or {}).get("message") if isinstance(data, dict) else None
        raise UserError(f"{url}{path}: {response.status_code} {message or response.text[:200]}")
    if kind == "classification":
        first = data["data"][0]
        return {"id": first["id"], "answer": first["label"], "label": first["label"],
                "probability": first["probability"], "ms": ms}
    return {"id": data["id"], "answer": data["choices"][0]["message"]["content"], "label": None,
            "probability": None, "ms": ms}
