"""Reading and writing edgeopt's JSON files: strict parsing, atomic writes.

Every output goes to a temporary file in the target folder and is renamed into
place, so an interrupted or failed write never leaves a half-written file.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from edgeopt.errors import InputError

__all__ = ["read_bytes", "read_json", "loads", "dumps", "write_text_atomic", "write_json_atomic"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def read_bytes(path: str | os.PathLike[str], *, expected: str = "a JSON file") -> bytes:
    """A file's bytes; a missing, unreadable or folder path raises ``InputError`` naming it."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", source=str(p)) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected {expected}", source=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=str(p)) from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a UTF-8 JSON file strictly (no NaN/Infinity); errors name the file."""
    return loads(read_bytes(path), source=str(path))


def loads(raw: bytes | str, *, source: str = "<input>") -> Any:
    """Parse JSON bytes strictly; errors name ``source``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
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


def _check_finite(obj: Any) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to write non-finite number {obj!r}")


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """Deterministic JSON text (sorted keys off: callers control order); ends with a newline."""
    return json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_text_atomic(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write ``text`` to ``path`` via a temp file in the same folder and an atomic rename."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal file modes
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> Path:
    """Serialise ``obj`` (finite numbers only) and write it atomically."""
    return write_text_atomic(path, dumps(obj, indent=indent))
