"""Output paths checked before any work: never one of the inputs, never a folder where a file
goes (or the reverse), writable, and names that become paths kept inside their folder.

Every refusal is an :class:`~edgeopt.errors.InputError` naming the option, so the CLI
prints one line and exits 2 instead of overwriting an input or failing after the run.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from edgeopt.errors import InputError
from edgeopt.jsonio import printable

__all__ = ["same_file", "check_output", "plain_name"]

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` both exist and are the same file (symlinks and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_output(
    path: PathLike,
    *,
    option: str,
    inputs: Iterable[PathLike | None] = (),
    folder: bool = False,
) -> Path:
    """``path`` as a :class:`Path` if the command may write it; else ``InputError`` naming ``option``.

    :param option: the option that named the path, e.g. ``"--out"``.
    :param inputs: files the command reads; the output may not be any of them.
    :param folder: the output is a folder of files (else a single file).
    """
    p = Path(path)
    shown = f"{option} {printable(str(p))}"
    if "\0" in str(p) or not str(p):
        raise InputError(f"{shown}: not a usable path")
    for inp in inputs:
        if inp is not None and same_file(p, inp):
            raise InputError(
                f"{shown}: is also an input ({printable(str(inp))}); refusing to overwrite it"
            )
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # e.g. a component of the path is a file
        raise InputError(f"{shown}: not a usable path ({exc.strerror})") from None
    if mode is not None:
        if folder and not stat.S_ISDIR(mode):
            raise InputError(f"{shown}: exists and is not a folder")
        if not folder and stat.S_ISDIR(mode):
            raise InputError(f"{shown}: is a folder, expected a file name")
        if not folder and not stat.S_ISREG(mode):
            raise InputError(f"{shown}: exists and is not a regular file; refusing to replace it")
    _check_writable(p if folder and mode is not None else p.parent, shown)
    return p


def _check_writable(where: Path, shown: str) -> None:
    """The nearest existing folder at or above ``where`` must accept a new file (probed, so it also
    holds for root on a read-only file system)."""
    anc = where
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise InputError(f"{shown}: {printable(str(anc))} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=anc):
            pass
    except OSError as exc:
        raise InputError(
            f"{shown}: cannot write in {printable(str(anc))} ({exc.strerror or exc})"
        ) from None


def plain_name(name: str, *, option: str) -> str:
    """``name`` if it is one plain path component (no separator, not ``.``/``..``, printable), for names
    that become a file or folder inside an output folder; else ``InputError`` naming ``option``."""
    bad = (
        not name.strip()
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or os.sep in name
        or (os.altsep is not None and os.altsep in name)
        or "\0" in name
        or printable(name) != name
    )
    if bad:
        raise InputError(
            f"{option} {printable(name)!r}: must be a plain name (no '/', '\\\\', '..'), "
            "the file or folder it names stays inside the output folder"
        )
    return name
