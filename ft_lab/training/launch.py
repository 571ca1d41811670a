"""Several training processes through Accelerate: the launch config, the command, and its supervisor.

A run with one process starts ``python -m ft_lab.workflows.worker RUN_DIR`` directly. With more than one
(``launch.num_processes`` or ``ft-lab run --processes N``) it starts this module's supervisor::

    python -m ft_lab.training.launch RUN_DIR [--resume]

which writes ``RUN_DIR/launch/accelerate_config.yaml`` from the recipe's ``launch`` section (or uses the
user's own ``launch.config_file``, which wins), runs ``accelerate launch`` with the same worker on every
rank, and, when the processes end without the run's last word (a rank killed by a signal, an out-of-
memory kill), writes a ``failed`` status naming the rank and the exit code. Accelerate (torch elastic)
ends every rank as soon as one of them fails, so a crash never leaves the others waiting.

For a cluster, ``ft_lab.training.cluster`` writes the per-node commands and a Slurm script into
``RUN_DIR/launch/`` (``ft-lab run RECIPE --plan``); every node runs the same worker on the same run
directory (a shared filesystem), and only the main process (global rank 0) writes to it.

Nothing here imports torch at import time.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from ..core.recipe import Recipe, processes
from ..errors import RecipeError
from ..rundir.inline_plugins import load_run_plugins
from ..rundir.layout import RunLayout
from ..rundir.reader import append_event, read_events
from ..safety.atomic import atomic_write_text

#: recipe strategy -> Accelerate distributed_type (on a CPU too: its torchrun launcher runs the ranks)
_DISTRIBUTED = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed": "DEEPSPEED"}
_SHARDING = {"full_shard": "FULL_SHARD", "shard_grad_op": "SHARD_GRAD_OP", "hybrid_shard": "HYBRID_SHARD",
             "no_shard": "NO_SHARD"}
_WRAP = {"transformer": "TRANSFORMER_BASED_WRAP", "size": "SIZE_BASED_WRAP", "none": "NO_WRAP"}
SUPERVISED_ENV = "FT_LAB_SUPERVISED"


def mixed_precision(recipe) -> str:
    """Accelerate's mixed_precision word: the launch section's, else derived from ``train.precision``."""
    launch = getattr(recipe, "launch", None)
    if launch is not None and launch.mixed_precision != "from_train":
        return launch.mixed_precision
    return {"bf16": "bf16", "fp16": "fp16"}.get(recipe.train.precision, "no")


def train_precision(recipe) -> str:
    """The precision the Trainer uses: ``launch.mixed_precision`` overrides ``train.precision`` when set."""
    launch = getattr(recipe, "launch", None)
    if launch is None or launch.mixed_precision == "from_train":
        return recipe.train.precision
    return {"no": "fp32"}.get(launch.mixed_precision, launch.mixed_precision)


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def accelerate_config(recipe, cpu: bool | None = None) -> dict:
    """The Accelerate config (as ``accelerate config`` writes it) for the recipe's launch section.

    ``cpu`` forces a CPU run (gloo backend); by default a machine without a CUDA GPU runs on its CPU.
    """
    launch = recipe.launch
    cpu = (launch.cpu or not _cuda()) if cpu is None else cpu
    per_machine = processes(recipe)
    config = {
        "compute_environment": "LOCAL_MACHINE",
        # on a CPU too: Accelerate's own CPU launcher runs one process (or mpirun); its torchrun launcher
        # runs the ranks, and each picks the gloo backend when no GPU is visible
        "distributed_type": _DISTRIBUTED[launch.strategy],
        "num_machines": launch.num_machines,
        "machine_rank": launch.machine_rank,
        "num_processes": per_machine * launch.num_machines,  # Accelerate counts every process of the job
        "mixed_precision": "no" if cpu else mixed_precision(recipe),
        "use_cpu": False,
        "main_training_function": "main",
        "rdzv_backend": "static",
        "same_network": True,
        "main_process_port": launch.main_process_port or (29500 if launch.num_machines > 1 else free_port()),
    }
    if launch.num_machines > 1:
        config["main_process_ip"] = launch.main_process_ip
    if launch.strategy == "fsdp":
        config["fsdp_config"] = {
            "fsdp_version": 1,
            "fsdp_sharding_strategy": _SHARDING[launch.fsdp_sharding],
            "fsdp_auto_wrap_policy": _WRAP[launch.fsdp_wrap],
            "fsdp_min_num_params": launch.fsdp_min_params,
            "fsdp_offload_params": launch.fsdp_offload,
            "fsdp_state_dict_type": "FULL_STATE_DICT",  # final/ and checkpoints load on one process
            "fsdp_use_orig_params": True,  # methods that freeze part of a layer need it
            "fsdp_sync_module_states": True,
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_backward_prefetch": "BACKWARD_PRE",
            "fsdp_forward_prefetch": False,
        }
    elif launch.strategy == "deepspeed":
        if launch.deepspeed_config:
            config["deepspeed_config"] = {"deepspeed_config_file": launch.deepspeed_config,
                                          "zero3_init_flag": launch.deepspeed_stage == 3}
        else:
            config["deepspeed_config"] = {
                "zero_stage": launch.deepspeed_stage, "gradient_accumulation_steps":
                    recipe.train.gradient_accumulation_steps, "gradient_clipping": recipe.train.max_grad_norm,
                "offload_optimizer_device": "cpu" if launch.deepspeed_offload else "none",
                "offload_param_device": "cpu" if launch.deepspeed_offload and launch.deepspeed_stage == 3
                else "none", "zero3_init_flag": launch.deepspeed_stage == 3}
    return config


def free_port() -> int:
    """A TCP port free now on this machine: two runs (or a resume while the last ranks exit) never collide."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_path(recipe, run_dir: Path, cpu: bool | None = None) -> Path:
    """The Accelerate config this run launches with: the user's file, else one written into the run."""
    if recipe.launch.config_file:
        return Path(recipe.launch.config_file)
    import yaml

    path = RunLayout(run_dir).launch_file("accelerate_config.yaml")
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(accelerate_config(recipe, cpu), sort_keys=False))
    return path


