"""``edgeopt batch``: solve many instance files with several solvers into a SQLite results file."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from edgeopt.argcheck import MAX_COLUMNS, SEED, TIME_LIMIT_S, WORKERS, check_options
from edgeopt.jsonio import shown
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Solve every instance file with every solver and store one row per (instance, solver, "
        "settings) in a SQLite file, each committed as soon as it finishes. Re-running the same command "
        "skips the rows already stored; a file that cannot be read becomes an error row."
    )
    p.add_argument(
        "paths", nargs="+", help="instance files, folders (their *.json) or glob patterns"
    )
    p.add_argument(
        "--solvers",
        default="greedy,milp",
        help="comma-separated solver names (default greedy,milp; 'all' = every registered solver)",
    )
    p.add_argument(
        "--db", default="results.sqlite", help="SQLite results file (default results.sqlite)"
    )
    p.add_argument("--time-limit", type=float, default=None, help="per-solve time limit in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed given to every solver (default 0)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default one per core; 1 = solve in this process)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run the tasks on this Dask distributed scheduler instead of local processes",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[SOLVER.]KEY=VALUE",
        help="solver option, for every solver or one (repeatable), e.g. milp.mip_gap=1e-4",
    )
    p.add_argument(
        "--retry-errors", action="store_true", help="run again the rows stored as errors"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from edgeopt.core.size import DEFAULT_MAX_COLUMNS

    p.add_argument(
        "--max-columns",
        type=int,
        default=DEFAULT_MAX_COLUMNS,
        help="a scenario that could compile to more candidate columns becomes an error row "
        f"(default {DEFAULT_MAX_COLUMNS:,})",
    )


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C (workers stopped, claims released, stored rows kept)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def run(a: argparse.Namespace) -> int:
    from edgeopt.batch.execute import check_scheduler
    from edgeopt.batch.runner import run_batch
    from edgeopt.solvers.registry import parse_options, solver_names

    solvers = [s.strip() for s in a.solvers.split(",") if s.strip()]
    if solvers == ["all"]:
        solvers = solver_names()
    check_options(a, time_limit=TIME_LIMIT_S, seed=SEED, workers=WORKERS, max_columns=MAX_COLUMNS)
    if a.scheduler is not None:
        check_scheduler(a.scheduler)
    check_output(a.db, option="--db")  # the input files are checked against it once expanded
    in_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        summary = run_batch(
            a.paths,
            solvers,
            a.db,
            time_limit_s=a.time_limit,
            seed=a.seed,
            workers=a.workers,
            scheduler=a.scheduler,
            options=parse_options(a.set),
            retry_errors=a.retry_errors,
            progress=not a.no_progress,
            max_columns=a.max_columns,
        )
    except Terminated:
        print(
            "edgeopt: error: terminated (SIGTERM); the rows stored so far are kept, the same command finishes "
            "the batch",
            file=sys.stderr,
        )
        return 128 + signal.SIGTERM
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)
    for msg in summary.error_messages[:10]:
        print(f"  error: {shown(msg)}")
    if len(summary.error_messages) > 10:
        print(f"  ... and {len(summary.error_messages) - 10} more error(s)")
    print(summary.line())
    return 0
