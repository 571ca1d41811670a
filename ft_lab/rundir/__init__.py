"""The run directory, the contract between the worker, the CLI, the panels and the server extension:
its layout, atomic writes, events, statuses, progress, the reader and the lock."""