def accelerate_command(recipe, run_dir: Path, resume: bool = False, machine_rank: str | None = None,
                       main_process_ip: str | None = None, python: str | None = None) -> list[str]:
    """``accelerate launch`` with the run's config and the ft-lab worker on every rank.

    ``machine_rank`` and ``main_process_ip`` override the config (a Slurm script passes shell variables)."""
    cmd = [python or sys.executable, "-m", "accelerate.commands.launch",
           "--config_file", str(config_path(recipe, run_dir))]
    launch = recipe.launch
    if launch.config_file and processes(recipe) > 1:  # --processes N still wins over the user's file
        cmd += ["--num_processes", str(processes(recipe) * launch.num_machines)]
    if machine_rank is not None:
        cmd += ["--machine_rank", machine_rank]
    if main_process_ip is not None:
        cmd += ["--main_process_ip", main_process_ip]
    cmd += ["--monitor_interval", "0.5", "-m", "ft_lab.workflows.worker", str(Path(run_dir).resolve())]
    return cmd + (["--resume"] if resume else [])


# --- ranks -----------------------------------------------------------------------------------------
def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def failure_event(error: str, **extra) -> dict:
    """What a failing worker writes: the ``failed`` status, naming its rank when there are several.

    Under the supervisor a rank writes ``rank_failed`` instead: a peer that only saw it vanish fails too,
    and the supervisor writes the one ``failed`` status, with the rank that failed first."""
    event = {"type": "status", "status": "failed", "error": error, **extra}
    if world_size() > 1:
        event.update(rank=rank(), error=f"rank {rank()}: {error}")
        if os.environ.get(SUPERVISED_ENV):
            del event["status"]
            event["type"] = "rank_failed"
    return event


def _kill_me_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies (PR_SET_PDEATHSIG); elsewhere nothing."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def die_with_parent() -> None:
    """A rank dies when its launcher dies: a killed run never leaves ranks training on their own."""
    if world_size() <= 1:
        return
    _kill_me_with_parent()
    if os.getppid() == 1:  # the launcher died before the call above
        os._exit(1)


def any_rank(flag: bool, device=None) -> bool:
    """True on every rank when ``flag`` is true on any of them (a stop request seen by one rank)."""
    if world_size() <= 1:
        return flag
    import torch
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return flag
    t = torch.tensor([1 if flag else 0], device=device if device is not None and str(device) != "cpu"
                     and dist.get_backend() != "gloo" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _fsdp_wrapped(trainer):
    wrapped = getattr(trainer, "model_wrapped", None)
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:
        return None
    return wrapped if isinstance(wrapped, FullyShardedDataParallel) else None


def is_sharded(trainer) -> bool:
    """The trained weights are sharded across ranks (FSDP): one rank alone cannot run the model."""
    return _fsdp_wrapped(trainer) is not None


@contextlib.contextmanager
def gathered_model(trainer):
    """The trained model, whole, for the final save: under FSDP every rank must enter this block (it
    gathers the full weights, kept on rank 0 in CPU memory); otherwise the Trainer's model as it is."""
    wrapped = _fsdp_wrapped(trainer)
    if wrapped is None:
        yield trainer.model
        return
    from torch.distributed.fsdp import FullyShardedDataParallel
    with FullyShardedDataParallel.summon_full_params(wrapped, writeback=False, rank0_only=True,
                                                     offload_to_cpu=True):
        yield trainer.accelerator.unwrap_model(wrapped)


def threads_per_process(n_local: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, n_local))


