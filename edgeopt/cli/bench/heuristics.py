"""``edgeopt bench heuristics``: heuristics' deviation from the OR-Library published optima."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import TIME_LIMIT_S, check_options
from edgeopt.errors import InputError
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.bench import heuristics

    p.description = (heuristics.__doc__ or "").splitlines()[0]
    p.add_argument(
        "--solvers", default="greedy,greedy+ls,greedy+lns", help="comma-separated solvers"
    )
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    p.add_argument(
        "--groups", default=None, help="comma-separated file stems, e.g. gapa,gapd (default all)"
    )
    p.add_argument(
        "--orlib-dir",
        default=None,
        help="OR-Library folder (default $EDGEOPT_ORLIB_DIR, else ../shared/data/orlib-gap)",
    )
    p.add_argument(
        "--out", default="reports/heuristics", help="report folder (default reports/heuristics)"
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.heuristics import run as bench

    check_options(a, time_limit=TIME_LIMIT_S)
    out = check_output(a.out, option="--out", folder=True)
    solvers = [s.strip() for s in a.solvers.split(",") if s.strip()]
    if not solvers:  # a benchmark that would run nothing fails
        raise InputError(f"--solvers: no solver named ({a.solvers!r})", field="--solvers")
    return bench(
        solvers=solvers,
        time_limit_s=a.time_limit,
        groups=[g.strip() for g in a.groups.split(",")] if a.groups else None,
        orlib_dir=a.orlib_dir,
        out=out,
        command=f"edgeopt bench heuristics --solvers {a.solvers} --time-limit {a.time_limit:g}",
    )
