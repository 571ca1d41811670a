"""Training: encode examples, build the HF Trainer, and the worker process that runs it."""
