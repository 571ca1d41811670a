"""The accelerators a plan can be made for: memory, peak FLOP/s, an expected utilization and a price.

    table = load_accelerators()                  # built-in rows, then the user's file on top
    gpu = find_accelerator("h100", table)        # case-insensitive; UserError listing the names otherwise

Users add or override rows in ``accelerators.yaml`` in ft-lab's config folder (``platformdirs``'
user config dir, e.g. ``~/.config/ft-lab/``), in the file ``$FT_LAB_ACCELERATORS`` names, or in a
file passed as ``ft-lab plan --accelerators FILE``::

    accelerators:
      MI300X: {memory_gib: 192, bf16_tflops: 1307, fp32_tflops: 163, price_per_hour: 4.5}
      H100: {price_per_hour: 2.10}          # only the fields given change

Peaks are dense (no sparsity) tensor-core figures from the vendors' data sheets; prices are typical
on-demand cloud prices per GPU-hour (late 2025) and are only defaults: override them. The CPU row is per
core, multiplied by the training threads (``FT_LAB_THREADS``, else all cores), and its memory is this
machine's.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import UserError


@dataclass(frozen=True)
class Accelerator:
    name: str
    memory_gib: float
    bf16_tflops: float | None  # None: no bf16 (the T4 trains in fp16: its fp16 figure is given here)
    fp32_tflops: float
    utilization: float  # expected share of the peak a fine-tuning run reaches, before calibration
    price_per_hour: float
    per_core: bool = False  # the CPU row: FLOP/s per core

    def peak_flops(self, half: bool, threads: int = 1) -> float:
        tflops = self.bf16_tflops if half and self.bf16_tflops else self.fp32_tflops
        return tflops * 1e12 * (threads if self.per_core else 1)

    def to_dict(self) -> dict:
        return asdict(self)


def _machine_memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 16.0


BUILT_IN = (
    Accelerator("H100", 80, 989, 67, 0.35, 3.00),
    Accelerator("H200", 141, 989, 67, 0.35, 3.80),
    Accelerator("A100-80", 80, 312, 19.5, 0.40, 1.80),
    Accelerator("A100-40", 40, 312, 19.5, 0.40, 1.30),
    Accelerator("L40S", 48, 362, 91.6, 0.35, 1.00),
    Accelerator("L4", 24, 121, 30.3, 0.35, 0.70),
    Accelerator("A10G", 24, 70, 31.2, 0.35, 1.00),
    Accelerator("T4", 16, 65, 8.1, 0.30, 0.35),
    Accelerator("cpu", 0, None, 0.05, 0.30, 0.05, per_core=True),
)
_FIELDS = [f.name for f in fields(Accelerator) if f.name != "name"]


def user_file() -> Path:
    env = os.environ.get("FT_LAB_ACCELERATORS")
    if env:
        return Path(env)
    from platformdirs import user_config_dir
    return Path(user_config_dir("ft-lab")) / "accelerators.yaml"


def load_accelerators(path: str | os.PathLike | None = None) -> dict[str, Accelerator]:
    """Built-in rows, then the user's file (``path``, else ``user_file()`` when it exists) on top."""
    table = {a.name: a for a in BUILT_IN}
    table["cpu"] = replace(table["cpu"], memory_gib=round(_machine_memory_gib(), 1))
    file = Path(path) if path is not None else user_file()
    if path is None and not file.is_file():
        return table
    import yaml
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"{file}: accelerator file not found") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{file}: cannot read the accelerator table ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0]})") from None
    rows = data.get("accelerators") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        raise UserError(f"{file}: expected a mapping 'accelerators: {{NAME: {{memory_gib: ..., ...}}}}'")
    for name, row in rows.items():
        table[_key(table, str(name)) or str(name)] = _row(file, str(name), row, table.get(_key(table, str(name))))
    return table


def _row(file: Path, name: str, row, base: Accelerator | None) -> Accelerator:
    if not isinstance(row, dict):
        raise UserError(f"{file}: accelerators.{name}: expected a mapping of {', '.join(_FIELDS)}")
    unknown = sorted(set(row) - set(_FIELDS))
    if unknown:
        raise UserError(f"{file}: accelerators.{name}: unknown field {unknown[0]} (known: {', '.join(_FIELDS)})")
    for key, value in row.items():
        if key != "per_core" and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                                        or value < 0):
            raise UserError(f"{file}: accelerators.{name}.{key}: expected a number >= 0, got {value!r}")
    if base is None:
        missing = [k for k in ("memory_gib", "fp32_tflops") if k not in row]
        if missing:
            raise UserError(f"{file}: accelerators.{name}: a new accelerator needs {' and '.join(missing)}")
        base = Accelerator(name, 0, None, 0, 0.35, 0.0)
    return replace(base, **row)


def _key(table: dict, name: str) -> str | None:
    wanted = name.lower().replace(" ", "").replace("_", "-")
    for key in table:
        if key.lower() == wanted or key.lower().replace("-", "") == wanted.replace("-", ""):
            return key
    return None


def find_accelerator(name: str, table: dict[str, Accelerator]) -> Accelerator:
    key = _key(table, name)
    if key is None:
        raise UserError(f"--gpu: unknown accelerator {name!r} (known: {', '.join(table)}; add your own in "
                        f"{user_file()})")
    return table[key]
