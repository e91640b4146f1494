"""Options several commands share."""

from __future__ import annotations

import argparse

__all__ = ["add_max_columns", "names"]


def add_max_columns(p: argparse.ArgumentParser) -> None:
    from edgeopt.core.size import DEFAULT_MAX_COLUMNS

    p.add_argument(
        "--max-columns",
        type=int,
        default=DEFAULT_MAX_COLUMNS,
        help="refuse a scenario whose compiled problem could exceed this many candidate columns "
        f"(default {DEFAULT_MAX_COLUMNS:,})",
    )


def names(text: str | None) -> list[str] | None:
    """A comma-separated list (``"a, b,"`` → ``["a", "b"]``); None when not given."""
    return [x.strip() for x in text.split(",") if x.strip()] if text else None
