"""``edgeopt bench orlib``: the MILP against direct HiGHS on the OR-Library GAP problems."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeopt.argcheck import THREADS, TIME_LIMIT_S, check_options
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.core.orlib import ORLIB_ENV

    p.description = (
        "Solve the OR-Library GAP problems with milp and with direct HiGHS; write a table."
    )
    p.add_argument(
        "--files", nargs="+", help="GAP files (default: every gap*.txt in the data folder)"
    )
    p.add_argument(
        "--orlib-dir",
        default=None,
        help=f"OR-Library data folder (default ${ORLIB_ENV}, else ../shared/data/orlib-gap)",
    )
    p.add_argument("--problems", nargs="+", help="only these problems (e.g. gap1-1 gapd-6)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per solve (default 60)")
    p.add_argument("--threads", type=int, default=None, help="HiGHS threads (both sides)")
    p.add_argument(
        "--warm-start",
        default="none",
        help="milp warm start: 'none' (default: same search as direct), 'greedy+ls', or a solver name",
    )
    p.add_argument("--optima", type=Path, default=None, help="OPTIMA.md (default: beside the data)")
    p.add_argument("--out", type=Path, default=Path("reports/orlib"), help="output folder")
    p.add_argument(
        "--quick", action="store_true", help="a handful of problems, short limit (for tests)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.orlib import run as bench

    check_options(a, time_limit=TIME_LIMIT_S, threads=THREADS)
    check_output(a.out, option="--out", inputs=a.files or [], folder=True)
    return bench(
        files=a.files,
        data_dir=a.orlib_dir,
        problems=a.problems,
        time_limit_s=a.time_limit,
        threads=a.threads,
        warm_start=a.warm_start,
        optima_path=a.optima,
        out=a.out,
        quick=a.quick,
        progress=not a.no_progress,
        command="edgeopt bench orlib " + " ".join(a.argv),
    )
