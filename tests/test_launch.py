"""Several training processes through Accelerate: the launch section, refusals, cluster plans, and real
two-process runs on this machine's CPU (gloo): same training as one process, stop, a killed rank, resume."""
import signal
import subprocess

import psutil
import pytest

import ft_lab
from ft_lab.cli import main
from ft_lab.errors import RecipeError
from ft_lab.core.method_checks import check_capabilities
from ft_lab.core.plugins import get_registry
from conftest import write_recipe
from waiting import wait_for

RECIPE = """\
task: classification
data: {{path: {data}}}
model: {{max_length: 48, compare_base: false}}
method: full
train: {{max_steps: {steps}, batch_size: {batch}, learning_rate: 0.002, logging_steps: {log}, eval_steps: {eval},
        save_steps: {save}}}
evaluate: [accuracy]
"""
WAIT = 300  # seconds: bounded, generous (two processes each import torch on a loaded 2-core machine)


def recipe_file(folder, data, steps=12, batch=4, log=4, eval=6, save=6, extra=""):
    return write_recipe(folder, RECIPE.format(data=data, steps=steps, batch=batch, log=log, eval=eval,
                                              save=save) + extra)


def make(banking_csv, method="full", **launch):
    """The recipe as a run checks it: parsed, and what this machine must provide (launch files, GPUs)."""
    return ft_lab.Recipe.from_dict({"task": "classification", "data": {"path": str(banking_csv)}, "method": method,
                                    "launch": launch}, check_environment=True)


# --- the recipe section and its refusals -----------------------------------------------------------
def test_launch_section_round_trips_and_bad_settings_are_named(banking_csv, tmp_path, monkeypatch):
    with pytest.raises(RecipeError, match="launch.strategy: fsdp shards the model across GPUs and has no CPU path"):
        make(banking_csv, num_processes=2, strategy="fsdp", cpu=True)
    monkeypatch.setattr("ft_lab.core.method_checks.cuda_visible", lambda: True)  # as on a GPU machine
    r = make(banking_csv, num_processes=4, strategy="fsdp", fsdp_sharding="shard_grad_op")
    again = ft_lab.Recipe.from_yaml(r.to_yaml(minimal=True))
    assert again.launch.num_processes == 4 and again.launch.fsdp_sharding == "shard_grad_op"
    assert "launch" not in make(banking_csv).to_dict(minimal=True)  # the default section stays out

    cases = {
        "launch.strategy": dict(strategy="horovod"),
        "main_process_ip": dict(num_machines=2),
        "machine_rank": dict(num_machines=2, machine_rank=2, main_process_ip="10.0.0.1"),
        "deepspeed_stage must be 0, 1, 2 or 3": dict(strategy="deepspeed", deepspeed_stage=4),
        "launch.config_file: file not found": dict(config_file=str(tmp_path / "missing.yaml")),
    }
    for expected, launch in cases.items():
        with pytest.raises(RecipeError) as err:
            make(banking_csv, **launch)
        assert expected in str(err.value), (launch, str(err.value))
    bad = tmp_path / "ds.json"
    bad.write_text("{not json")
    for expected, launch in {"ZeRO stage 3 partitions the weights": dict(deepspeed_stage=3),
                             "not a DeepSpeed JSON config": dict(deepspeed_config=str(bad))}.items():
        with pytest.raises(RecipeError, match=expected):
            make(banking_csv, num_processes=2, strategy="deepspeed", **launch)
    with pytest.raises(RecipeError, match="contradicts train.num_processes"):
        ft_lab.Recipe(task="classification", data={"path": str(banking_csv)}, train={"num_processes": 2},
                      launch={"num_processes": 4})


@pytest.mark.unit  # refused before launch: no worker
def test_methods_that_cannot_be_distributed_are_refused_before_launch(banking_csv, tmp_path, capsys):
    with pytest.raises(RecipeError) as err:
        make(banking_csv, method="prefix_tuning", num_processes=2, strategy="fsdp")
    assert "'prefix_tuning' does not work with FSDP" in str(err.value)
    assert "set launch.strategy: ddp" in str(err.value) and "lora" in str(err.value)
    make(banking_csv, method="prefix_tuning", num_processes=2, strategy="ddp")  # DDP is fine
    make(banking_csv, method="prefix_tuning", num_processes=1, strategy="fsdp")  # one process: no FSDP at all

    registry = get_registry()
    plain = {"task": "generation", "model": {"quantization": "4bit"},
             "launch": {"num_processes": 2, "strategy": "fsdp"}}
    problems = check_capabilities(plain, registry.get("method", "lora"), cuda_available=True)
    assert any("cannot shard a quantized base" in p for p in problems), problems
    if "reft" in registry.names("method"):
        problems = check_capabilities({"task": "generation", "launch": {"num_processes": 2, "strategy": "deepspeed"}},
                                      registry.get("method", "reft"), cuda_available=True)
        assert any("'reft' does not work with DeepSpeed" in p for p in problems), problems

    # the CLI refuses --processes that makes a recipe impossible, before any run directory exists
    path = recipe_file(tmp_path, banking_csv, extra="launch: {strategy: fsdp}\n")
    text = path.read_text().replace("method: full", "method: prefix_tuning")
    path.write_text(text)
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--processes", "2"]) == 2
    assert "'prefix_tuning' does not work with FSDP" in capsys.readouterr().err
    assert not ft_lab.list_runs()


