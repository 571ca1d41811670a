"""Hyperparameter search: Optuna chooses each trial's recipe fields; every trial is an ordinary run.

    ft-lab search recipe.yaml [--storage URL] [--workers N] [--trials N] [--timeout S] [--runs-dir DIR]
    result = ft_lab.search("recipe.yaml", trials=8)     # SearchResult: folder, rows, best

The recipe's ``search`` section names the space (``ft_lab.core.search_space``), the sampler, the
objective (a validation metric; with ``time_objective`` also the training time: a Pareto front) and
the pruner. Each trial is a run directory made by ``create_run`` and trained by ``start_worker``,
marked in run.json and by a ``trial`` event with its search and number; the search follows the run's
events and reports each validation evaluation to Optuna, which may prune it (the run is asked to stop,
as ``ft-lab`` stop does). The study lives in ``RUNS_DIR/searches/NAME/study.db`` (SQLite) or any
Optuna storage URL; the folder also holds the leaderboard, the best recipe and the plots
(``ft_lab.workflows.search_outputs``).

Resuming is running the same command again: finished trials stay; a trial left running by a search
process that died is marked failed and enqueued again (``ft_lab.workflows.search_recovery``: by its pid on
this machine, by its heartbeat on any machine sharing the study), and the new trial takes over its run: it
waits for a worker that is still alive, resumes a stopped or failed one from its checkpoint, and reads a
completed one (a run directory on another machine is trained again).
"""
from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.environment import check_environment
from ..core.recipe import Recipe, RecipeError
from ..core.search_space import Dimension, apply_params, dimensions
from ..errors import UserError
from ..rundir.reader import append_event, last_checkpoint, read_events
from ..rundir.status import COMPLETED, LIVE
from ..safety.atomic import atomic_write_text
from ..training.launch import threads_per_process
from . import search_outputs
from .runner import RunHandle, as_recipe, create_run, resume, runs_root, start_worker
from .search_recovery import HEARTBEAT_S, STALE_S, Heartbeat, recover_dead_trials
from .trackers import search_parent_run

POLL_S = 0.5


@dataclass
class SearchResult:
    folder: Path
    rows: list[dict]
    best: dict | None


@dataclass
class Plan:
    """Everything a search process needs, checked before anything is written."""

    name: str
    folder: Path
    runs_dir: Path
    recipe: Recipe  # with its search section, data paths resolved
    plain: dict  # the recipe without search, as trials start from
    dims: list[Dimension]
    objective: str
    directions: list[str]
    storage_url: str
    trials: int
    timeout: float | None
    mlflow_parent: str | None = None  # track: [mlflow]: the search's MLflow run, parent of the trials' runs
    threads: int | None = None  # CPU threads of a trial's worker where several search workers share the cores


# --- checking -------------------------------------------------------------------------------------
def default_objective(recipe: Recipe) -> str:
    return "accuracy" if recipe.model_task() == "classification" and recipe.task.type == "classification" else "loss"


