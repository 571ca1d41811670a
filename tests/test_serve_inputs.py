"""``ft-lab serve`` refusals (one line, exit 2, before any model loads), the rate limiter and the vLLM command."""
from __future__ import annotations

import socket

import pytest

from ft_lab.cli import main
from serve_support import KEY, free_port


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("FT_LAB_API_KEY", KEY)


def _refused(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for w in words:
        assert w in err, err
    return err


def test_refusals(tmp_path, tiny_model_dir, capsys, monkeypatch, key_env):
    serve = ["serve", str(tiny_model_dir), "--serve-dir", str(tmp_path / "s")]
    _refused(capsys, [*serve, "--engine", "vllm", "--port", str(free_port())], "vLLM is not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _refused(capsys, [*serve, "--port", str(port)], f"--port {port}", "choose another port")
    _refused(capsys, [*serve, "--certfile", str(tmp_path / "c.pem")], "--keyfile go together")
    _refused(capsys, ["serve", str(tmp_path / "nothing")], "no such run directory")
    monkeypatch.delenv("FT_LAB_API_KEY")
    _refused(capsys, serve, "no API key", "FT_LAB_API_KEY")
    _refused(capsys, [*serve, "--no-key", "--host", "0.0.0.0"], "--host 0.0.0.0", "non-loopback")
    (tmp_path / "short").write_text("abc\n")
    _refused(capsys, [*serve, "--api-key-file", str(tmp_path / "short")], "shorter than 8")
    assert not (tmp_path / "s").exists()


def test_refuses_unfinished_run(tmp_path, banking_csv, capsys, key_env):
    from ft_lab.core.recipe import Recipe
    from ft_lab.workflows.runner import create_run

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"task: classification\ndata: {{path: {banking_csv}, columns: {{label: category}}}}\n")
    run_dir = create_run(Recipe.from_yaml(recipe), tmp_path / "runs")
    _refused(capsys, ["serve", str(run_dir), "--serve-dir", str(tmp_path / "s"), "--port", str(free_port())],
             "not completed")
    assert not (tmp_path / "s").exists()


def test_monitor_refuses_a_folder_without_log(tmp_path, capsys):
    _refused(capsys, ["monitor", str(tmp_path)], "requests.sqlite")
    _refused(capsys, ["monitor", "export", str(tmp_path)], "--out")


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
