"""Baselines beside every run: what the task scores without fine-tuning (classical, retrieval, k-shot)."""
