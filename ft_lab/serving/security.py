"""Security defaults of ``ft-lab serve``: where it listens, the API key, TLS files and request limits.

- It listens on 127.0.0.1 unless ``--host`` says otherwise, and refuses a non-loopback address without a key.
- The key comes from ``$FT_LAB_API_KEY`` or ``--api-key-file``; it is compared in constant time and never
  printed or stored (the request log holds no headers).
- ``--certfile``/``--keyfile`` turn on TLS (uvicorn's); both or neither.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import time
from collections import defaultdict, deque
from pathlib import Path

from ..errors import UserError

KEY_ENV = "FT_LAB_API_KEY"


def load_api_key(key_file: str | None) -> str | None:
    """The key from ``key_file`` (first line) or ``$FT_LAB_API_KEY``; None when neither is set."""
    if key_file:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise UserError(f"--api-key-file {path}: no such file; write the key on its first line")
        key = path.read_text(encoding="utf-8").strip().splitlines()[0].strip() if path.stat().st_size else ""
        if len(key) < 8:
            raise UserError(f"--api-key-file {path}: the key is shorter than 8 characters; use a long random key")
        return key
    key = os.environ.get(KEY_ENV, "").strip()
    if key and len(key) < 8:
        raise UserError(f"${KEY_ENV}: the key is shorter than 8 characters; use a long random key")
    return key or None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, key: str | None, no_key: bool) -> None:
    if key is None and not no_key:
        raise UserError(f"no API key: set ${KEY_ENV} or pass --api-key-file FILE "
                        f"(or --no-key to serve without one on a loopback address)")
    if key is None and not is_loopback(host):
        raise UserError(f"--host {host}: refusing to serve a non-loopback address without an API key; "
                        f"set ${KEY_ENV} or pass --api-key-file FILE")


def check_tls(certfile: str | None, keyfile: str | None) -> None:
    if bool(certfile) != bool(keyfile):
        raise UserError("--certfile and --keyfile go together: give both for TLS, or neither")
    for flag, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path and not Path(path).expanduser().is_file():
            raise UserError(f"{flag} {path}: no such file")


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                            f"choose another port") from None


def key_matches(header: bytes | None, key: str | None) -> bool:
    """``Authorization: Bearer KEY`` against the server's key (always true when serving without a key)."""
    if key is None:
        return True
    if not header or not header.startswith(b"Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip(), key.encode())


class RateLimiter:
    """At most ``per_minute`` requests per client address in any 60 s window (0: no limit)."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self._seen: dict[str, deque] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        if self.per_minute <= 0:
            return True
        now, seen = self.clock(), self._seen[client]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True
