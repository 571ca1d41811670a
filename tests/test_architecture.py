"""Imports point down only: the import-linter contracts in pyproject.toml hold (``lint-imports``)."""
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def lint(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache", *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_layers_and_acyclic_steps_hold():
    result = lint()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_a_back_stair_would_be_caught(tmp_path):
    # the same tool on a contract this code breaks (core importing a surface's dependency), to show the
    # check above can fail: the CLI imports the recipe, so "recipe above cli" is broken
    config = tmp_path / "contract.toml"
    config.write_text('[tool.importlinter]\nroot_package = "ft_lab"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "upside down"\ntype = "layers"\nlayers = ["ft_lab.core.recipe", "ft_lab.cli"]\n',
                      encoding="utf-8")
    result = lint("--config", str(config))
    assert result.returncode != 0 and "ft_lab.cli" in result.stdout and "BROKEN" in result.stdout
