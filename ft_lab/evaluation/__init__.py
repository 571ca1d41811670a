"""Evaluation: evaluator components, their ``evaluate`` metric modules, and the files they read.

- ``classification`` / ``generation``: the built-in evaluators (registered in ``ft_lab.default_plugins.default_evaluators``);
- ``judge`` (``llm_judge``) and ``scenarios``: a judge model's scores, and user-written regression cases;
- ``metrics``: the same metrics as ``evaluate.Metric`` modules (``metrics.load("ft_lab_bleu")``);
- ``compare``: base model against fine-tuned, example by example; ``rescore``: ``ft-lab eval``;
- ``verdict``: which of the base model, the baselines and the fine-tuned model wins.

The predictions and metrics files themselves belong to the run directory (``ft_lab.rundir``).
"""