def test_cluster_plan_writes_a_config_accelerate_reads_and_a_command_per_node(banking_csv, tmp_path, capsys):
    from accelerate.commands.config.config_args import load_config_from_file

    path = recipe_file(tmp_path, banking_csv, extra="launch: {num_processes: 2, num_machines: 2, "
                       "main_process_ip: 10.0.0.1, strategy: fsdp, fsdp_wrap: size}\n")
    assert main(["run", str(path), "--plan"]) == 0
    (handle,) = ft_lab.list_runs()
    assert handle.status == "created" and not handle.events("launch")  # prepared, nothing trains here
    folder = handle.dir / "launch"
    config = load_config_from_file(str(folder / "accelerate_config.yaml"))
    assert (config.distributed_type.value, config.num_processes, config.num_machines) == ("FSDP", 4, 2)
    assert config.fsdp_config["fsdp_auto_wrap_policy"] == "SIZE_BASED_WRAP"
    lines = [x for x in (folder / "commands.sh").read_text().splitlines() if not x.startswith("#")]
    assert len(lines) == 2
    for node, line in enumerate(lines):
        assert "accelerate.commands.launch" in line and f"--machine_rank {node}" in line
        assert "--main_process_ip 10.0.0.1" in line and str(handle.dir) in line
    slurm = (folder / "slurm.sbatch").read_text()
    assert "#SBATCH --nodes=2" in slurm
    assert slurm.index("--machine_rank $SLURM_NODEID") < slurm.index("-m ft_lab.workflows.worker")
    subprocess.run(["bash", "-n", str(folder / "slurm.sbatch")], check=True)
    assert "sbatch" in capsys.readouterr().out

    # an existing Accelerate config file wins: the run launches with it as it is
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: MULTI_GPU\nnum_processes: 2\n")
    from ft_lab.training.launch import accelerate_command
    recipe = make(banking_csv, num_processes=2, config_file=str(own))
    cmd = accelerate_command(recipe, tmp_path)
    assert cmd[cmd.index("--config_file") + 1] == str(own)


