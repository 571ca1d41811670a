"""An example third-party ft-lab plugin: one cleaner and one evaluator."""
import re
from dataclasses import dataclass, field

from ft_lab import Cleaner, CleanResult, Evaluator, hookimpl


class MaskTicketIds(Cleaner):
    """Replace ticket numbers such as #12345 with a placeholder."""

    name = "mask_ticket_ids"

    @dataclass
    class Config:
        placeholder: str = field(default="<TICKET>", metadata={"help": "text put in place of a ticket id"})

    def clean(self, rows, columns):
        out, changed = [], 0
        for row in rows:
            new = {**row, **{c: re.sub(r"#\d{3,}", self.config.placeholder, row[c]) for c in columns}}
            changed += new != row
            out.append(new)
        return CleanResult(rows=out, changed=changed)


class LabelCoverage(Evaluator):
    """Share of reference labels that the model predicts at least once."""

    name = "label_coverage"
    tasks = ("classification",)

    def score(self, examples):
        refs = {e["reference"] for e in examples}
        preds = {e["prediction"] for e in examples}
        return {"label_coverage": len(refs & preds) / len(refs) if refs else 0.0}


@hookimpl
def register_cleaners(register):
    register(MaskTicketIds)


@hookimpl
def register_evaluators(register):
    register(LabelCoverage)