def plan_search(recipe, runs_dir=None, storage=None, trials=None, timeout=None, name=None) -> Plan:
    """Check the recipe's search and the budget (one UserError for the first problem); writes nothing."""
    source_name = Path(str(recipe)).stem if isinstance(recipe, (str, os.PathLike)) and "\n" not in str(recipe) else None
    recipe = as_recipe(recipe)
    if recipe.search is None:
        raise UserError("the recipe has no search section: add one, e.g. search: {space: {train.learning_rate: "
                        "{low: 1e-5, high: 1e-2, log: true}}, trials: 8}")
    s = recipe.search
    for flag, value in (("--trials", trials), ("--timeout", timeout)):
        if value is not None and value <= 0:
            raise UserError(f"{flag}: the budget must be greater than 0, got {value}")
    dims = dimensions(s.space)  # parsed already by the recipe: no problems left here
    resolved = check_environment(recipe.resolved())
    plain = resolved.to_dict()
    plain.pop("search", None)
    for dim in dims:  # each end of each range must make a valid recipe (types, capabilities)
        for value in dim.extremes():
            try:
                Recipe.from_dict(apply_params(plain, {dim.path: value}), base_dir=recipe.base_dir)
            except RecipeError as exc:
                raise UserError(f"search.space.{dim.path}: the value {value!r} makes the recipe invalid: "
                                f"{exc.problems[0]}") from None
    objective = default_objective(resolved) if s.objective == "auto" else s.objective
    allowed = ["loss"] + (["accuracy"] if default_objective(resolved) == "accuracy" else [])
    if objective not in allowed:
        raise UserError(f"search.objective: '{objective}' is not a validation metric of this run "
                        f"(validation metrics: {', '.join(allowed)})")
    if resolved.data.path and resolved.data.split[1] == 0 and not resolved.data.validation:
        raise UserError("search: the objective is a validation metric, but data.split leaves no validation rows")
    direction = s.direction if s.direction != "auto" else ("minimize" if objective == "loss" else "maximize")
    directions = [direction] + (["minimize"] if s.time_objective else [])
    budget = trials or s.trials
    if s.sampler == "grid":
        size = 1
        for d in dims:
            size *= len(d.grid())
        budget = min(budget or size, size)
    name = name or s.name or source_name or "search"
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UserError(f"search.name: '{name}' must be letters, digits, '-', '_' or '.' (it names a folder)")
    root = runs_root(runs_dir)
    folder = root / "searches" / name
    url = storage or s.storage or f"sqlite:///{folder / 'study.db'}"
    plan = Plan(name, folder, root, resolved, plain, dims, objective, directions, url, budget or 10,
                timeout if timeout is not None else s.timeout)
    _check_storage(plan)
    return plan


def _check_storage(plan: Plan) -> None:
    """An unreachable storage URL is a one-line error before anything is written (the default SQLite
    file is created with the folder)."""
    if plan.storage_url.startswith("sqlite:///") and Path(plan.storage_url[10:]).parent == plan.folder:
        return
    try:
        storage = _storage(plan.storage_url)
        storage.get_all_studies()
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver's error: the URL is what the user can fix
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--storage: cannot reach {_redacted(plan.storage_url)} ({first[:200]})") from None


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _storage(url: str):
    import optuna
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():  # the heartbeat arguments are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                                              grace_period=STALE_S)
    except ImportError as exc:
        raise UserError(f"--storage: the database driver is not installed ({exc})") from None


# --- the study --------------------------------------------------------------------------------------
def _sampler(plan: Plan, worker: int):
    import optuna
    s = plan.recipe.search
    seed = s.seed + worker  # two workers must not draw the same sequence
    if s.sampler == "grid":
        class Grid(optuna.samplers.GridSampler):
            def after_trial(self, *args, **kwargs):  # it stops optimize(); the budget here is the grid's size
                pass
        return Grid({d.path: d.grid() for d in plan.dims}, seed=seed)
    if s.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if s.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    if s.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(4, max(1, plan.trials // 3)))


def _pruner(plan: Plan):
    import optuna
    s = plan.recipe.search
    if s.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=s.pruner_startup_trials, n_warmup_steps=0)
    if s.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


def open_study(plan: Plan, worker: int = 0):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=plan.name, storage=_storage(plan.storage_url), sampler=_sampler(plan, worker),
                                pruner=_pruner(plan), directions=plan.directions, load_if_exists=True)
    definition = {"space": plan.recipe.search.space, "objective": plan.objective, "directions": plan.directions,
                  "sampler": plan.recipe.search.sampler}
    stored = study.user_attrs.get("definition")
    if stored is None:
        study.set_user_attr("definition", definition)
        study.set_user_attr("budget", plan.trials)
    elif stored != definition:
        raise UserError(f"search '{plan.name}' already exists with another space, objective or sampler "
                        f"({plan.folder}); give this one another search.name")
    return study


