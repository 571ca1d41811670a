"""Plans: what a recipe will cost before it runs (memory per GPU, time, money) on a named accelerator,
and how close each run came to its plan.

- ``accelerators.py``: the table of accelerators (built-in rows and the user's file);
- ``shape.py``: the recipe's model built on the meta device, its method applied, counted;
- ``workload.py``: the training rows' token lengths, read as the worker reads them;
- ``memory.py``: peak memory per process, part by part, under DDP/FSDP/DeepSpeed;
- ``plan.py``: time and cost, fits or not, the changes that make it fit; ``plan_recipe`` (``ft_lab.plan``);
- ``calibration.py``: the utilization learned from finished runs;
- ``check.py``: a run's plan against what it measured.
"""
