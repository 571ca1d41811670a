"""Serving a finished run: an OpenAI-compatible API around an existing engine, its request log, monitoring
and feedback.

    ft-lab serve RUN_OR_EXPORT [--port P] [--host H] [--engine auto|transformers|vllm]   (app.py, engines.py)
    ft-lab monitor SERVE_DIR            volume, latency, errors, drift, low confidence, alert    (monitor.py)
    ft-lab monitor export SERVE_DIR --out FILE    corrected requests as training rows           (feedback.py)

The serve folder holds ``requests.sqlite`` (store.py), ``drift.json`` (what "far from the training data"
means for this run, drift.py), ``served.json`` (name, task, labels) and, for a generation run, the merged
model the engine loads (``model/``).
"""
