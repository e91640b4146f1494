"""Data shipped inside the package: the measured catalog, the device profiles and the
default DRL checkpoint, found through ``importlib.resources`` wherever edgeopt is installed.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["data_path", "display_path"]


def data_path(*parts: str) -> Path:
    """The shipped file or folder ``edgeopt/data/<parts...>`` as a filesystem path.

    >>> data_path("catalog.json").name
    'catalog.json'
    """
    found = resources.files("edgeopt.data").joinpath(*parts)
    if not isinstance(found, Path):  # e.g. imported from a zip: there is no file to hand out
        raise RuntimeError(f"edgeopt/data/{'/'.join(parts)} is not on the filesystem ({found!r})")
    return found


def display_path(path: str | os.PathLike[str]) -> str:
    """How reports name a file: ``edgeopt/data/...`` for shipped data, else relative to the
    working directory when below it, else as given.

    >>> display_path(data_path("devices.json"))
    'edgeopt/data/devices.json'
    """
    p = Path(path).resolve()
    shipped = data_path().resolve()
    if p.is_relative_to(shipped):
        return (Path("edgeopt/data") / p.relative_to(shipped)).as_posix()
    if p.is_relative_to(Path.cwd()):
        return p.relative_to(Path.cwd()).as_posix()
    return str(path)
