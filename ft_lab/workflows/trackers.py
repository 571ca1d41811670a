"""The built-in trackers: MLflow, TensorBoard (the extra ``ft-lab[tracking]``) and W&B (``ft-lab[wandb]``).

    track: [mlflow, tensorboard, wandb]       # in a recipe; followed by ft_lab.workflows.tracking

- ``mlflow``: one MLflow run per ft-lab run: the recipe's fields as params, losses and validation
  metrics per step, test metrics, and recipe.yaml, metrics.json, the data report and a model card as
  artifacts. Where: ``MLFLOW_TRACKING_URI`` (a tracking server), else a local store ``RUNS_DIR/mlruns``;
  experiment ``MLFLOW_EXPERIMENT_NAME`` or ``ft-lab``. A search's trials are children of the search's
  MLflow run (``search_parent_run``).
- ``tensorboard``: event files in ``RUNS_DIR/tensorboard/<run id>/`` (``tensorboard --logdir
  RUNS_DIR/tensorboard``): the same scalars per step.
- ``wandb``: one W&B run per ft-lab run: the recipe's fields as its config, the same scalars per step, test
  metrics in its summary, and the same files as an artifact. A search's trials share the W&B group of the
  search's name (job type ``trial``). Online or offline as W&B's own environment says (``WANDB_MODE``,
  ``WANDB_API_KEY``, ``WANDB_PROJECT``, else project ``ft-lab``); its files go to ``WANDB_DIR``, else
  ``RUNS_DIR/wandb``, never into the run directory.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..core.plugins import get_registry
from ..rundir.layout import RunLayout
from ..safety.atomic import read_json
from .export import model_card

STEP_SCALARS = ("loss", "learning_rate", "grad_norm", "tokens_per_second")


def scalars(event: dict) -> tuple[int | None, dict[str, float]]:
    """The step and the named numbers an event carries for a tracker ({} for events with none)."""
    kind = event.get("type")
    if kind == "log":
        return event.get("step"), {f"train/{k}": float(event[k]) for k in STEP_SCALARS
                                   if isinstance(event.get(k), (int, float))}
    if kind == "eval":
        prefix = event.get("split", "eval") + (f"_{event['model']}" if event.get("model") else "")
        return event.get("step"), {f"{prefix}/{k}": float(v) for k, v in (event.get("metrics") or {}).items()
                                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return None, {}


def flat_params(recipe) -> dict[str, str]:
    """The recipe's settings as ``section.field`` -> text (MLflow params are strings)."""
    out = {}
    for section, value in recipe.to_dict().items():
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(v, (dict, list)) or k in ("target_modules",):
                    out[f"{section}.{k}"] = str(v)[:500]
        elif section in ("task",):
            out[section] = str(value)
    return out


def runs_root(run_dir: Path) -> Path:
    return Path(run_dir).resolve().parent


# --- MLflow -----------------------------------------------------------------------------------------
def mlflow_client(runs_dir: Path):
    from mlflow.tracking import MlflowClient
    uri = os.environ.get("MLFLOW_TRACKING_URI") or (Path(runs_dir) / "mlruns").resolve().as_uri()
    return MlflowClient(tracking_uri=uri)


