"""Strict field readers for edgeopt's JSON files.

Every reader takes the value, a dotted field path and the source file name, and
raises :class:`InputError` naming both when the value is missing or wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from edgeopt.errors import InputError

__all__ = ["Fields"]


class Fields:
    """Reads typed fields from parsed JSON, naming ``source`` and the field path in errors."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str, message: str) -> InputError:
        return InputError(message, source=self.source, field=field)

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected an object, got {_kind(value)}")
        return value

    def arr(self, value: Any, field: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, f"expected an array, got {_kind(value)}")
        return value

    def keys(
        self,
        d: dict[str, Any],
        field: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
    ) -> None:
        """Every required key present, no key outside required ∪ optional."""
        req = list(required)
        allowed = set(req) | set(optional)
        for k in req:
            if k not in d:
                raise self.fail(_join(field, k), "missing")
        for k in d:
            if k not in allowed:
                raise self.fail(_join(field, k), "unknown field")

    def get(self, d: dict[str, Any], key: str, field: str) -> Any:
        if key not in d:
            raise self.fail(_join(field, key), "missing")
        return d[key]

    def string(self, value: Any, field: str, *, nonempty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"expected a string, got {_kind(value)}")
        if nonempty and not value.strip():
            raise self.fail(field, "must not be empty")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.fail(
                field, "holds a lone UTF-16 surrogate (not valid Unicode text)"
            ) from None
        return value

    def boolean(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"expected true or false, got {_kind(value)}")
        return value

    def number(
        self,
        value: Any,
        field: str,
        *,
        min: float | None = None,
        max: float | None = None,
        min_exclusive: bool = False,
        limit: float = 1e15,
    ) -> float:
        """A finite JSON number (not a bool) within bounds; |x| ≤ ``limit``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"expected a number, got {_kind(value)}")
        try:
            x = float(value)
        except OverflowError:
            raise self.fail(field, "number too large") from None
        if not math.isfinite(x):
            raise self.fail(field, "must be finite")
        if abs(x) > limit:
            raise self.fail(field, f"number {value} out of range (|x| <= {limit:g})")
        if min is not None:
            if min_exclusive and not x > min:
                raise self.fail(field, f"must be > {min:g}, got {value}")
            if not min_exclusive and not x >= min:
                raise self.fail(field, f"must be >= {min:g}, got {value}")
        if max is not None and not x <= max:
            raise self.fail(field, f"must be <= {max:g}, got {value}")
        return x

    def integer(
        self, value: Any, field: str, *, min: int | None = None, limit: int = 10**12
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"expected an integer, got {_kind(value)}")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise self.fail(field, f"expected an integer, got {value}")
        n = int(value)
        if abs(n) > limit:
            raise self.fail(field, f"integer {value} out of range")
        if min is not None and n < min:
            raise self.fail(field, f"must be >= {min}, got {n}")
        return n

    def unique_ids(self, ids: list[str], field: str) -> None:
        seen: set[str] = set()
        for k, i in enumerate(ids):
            if i in seen:
                raise self.fail(f"{field}[{k}].id", f"duplicate id {i!r}")
            seen.add(i)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
