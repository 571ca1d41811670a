"""Is a file written by another program whole? Checks that read only a header, for any layer to use.

    safetensors_problem(Path("checkpoint-40/model.safetensors"))   # None, or "truncated: ..."
"""
from __future__ import annotations

import json
import struct
from pathlib import Path


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a safetensors file (truncated, bad header), or None; reads only the header."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return f"truncated ({size} bytes; not even a header)"
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 100 * 2**20:
            return f"truncated or not safetensors (header of {n} bytes in a file of {size} bytes)"
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "damaged header (not valid JSON)"
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
    need = 8 + n + max(ends, default=0)
    if size < need:
        return f"truncated: {size} bytes where the header describes {need}"
    return None