# --- real runs: two CPU processes (gloo) -------------------------------------------------------------
def _ranks(handle) -> list[psutil.Process]:
    try:
        return psutil.Process(handle.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _all_gone(handle, what: str, timeout=60) -> bool:
    return wait_for(lambda: handle.process.poll() is not None and not [p for p in _ranks(handle) if p.is_running()],
                    what, timeout=timeout, poll=0.2)


def _wait_for(handle, kind, timeout=WAIT, after=0):
    def found():
        events = [e for e in handle.events(kind) if e.get("step", 0) > after]
        assert events or handle.process.poll() is None, handle.events("status")  # the launcher died: fail now
        return events[0] if events else None
    return wait_for(found, f"a {kind} event after step {after}", timeout=timeout, poll=0.2)


def test_two_processes_train_like_one_with_the_same_global_batch(banking_csv, tmp_path, capsys):
    one = ft_lab.run(ft_lab.Recipe.from_yaml(recipe_file(tmp_path, banking_csv, batch=8)))
    two_path = recipe_file(tmp_path, banking_csv, batch=4)
    assert main(["run", str(two_path), "--processes", "2"]) == 0, capsys.readouterr()
    assert one.wait(timeout=WAIT) == "completed", one.error
    runs = ft_lab.list_runs()
    assert len(runs) == 2  # one run directory per run, none duplicated by the second rank
    (two,) = [h for h in runs if h.dir != one.dir]

    statuses = [e["status"] for e in two.events("status")]
    assert statuses == ["created", "running", "completed"], statuses  # one writer: the main process
    assert two.events("status")[1]["processes"] == 2
    assert [e["processes"] for e in two.events("train_begin")] == [2]
    assert two.events("launch")[0]["processes"] == 2
    logs1, logs2 = one.events("log"), two.events("log")
    assert [e["step"] for e in logs2] == [e["step"] for e in logs1] == [4, 8, 12]
    for a, b in zip(logs1, logs2):
        # tokens are summed over both processes, the loss is their mean: the same numbers as one process
        assert a["tokens_seen"] == b["tokens_seen"]
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
        assert b["tokens_per_second"] > 0
    m1, m2 = one.metrics(), two.metrics()
    assert m2["finetuned"]["accuracy"] == pytest.approx(m1["finetuned"]["accuracy"])
    # transformers weighs each rank's validation batch mean by its first batch size: close, not exact
    assert m2["validation_loss"] == pytest.approx(m1["validation_loss"], rel=0.05)
    assert [r["prediction"] for r in two.predictions()] == [r["prediction"] for r in one.predictions()]
    assert (two.dir / "final" / "model.safetensors").exists()
    assert (two.dir / "launch" / "accelerate_config.yaml").exists()


def test_a_killed_rank_fails_the_run_then_resume_and_stop_reach_every_process(banking_csv, tmp_path):
    path = recipe_file(tmp_path, banking_csv, steps=400, log=2, eval=400, save=2,
                       extra="launch: {num_processes: 2}\n")
    handle = ft_lab.run(ft_lab.Recipe.from_yaml(path))
    saved = _wait_for(handle, "checkpoint")["step"]
    (rank1,) = [p for p in _ranks(handle) if p.environ().get("RANK") == "1"]
    rank1.send_signal(signal.SIGKILL)
    assert handle.wait(timeout=120) == "failed"  # the other rank and the launcher end too: no hang
    _all_gone(handle, "every rank to end after its peer was killed")
    failed = handle.last_status_event()
    assert failed["rank"] == 1 and "SIGKILL" in failed["error"], failed

    handle = ft_lab.resume(handle.dir)
    began = _wait_for(handle, "train_begin", after=saved - 1)  # both ranks restored from the checkpoint
    assert began["processes"] == 2 and began["step"] >= saved
    handle.stop()  # one stop file: every rank agrees on it after the same step
    assert handle.wait(timeout=WAIT) == "stopped", handle.events("status")
    _all_gone(handle, "every rank to end after the stop")
    stopped = handle.last_status_event()
    assert began["step"] < stopped["step"] < 400 and stopped["checkpoint"].endswith(f"checkpoint-{stopped['step']}")
    assert [e["status"] for e in handle.events("status")][-4:] == ["failed", "resuming", "running", "stopped"]


def test_the_train_panel_has_the_launch_fields_and_refuses_a_bad_combination(banking_csv):
    from ft_lab.widgets.state import RecipeState
    from ft_lab.widgets.train_panel import TrainPanel

    state = RecipeState(ft_lab.Recipe(task="classification", data={"path": str(banking_csv)},
                                      method="prefix_tuning"))
    panel = TrainPanel(state)
    panel.launch_form.widgets["num_processes"].value = "2"
    panel.launch_form.widgets["strategy"].value = "fsdp"
    assert panel.start() is None  # refused before anything is prepared or launched
    assert "nothing was started" in panel.status.value
    assert "does not work with FSDP" in panel.summary.value  # every problem once, above Start
    assert not ft_lab.list_runs()
    panel.launch_form.widgets["strategy"].value = "ddp"
    assert state.recipe().launch.num_processes == 2


def test_the_root_cause_is_read_from_torch_elastic_summary(tmp_path):
    from ft_lab.training.launch import _failed_rank

    log = tmp_path / "worker.log"
    earlier = "Root Cause (first observed failure):\n  rank      : 0 (local_rank: 0)\n  exitcode  : 1 (pid: 7)\n"
    log.write_text(earlier + """ft_lab.workflows.worker FAILED
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 21318)  (SIGTERM)
Root Cause (first observed failure):
[0]:
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 21319)  (SIGKILL)
""")
    assert _failed_rank(log, offset=len(earlier)) == (1, "rank 1 exited with code -9 (signal SIGKILL)")
    assert _failed_rank(log, offset=log.stat().st_size) == (None, "")


def test_a_failing_rank_names_itself(monkeypatch):
    from ft_lab.training.launch import SUPERVISED_ENV, failure_event

    assert failure_event("boom") == {"type": "status", "status": "failed", "error": "boom"}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert failure_event("boom") == {"type": "status", "status": "failed", "rank": 1, "error": "rank 1: boom"}
    monkeypatch.setenv(SUPERVISED_ENV, "1")  # the supervisor writes the one failed status from it
    assert failure_event("boom", step=3) == {"type": "rank_failed", "rank": 1, "error": "rank 1: boom", "step": 3}