def _suggest(trial, dim: Dimension):
    if dim.kind == "choice":
        return trial.suggest_categorical(dim.path, list(dim.choices))
    if dim.kind == "int":
        return trial.suggest_int(dim.path, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(dim.path, float(dim.low), float(dim.high), step=dim.step, log=dim.log)


# --- one trial --------------------------------------------------------------------------------------
def _trial_run(plan: Plan, trial, params: dict) -> tuple[RunHandle, str]:
    """Start (or take over) the trial's run; returns the handle and how it began."""
    take_over = trial.user_attrs.get("take_over")
    if take_over and Path(take_over).is_dir():
        handle = RunHandle(take_over)
        status = handle.status
        if status in LIVE:
            return handle, "taken over (its worker was still training)"
        if status == COMPLETED:
            return handle, "taken over (its run had completed)"
        if last_checkpoint(handle.dir):
            resumed = resume(handle.dir)
            resumed.follow_from = 0
            return resumed, "resumed from its checkpoint"
    recipe = Recipe.from_dict(apply_params(plan.plain, params), base_dir=plan.recipe.base_dir)
    marker = {"search": plan.name, "number": trial.number, "params": params, "folder": str(plan.folder),
              **({"mlflow_parent": plan.mlflow_parent} if plan.mlflow_parent else {})}
    run_dir = create_run(recipe, plan.runs_dir, info={"search": marker})
    append_event(run_dir, {"type": "trial", **marker})
    return start_worker(run_dir, threads=plan.threads), "re-run" if take_over else "new"


def objective_value(handle, objective: str, maximize: bool) -> float | None:
    """The run's validation value of ``objective``: the best one when the run keeps its best checkpoint,
    else the last."""
    values = [e["metrics"][objective] for e in handle.events("eval")
              if e.get("split") == "validation" and isinstance((e.get("metrics") or {}).get(objective), (int, float))]
    if not values:
        return None
    try:
        keep_best = handle.recipe().train.keep_best is True
    except Exception:  # noqa: BLE001 - an unreadable recipe: the last value
        keep_best = False
    return (max(values) if maximize else min(values)) if keep_best else values[-1]


def run_trial(plan: Plan, study, trial, say=print) -> str:
    from optuna.trial import TrialState
    params = {d.path: _suggest(trial, d) for d in plan.dims}
    try:
        handle, how = _trial_run(plan, trial, params)
    except UserError as exc:  # e.g. a combination a method refuses
        trial.set_user_attr("note", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        say(f"trial {trial.number}: refused ({exc})")
        return "failed"
    trial.set_user_attr("run_dir", str(handle.dir))
    trial.set_user_attr("started", how)
    search_outputs.write_all(plan, study)  # the leaderboard shows the trial running (and its run) right away
    say(f"trial {trial.number}: {how} {_params_text(params)} ({handle.dir.name})")
    maximize = plan.directions[0] == "maximize"
    pruned, offset = False, handle.follow_from
    try:
        while True:
            events, offset = read_events(handle.dir, offset)
            for e in events:
                value = (e.get("metrics") or {}).get(plan.objective) if e.get("type") == "eval" else None
                if e.get("split") == "validation" and isinstance(value, (int, float)) and len(plan.directions) == 1:
                    trial.report(float(value), int(e.get("step") or 0))
                    if not pruned and trial.should_prune():
                        pruned = True
                        handle.stop()
                        say(f"trial {trial.number}: pruned at step {e.get('step')} ({plan.objective} {value:.4g})")
            status = handle.status
            if status not in LIVE:
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        handle.stop()
        raise
    if handle.process is not None:
        try:
            handle.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    steps = max([e.get("step") or 0 for e in handle.events() if e.get("type") in ("log", "train_end", "eval")],
                default=0)
    runtime = next((e.get("train_runtime") for e in reversed(handle.events("train_end"))), None)
    trial.set_user_attr("steps", steps)
    if runtime is not None:
        trial.set_user_attr("train_runtime", float(runtime))
    if pruned:
        append_event(handle.dir, {"type": "trial", "search": plan.name, "number": trial.number, "params": params,
                                  "state": "pruned"})
        study.tell(trial, state=TrialState.PRUNED)
        return "pruned"
    value = objective_value(handle, plan.objective, maximize) if status == COMPLETED else None
    if value is None:
        trial.set_user_attr("note", handle.error or f"the run is {status}" + ("" if status != COMPLETED else
                                                                             f" without a validation {plan.objective}"))
        study.tell(trial, state=TrialState.FAIL)
        say(f"trial {trial.number}: failed ({status})")
        return "failed"
    values = [value] + ([float(runtime or 0.0)] if len(plan.directions) > 1 else [])
    study.tell(trial, values if len(values) > 1 else value)
    say(f"trial {trial.number}: {plan.objective} {value:.4f}")
    return "complete"


def _params_text(params: dict) -> str:
    return ", ".join(f"{k.split('.', 1)[1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.', 1)[1]}={v}"
                     for k, v in params.items())


# --- the loop ---------------------------------------------------------------------------------------
def _counted(study) -> int:
    from optuna.trial import TrialState
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)))