def mlflow_experiment(client) -> str:
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or "ft-lab"
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def search_parent_run(runs_dir: Path, name: str, params: dict) -> str:
    """The MLflow run of a search (its trials' parent); made once and found again by its tag."""
    client = mlflow_client(runs_dir)
    experiment = mlflow_experiment(client)
    found = client.search_runs([experiment], filter_string=f"tags.`ft_lab.search` = '{name}' and "
                                                          f"tags.`ft_lab.search_parent` = 'true'", max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(experiment, run_name=f"search {name}",
                            tags={"ft_lab.search": name, "ft_lab.search_parent": "true"})
    for k, v in params.items():
        client.log_param(run.info.run_id, k, str(v)[:500])
    return run.info.run_id


class MlflowTracker:
    def __init__(self, run_dir: Path, recipe):
        self.run_dir = Path(run_dir)
        self.client = mlflow_client(runs_root(run_dir))
        info = read_json(RunLayout(run_dir).info, {}) or {}
        search = info.get("search") or {}
        tags = {"ft_lab.run_dir": str(self.run_dir), "ft_lab.run_id": info.get("id", self.run_dir.name)}
        if search.get("mlflow_parent"):
            tags.update({"mlflow.parentRunId": search["mlflow_parent"], "ft_lab.search": search.get("search", ""),
                         "ft_lab.trial": str(search.get("number"))})
        run = self.client.create_run(mlflow_experiment(self.client), run_name=info.get("id", self.run_dir.name),
                                     tags=tags)
        self.run_id = run.info.run_id
        from mlflow.entities import Param
        params = [Param(k, v) for k, v in flat_params(recipe).items()]
        for i in range(0, len(params), 90):
            self.client.log_batch(self.run_id, params=params[i:i + 90])
        self.recipe = recipe

    def event(self, event: dict) -> None:
        from mlflow.entities import Metric
        step, values = scalars(event)
        if not values:
            return
        stamp = int(float(event.get("time", 0)) * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k.replace("/", "_"), v, stamp, int(step or 0))
                                                    for k, v in values.items()])

    def close(self, status: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for path in artifact_files(self.run_dir, self.recipe, status, Path(tmp)):
                self.client.log_artifact(self.run_id, str(path))
        mlflow_status = {"completed": "FINISHED", "failed": "FAILED"}.get(status, "KILLED")
        self.client.set_terminated(self.run_id, mlflow_status)


def artifact_files(run_dir: Path, recipe, status: str, tmp: Path) -> list[Path]:
    """The files a tracker keeps of a run: recipe.yaml, metrics.json, the data report and, for a completed
    run, its model card (written into ``tmp``)."""
    layout = RunLayout(run_dir)
    files = [p for p in (layout.recipe, layout.metrics, layout.data / "report.json") if p.is_file()]
    if status == "completed" and layout.final.is_dir():
        card = tmp / "model_card.md"
        card.write_text(model_card(run_dir, recipe, get_registry().get("method", recipe.method.name), False,
                                   sorted(p.name for p in layout.final.iterdir())), encoding="utf-8")
        files.append(card)
    return files


# --- TensorBoard ------------------------------------------------------------------------------------
class TensorBoardTracker:
    def __init__(self, run_dir: Path, recipe):
        from torch.utils.tensorboard import SummaryWriter
        logdir = runs_root(run_dir) / "tensorboard" / Path(run_dir).name
        self.writer = SummaryWriter(log_dir=str(logdir))
        self.writer.add_text("recipe", "```\n" + recipe.to_yaml() + "\n```")

    def event(self, event: dict) -> None:
        step, values = scalars(event)
        for k, v in values.items():
            self.writer.add_scalar(k, v, global_step=int(step or 0), walltime=event.get("time"))

    def close(self, status: str) -> None:
        self.writer.add_text("status", status)
        self.writer.close()


# --- Weights & Biases -------------------------------------------------------------------------------
class WandbTracker:
    def __init__(self, run_dir: Path, recipe):
        import wandb
        self.run_dir, self.recipe = Path(run_dir), recipe
        info = read_json(RunLayout(run_dir).info, {}) or {}
        search = info.get("search") or {}
        folder = Path(os.environ.get("WANDB_DIR") or runs_root(run_dir) / "wandb")
        folder.mkdir(parents=True, exist_ok=True)
        config = dict(flat_params(recipe))
        if search:
            config.update({"search.name": search.get("search"), "search.trial": search.get("number")})
        self.run_id = info.get("id", self.run_dir.name)
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT") or "ft-lab", dir=str(folder), name=self.run_id,
                              group=search.get("search"), job_type="trial" if search else "run", config=config,
                              tags=[recipe.task.type, recipe.method.name], reinit="create_new",
                              settings=wandb.Settings(console="off", silent=True, save_code=False,
                                                      disable_git=True, x_disable_stats=True))
        self.step = 0

    def event(self, event: dict) -> None:
        step, values = scalars(event)
        if not values:
            return
        if step is None:  # test metrics (after training): the run's summary
            self.run.summary.update(values)
            return
        self.step = max(self.step, int(step))  # W&B drops steps that go back
        self.run.log(values, step=self.step)

    def close(self, status: str) -> None:
        import wandb
        artifact = wandb.Artifact(f"run-{self.run_id}", type="ft-lab-run", metadata={"status": status})
        with tempfile.TemporaryDirectory() as tmp:
            for path in artifact_files(self.run_dir, self.recipe, status, Path(tmp)):
                artifact.add_file(str(path))
            self.run.log_artifact(artifact)
            self.run.summary["status"] = status
            self.run.finish(exit_code=0 if status == "completed" else 1)
