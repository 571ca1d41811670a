"""``ft-lab serve`` refusals (one line, exit 2, before any model loads), the rate limiter and the vLLM command."""
from __future__ import annotations

import socket

import pytest

from ft_lab.cli import main
from serve_support import KEY, free_port


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("FT_LAB_API_KEY", KEY)


def _one_line(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for w in words:
        assert w in err, err


def test_refusals(tmp_path, tiny_model_dir, capsys, monkeypatch, key_env):
    model, folder = str(tiny_model_dir), str(tmp_path / "s")
    assert main(["serve", model, "--serve-dir", folder, "--engine", "vllm", "--port", str(free_port())]) == 2
    _one_line(capsys, "vLLM is not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", model, "--serve-dir", folder, "--port", str(port)]) == 2
        _one_line(capsys, f"--port {port}", "choose another port")
    assert main(["serve", model, "--serve-dir", folder, "--certfile", str(tmp_path / "c.pem")]) == 2
    _one_line(capsys, "--keyfile go together")
    assert main(["serve", model, "--serve-dir", folder, "--keyfile", str(tmp_path / "k.pem")]) == 2
    _one_line(capsys, "--keyfile go together")
    assert main(["serve", str(tmp_path / "nothing"), "--port", str(free_port())]) == 2
    _one_line(capsys, "no such run directory")
    monkeypatch.delenv("FT_LAB_API_KEY")
    assert main(["serve", model, "--serve-dir", folder]) == 2
    _one_line(capsys, "no API key", "FT_LAB_API_KEY")
    assert main(["serve", model, "--serve-dir", folder, "--no-key", "--host", "0.0.0.0"]) == 2
    _one_line(capsys, "--host 0.0.0.0", "non-loopback")
    (tmp_path / "short").write_text("abc\n")
    assert main(["serve", model, "--serve-dir", folder, "--api-key-file", str(tmp_path / "short")]) == 2
    _one_line(capsys, "shorter than 8")
    assert not (tmp_path / "s").exists()


def test_refuses_unfinished_run(tmp_path, banking_csv, capsys, key_env):
    from ft_lab.core.recipe import Recipe
    from ft_lab.workflows.runner import create_run

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"task: classification\ndata: {{path: {banking_csv}, columns: {{label: category}}}}\n")
    run_dir = create_run(Recipe.from_yaml(recipe), tmp_path / "runs")
    assert main(["serve", str(run_dir), "--serve-dir", str(tmp_path / "s"), "--port", str(free_port())]) == 2
    _one_line(capsys, "not completed")
    assert not (tmp_path / "s").exists()


def test_monitor_refuses_a_folder_without_log(tmp_path, capsys):
    assert main(["monitor", str(tmp_path)]) == 2
    _one_line(capsys, "requests.sqlite")
    assert main(["monitor", "export", str(tmp_path)]) == 2
    _one_line(capsys, "--out")


def test_in_process_no_text_rate_limit_and_404(tmp_path, tiny_model_dir):
    """The app itself (starlette's test client, no socket): --no-store-text keeps figures only, the rate
    limit answers 429, unknown paths 404, /health needs no key."""
    from starlette.testclient import TestClient

    from ft_lab.serving.app import Limits
    from ft_lab.serving.start import ServeOptions, build_app
    from ft_lab.serving.store import RequestLog

    options = ServeOptions(no_key=True, store_text=False, serve_dir=str(tmp_path / "s"), port=free_port(),
                           limits=Limits(rate_per_minute=3))
    app, folder, _ = build_app(tiny_model_dir, options, announce=lambda m: None)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        ok = client.post("/v1/completions", json={"prompt": "write to a@b.jp", "max_tokens": 2})
        assert ok.status_code == 200 and ok.json()["model"] == "tiny-v1"
        assert client.get("/v1/nothing").status_code == 404
        assert client.post("/v1/completions", json={"prompt": "x", "max_tokens": 2}).status_code == 200
        assert client.get("/v1/models").status_code == 429
    (row,) = [r for r in RequestLog(folder).requests() if r["status"] == 200][:1]
    assert row["input_text"] is None and row["output_text"] is None and row["completion_tokens"] >= 1


def test_rate_limiter_window():
    from ft_lab.serving.security import RateLimiter

    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    now[0] = 60.5
    assert limiter.allow("a")
    assert all(RateLimiter(0).allow("a") for _ in range(100))


def test_vllm_command_serves_the_adapter_under_the_run_name(completed_classification_run):
    from ft_lab.serving.engines import vllm_command
    from ft_lab.serving.source import Served
    from ft_lab.rundir.reader import RunFiles

    run = completed_classification_run.dir
    served = Served(name=run.name, kind="generation", source=run, run_dir=run, recipe=RunFiles(run).recipe())
    cmd = vllm_command(served, port=8100)
    assert cmd[:2] == ["vllm", "serve"] and "--enable-lora" in cmd
    assert cmd[cmd.index("--lora-modules") + 1] == f"{run.name}={run / 'final'}"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "8100"
