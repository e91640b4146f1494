"""Error hierarchy of edgeopt.

Every error a user can cause is an ``InputError`` that names the file and the
field; the CLI turns any ``EdgeoptError`` into one line and exit status 2.
"""

from __future__ import annotations

__all__ = ["EdgeoptError", "InputError", "SolverError"]


class EdgeoptError(Exception):
    """Base class of every error edgeopt raises on purpose."""


class InputError(EdgeoptError):
    """A file or argument is malformed; the message names file and field."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        parts = []
        if source:
            parts.append(str(source))
        if field:
            parts.append(f"field '{field}'")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.bare_message = message


class SolverError(EdgeoptError):
    """A solver failed for a reason other than bad input."""
