"""The benchmark commands the README and docs/*.md tell a user to run, run as written (plus ``--smoke``)
as subprocesses of the real scripts, and their output checked for the figures, not only the exit code.

Which documented benchmark commands run here, and which do not (and why), is the table ``DOCUMENTED``;
``test_every_documented_benchmark_is_accounted_for`` fails when a doc names a script it does not list.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: each benchmark script a doc names: the test that runs it, or why none does in the suite
DOCUMENTED = {
    "train_throughput.py": "test_train_throughput_command (here, every documented command at --smoke size)",
    "gpu_check.py": "test_gpu_check_command (here, --device cpu: the reduced check; its CUDA parts listed as skipped)",
    "plan_accuracy.py": "test_plan_accuracy_command (here, --smoke: the tiny model's recipes)",
    "bench_eval_memory.py": "test_eval_memory_command (here, --sizes 200 2000)",
    "bench_greedy_ner.py": "tests/test_greedy_ner.py::test_benchmark_script_compares_with_spacy (main(), shipped samples)",
    "bench_pii.py": "test_pii_utility_smoke_command (here, --smoke: the shipped samples); its other forms score "
                    "../shared/data sets (presidio_pii_small, ner_wikipedia_ja, banking77), not shipped, train "
                    "all-MiniLM-L6-v2 (--model-intents), or need a downloaded presidio-evaluator wheel",
    "bench_data.py": "not run: builds its rows from ../shared/data (banking77, JCommonsenseQA, JaQuAD, ...), not shipped",
    "real_models.py": "not run: pretrained models from packages the Makefile does not install, and long runs",
    "preference.py": "test_preference_command (here, --smoke: the tiny model, 2 + 2 updates)",
    "train_ja_persons.py": "tests/test_pii_ja_persons.py (its steps on the shipped sample)",
    "continual.py": "test_continual_command (here, --smoke: the tiny model on the bundled sample, 2+2 intents)",
    # in no doc, run here all the same, so that they cannot rot
    "bench_generation.py": "test_generation_command (here, 4 prompts)",
    "bench_panels_overhead.py": "test_panels_overhead_command (here, 10 steps, no warm-up)",
    "bench_processes.py": "test_processes_command (here, 4 steps, 1 against 2 processes)",
    "serve.py": "test_serve_command (here, --smoke: the tiny model, 1 and 2 clients)",
    "search.py": "test_search_command (here, --smoke: the tiny model, 2 trials a search)",
    "presidio_templates.py": "not run: bench_pii.py's helper, which needs a downloaded presidio-evaluator wheel",
}
ENV = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
           PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def documented_commands(script: str) -> list[str]:
    """Each distinct ``python benchmarks/SCRIPT ...`` command in the docs, its arguments as written (comments
    dropped; a prose mention of the script without ``python`` is not a command)."""
    found = []
    for doc in DOCS:
        for line in doc.read_text(encoding="utf-8").splitlines():
            for m in re.finditer(rf"python\s+benchmarks/{re.escape(script)}([^`#\n]*)", line):
                args = m.group(1).strip()
                if args not in found:
                    found.append(args)
    return found


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_script(script: str, args: list[str], timeout: int = 240) -> str:
    proc = subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc.stdout


def test_every_documented_benchmark_is_accounted_for():
    named = set()
    for doc in DOCS:
        named |= set(re.findall(r"benchmarks/([\w.]+\.py)", doc.read_text(encoding="utf-8")))
    assert "train_throughput.py" in named
    assert named <= set(DOCUMENTED), f"benchmarks named in the docs but not in DOCUMENTED: {named - set(DOCUMENTED)}"
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    assert scripts <= set(DOCUMENTED), f"benchmark scripts neither run here nor explained: {scripts - set(DOCUMENTED)}"
    for script in DOCUMENTED:
        assert (ROOT / "benchmarks" / script).exists(), script


THROUGHPUT = documented_commands("train_throughput.py")


def test_the_readme_speed_command_is_among_them():
    assert "--device cpu --steps 40" in THROUGHPUT


@pytest.mark.parametrize("command", THROUGHPUT)
def test_train_throughput_command(command):
    """Baseline and ft-lab's engine both train (each in its own process) and the table and ratio print."""
    args = shlex.split(command)
    if "cuda" in args and not _cuda():
        pytest.skip("needs a CUDA GPU")
    out = run_script("train_throughput.py", [*args, "--smoke"])
    steps = re.findall(r"^(baseline|ft-lab): [\d.]+ real tokens/s, peak \d+ MiB, (\d+) steps", out, re.M)
    assert [s for s, _ in steps] == ["baseline", "ft-lab"], out
    assert all(int(n) > 1 for _, n in steps), out
    assert re.search(r"^real tokens/s\s+[\d.]+\s+[\d.]+\s+\d+\.\d\dx$", out, re.M), out
    assert re.search(r"^held-out loss \(end\)\s+\d+\.\d{4}\s+\d+\.\d{4}", out, re.M), out
    # every `auto` ft-lab's side left was resolved as a run resolves it, and shown
    assert "auto setting: train.epochs = 1.0" in out, out
    assert re.search(r"^speedup: \d+\.\d\dx$", out.splitlines()[-1]), out


