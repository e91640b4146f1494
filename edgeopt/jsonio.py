"""Reading and writing edgeopt's JSON files: strict parsing, atomic writes.

Every output goes to a temporary file in the target folder and is renamed into
place, so an interrupted or failed write never leaves a half-written file; a
set of files goes to a temporary folder first, so it lands whole or not at all.
Only regular files are read (a FIFO would block, ``/dev/zero`` never ends).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.errors import InputError

__all__ = [
    "read_bytes",
    "read_json",
    "loads",
    "dumps",
    "jsonable",
    "write_text_atomic",
    "write_json_atomic",
    "write_files_atomic",
    "lone_surrogate",
    "printable",
    "shown",
]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def read_bytes(path: str | os.PathLike[str], *, expected: str = "a JSON file") -> bytes:
    """A regular file's bytes; a missing, unreadable or non-regular path raises ``InputError`` naming it.

    The type is checked before opening: opening a FIFO blocks until a writer
    appears, and a device such as ``/dev/zero`` never ends.
    """
    p = Path(path)
    src = printable(str(p))
    try:
        mode = os.stat(p).st_mode
        if not stat.S_ISREG(mode):
            sep = "," if stat.S_ISDIR(mode) else ";"
            raise InputError(f"{_file_kind(mode)}{sep} expected {expected}", source=src)
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", source=src) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected {expected}", source=src) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise InputError(
            f"cannot read ({getattr(exc, 'strerror', None) or exc})", source=src
        ) from None


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def printable(text: str) -> str:
    """``text`` safe to print and store as UTF-8: lone surrogates (e.g. from a non-UTF-8
    file name) become ``\\udcXX`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(text: str) -> str:
    r"""``text`` safe to print on a terminal: :func:`printable`, and control characters (ANSI
    escape sequences, newlines, C1 codes) as ``\xNN`` escapes, so a name cannot recolour or
    clear the screen or split a one-line message."""
    text = printable(str(text))
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def lone_surrogate(obj: Any, field: str = "") -> str | None:
    """Path (``a.b[2]``) of the first string, key or value, holding a lone UTF-16 surrogate; None if none."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return field or "<top>"
        return None
    if isinstance(obj, dict):
        for k, v in obj.items():
            sub = f"{field}.{printable(k)}" if field else printable(k)
            if lone_surrogate(k, sub) is not None:
                return sub
            hit = lone_surrogate(v, sub)
            if hit is not None:
                return hit
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            hit = lone_surrogate(v, f"{field}[{k}]")
            if hit is not None:
                return hit
    return None


def read_json(path: str | os.PathLike[str], *, unique_keys: bool = False) -> Any:
    """Parse a UTF-8 JSON file strictly (no NaN/Infinity); errors name the file."""
    return loads(read_bytes(path), source=str(path), unique_keys=unique_keys)


class _DuplicateKey(ValueError):
    pass


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k)
            seen.add(k)
    return out


def loads(raw: bytes | str, *, source: str = "<input>", unique_keys: bool = False) -> Any:
    """Parse JSON bytes strictly; errors name ``source``. ``unique_keys``: an object with a key
    twice is refused (the last one would silently win)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    try:
        hook = _unique_object if unique_keys else None
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=hook)
    except _DuplicateKey as exc:
        raise InputError(
            f"key {printable(str(exc))!r} appears twice in one object", source=source
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source=source
        ) from None
    except ValueError as exc:
        m = re.search(r'"([^"\\]*)"\s*:\s*-?(?:NaN|Infinity)\b', text)
        where = ""
        if m:
            line = text.count("\n", 0, m.start()) + 1
            where = f" (key '{m.group(1)}', line {line})"
        raise InputError(f"{exc}{where}", source=source) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", source=source) from None
    # A \uD800-style escape parses to a string UTF-8 cannot hold; walk the data
    # only when the text has such an escape (a valid pair parses to one character).
    if _SURROGATE_ESCAPE.search(text):
        try:
            bad = lone_surrogate(data)
        except RecursionError:
            raise InputError("JSON nested too deeply", source=source) from None
        if bad is not None:
            raise InputError(
                "lone UTF-16 surrogate in a string (not valid Unicode text)",
                source=source,
                field=bad,
            )
    return data


def _check_finite(obj: Any) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to write non-finite number {obj!r}")


def jsonable(obj: Any, *, array: str | None = None) -> Any:
    """``obj`` as plain, JSON-ready Python: dicts (keys as text), lists (from tuples and numpy
    arrays), numpy scalars as Python numbers, non-finite floats as None, anything else as its
    text. ``array``: this text in place of every numpy array (a plan given as a solver option is
    recorded as ``"assignment"``, not copied).

    >>> jsonable({"a": (1, np.int64(2)), 3: [np.float64("inf"), None, "x"]})
    {'a': [1, 2], '3': [None, None, 'x']}
    >>> jsonable({"start": np.arange(3)}), jsonable({"start": np.arange(3)}, array="assignment")
    ({'start': [0, 1, 2]}, {'start': 'assignment'})
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v, array=array) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, array=array) for v in obj]
    if isinstance(obj, np.ndarray):
        return array if array is not None else jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """Deterministic JSON text (sorted keys off: callers control order); ends with a newline."""
    return json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_text_atomic(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write ``text`` to ``path`` via a temp file in the same folder and an atomic rename."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise InputError(
            f"cannot write here ({exc.strerror or exc})", source=printable(str(p))
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal file modes
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise InputError(
                f"cannot write ({exc.strerror or exc})", source=printable(str(p))
            ) from None
        raise
    return p


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> Path:
    """Serialise ``obj`` (finite numbers only) and write it atomically."""
    return write_text_atomic(path, dumps(obj, indent=indent))


def write_files_atomic(
    folder: str | os.PathLike[str],
    files: Mapping[str, str | bytes],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> list[Path]:
    """Write ``files`` (name → content) into ``folder``: all of them or none.

    Everything is written into a temporary folder beside ``folder`` first; only
    when every write succeeded are the files renamed into place (a new
    ``folder`` is renamed whole). Names must be plain file names, never paths,
    and no file may replace one of ``inputs``. Other files already in
    ``folder`` are left alone.
    """
    target = Path(folder)
    for name in files:
        if (
            not name
            or name in (".", "..")
            or Path(name).name != name
            or "\\" in name
            or "\0" in name
        ):
            raise InputError(
                f"file name {printable(name)!r} must be a plain name inside the folder",
                source=printable(str(target)),
            )
    src = printable(str(target))
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a folder", source=src)
    for name in (
        files
    ):  # checked before anything moves: a rename that cannot happen must not happen halfway
        if os.path.lexists(target / name) and not (target / name).is_file():
            raise InputError(
                f"{printable(name)} exists there and is not a regular file; nothing was written",
                source=src,
            )
        for inp in inputs:
            if _same_file(target / name, inp):
                raise InputError(
                    f"{printable(name)} would replace the input {printable(str(inp))}; nothing was "
                    "written",
                    source=src,
                )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror or exc})", source=src) from None
    moved: list[str] = []
    try:
        for name, content in files.items():
            with open(stage / name, "wb") as fh:
                fh.write(content.encode("utf-8") if isinstance(content, str) else content)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(stage / name, 0o666 & ~_umask())
        if not target.exists():
            os.chmod(stage, 0o777 & ~_umask())
            os.rename(stage, target)  # the whole set appears at once
        else:
            for name in files:
                os.replace(stage / name, target / name)
                moved.append(name)
    except OSError as exc:
        done = f"only {', '.join(moved)} written" if moved else "nothing was written"
        raise InputError(f"cannot write ({exc.strerror or exc}); {done}", source=src) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [target / name for name in files]