# --- the supervisor ----------------------------------------------------------------------------------
def _last_status(run_dir: Path) -> dict:
    statuses = [e for e in read_events(run_dir)[0] if e.get("type") == "status"]
    return statuses[-1] if statuses else {}


def _failed_rank(log: Path, offset: int = 0) -> tuple[int | None, str]:
    """The torch elastic error summary's first failure (``rank: 1 ... exitcode: -9``) in worker.log,
    read from ``offset`` (where this attempt began)."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return None, ""
    if "Root Cause" in text:  # the summary lists every failure, the root cause last
        text = text[text.rindex("Root Cause"):]
    found = {}
    for key in ("rank", "exitcode"):
        hits = re.findall(rf"^\s*{key}\s*:\s*(-?\d+)", text, flags=re.M)
        if hits:
            found[key] = hits[0]  # the first observed failure comes first in the summary
    if "rank" not in found:
        return None, ""
    code = found.get("exitcode", "?")
    signame = ""
    if code.startswith("-"):
        try:
            signame = f" (signal {signal.Signals(-int(code)).name})"
        except ValueError:
            pass
    return int(found["rank"]), f"rank {found['rank']} exited with code {code}{signame}"


def supervise(run_dir: Path, resume: bool) -> int:
    """Run every rank through ``accelerate launch``; record a failure the ranks could not record."""


    run_dir = Path(run_dir).resolve()
    load_run_plugins(run_dir)
    recipe = Recipe.from_yaml(RunLayout(run_dir).recipe)
    before = _last_status(run_dir)
    events_offset = read_events(run_dir)[1]
    log = RunLayout(run_dir).worker_log
    offset = log.stat().st_size if log.exists() else 0
    env = dict(os.environ, **{SUPERVISED_ENV: "1"})
    env.setdefault("FT_LAB_THREADS", str(threads_per_process(processes(recipe))))
    if recipe.launch.cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # every rank on the CPU, with the gloo backend
    cmd = accelerate_command(recipe, run_dir, resume)
    append_event(run_dir, {"type": "launch", "processes": processes(recipe) * recipe.launch.num_machines,
                           "strategy": recipe.launch.strategy, "command": shlex.join(cmd)})
    child = subprocess.Popen(cmd, env=env, preexec_fn=_kill_me_with_parent)

    def forward(signum, frame):  # Ctrl-C or SIGTERM on the supervisor reaches the launcher and its ranks
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    last = _last_status(run_dir)
    if last.get("status") in ("completed", "stopped") and last != before:
        return 0
    if last.get("status") == "failed" and last != before:
        return 1
    culprit, what = _failed_rank(log, offset)
    said = [e for e in read_events(run_dir, events_offset)[0] if e.get("type") == "rank_failed"]
    first = next((e for e in said if e.get("rank") == culprit), None)
    if first is None and culprit is None and said:
        first = said[0]
    if first is not None:  # the rank that failed first said why; the others only saw it vanish
        event = {k: v for k, v in first.items() if k not in ("time", "type")}
        event.update(type="status", status="failed")
    else:  # a rank died without a word: a signal, the OOM killer
        event = {"type": "status", "status": "failed", "rank": culprit,
                 "error": f"a training process ended without finishing the run: {what or f'exit code {code}'}"
                          f" (see worker.log; ft-lab resume continues from the last checkpoint)"}
    append_event(run_dir, event)
    return 1


def with_processes(recipe, n: int | None):
    """The recipe with ``launch.num_processes: n`` (``ft-lab run --processes N``), validated again so that
    the method's capability checks see it."""

    if n is None:
        return recipe
    if n < 1:
        raise RecipeError([f"--processes: expected at least 1, got {n}"])
    data = recipe.to_dict()
    data["launch"]["num_processes"] = n
    if data["train"].get("num_processes", 1) > 1:
        data["train"]["num_processes"] = 1  # the command line wins over the older train.num_processes
    return Recipe.from_dict(data, base_dir=recipe.base_dir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ft_lab.training.launch")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    return supervise(Path(args.run_dir), args.resume)


if __name__ == "__main__":
    sys.exit(main())
