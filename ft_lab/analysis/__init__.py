"""Error analysis in pure Python: the panels, the CLI report and notebooks all call this.

    from ft_lab.analysis import ExampleSet, slice_table, char_diff, compare_runs, base_vs_finetuned, ReviewStore
    ex = ExampleSet.from_run("runs/r1")
    ex.worst(10); ex.filter(label="billing"); ex.confused_pairs(5); ex.slices("source")

Modules: ``examples`` (selection and filters), ``slices`` (metric per slice, low slices flagged),
``diff`` (character diff), ``run_comparison`` (base against fine-tuned, run against run), ``review``
(human ratings and comments), ``html_report`` (self-contained HTML). A run directory is read through
``ft_lab.rundir.reader.RunFiles``.
"""
from .diff import char_diff, diff_html
from .examples import ExampleSet
from .review import ReviewStore, run_summary
from .run_comparison import base_vs_finetuned, compare_runs
from .slices import SliceTable, length_bucket, slice_table

__all__ = ["ExampleSet", "ReviewStore", "SliceTable", "base_vs_finetuned", "char_diff", "compare_runs",
           "diff_html", "length_bucket", "run_summary", "slice_table"]
