"""Fault injection on the run engine (tiny model): dead workers, kills at each phase, a damaged
checkpoint, a full disk, two resumes at once, Ctrl-C twice. Every wait is bounded and waits on events."""
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import ft_lab
from ft_lab.workflows import runner as runs
import waiting

FT_LAB = str(Path(sys.executable).with_name("ft-lab"))  # the installed console script
LIMIT = 300  # seconds; generous for a loaded 2-core machine


pytestmark = pytest.mark.usefixtures("no_orphan_workers")


def recipe_for(csv_path, **train):
    settings = {"max_steps": 12, "batch_size": 8, "learning_rate": 0.002, "logging_steps": 2,
                "save_steps": 4, "eval_steps": 6, **train}
    return ft_lab.Recipe(task="classification", data={"path": str(csv_path)}, model={"max_length": 48},
                         method="full", train=settings)


def wait_for(predicate, what: str):
    return waiting.wait_for(predicate, what, timeout=LIMIT, poll=0.02)


def statuses(run_dir) -> list[str]:
    return [e["status"] for e in runs.RunFiles(run_dir).events("status")]


def broken_package(folder: Path) -> Path:
    pkg = folder / "broken" / "transformers"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('transformers is broken here on purpose')\n")
    return folder / "broken"


# --- a worker that dies -------------------------------------------------------------------------
def test_worker_that_cannot_start_fails_the_cli_within_seconds(banking_csv, tmp_path, tiny_model_dir):
    recipe = tmp_path / "recipe.yaml"
    recipe_for(banking_csv).save(recipe)
    env = {**os.environ, "PYTHONPATH": str(broken_package(tmp_path))}
    started = time.monotonic()
    proc = subprocess.run([FT_LAB, "run", str(recipe), "--runs-dir", str(tmp_path / "runs")], env=env,
                          capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert proc.returncode != 0, proc.stdout
    assert "transformers is broken here on purpose" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir()]
    assert statuses(run_dir)[-1] == "failed"
    print(f"failed in {took:.1f}s")


def test_dead_worker_becomes_failed_with_the_log_tail_and_exit_code(banking_csv, monkeypatch, capsys):
    # the worker process dies before it writes any status (as a segfault or OOM kill would)
    monkeypatch.setattr(runs, "worker_command", lambda run_dir, resume, n=1: [
        sys.executable, "-c", "import sys; print('worker output before dying'); sys.exit(3)"])
    handle = ft_lab.run(recipe_for(banking_csv))
    assert handle.wait(timeout=60) == "failed"
    last = handle.last_status_event()
    assert last["reason"] == "worker_died" and last["exit_code"] == 3
    assert "worker output before dying" in last["error"] and last["log_tail"]
    assert statuses(handle.dir) == ["created", "failed"]
    assert runs.open_run(handle.dir).status == "failed"  # recorded once, the same for every reader
    assert statuses(handle.dir) == ["created", "failed"]

    # `ft-lab resume` shows the new attempt only, and ends (non-zero) when its worker dies too
    from ft_lab.cli import main
    assert main(["resume", str(handle.dir)]) == 1
    out, err = capsys.readouterr()
    assert "[resuming]" in out and "[created]" not in out and "exit code 3" in err
    assert statuses(handle.dir) == ["created", "failed", "resuming", "failed"]


def test_a_reused_pid_cannot_make_a_dead_run_look_alive(banking_csv):
    run_dir = runs.create_run(recipe_for(banking_csv))
    (run_dir / "worker.lock").write_text(json.dumps({"pid": os.getpid()}))
    (run_dir / "worker.pid").write_text(str(os.getpid()))  # a live process, but not the run's worker
    runs.append_event(run_dir, {"type": "status", "status": "running"})
    assert runs.open_run(run_dir).status == "failed"
    assert runs.open_run(run_dir).last_status_event()["reason"] == "worker_died"
    assert runs.lock_holder(run_dir) is None


