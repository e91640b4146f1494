"""Where the shipped data is: the measured catalog and device profiles (``models/``) and the
solver artefacts such as the trained DRL checkpoints (``solvers/``), both top-level folders of
the repository that the wheel ships as packages ``edgeopt.models`` and ``edgeopt.artefacts``
(pyproject.toml ``[tool.setuptools.package-dir]``), read through ``importlib.resources``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["SHIPPED", "model_path", "artefact_path", "display_path"]

#: Installed package → the repository folder it is built from (pyproject.toml's package-dir).
SHIPPED = {"edgeopt.models": "models", "edgeopt.artefacts": "solvers"}

#: The repository root when this edgeopt runs from a source checkout (else site-packages).
_CHECKOUT = Path(__file__).resolve().parents[2]


def _root(package: str) -> Path:
    """The folder of shipped package ``package`` as a filesystem path.

    Installed (wheel or editable), ``importlib.resources`` finds it. A source checkout reads its
    own folder instead when the environment has no such package (run with ``PYTHONPATH``, not
    installed) or maps it to another checkout (worktrees sharing one virtual environment).
    """
    folder = SHIPPED[package]
    try:
        found = resources.files(package)
    except ModuleNotFoundError:
        found = None
    mine = _CHECKOUT / folder
    if (_CHECKOUT / "pyproject.toml").is_file() and mine.is_dir():
        if not isinstance(found, Path) or found.resolve() != mine:
            return mine
    if not isinstance(found, Path):  # e.g. imported from a zip: there is no file to hand out
        raise RuntimeError(f"{package} ({folder}/) is not on the filesystem ({found!r})")
    return found


def model_path(*parts: str) -> Path:
    """The shipped file or folder ``models/<parts...>``: the measured catalog and device profiles.

    >>> model_path("catalog.json").name
    'catalog.json'
    """
    return _root("edgeopt.models").joinpath(*parts)


def artefact_path(*parts: str) -> Path:
    """The shipped file or folder ``solvers/<parts...>``: solver artefacts (trained checkpoints).

    >>> artefact_path("drl", "default").name
    'default'
    """
    return _root("edgeopt.artefacts").joinpath(*parts)


def display_path(path: str | os.PathLike[str]) -> str:
    """How reports name a file: ``models/...`` or ``solvers/...`` for shipped data, else relative
    to the working directory when below it, else as given.

    >>> display_path(model_path("devices.json"))
    'models/devices.json'
    >>> display_path(artefact_path("drl", "default"))
    'solvers/drl/default'
    """
    p = Path(path).resolve()
    for package, folder in SHIPPED.items():
        shipped = _root(package).resolve()
        if p.is_relative_to(shipped):
            return (Path(folder) / p.relative_to(shipped)).as_posix()
    if p.is_relative_to(Path.cwd()):
        return p.relative_to(Path.cwd()).as_posix()
    return str(path)
