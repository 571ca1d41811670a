"""Start ``ft-lab serve`` as a user would (the console script, a subprocess on a free 127.0.0.1 port), wait
for it to listen, stop it after."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from waiting import wait_for

KEY = "test-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_server(source, serve_dir: Path, *args: str, env: dict | None = None):
    """Yield ``(base_url, process)`` of ``ft-lab serve SOURCE --serve-dir DIR ARGS`` with the key ``KEY``."""
    port = free_port()
    log = open(Path(serve_dir).parent / f"{Path(serve_dir).name}.out", "w")
    exe = Path(sys.executable).with_name("ft-lab")
    proc = subprocess.Popen([str(exe), "serve", str(source), "--port", str(port), "--serve-dir", str(serve_dir), *args],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "FT_LAB_API_KEY": KEY, **(env or {})})

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"ft-lab serve exited with {proc.returncode}: "
                                 + Path(log.name).read_text(encoding="utf-8")[-2000:])
        return _listening(port)

    try:
        wait_for(up, f"ft-lab serve listening on 127.0.0.1:{port}", timeout=180, poll=0.2)
        yield f"http://127.0.0.1:{port}/v1", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by its own key (``cryptography``), and that key."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ft-lab test server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
