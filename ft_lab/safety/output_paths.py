"""Where a command may write: never over the user's files, never into the input data's folder.

    check_out_folder(Path("prepared"), inputs=[Path("data/tickets.csv")], force=args.force)
    check_out_file(Path("report.html"), force=args.force)

Every ``--out`` goes through these checks before anything is written; ``--force`` allows replacing an
existing file or a non-empty folder, but never writing into the folder that holds the input data (or a
folder that contains it).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_not_input(out: Path, inputs) -> None:
    """Refuse ``out`` when it is the folder of an input file, holds one, or lies inside an input folder
    (a saved dataset): writing there could replace the user's data. A new subfolder beside the data is fine."""
    out = Path(out).expanduser().resolve()
    for item in inputs or ():
        item = Path(item).expanduser().resolve()
        folder = item if item.is_dir() else item.parent
        if out == folder or _inside(item, out) or (item.is_dir() and _inside(out, item)):
            raise UserError(f"--out {out}: it overlaps the input data ({item}); write the output to another "
                            f"folder, so that your data files can never be replaced")


def check_out_folder(out, inputs=(), force: bool = False) -> Path:
    """A folder to write: refused when it exists and is not empty (unless ``force``), when it is a file,
    or when it overlaps the input data's folder."""
    out = Path(out).expanduser().resolve()
    check_not_input(out, inputs)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file, not a folder; choose a new folder name")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out}: the folder exists and is not empty; choose a new folder, or pass "
                        f"--force to replace its files")
    return out


def check_out_file(out, inputs=(), force: bool = False) -> Path:
    """A file to write: refused when it exists (unless ``force``), when it is a folder, or when it is an input."""
    out = Path(out).expanduser().resolve()
    for item in inputs or ():
        if Path(item).expanduser().resolve() == out:
            raise UserError(f"--out {out}: that is an input file; choose another name")
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file name")
    if out.exists() and not force:
        raise UserError(f"--out {out}: the file exists; choose another name, or pass --force to replace it")
    if not os.access(out.parent if out.parent.exists() else Path.cwd(), os.W_OK):
        raise UserError(f"--out {out}: cannot write to {out.parent}")
    return out


def recipe_inputs(recipe) -> list[Path]:
    """The data files a recipe reads (path, train, validation, test)."""
    data = recipe.data
    found = []
    for key in ("path", "train", "validation", "test"):
        value = getattr(data, key, None)
        if value:
            found.append(Path(value))
    return found
