"""Hook specifications: what a plugin can implement. Each hook is documented in docs/plugins.md."""
import pluggy

hookspec = pluggy.HookspecMarker("ft_lab")
hookimpl = pluggy.HookimplMarker("ft_lab")


@hookspec
def register_cleaners(register):
    """Register Cleaner classes: call ``register(MyCleaner)`` once for each."""


@hookspec
def register_methods(register):
    """Register tuning Method classes: call ``register(MyMethod)`` once for each."""


@hookspec
def register_evaluators(register):
    """Register Evaluator classes: call ``register(MyEvaluator)`` once for each."""


@hookspec
def register_commands(subparsers):
    """Add ``ft-lab`` subcommands: ``p = subparsers.add_parser(...)``, then ``p.set_defaults(handler=fn)``."""


@hookspec
def register_baselines(register):
    """Register Baseline classes: call ``register(MyBaseline)`` once for each."""


@hookspec
def register_trackers(register):
    """Register experiment trackers: ``register("name", factory)``; ``factory(run_dir, recipe)`` returns an
    object with ``event(event)`` (each event of the run, in order) and ``close(status)``; a recipe's
    ``track: [name]`` turns it on. A tracker that raises is a ``warning`` event, never a failed run."""
