"""Built-in experiment trackers (``track: [mlflow, tensorboard, wandb]``), registered through the same hook as
third-party ones; see ft_lab.workflows.trackers and docs/search.md. MLflow, torch's TensorBoard writer
and W&B are imported when a run that names them starts."""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from ..workflows.trackers import MlflowTracker, TensorBoardTracker, WandbTracker


@hookimpl
def register_trackers(register):
    register("mlflow", MlflowTracker)
    register("tensorboard", TensorBoardTracker)
    register("wandb", WandbTracker)
