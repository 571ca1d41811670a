"""ft-lab's thin layer in front of the engine: auth, limits, the run's defaults, logging, classify, feedback.

    app = ServeApp(served, engine, engine_model, log, api_key="...", limits=Limits())
    uvicorn.run(app, host="127.0.0.1", port=8000)

Routes: ``GET /health`` (no key), ``GET /v1/models``, ``POST /v1/chat/completions`` and ``/v1/completions``
(to the engine; streaming passes through chunk by chunk), ``POST /v1/classify`` (classification runs),
``POST /v1/feedback``. Every other path is 404. Each answered request is one row of the request log, its
texts masked by the run's PII cleaner (or not stored), with its drift figures (drift.py).
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

from .security import RateLimiter, key_matches
from .store import Request, RequestLog

GENERATE = ("/v1/chat/completions", "/v1/completions")


@dataclass
class Limits:
    max_request_bytes: int = 1_000_000
    rate_per_minute: int = 600  # per client address; 0 turns it off
    max_tokens: int = 1024  # per answer
    max_inputs: int = 64  # texts per /v1/classify request


def _error(status: int, message: str, kind: str, code: str | None = None) -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "code": code or kind}}


async def _send_json(send, status: int, payload: dict, headers=()) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class ServeApp:
    def __init__(self, served, engine, engine_model: str | None, log: RequestLog, api_key: str | None,
                 limits: Limits | None = None, store_text: bool = True, classifier=None, drift=None):
        self.served, self.engine, self.engine_model, self.log = served, engine, engine_model, log
        self.api_key, self.limits, self.store_text = api_key, limits or Limits(), store_text
        self.classifier, self.drift = classifier, drift
        self._masker = served.masker()
        self._rate = RateLimiter(self.limits.rate_per_minute)
        names = [engine_model + "@main", engine_model] if engine_model else []
        self._rename = [(json.dumps(n)[1:-1].encode(), served.name.encode()) for n in names]

    # --- ASGI ------------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        status, payload = await self._route(scope, receive, send)
        if status:
            await _send_json(send, status, payload)

    async def _lifespan(self, receive, send):
        if self.engine is not None:
            return await self.engine({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return

    async def _route(self, scope, receive, send) -> tuple[int, dict | None]:
        path, method = scope["path"], scope["method"]
        headers = dict(scope["headers"])
        if path == "/health":
            return 200, {"status": "ok", "model": self.served.name}
        if not key_matches(headers.get(b"authorization"), self.api_key):
            return _error(401, "invalid or missing API key (send Authorization: Bearer KEY)",
                          "invalid_request_error", "invalid_api_key")
        if not self._rate.allow((scope.get("client") or ("?",))[0]):
            return _error(429, f"over {self.limits.rate_per_minute} requests per minute; retry later",
                          "rate_limit_error", "rate_limit_exceeded")
        if path == "/v1/models" and method == "GET":
            return 200, {"object": "list", "data": [{"id": self.served.name, "object": "model", "created": 0,
                                                     "owned_by": "ft-lab", "task": self.served.kind}]}
        if method != "POST" or path not in (*GENERATE, "/v1/classify", "/v1/feedback"):
            return _error(404, f"{method} {path}: not served here", "invalid_request_error", "not_found")
        try:
            raw = await self._read_body(headers, receive)
        except _TooLarge:
            return _error(413, f"request over {self.limits.max_request_bytes} bytes", "invalid_request_error",
                          "request_too_large")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object", "invalid_request_error")
        if path == "/v1/feedback":
            return self._feedback(body)
        if path == "/v1/classify":
            return await self._classify(body)
        return await self._generate(scope, path, body, receive, send)

    async def _read_body(self, headers, receive) -> bytes:
        limit = self.limits.max_request_bytes
        if int(headers.get(b"content-length", b"0") or 0) > limit:
            raise _TooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    # --- helpers ---------------------------------------------------------------------------------
    def _mask(self, text: str | None) -> str | None:
        if text is None or not self.store_text:
            return None
        return self._masker.mask_row({"text": text}, ["text"])["text"]

    def _record(self, rid: str, endpoint: str, status: int, start: float, text: str | None, **fields) -> None:
        masked = self._masker.mask_row({"text": text}, ["text"])["text"] if text else None
        similarity, oov = self.drift.measure(masked) if (self.drift is not None and masked) else (None, None)
        out = fields.pop("output_text", None)
        self.log.add(Request(id=rid, endpoint=endpoint, status=status, model=self.served.name,
                             latency_ms=round((time.perf_counter() - start) * 1000, 2),
                             input_text=masked if self.store_text else None, output_text=self._mask(out),
                             similarity=similarity, oov_rate=oov, **fields))

    # --- /v1/chat/completions, /v1/completions ---------------------------------------------------------
    async def _generate(self, scope, path, body, receive, send) -> tuple[int, dict | None]:
        if self.served.kind != "generation":
            return _error(404, f"{self.served.name} is a classification model: use POST /v1/classify",
                          "invalid_request_error", "not_found")
        model = body.get("model")
        if model not in (None, "", self.served.name):
            return _error(404, f"model '{model}' is not served here; this server serves '{self.served.name}'",
                          "invalid_request_error", "model_not_found")
        body["model"] = self.engine_model
        asked = body.get("max_completion_tokens", body.get("max_tokens"))
        if asked is None:
            body["max_tokens"] = self.served.max_new_tokens
        elif not isinstance(asked, int) or asked > self.limits.max_tokens:
            return _error(400, f"max_tokens {asked!r}: at most {self.limits.max_tokens} here",
                          "invalid_request_error")
        if path == "/v1/chat/completions":
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                return _error(400, "messages: a non-empty list is required", "invalid_request_error")
            if self.served.system_prompt and not any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
                body["messages"] = [{"role": "system", "content": self.served.system_prompt}, *messages]
            text = _message_text(messages)
        else:
            prompt = body.get("prompt")
            text = prompt if isinstance(prompt, str) else " ".join(p for p in prompt or [] if isinstance(p, str))
        rid = f"req-{uuid.uuid4().hex}"
        raw = json.dumps(body).encode()
        inner = dict(scope, headers=[(b"content-type", b"application/json"),
                                     (b"content-length", str(len(raw)).encode()), (b"x-request-id", rid.encode())])
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()  # the body was read: what comes next is the client's disconnect
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        start = time.perf_counter()
        capture = _Capture(send, self._rename,
                           lambda c: self._record(rid, path, c.status, start, text, **c.summary()))
        try:
            await self.engine(inner, replay, capture)
        except Exception as exc:  # noqa: BLE001 - logged as the request's error, answered as a 500
            if not capture.finished:
                self._record(rid, path, 500, start, text, error=type(exc).__name__)
            return (0, None) if capture.started else _error(500, "the engine failed", "server_error")
        return 0, None

    # --- /v1/classify ----------------------------------------------------------------------------
    async def _classify(self, body) -> tuple[int, dict | None]:
        if self.classifier is None:
            return _error(404, f"{self.served.name} is a generation model: use /v1/chat/completions",
                          "invalid_request_error", "not_found")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            return _error(400, "input: a non-empty text or list of texts is required", "invalid_request_error")
        if len(texts) > self.limits.max_inputs:
            return _error(400, f"input: {len(texts)} texts, at most {self.limits.max_inputs} per request",
                          "invalid_request_error")
        rid = f"req-{uuid.uuid4().hex}"
        start = time.perf_counter()
        results = await asyncio.to_thread(self.classifier.predict, texts)
        data = []
        for i, (text, (label, probs)) in enumerate(zip(texts, results)):
            one = rid if len(texts) == 1 else f"{rid}.{i}"
            self._record(one, "/v1/classify", 200, start, text, label=label, probability=probs[label])
            data.append({"index": i, "id": one, "label": label, "probability": probs[label], "probabilities": probs})
        return 200, {"id": rid, "object": "classification", "model": self.served.name, "data": data}

    # --- /v1/feedback ----------------------------------------------------------------------------
    def _feedback(self, body) -> tuple[int, dict]:
        rid, rating = body.get("request_id"), body.get("rating")
        corrected, label = body.get("corrected"), body.get("label")
        if not isinstance(rid, str) or self.log.get(rid) is None:
            return _error(404, f"request_id {rid!r}: no such request in the log", "invalid_request_error", "not_found")
        if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool) or not -1 <= rating <= 5):
            return _error(400, "rating: an integer from -1 to 5 (-1 bad, 1 good, or 1-5 stars)", "invalid_request_error")
        if label is not None and (self.served.labels is None or label not in self.served.labels):
            return _error(400, f"label {label!r}: not one of the model's labels "
                               f"({', '.join(self.served.labels or []) or 'none: a generation model'})",
                          "invalid_request_error")
        if corrected is not None and not isinstance(corrected, str):
            return _error(400, "corrected: a text", "invalid_request_error")
        if rating is None and corrected is None and label is None:
            return _error(400, "give a rating, a corrected answer or a label", "invalid_request_error")
        self.log.feedback(rid, rating, self._masker.mask_row({"text": corrected}, ["text"])["text"]
                          if corrected else None, label)
        return 200, {"request_id": rid, "stored": True}


def _message_text(messages) -> str:
    """The last user message's text (what the monitor compares with the training prompts)."""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content if isinstance(content, str) else ""
    return ""


