"""One self-contained HTML report of a run, small enough to attach to an e-mail.

    html_text = build_report("runs/r1", worst=20)
    write_report("runs/r1", "report.html")

Sections: metric table (base, fine-tuned, change), base-vs-fine-tuned outcomes, confusion-matrix
heatmap and per-class table (classification), slice tables with low slices flagged, worst examples
with a character diff against the reference, scenario results, tokenizers used, human review summary.
No scripts, no external files: styles are inline, so it renders the same in a mail client.
"""
from __future__ import annotations

import html
import math
import time
from pathlib import Path

from ..errors import UserError
from ..evaluation.forgetting import compared
from ..evaluation.verdict import sentence, winner
from ..rundir.reader import RunFiles
from ..safety.atomic import atomic_write_text
from .diff import diff_html
from .examples import ExampleSet, cheap
from .review import ReviewStore
from .run_comparison import base_vs_finetuned
from .slices import slice_table

CSS = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans CJK JP",Meiryo,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.flag{background:#fde7e7}.muted{color:#777}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
.ex td{max-width:420px;white-space:pre-wrap;word-break:break-word}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return _e(v)


def html_table(headers: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{_fmt(c)}</td>' if isinstance(c, (int, float)) and not isinstance(c, bool)
                        else f"<td>{c if isinstance(c, RawHTML) else _e(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


class RawHTML(str):
    """HTML already escaped (a diff)."""


def _metrics_section(metrics: dict) -> str:

    base, ft = metrics.get("base") or {}, metrics.get("finetuned") or {}
    baselines = metrics.get("baselines") or {}
    headline = metrics.get("headline")
    names = list(dict.fromkeys([*ft, *base, *(k for s in baselines.values() for k in (s or {}))]))
    if not names:
        return "<p class='muted'>No metrics yet (run <code>ft-lab eval RUN_DIR</code>).</p>"
    rows, classes = [], []
    for k in names:
        b, f = base.get(k), ft.get(k)
        change = f - b if isinstance(b, (int, float)) and isinstance(f, (int, float)) else None
        rows.append([RawHTML(f"<b>{_e(k)}</b>") if k == headline else k, b,
                     *((s or {}).get(k) for s in baselines.values()), f, change])
        classes.append("")
    verdict = sentence(winner(metrics)) if baselines else ""
    return (html_table(["metric", "base", *(f"baseline: {n}" for n in baselines), "fine-tuned", "change"], rows, classes)
            + (f"<p>{_e(verdict[0].upper() + verdict[1:])}.</p>" if verdict else ""))


def confusion_html(labels: list[str], matrix: list[list[int]]) -> str:
    """The confusion matrix as an HTML table heatmap with inline styles (report, panels, snapshots)."""
    top = max([max(r) for r in matrix if r] + [1])
    head = "".join(f"<th style='padding:2px 6px'>{_e(str(lab))}</th>" for lab in labels)
    rows = []
    for lab, row in zip(labels, matrix):
        cells = []
        for j, n in enumerate(row):
            alpha = n / top if top else 0
            hue = 140 if labels[j] == lab else 0  # green on the diagonal, red off it
            fg = "#fff" if alpha > 0.55 else "#222"
            cells.append(f"<td style='text-align:right;padding:2px 6px;background:hsla({hue},70%,45%,"
                         f"{alpha:.2f});color:{fg}'>{n}</td>")
        rows.append(f"<tr><th style='text-align:left;padding:2px 6px'>{_e(str(lab))}</th>{''.join(cells)}</tr>")
    return (f"<table class='ft-lab-confusion' style='border-collapse:collapse'><tr><th>reference \\ predicted"
            f"</th>{head}</tr>{''.join(rows)}</table>")


def _confusion_section(details: dict) -> str:
    cm = None
    for det in details.values():
        if isinstance(det, dict) and "confusion_matrix" in det:
            cm, per = det["confusion_matrix"], det.get("per_class", {})
            break
    if cm is None:
        return ""
    heat = confusion_html(cm["labels"], cm["matrix"])
    per_rows = [[lab, v["precision"], v["recall"], v["f1"], v["support"]] for lab, v in per.items()]
    return ("<h2>Confusion matrix (fine-tuned)</h2>" + heat
            + "<h2>Per class</h2>" + html_table(["label", "precision", "recall", "F1", "support"], per_rows))


def _slice_sections(ex: ExampleSet, evaluator, task: str, max_values: int = 30) -> str:
    if evaluator is None or not len(ex):
        return ""
    candidates = (["label"] if task == "classification" else []) + ["length"]
    meta_cols = sorted({k for e in ex for k in e["meta"]})
    for col in meta_cols:
        values = {str(e["meta"].get(col)) for e in ex}
        if 2 <= len(values) <= max_values:
            candidates.append(col)
    out = []
    for by in candidates:
        try:
            table = slice_table(ex.examples, by, evaluator=evaluator, length_edges=ex.length_edges)
        except UserError:
            continue
        if len(table.rows) < 2:
            continue
        rows = [[r["slice"], r["n"], r["value"], r["delta"], "below overall" if r["flagged"] else ""]
                for r in table.rows]
        out.append(f"<h3>by {_e(by)} <span class='muted'>({_e(table.metric)}, overall "
                   f"{_fmt(table.overall)})</span></h3>"
                   + html_table(["slice", "n", table.metric, "vs overall", ""], rows,
                            ["flag" if r["flagged"] else "" for r in table.rows]))
    return ("<h2>Slices</h2><p class='muted'>Flagged: at least 5 examples and more than 10% below the "
            "overall value.</p>" + "".join(out)) if out else ""


def _worst_section(ex: ExampleSet, k: int) -> str:
    if not ex.score_names or not len(ex):
        return ""
    by = ex.score_names[0]
    rows = []
    for e in ex.worst(k, by=by):
        rows.append([e["id"], e["scores"][by], e["input"][:600], e["reference"][:600], e["prediction"][:600],
                     RawHTML(diff_html(e["prediction"][:600], e["reference"][:600]))])
    return (f"<h2>Worst {len(rows)} examples <span class='muted'>(by {_e(by)}; diff: "
            f"<del>only in prediction</del> <ins>only in reference</ins>)</span></h2>"
            f"<div class='ex'>{html_table(['id', by, 'input', 'reference', 'prediction', 'diff'], rows)}</div>")


def _outcomes_section(run: RunFiles) -> str:

    if run.predictions("base") is None or run.predictions("finetuned") is None:
        return ""
    cmp = base_vs_finetuned(run.dir)
    c = cmp.counts
    return ("<h2>Base against fine-tuned</h2>"
            + html_table(["fixed", "broken", "still wrong", "still right"],
                     [[c["fixed"], c["broken"], c["still_wrong"], c["still_right"]]]))


def _details_section(details: dict) -> str:
    parts = []
    tok_rows = [[name, det.get("language", ""), det["tokenizer"]] for name, det in details.items()
                if isinstance(det, dict) and "tokenizer" in det]
    if tok_rows:
        parts.append("<h2>Tokenizers used</h2>" + html_table(["evaluator", "language", "tokenizer"], tok_rows))
    cases = (details.get("scenarios") or {}).get("cases")
    if cases:
        rows = [[c["name"], "pass" if c["passed"] else "FAIL", c["input"][:200], (c.get("prediction") or "")[:300],
                 "; ".join(c["failures"])] for c in cases]
        parts.append("<h2>Scenarios</h2>" + html_table(["case", "result", "input", "answer", "failures"], rows,
                                                   ["" if c["passed"] else "flag" for c in cases]))
    judge = details.get("llm_judge")
    if judge:
        failed = [j for j in judge["judgements"] if j.get("error")]
        parts.append(f"<h2>LLM judge</h2><p>{_e(judge.get('judge', ''))}, mode {_e(judge.get('mode'))}: "
                     f"{len(judge['judgements'])} judged, {len(failed)} failed.</p>")
        if failed:
            parts.append(html_table(["id", "error"], [[j["id"], j["error"]] for j in failed[:20]]))
    return "".join(parts)


def _plan_section(metrics: dict) -> str:
    """The run's plan against what it measured (metrics.json ``plan``, written after training)."""
    plan = metrics.get("plan") or {}
    est, got = plan.get("estimate") or {}, plan.get("measured") or {}
    if not est or not got:
        return ""
    speed = metrics.get("throughput") or {}
    rows = [["peak memory (MiB)", got.get("estimated_peak_mib"), got.get("measured_peak_mib"), got.get("memory_ratio")],
            ["training time (s)", got.get("estimated_seconds"), got.get("measured_seconds"), got.get("time_ratio")],
            ["utilization", est.get("utilization"), got.get("utilization"), None],
            ["tokens/s", None, speed.get("tokens_per_second"), None],
            ["MFU", None, speed.get("mfu"), None]]
    rows = [[("-" if v is None else v) for v in row] for row in rows]
    where = f"{est.get('gpus', 1)}x {est.get('accelerator')}"
    return (f"<h2>Plan against actual</h2><p class='muted'>{_e(where)} · expected utilization from "
            f"{_e(est.get('utilization_source', ''))} · peak memory measured as "
            f"{'max_memory_allocated' if est.get('accelerator') != 'cpu' else 'the peak resident set size'}</p>"
            + html_table(["", "estimated", "measured", "measured / estimated"], rows))


def _review_section(run_dir: Path) -> str:
    s = ReviewStore(run_dir).summary()
    if not s["reviews"]:
        return ""
    ratings = ", ".join(f"{k}: {v}" for k, v in s["ratings"].items())
    return ("<h2>Human review</h2>" + html_table(["examples reviewed", "mean rating", "ratings", "comments"],
                                             [[s["reviewed"], s["mean_rating"], ratings or "–", s["comments"]]]))


def _forgetting_section(report: dict | None) -> str:
    """A run with ancestors: each earlier run's test set, its own model against this one, per metric and
    per old label, under the verdict line."""
    if not report or not compared(report):
        return ""
    parts = [f"<h2>Forgetting</h2><p><b>{_e(report['verdict'])}</b> <span class='muted'>(a drop of more than "
             f"{_e(report.get('threshold_points'))} points on {_e(report['headline'])} counts as forgetting)</span></p>"]
    for e in compared(report):
        parts.append(f"<h3>{_e(e['run'])} <span class='muted'>({e['rows']} test rows)</span></h3>")
        parts.append(html_table(["metric", "earlier run" if "file" not in e else "at the start", "this run",
                                 "points"],
                            [[k, m.get("before"), m.get("after"), m.get("change")] for k, m in e["metrics"].items()]))
        if e.get("per_class"):
            parts.append(html_table(["old label", "earlier run", "this run", "rows"],
                                [[k, c.get("before"), c.get("after"), c["rows"]] for k, c in e["per_class"].items()]))
    return "".join(parts)


def _search_section(info: dict) -> str:
    """A search's trial: which search, which trial, its parameters, and where the search's own page comes from."""
    trial = info.get("search")
    if not isinstance(trial, dict):
        return ""
    params = html_table(["parameter", "value"], [[k, v] for k, v in (trial.get("params") or {}).items()])
    folder = trial.get("folder") or f"RUNS_DIR/searches/{trial.get('search')}"
    return (f"<h2>Search</h2><p>Trial {_e(trial.get('number'))} of the search <b>{_e(trial.get('search'))}</b>; "
            f"the search's page (leaderboard, best recipe, importances, plots): "
            f"<code>ft-lab report {_e(folder)}</code></p>{params}")


def build_report(run_dir: str | Path, worst: int = 20) -> str:
    run = RunFiles(run_dir)
    metrics, details = run.metrics(), run.details()
    ft_details = details.get("finetuned") or {}
    which = "finetuned" if run.predictions("finetuned") is not None else "base"
    ex, evaluator = ExampleSet([]), None
    if run.predictions(which) is not None:
        evaluators = cheap(run.evaluators())
        ex = ExampleSet(run.predictions(which), task=run.task)
        for ev in evaluators:
            ex.score_with(ev)
        evaluator = evaluators[0] if evaluators else None
        if not any("confusion_matrix" in (d or {}) for d in ft_details.values()) and run.task == "classification" \
                and evaluator is not None:
            ft_details = {**ft_details, evaluator.name: evaluator.details(ex.examples)}
    model = ""
    recipe = run.recipe_or_none()
    if recipe is not None:
        model = f"{recipe.model.name_or_path} · {recipe.method.name}"
    body = [f"<h1>ft-lab report: {_e(run.name)}</h1>",
            f"<p class='muted'>{_e(run.task)}{' · ' + _e(model) if model else ''} · {len(ex)} test examples"
            f" ({which}) · generated {time.strftime('%Y-%m-%d %H:%M')}</p>",
            _search_section(run.info), "<h2>Metrics</h2>", _metrics_section(metrics), _forgetting_section(metrics.get("forgetting")),
            _outcomes_section(run),
            _confusion_section(ft_details), _slice_sections(ex, evaluator, run.task),
            _worst_section(ex, worst), _details_section(ft_details), _plan_section(metrics), _review_section(run.dir)]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ft-lab report: {_e(run.name)}"
            f"</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(run_dir: str | Path, out: str | Path, worst: int = 20) -> Path:
    return atomic_write_text(Path(out), build_report(run_dir, worst))
