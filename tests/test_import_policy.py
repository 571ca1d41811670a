"""How ft_lab's modules import each other (issue 24): no private names across modules, no re-exports kept
for old paths, and a function-local import of an ft_lab module only where that module pulls in a heavy
library (torch, transformers, spaCy, numpy, ipywidgets ...), so that `import ft_lab` stays cheap."""
import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "ft_lab"
HEAVY = ("torch", "transformers", "peft", "datasets", "accelerate", "spacy", "sklearn", "scipy", "pandas", "numpy",
         "evaluate", "ipywidgets", "bqplot", "jupyter_server", "tornado", "sudachipy")


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def ft_lab_imports(path: Path):
    """(node, absolute module, in a function?) for each `from ... import` of an ft_lab module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            full = ".".join(base + ([node.module] if node.module else []))
        else:
            full = node.module or ""
        if full == "ft_lab" or full.startswith("ft_lab."):
            yield node, full, id(node) in local


def sources(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def private_imports(root: Path = PACKAGE) -> list[str]:
    return [f"{p.relative_to(REPO)}:{n.lineno}: {a.name} from {full}" for p in sources(root)
            for n, full, _ in ft_lab_imports(p) for a in n.names
            if a.name.startswith("_") and not a.name.startswith("__")]


def reexport_lines(root: Path = PACKAGE) -> list[str]:
    found = []
    for p in sources(root):
        lines = p.read_text(encoding="utf-8").splitlines()
        for n, _, _ in ft_lab_imports(p):
            line = lines[n.lineno - 1]
            if "noqa: F401" in line:
                found.append(f"{p.relative_to(REPO)}:{n.lineno}: {line.strip()}")
    return found


def lazy_targets(root: Path = PACKAGE) -> dict[str, list[str]]:
    """ft_lab modules imported inside functions -> where."""
    known = {module_name(p) for p in sources(root)}
    out: dict[str, list[str]] = {}
    for p in sources(root):
        for n, full, local in ft_lab_imports(p):
            if not local:
                continue
            targets = [f"{full}.{a.name}" if f"{full}.{a.name}" in known else full for a in n.names]
            for t in targets:
                out.setdefault(t, []).append(f"{p.relative_to(REPO)}:{n.lineno}")
    return out


def heavy_libraries(modules: list[str]) -> dict[str, list[str]]:
    """For each module, the heavy libraries importing it loads (each measured in a fresh interpreter)."""
    code = ("import importlib, json, sys\nout = {}\nfor m in sys.argv[2:]:\n"
            "    before = set(sys.modules)\n    importlib.import_module(m)\n"
            "    out[m] = sorted(h for h in json.loads(sys.argv[1]) if h in sys.modules)\n"
            "    for k in set(sys.modules) - before:\n        del sys.modules[k]\nprint(json.dumps(out))")
    def measure(m: str) -> dict:  # one interpreter each: a library loaded for one module must not count for the next
        done = subprocess.run([sys.executable, "-c", code, json.dumps(HEAVY), m], capture_output=True, text=True,
                              timeout=300, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    result = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # an import is one core's work
        for found in pool.map(measure, modules):
            result.update(found)
    return result


def test_no_private_name_is_imported_across_modules():
    assert private_imports() == []


def test_no_reexport_is_kept_for_old_paths():
    assert reexport_lines() == []


def test_function_local_imports_are_only_of_modules_that_load_heavy_libraries():
    lazy = lazy_targets()
    weights = heavy_libraries(sorted(lazy))
    light = {m: where for m, where in lazy.items() if not weights[m]}
    assert light == {}, ("import these at the top of the module (they load no heavy library): "
                         + json.dumps(light, indent=1))


def test_import_ft_lab_loads_no_heavy_library():
    assert heavy_libraries(["ft_lab"]) == {"ft_lab": []}


def test_the_checks_can_fail(tmp_path):
    pkg = tmp_path / "ft_lab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("_SECRET = 1\nclass UserError(Exception):\n    pass\n")
    (pkg / "user.py").write_text("from .errors import _SECRET\nfrom .errors import UserError  # noqa: F401\n"
                                 "def f():\n    from . import errors\n    return errors\n")
    global REPO
    saved = REPO
    REPO = tmp_path
    try:
        assert private_imports(pkg) == ["ft_lab/user.py:1: _SECRET from ft_lab.errors"]
        assert len(reexport_lines(pkg)) == 1
        assert lazy_targets(pkg) == {"ft_lab.errors": ["ft_lab/user.py:4"]}
    finally:
        REPO = saved


def module_names(root: Path = PACKAGE) -> dict[str, list[str]]:
    """Last name of every module and package of ``root`` -> where (``__init__`` and ``__main__`` aside)."""
    found: dict[str, list[str]] = {}
    for p in sources(root):
        if p.name in ("__init__.py", "__main__.py"):
            p = p.parent
            if p == root:
                continue
        where = found.setdefault(p.stem if p.suffix else p.name, [])
        if str(p.relative_to(root.parent)) not in where:
            where.append(str(p.relative_to(root.parent)))
    return found


def test_no_two_modules_share_a_name():
    # `errors.py` beside `widgets/errors.py`, `cli/export.py` beside `export.py` ... read as one another
    shared = {name: where for name, where in module_names().items() if len(where) > 1}
    assert shared == {}


def test_a_shared_module_name_would_be_caught(tmp_path):
    pkg = tmp_path / "ft_lab"
    (pkg / "widgets").mkdir(parents=True)
    for p in (pkg / "__init__.py", pkg / "errors.py", pkg / "widgets" / "__init__.py", pkg / "widgets" / "errors.py"):
        p.write_text("")
    assert module_names(pkg)["errors"] == ["ft_lab/errors.py", "ft_lab/widgets/errors.py"]
