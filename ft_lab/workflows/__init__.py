"""What drives whole runs: the run starter (``runner``), the worker process, method sweeps, export."""