def test_a_live_worker_blocks_a_second_one(banking_csv):
    run_dir = runs.create_run(recipe_for(banking_csv))
    fd = runs.try_lock(run_dir)  # stands for a live worker holding the run
    try:
        runs.append_event(run_dir, {"type": "status", "status": "running"})
        assert runs.open_run(run_dir).status == "running"
        with pytest.raises(ft_lab.UserError, match="still running"):
            ft_lab.resume(run_dir)
        with pytest.raises(ft_lab.UserError, match="already running"):
            runs.start_worker(run_dir)
        proc = subprocess.run([sys.executable, "-m", "ft_lab.workflows.worker", str(run_dir)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and "another worker" in proc.stderr
    finally:
        os.close(fd)
    assert statuses(run_dir) == ["created", "running"]


# --- kills at each phase, a damaged checkpoint: resume is exact ---------------------------------
def kill_when(handle, predicate, what):
    wait_for(lambda: predicate(handle) or handle.status in runs.TERMINAL, what)
    assert handle.status not in runs.TERMINAL, f"the run ended before {what}"
    handle.kill()
    assert handle.status == "failed"
    assert handle.last_status_event()["reason"] == "worker_died"


def test_kills_at_each_phase_and_a_damaged_checkpoint_resume_to_the_uninterrupted_metrics(banking_csv):
    reference = ft_lab.run(recipe_for(banking_csv))
    assert reference.wait(timeout=LIMIT) == "completed", reference.error

    victim = ft_lab.run(recipe_for(banking_csv))
    # 1. during the base model's evaluation
    kill_when(victim, lambda h: any(e.get("phase") == "evaluate_base" for e in h.events("phase")),
              "the base evaluation")
    # 2. during training, after the second checkpoint; that checkpoint is then damaged (truncated)
    victim = ft_lab.resume(victim.dir)
    kill_when(victim, lambda h: len(h.events("checkpoint")) >= 2, "two checkpoints")
    newest = Path(runs.last_checkpoint(victim.dir))
    weights = newest / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    assert runs.last_checkpoint(victim.dir) != str(newest)  # the damaged one is passed over
    # 3. after training, during the final evaluation
    victim = ft_lab.resume(victim.dir)
    kill_when(victim, lambda h: any(e.get("phase") == "evaluate" for e in h.events("phase")),
              "the final evaluation")
    assert (victim.dir / "final").is_dir() and not (victim.dir / "final.partial").exists()
    victim = ft_lab.resume(victim.dir)
    assert victim.wait(timeout=LIMIT) == "completed", victim.error

    a, b = reference.metrics(), victim.metrics()
    assert b["finetuned"] == pytest.approx(a["finetuned"], abs=1e-6)
    assert b["base"] == pytest.approx(a["base"], abs=1e-6)
    assert b["validation_loss"] == pytest.approx(a["validation_loss"], rel=1e-4)
    assert [r["prediction"] for r in victim.predictions()] == [r["prediction"] for r in reference.predictions()]
    logged = [e["step"] for e in victim.events("log")]
    assert max(logged) <= 12  # never a step past max_steps
    assert statuses(victim.dir).count("resuming") == 3


# --- two resumes at once ------------------------------------------------------------------------
def test_two_resumes_at_once_start_one_worker(banking_csv):
    run_dir = runs.create_run(recipe_for(banking_csv))
    results, barrier = [], threading.Barrier(2)

    def attempt():
        barrier.wait(timeout=30)
        try:
            results.append(ft_lab.resume(run_dir))
        except ft_lab.UserError as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    handles = [r for r in results if isinstance(r, runs.RunHandle)]
    refused = [r for r in results if isinstance(r, ft_lab.UserError)]
    assert len(handles) == 1 and len(refused) == 1, results
    assert "still running" in str(refused[0])
    handles[0].stop()  # the winner need not train to the end to show that it is the only worker
    assert handles[0].wait(timeout=LIMIT) == "stopped", handles[0].error
    assert statuses(run_dir) == ["created", "resuming", "running", "stopped"]


# --- a full disk ------------------------------------------------------------------------------------
def test_a_full_disk_while_saving_a_checkpoint_fails_with_the_reason(banking_csv, tmp_path, monkeypatch):
    # simulated ENOSPC (no tmpfs without root): every file opened for writing under checkpoints/ fails
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import builtins, errno, os\n_open = builtins.open\n"
        "def _full(file, mode='r', *a, **k):\n"
        "    if any(c in mode for c in 'wax') and '/checkpoints/' in str(file):\n"
        "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))\n"
        "    return _open(file, mode, *a, **k)\nbuiltins.open = _full\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    handle = ft_lab.run(recipe_for(banking_csv))
    assert handle.wait(timeout=LIMIT) == "failed"
    error = handle.error
    assert "disk is full" in error and "resume" in error
    assert runs.lock_holder(handle.dir) is None


# --- Ctrl-C twice ---------------------------------------------------------------------------------
def test_ctrl_c_twice_kills_the_worker_and_the_cli_ends(banking_csv, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe_for(banking_csv, max_steps=100000, save_steps=100000, eval_steps=100000).save(recipe)
    root = tmp_path / "runs"
    proc = subprocess.Popen([FT_LAB, "run", str(recipe), "--runs-dir", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_dir = wait_for(lambda: next((p for p in root.iterdir() if not p.name.startswith(".")), None)
                           if root.is_dir() else None, "the run directory")
        wait_for(lambda: runs.RunFiles(run_dir).events("log"), "the first training log")
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: (run_dir / "stop").exists(), "the stop request")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "killing the worker" in out
    last = runs.open_run(run_dir).last_status_event()
    assert last["status"] in ("failed", "stopped")  # killed, or it had already saved and stopped
    assert runs.lock_holder(run_dir) is None


# --- run creation killed half-way ---------------------------------------------------------------------
def test_a_failed_run_creation_leaves_no_folder_and_leftovers_are_never_listed(banking_csv, monkeypatch):
    from ft_lab.data.prepare import PreparedData

    root = runs._runs_dir(None)
    root.mkdir(parents=True)
    stale, young = root / ".20240101-000000-class-full-ab12.x1", root / ".20240101-000000-class-full-cd34.x2"
    for folder in (stale, young):
        folder.mkdir()
        (folder / "run.json").write_text("{}")
    os.utime(stale, (time.time() - 2 * runs.LEFTOVER_AGE_S,) * 2)

    def disk_full(self, folder):
        Path(folder).mkdir(parents=True)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PreparedData, "write", disk_full)
    with pytest.raises(OSError):
        runs.create_run(recipe_for(banking_csv))
    assert sorted(p.name for p in root.iterdir()) == [young.name]  # its own and the stale one removed
    assert runs.list_runs() == []
