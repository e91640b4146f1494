"""What runs on a worker: one solver on one problem, returned as plain data.

Workers never touch the database; the parent re-checks and stores what they return.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from edgeopt.core.problem import Problem
from edgeopt.errors import EdgeoptError

__all__ = ["solve_task", "now_iso", "one_line"]


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def one_line(text: str, limit: int = 500) -> str:
    """``text`` on one line, at most ``limit`` characters, printable as UTF-8 (lone surrogates escaped)."""
    s = " ".join(str(text).encode("utf-8", "backslashreplace").decode("utf-8").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


_WARMED: set[str] = set()

#: A solve still running this long after its time limit (seconds, or this share of the limit
#: when larger) has stopped honouring it: the worker process ends, so the batch goes on (the
#: runner retries the task once, then stores an error row).
OVERRUN_GRACE_S, OVERRUN_SHARE = 60.0, 1.0


#: Set in pool worker processes only (``execute.die_with_batch``): a solve in the user's own
#: process (``--workers 1``) is never ended this way.
IN_POOL = [False]


def _watchdog(time_limit_s: float | None, what: str) -> threading.Timer | None:
    """A timer that ends this worker process when a solve overruns its limit by far."""
    if time_limit_s is None or not IN_POOL[0]:
        return None
    after = time_limit_s + max(OVERRUN_GRACE_S, OVERRUN_SHARE * time_limit_s)

    def end() -> None:
        sys.stderr.write(
            f"edgeopt worker: {what} still running {after:.0f} s after its start "
            f"(time limit {time_limit_s:g} s); ending the worker\n"
        )
        sys.stderr.flush()
        os._exit(70)

    timer = threading.Timer(after, end)
    timer.daemon = True
    timer.start()
    return timer


def _warm_up(solve: Any, name: str) -> None:
    """Run ``solve`` once per process on a one-column problem, untimed.

    Solvers import heavy libraries lazily (Pyomo, HiGHS, TensorFlow); without
    this the first run in each worker would be charged seconds of imports.
    """
    if name in _WARMED:
        return
    _WARMED.add(name)
    tiny = Problem.from_columns(
        name="warm-up",
        item_ids=["i"],
        bin_ids=["b"],
        option_ids=["o"],
        resource_ids=["r"],
        col_item=[0],
        col_bin=[0],
        col_option=[0],
        col_cost=[1.0],
        use_rows=[0],
        use_cols=[0],
        use_vals=[1.0],
        capacity=[2.0],
        balanced=[True],
        balance_weight=1.0,
    )
    try:
        solve(tiny, seed=0, time_limit_s=5.0)
    except Exception:  # noqa: BLE001, S110 - a solver that cannot take this problem warms up on the real one
        pass


def solve_task(
    problem: Problem,
    solver: str,
    seed: int | None,
    time_limit_s: float | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Run ``solver`` on ``problem``; never raises.

    Returns ``{"error": None, "result": SolveResult.to_dict(), "started_at", "finished_at"}``,
    or on a failure ``{"error": message, "wall_s", "started_at", "finished_at"}``.
    """
    from edgeopt.solvers.registry import get_solver

    started_at = now_iso()
    t0 = time.perf_counter()
    try:
        solve = get_solver(solver)
        try:  # a misspelt option fails here, before the warm-up and with a clear message
            inspect.signature(solve).bind(problem, seed=seed, time_limit_s=time_limit_s, **options)
        except TypeError as exc:
            raise TypeError(f"unexpected keyword argument: {exc}") from None
        _warm_up(solve, solver)
        started_at = now_iso()
        t0 = time.perf_counter()
        timer = _watchdog(time_limit_s, f"{solver} on {problem.name}")
        try:
            res = solve(problem, seed=seed, time_limit_s=time_limit_s, **options)
        finally:
            if timer is not None:
                timer.cancel()
    except Exception as exc:  # noqa: BLE001 - any failure becomes an error row
        msg = str(exc) if isinstance(exc, EdgeoptError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
            msg = f"solver {solver!r} does not take option(s) {sorted(options)}: {exc}"
        return {
            "error": one_line(msg),
            "wall_s": time.perf_counter() - t0,
            "started_at": started_at,
            "finished_at": now_iso(),
        }
    return {
        "error": None,
        "result": res.to_dict(),
        "started_at": started_at,
        "finished_at": now_iso(),
    }
