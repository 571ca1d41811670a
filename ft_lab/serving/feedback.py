"""``ft-lab monitor export SERVE_DIR --out FILE``: corrected requests as rows for the next run.

    rows = training_rows(log.requests(), log.feedbacks())            # {"text", "label"} or {"prompt", "response"}
    pairs = training_rows(log.requests(), log.feedbacks(), pairs=True)  # {"prompt", "chosen", "rejected"}

A corrected label gives a classification row; a corrected answer gives a generation row, or, with
``pairs``, a preference pair (the correction chosen over what the model answered). Texts are the masked
texts of the log; requests logged without text (``--no-store-text``) cannot become rows and are counted.
The latest feedback on a request wins.
"""
from __future__ import annotations


def training_rows(requests: list[dict], feedbacks: list[dict], pairs: bool = False) -> tuple[list[dict], int]:
    """(rows, skipped): one row per corrected request; skipped counts corrections without a logged input."""
    by_id = {r["id"]: r for r in requests}
    latest = {f["request_id"]: f for f in feedbacks if f["corrected"] or f["label"]}
    rows, skipped = [], 0
    for rid, f in latest.items():
        req = by_id.get(rid)
        if req is None or not req["input_text"]:
            skipped += 1
            continue
        if f["label"]:
            rows.append({"text": req["input_text"], "label": f["label"]})
        elif pairs:
            if req["output_text"] is None or req["output_text"] == f["corrected"]:
                skipped += 1
                continue
            rows.append({"prompt": req["input_text"], "chosen": f["corrected"], "rejected": req["output_text"]})
        else:
            rows.append({"prompt": req["input_text"], "response": f["corrected"]})
    return rows, skipped
