"""Plain-text views of a run for the terminal: progress lines and the base-vs-tuned metric table."""
from __future__ import annotations

from ..evaluation.forgetting import compared
from ..evaluation.verdict import sentence, winner
from ..rundir.progress import Progress, format_eta


class ProgressPrinter:
    """Prints one line per training log event (throttled by the worker's logging_steps); the ETA is
    ``ft_lab.rundir.progress``'s, as in the Train panel and the JupyterLab status bar."""

    def __init__(self, write=print):
        self.write = write
        self.progress = Progress()

    def __call__(self, e: dict) -> None:
        kind = e.get("type")
        self.progress.update(e)
        if kind == "status":
            extra = f": {e['error']}" if e.get("error") else ""
            self.write(f"[{e['status']}]{extra}")
        elif kind == "phase":
            what = {"evaluate_base": "evaluating the base model", "train": "training",
                    "evaluate": "evaluating the tuned model", "baselines": "running the baselines",
                    "lr_find": "finding the learning rate"}.get(e["phase"], e["phase"])
            if e.get("resume_from"):
                what += f" (resuming from {e['resume_from']})"
            if e.get("baseline"):
                what = f"running baseline {e['baseline']}"
            self.write(f"... {what}" + (f" on {e['examples']} test examples" if e.get("examples") else ""))
        elif kind == "model":
            self.write(f"method {e['method']}: " + (e.get("budget") or f"{e['trainable_parameters']:,} "
                                                    f"trainable of {e['total_parameters']:,} parameters"))
        elif kind == "log" and "loss" in e:
            step, total = e["step"], e.get("max_steps") or 0
            line = f"step {step}/{total}"
            if total:
                line += f" ({100 * step // total}%)"
            line += f"  loss {e['loss']:.4f}"
            if "learning_rate" in e:
                line += f"  lr {e['learning_rate']:.2e}"
            if "tokens_per_second" in e:
                line += f"  {e['tokens_per_second']:,.0f} tok/s"
            eta = self.progress.eta()
            if eta is not None:
                line += f"  ETA {format_eta(eta)}"
            self.write(line)
        elif kind == "eval" and e.get("split") == "validation":
            shown = "  ".join(f"{k} {v:.4f}" for k, v in e["metrics"].items()
                              if k in ("loss", "accuracy") and isinstance(v, float))
            self.write(f"validation at step {e['step']}: {shown}")
        elif kind == "defaults":
            self.write("settings chosen for this run (pin any of them in the recipe):")
            for c in e.get("choices", []):
                self.write(f"  {c['field']} = {c['value']}  ({c['why']})")
        elif kind == "baseline":
            shown = "  ".join(f"{k} {v:.4f}" for k, v in e["metrics"].items() if isinstance(v, (int, float)))
            self.write(f"baseline {e['name']}: {shown or 'no metrics'} ({e.get('seconds', 0):.1f} s)")
        elif kind == "lr_find":
            self.write(f"learning rate {e['learning_rate']:.3g} chosen by a range test of {e['steps']} steps "
                       f"({e['seconds']:.1f} s)")
        elif kind == "warning":
            self.write(f"warning: {e['message']}")


def metric_table(metrics: dict) -> str:
    """Base, each baseline and fine-tuned, one metric a row, with the change base -> fine-tuned and the
    headline's winner under the table."""

    base, tuned = metrics.get("base") or {}, metrics.get("finetuned") or {}
    baselines = metrics.get("baselines") or {}
    every = [tuned, base, *baselines.values()]
    names = [k for k in dict.fromkeys(k for side in every for k in side)
             if any(isinstance(side.get(k), (int, float)) for side in every)]
    if not names:
        return "(no metrics)"
    rows = [("metric", "base", *baselines, "fine-tuned", "change")]
    for n in names:
        b, t = base.get(n), tuned.get(n)
        rows.append((n, _num(b), *(_num((s or {}).get(n)) for s in baselines.values()), _num(t),
                     (f"{t - b:+.4f}" if isinstance(b, (int, float)) and isinstance(t, (int, float)) else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdict = sentence(winner(metrics))
    forgetting = forgetting_table(metrics.get("forgetting"))
    return "\n".join(lines + ([verdict] if verdict and baselines else []) + ([forgetting] if forgetting else []))


def forgetting_table(report: dict | None) -> str:
    """A run with ancestors: each ancestor's test set, its own model's score and the new model's, per metric,
    then the verdict line ("forgetting: kept" or "forgetting: forgot N points of ... on <run>")."""
    if not report or not compared(report):
        return ""
    rows = [("earlier run's test set", "metric", "before", "after", "points")]
    for e in compared(report):
        for name, m in e["metrics"].items():
            change = m.get("change")
            rows.append((f"{e['run']} ({e['rows']} rows)", name, _num(m.get("before")), _num(m.get("after")),
                         f"{change:+.1f}" if isinstance(change, (int, float)) else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(["", *lines, f"forgetting: {report['verdict']}"])


def _num(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) else "-"