def test_eval_memory_command():
    """``bench_eval_memory.py`` at two small sizes: a row per size and mode with its peak figures."""
    out = run_script("bench_eval_memory.py", ["--sizes", "200", "2000"])
    for n in (200, 2000):
        for mode in ("streaming", "naive-list+sklearn"):
            assert re.search(rf"^\s+{n}\s+{re.escape(mode)}\s+\d+\.\d\d\s+-?\d+\.\d\s+\d+\.\d\d$", out, re.M), out
    assert re.search(r"^streaming heap peak, largest / smallest test set: \d+\.\d\dx for 10x the examples "
                     r"\(naive baseline: \d+\.\dx\)$", out, re.M), out


def test_generation_command():
    """``bench_generation.py``: one-at-a-time against batched greedy answers, with the speed-up and whether
    the answers are the same."""
    out = run_script("bench_generation.py", ["--examples", "4", "--batch-size", "2", "--max-new-tokens", "4"])
    assert re.search(r"^one at a time: [\d.]+ s \([\d.]+ examples/s\)$", out, re.M), out
    assert re.search(r"^batch size 2: [\d.]+ s \([\d.]+ examples/s\)$", out, re.M), out
    assert re.search(r"^speed-up: [\d.]+x; identical answers: 4/4$", out, re.M), out


def test_panels_overhead_command():
    """``bench_panels_overhead.py``: the same run headless and followed by the panels, and the overhead."""
    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    before = sorted(p.name for p in kernels.iterdir()) if kernels.exists() else []
    out = run_script("bench_panels_overhead.py", ["--max-steps", "10", "--no-warmup"], timeout=900)
    after = sorted(p.name for p in kernels.iterdir()) if kernels.exists() else []
    assert after == before, f"the benchmark installed a kernel into the venv: {after}"  # its kernel is temporary
    for measure in ("train_runtime", "log span"):
        line = rf"^panels / headless training time \({measure}\):\s+\d+\.\d{{4}}\s+-> overhead [+-]\d+\.\d\d%$"
        assert re.search(line, out, re.M), out


