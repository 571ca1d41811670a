"""Built-in experiment trackers (``track: [mlflow, tensorboard]``), registered through the same hook as
third-party ones; see ft_lab.workflows.trackers and docs/search.md. MLflow and torch's TensorBoard writer
are imported when a run that names them starts."""
from __future__ import annotations

from ..core.hookspecs import hookimpl
from ..workflows.trackers import MlflowTracker, TensorBoardTracker


@hookimpl
def register_trackers(register):
    register("mlflow", MlflowTracker)
    register("tensorboard", TensorBoardTracker)