def search_loop(plan: Plan, worker: int = 0, say=print) -> None:
    """Ask for trials until the budget (trials of the whole study, or this call's wall time) is spent."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState
    plan.folder.mkdir(parents=True, exist_ok=True)
    study = open_study(plan, worker)
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
    search_outputs.write_all(plan, study)
    lock_path = plan.folder / ".ask.lock"
    while deadline is None or time.monotonic() < deadline:
        with open(lock_path, "a+") as lock:  # one ask at a time on this machine: the budget is not overrun
            fcntl.flock(lock, fcntl.LOCK_EX)
            recovered = recover_dead_trials(study)  # before each ask: another machine's may go stale meanwhile
            if recovered:
                say(f"trials {', '.join(map(str, recovered))} were left running by a search that died: enqueued again")
            if _counted(study) >= plan.trials:
                break
            with warnings.catch_warnings():  # ask/tell, not optimize: the heartbeat is this loop's (Heartbeat)
                warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
                trial = study.ask()
            for key, value in (("host", socket.gethostname()), ("pid", os.getpid()), ("worker", worker)):
                trial.set_user_attr(key, value)
        try:
            with Heartbeat(study, trial):
                run_trial(plan, study, trial, say)
        except UpdateFinishedTrialError:  # its heartbeat missed STALE_S (the database was out of reach)
            say(f"trial {trial.number}: failed meanwhile by another search process, which re-runs it")
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAIL)
            search_outputs.write_all(plan, study)
            raise
        search_outputs.write_all(plan, study)
    search_outputs.write_all(plan, study)


def search(recipe, runs_dir=None, storage=None, workers: int = 1, trials=None, timeout=None, name=None,
           worker_index: int = 0, on_progress=None) -> SearchResult:
    """Run (or continue) the recipe's search; returns its folder, leaderboard rows and best row.

    ``workers``: trial processes on this machine sharing the study (this one and workers - 1 more
    ``ft-lab search`` processes). Several machines: the same call with the same ``storage`` URL on each."""
    if workers < 1:
        raise UserError(f"--workers: expected at least 1, got {workers}")
    plan = plan_search(recipe, runs_dir, storage, trials, timeout, name)
    say = on_progress or (lambda m: print(m, file=sys.stderr, flush=True))
    plan.folder.mkdir(parents=True, exist_ok=True)
    definition = plan.folder / "search.yaml"
    if not definition.exists():
        atomic_write_text(definition, replace(plan.recipe, search=plan.recipe.search).to_yaml())
    if "mlflow" in (plan.recipe.track or []):
        plan.mlflow_parent = _mlflow_parent(plan, say)
    if workers > 1 and not os.environ.get("FT_LAB_THREADS"):  # N trials at once share the cores, never oversubscribe
        plan.threads = threads_per_process(workers)
    others = [_start_worker_process(plan, definition, i) for i in range(1, workers)]
    try:
        search_loop(plan, worker_index, say)
    finally:
        for p in others:
            p.wait()
    study = open_study(plan, worker_index)
    rows = search_outputs.write_all(plan, study)
    return SearchResult(plan.folder, rows, search_outputs.best_row(rows))


def _mlflow_parent(plan: Plan, say) -> str | None:
    try:
        return search_parent_run(plan.runs_dir, plan.name, {"objective": plan.objective, "sampler":
                                                            plan.recipe.search.sampler, "budget": plan.trials})
    except Exception as exc:  # noqa: BLE001 - tracking never stops a search; each trial warns on its own
        say(f"warning: MLflow: no parent run for the search ({type(exc).__name__}: {str(exc)[:200]})")
        return None


def _start_worker_process(plan: Plan, definition: Path, index: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "ft_lab.cli", "search", str(definition), "--storage", plan.storage_url,
               "--runs-dir", str(plan.runs_dir), "--name", plan.name, "--trials", str(plan.trials),
               "--worker-index", str(index)]
    if plan.timeout is not None:
        command += ["--timeout", str(plan.timeout)]
    log = open(plan.folder / f"worker-{index}.log", "ab")
    env = dict(os.environ, **({"FT_LAB_THREADS": str(plan.threads)} if plan.threads else {}))
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