def test_processes_command():
    """``bench_processes.py``: one process against two (DDP on the CPU), tokens per second and the ratio."""
    out = run_script("bench_processes.py", ["--steps", "4"])
    rows = re.findall(r"^\s+([12])\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.M)
    assert rows == ["1", "2"], out
    assert re.search(r"^2 processes \(ddp\) / 1 process: \d+\.\d\dx tokens per second", out, re.M), out


def test_preference_command():
    """``preference.py --smoke``: SFT, SFT then ``ft-lab pairs`` then DPO from its adapter; the table and the
    held-out reward figures."""
    out = run_script("preference.py", ["--smoke"], timeout=600)
    assert re.search(r"^\| SFT \| 4 \| \d\.\d{4} \|$", out, re.M), out
    assert re.search(r"^\| SFT 2 then DPO 2 \(pairs: 8 worst training answers\) \| 4 \| \d\.\d{4} \|$", out, re.M), out
    assert re.search(r"^dpo on held-out pairs: reward accuracy [01]\.\d{3}, margin -?\d+\.\d{4} \(\d+ pairs\)$",
                     out, re.M), out
    saved = re.search(r"^dpo padding-free: (\d+) tokens computed of (\d+) padded \((\d+\.\d)% saved, \d+ forward "
                      r"passes\)$", out, re.M)
    assert saved and 0 < int(saved[1]) < int(saved[2]) and float(saved[3]) > 0, out


def test_pii_utility_smoke_command():
    """``bench_pii.py --smoke``: rows pii_ner alters on the two shipped PII-free samples, with its defaults and
    with every type, each set's row (the aim: at most 0.5% with the defaults)."""
    from ft_lab.cleaners.pii_ner import ner_missing

    if ner_missing():
        pytest.skip("the ner extra is not installed (make setup does)")
    out = run_script("bench_pii.py", ["--smoke"])
    rows = re.findall(r"^\s+(banking77_sample|jcommonsenseqa_sample)\s+(\d+)\s+(\d+) \(\s*([\d.]+)%\)\s+(\d+) "
                      r"\(\s*([\d.]+)%\)\s+tuned on$", out, re.M)
    assert [r[0] for r in rows] == ["banking77_sample", "jcommonsenseqa_sample"], out
    for _, n, altered, share, every, _ in rows:
        assert int(n) >= 300 and float(share) <= 0.5 and int(every) > int(altered), out


def test_serve_command():
    """``serve.py --smoke``: ft-lab serve and the bare transformers server answer the same requests; a row
    per number of clients, every request in ft-lab's log, and the throughput ratio."""
    out = run_script("serve.py", ["--smoke"], timeout=400)
    rows = re.findall(r"^\| ([12]) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+/\d+ \| \d+/\d+ \| [\d.]+x "
                      r"\| [\d.]+ \| [\d.]+ \|$", out, re.M)
    assert rows == ["1", "2"], out
    assert re.search(r"^ft-lab request log: (\d+) requests \(expected \1\)$", out, re.M), out
    assert re.search(r"^ft-lab / bare engine throughput \(tokens/s\): lowest [\d.]+x, mean [\d.]+x$", out, re.M), out
    assert re.search(r"^ft-lab / bare engine server CPU per generated token: [\d.]+x, [\d.]+x \(at 1, 2 clients\)$",
                     out, re.M), out


def test_continual_command():
    """``continual.py --smoke``: A, then B from A naively, with replay at two fractions and with EWC, and joint
    retraining; a row each with accuracy on A's and B's test rows and the share of joint's training time."""
    assert documented_commands("continual.py"), "docs/continual.md names the command"
    out = run_script("continual.py", ["--smoke"], timeout=600)
    acc = r"(\d\.\d{3})"
    cost = r"[\d.]+ \| \d+% \| [1-9]\d* \| \d+%"  # seconds, share of joint's, updates, share of joint's
    assert re.search(rf"^\| A \(base -> A\) \| {acc} \| - \| {cost} \|$", out, re.M), out
    for stage in ("naive", "replay 10%", "replay 30%", "ewc 0.05"):
        assert re.search(rf"^\| {re.escape(stage)} \(A -> B\) \| {acc} \| {acc} \| {cost} \|$", out, re.M), out
    assert re.search(rf"^\| joint \(base -> A\+B\) \| {acc} \| {acc} \| [\d.]+ \| 100% \| [1-9]\d* \| 100% \|$",
                     out, re.M), out


@pytest.mark.timeout(1200)
def test_search_command():
    """``search.py --smoke``: grid, random and TPE with pruning on one space, the best against the default on
    test, and 1 against 2 workers; each figure present."""
    out = run_script("search.py", ["--smoke"], timeout=900)
    for label in ("grid", "random", "tpe \\+ median pruning"):
        assert re.search(rf"^\| {label} \| \d+ \| \d+ \| \d+ \| \d\.\d{{4}} \| \d+ \|$", out, re.M), out
    assert re.search(r"^TPE\+pruning / grid: \d+\.\d\dx the updates", out, re.M), out
    assert re.search(r"^TPE\+pruning first reached the grid's best validation accuracy \(\d\.\d{4}\) (after \d+ updates: "
                     r"\d+\.\d\dx the grid's \d+|in none of its \d+ trials \(\d+ updates\))$", out, re.M), out
    assert re.search(r"^test accuracy: best searched \(.+\) \d\.\d{4}; auto default \d\.\d{4}; difference [+-]\d+\.\d points$",
                     out, re.M), out
    assert re.search(r"^2 trials: 1 worker \d+ s, 2 workers \d+ s: \d+\.\d\dx the wall time$", out, re.M), out
    # the flags of docs/search.md's TPE commands: another pruner, its start-up, the grid's figures from an earlier run
    out = run_script("search.py", ["--smoke", "--parts", "samplers", "--samplers", "tpe", "--pruner", "hyperband",
                                   "--pruner-startup", "2", "--grid-best", "0.2/8"], timeout=900)
    assert re.search(r"^\| tpe \+ hyperband pruning \| 1 \| \d+ \| \d+ \| \d\.\d{4} \| \d+ \|$", out, re.M), out
    assert re.search(r"^TPE\+pruning first reached the grid's best validation accuracy \(0\.2000\) after \d+ updates: "
                     r"\d+\.\d\dx the grid's 8$", out, re.M), out


def test_gpu_check_command(tmp_path):
    """The reduced check trains, compares packed with padded and plans with measurements; the CUDA parts are
    skipped with their reason, and the JSON holds every part."""
    out = run_script("gpu_check.py", ["--device", "cpu", "--out", str(tmp_path / "check.json")])
    for part in ("methods", "packing", "plan"):
        assert re.search(rf"^\| {part} \| ok \|", out, re.M), out
    for part in ("throughput", "compile_liger", "distributed"):
        assert re.search(rf"^\| {part} \| skipped \| [\d.]+ \| needs CUDA", out, re.M), out
    assert "gradients equal" in out and "failed parts: none" in out
    parts = json.loads((tmp_path / "check.json").read_text())["parts"]
    assert [p["part"] for p in parts] == ["methods", "packing", "plan", "throughput", "compile_liger", "distributed"]


def test_gpu_check_fails_when_a_part_fails(monkeypatch, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def broken(ctx):
        raise RuntimeError("packed and padded losses differ")
    monkeypatch.setitem(module.PARTS, "packing", broken)
    assert module.main(["--device", "cpu", "--parts", "packing,plan"]) == 1
    out = capsys.readouterr().out
    assert "| packing | FAILED |" in out and "packed and padded losses differ" in out and "failed parts: packing" in out
    assert "| plan | skipped |" in out
    assert module.main(["--device", "cpu", "--parts", "nothing"]) == 2


def test_plan_accuracy_command():
    """The tiny model's recipes train, and each row holds planned against measured memory and time."""
    out = run_script("plan_accuracy.py", ["--smoke"])
    rows = re.findall(r"^\| tiny full[^|]*\| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", out, re.M)
    assert len(rows) == 2, out
    assert all(float(r[2]) > 0 and float(r[5]) > 0 for r in rows), out
    assert re.search(r"^memory within 20%: \d/2$", out, re.M) and re.search(r"^time within 35%: \d/2$", out, re.M)