class _Capture:
    """Passes the engine's answer to the client (the engine's model path renamed to the served name) and
    keeps what the log needs: status, answer text, token counts."""

    def __init__(self, send, rename, on_finish):
        self.send, self.rename, self.on_finish = send, rename, on_finish
        self.status, self.started, self.streaming, self.finished = 500, False, False, False
        self._start, self._chunks = None, []

    def _renamed(self, body: bytes) -> bytes:
        for old, new in self.rename:
            body = body.replace(old, new)
        return body

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.status, self._start = message["status"], message
            return
        if message["type"] != "http.response.body":
            return await self.send(message)
        body = self._renamed(message.get("body", b""))
        self._chunks.append(body)
        if not self.started:
            self.started = True
            headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"]
            self.streaming = any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers)
            if not message.get("more_body"):
                headers.append((b"content-length", str(len(body)).encode()))
            await self.send({**self._start, "headers": headers})
        if not message.get("more_body"):  # logged before the client has the last byte: a client that
            self.finished = True          # reads the log right after its answer finds its request there
            self.on_finish(self)
        await self.send({**message, "body": body})

    def summary(self) -> dict:
        raw = b"".join(self._chunks).decode("utf-8", "replace")
        if self.status >= 400:
            return {"error": raw[:300]}
        out: dict = {}
        try:
            if self.streaming:
                parts = []
                for line in raw.splitlines():
                    if line.startswith("data: ") and line[6:].strip() != "[DONE]":
                        chunk = json.loads(line[6:])
                        for choice in chunk.get("choices") or []:
                            parts.append((choice.get("delta") or {}).get("content") or choice.get("text") or "")
                        if chunk.get("usage"):
                            out["usage"] = chunk["usage"]
                out["output_text"] = "".join(parts)
            else:
                answer = json.loads(raw)
                choice = (answer.get("choices") or [{}])[0]
                out["output_text"] = (choice.get("message") or {}).get("content") or choice.get("text")
                out["usage"] = answer.get("usage")
        except (ValueError, AttributeError):
            return {"error": "unreadable answer from the engine"}
        usage = out.pop("usage", None) or {}
        return {**out, "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens")}
