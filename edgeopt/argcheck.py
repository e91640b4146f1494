"""Numbers given on the command line, checked once: finite and in range, or one line naming
the option (argparse only checks that ``nan`` parses as a float).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from edgeopt.errors import InputError

__all__ = [
    "Range",
    "check_options",
    "SEED",
    "TIME_LIMIT_S",
    "MIP_GAP",
    "THREADS",
    "COUNT",
    "WORKERS",
    "MAX_COLUMNS",
    "SAMPLES",
    "cores",
]


@dataclass(frozen=True)
class Range:
    """Allowed values of one numeric option: ``lo`` ≤ x ≤ ``hi`` (``lo_open``: lo < x)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    integer: bool = False
    #: why the bound is what it is, said with a refusal (e.g. "the cores of this machine")
    note: str = ""

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a finite number"

        def num(x: float) -> str:
            return str(int(x)) if self.integer else f"{x:g}"

        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {num(self.lo)}")
        if self.hi is not None:
            parts.append(f"<= {num(self.hi)}")
        return f"{kind} {' and '.join(parts)}".strip()

    def check(self, value: Any, option: str) -> Any:
        """``value`` unchanged if allowed, else ``InputError`` naming ``option``."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(value, float):
            ok = math.isfinite(value) and (not self.integer or value.is_integer())
        if ok and self.lo is not None:
            ok = value > self.lo if self.lo_open else value >= self.lo
        if ok and self.hi is not None:
            ok = value <= self.hi
        if not ok:
            why = f" ({self.note})" if self.note else ""
            raise InputError(f"{option}: must be {self.describe()}{why}, got {value!r}")
        return value


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


SEED = Range(0, 2**32 - 1, integer=True)
TIME_LIMIT_S = Range(0, 1e9, lo_open=True)
MIP_GAP = Range(0, 1)
#: Solver threads: more than the cores only slows a solve down (10⁵ HiGHS threads never finish).
THREADS = Range(1, cores(), integer=True, note=f"the {cores()} cores of this machine")
#: Worker processes: up to 4 per core (solvers waiting on I/O may overlap; 1000 on 2 cores thrash).
WORKERS = Range(1, 4 * cores(), integer=True, note=f"4 x the {cores()} cores of this machine")
COUNT = Range(1, 10**7, integer=True)
SAMPLES = Range(1, 10**6, integer=True)
MAX_COLUMNS = Range(1, 10**12, integer=True)


def check_options(a: Any, **ranges: Range) -> None:
    """Check attributes of parsed arguments (a namespace or a dataclass of them):
    ``check_options(a, time_limit=TIME_LIMIT_S)`` checks ``a.time_limit`` and names it
    ``--time-limit``; None (not given) passes."""
    for attr, rng in ranges.items():
        value = getattr(a, attr)
        if value is not None:
            rng.check(value, "--" + attr.replace("_", "-"))
