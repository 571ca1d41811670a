"""Every path of a run directory, in one place: the worker writes, and every view reads, through this.

    layout = RunLayout("runs/20240601-120000-class-lora-ab12")
    layout.recipe                      # runs/.../recipe.yaml
    layout.predictions("finetuned")    # runs/.../predictions/finetuned.jsonl
    layout.checkpoints                 # runs/.../checkpoints/

Layout of ``RUNS_DIR/<run id>/`` (docs/runs.md has the table, with what each file holds)::

    recipe.yaml  run.json  events.jsonl  metrics.json  eval_details.json  lr_find.json  plugins.pkl
    data/                  prepared splits, rejected rows, changes, report.json (ft_lab.data's format)
    checkpoints/           Trainer checkpoints (checkpoint-N/)
    final/                 the trained adapter or model (written to final.partial/, then renamed)
    predictions/           base.jsonl, finetuned.jsonl, baseline_<name>.jsonl
    review/                reviews.jsonl, summary.json (human ratings of examples)
    launch/                accelerate_config.yaml, commands.sh, slurm.sbatch (several processes)
    worker.log  worker.pid  worker.lock  stop

A new file or folder is one more name below and one more property; nothing else in ft-lab joins a
run-directory file name by hand. Only the names are here: what is in the files is the writer's affair
(events: ``ft_lab.rundir.events``; the data folder: ``ft_lab.data.prepare``).
"""
from __future__ import annotations

import os
from pathlib import Path

# file and folder names, relative to the run directory
RECIPE = "recipe.yaml"
INFO = "run.json"
EVENTS = "events.jsonl"
METRICS = "metrics.json"
EVAL_DETAILS = "eval_details.json"
LR_FIND = "lr_find.json"
PLUGINS = "plugins.pkl"
DATA = "data"
DATA_REPORT = "report.json"  # inside data/: written by ft_lab.data.prepare, read by views of a run
CHECKPOINTS = "checkpoints"
FINAL = "final"
FINAL_PARTIAL = "final.partial"
PREDICTIONS = "predictions"
REVIEW = "review"
LAUNCH = "launch"
WORKER_LOG = "worker.log"
WORKER_PID = "worker.pid"
WORKER_LOCK = "worker.lock"
STOP = "stop"

#: the models whose test predictions a run writes (predictions/<which>.jsonl)
WHICH = ("base", "finetuned")


class RunLayout:
    """The paths of one run directory (nothing is read or created here)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)

    def __repr__(self):
        return f"RunLayout({str(self.dir)!r})"

    # --- files at the top ---------------------------------------------------------------------
    @property
    def recipe(self) -> Path:
        return self.dir / RECIPE

    @property
    def info(self) -> Path:
        return self.dir / INFO

    @property
    def events(self) -> Path:
        return self.dir / EVENTS

    @property
    def metrics(self) -> Path:
        return self.dir / METRICS

    @property
    def eval_details(self) -> Path:
        return self.dir / EVAL_DETAILS

    @property
    def lr_find(self) -> Path:
        return self.dir / LR_FIND

    @property
    def plugins(self) -> Path:
        return self.dir / PLUGINS

    @property
    def worker_log(self) -> Path:
        return self.dir / WORKER_LOG

    @property
    def worker_pid(self) -> Path:
        return self.dir / WORKER_PID

    @property
    def worker_lock(self) -> Path:
        return self.dir / WORKER_LOCK

    @property
    def stop(self) -> Path:
        return self.dir / STOP

    # --- folders ----------------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.dir / DATA

    @property
    def data_report(self) -> Path:
        return self.dir / DATA / DATA_REPORT

    @property
    def checkpoints(self) -> Path:
        return self.dir / CHECKPOINTS

    @property
    def final(self) -> Path:
        return self.dir / FINAL

    @property
    def final_partial(self) -> Path:
        return self.dir / FINAL_PARTIAL

    @property
    def predictions_dir(self) -> Path:
        return self.dir / PREDICTIONS

    def predictions(self, which: str) -> Path:
        """``predictions/<which>.jsonl``: ``base``, ``finetuned`` or ``baseline_<name>``."""
        return self.dir / PREDICTIONS / f"{which}.jsonl"

    def baseline_predictions(self, name: str) -> Path:
        return self.predictions(f"baseline_{name}")

    def baseline_prediction_files(self) -> list[Path]:
        return sorted(self.predictions_dir.glob("baseline_*.jsonl"))

    @property
    def review(self) -> Path:
        return self.dir / REVIEW

    @property
    def reviews(self) -> Path:
        return self.dir / REVIEW / "reviews.jsonl"

    @property
    def review_summary(self) -> Path:
        return self.dir / REVIEW / "summary.json"

    @property
    def launch(self) -> Path:
        return self.dir / LAUNCH

    def launch_file(self, name: str) -> Path:
        """``launch/<name>``: accelerate_config.yaml, commands.sh, slurm.sbatch."""
        return self.dir / LAUNCH / name


def is_run_dir(path: str | os.PathLike) -> bool:
    """A folder holding a run.json: what ``list_runs`` and the server count as a run."""
    return (Path(path) / INFO).is_file()
