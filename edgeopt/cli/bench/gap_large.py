"""``edgeopt bench gap-large``: solvers' deviation from the best known values of large GAP files."""

from __future__ import annotations

import argparse
import shlex

from edgeopt.argcheck import SEED, THREADS, TIME_LIMIT_S, check_options
from edgeopt.errors import InputError
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.bench import gap_large

    p.description = (gap_large.__doc__ or "").splitlines()[0]
    p.add_argument(
        "--dir",
        default=None,
        help="folder of the instance files and BEST.md (default $EDGEOPT_GAP_LARGE_DIR, else "
        "../shared/data/gap-large beside the checkout)",
    )
    p.add_argument(
        "--instances",
        default=None,
        help="comma-separated instance names, e.g. e05100,c10400 (default: every file of the "
        "folder that BEST.md lists)",
    )
    p.add_argument(
        "--solvers",
        default=gap_large.DEFAULT_SOLVERS,
        help=f"comma-separated solvers (default {gap_large.DEFAULT_SOLVERS})",
    )
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (default 60)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per solve, passed to the solvers that take a 'threads' option (default 1)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every solve (default 0)")
    p.add_argument(
        "--out", default="reports/gap-large", help="report folder (default reports/gap-large)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of results.json with the same instance, solver, time limit and seed "
        "(rows that ended in error are run again)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _names(text: str, option: str) -> list[str]:
    """The comma-separated names of ``option``, in order, duplicates dropped; none is an error."""
    names = list(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    if not names:
        raise InputError(f"{option}: no names given ({text!r})")
    return names


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.gap_large import run as bench

    check_options(a, time_limit=TIME_LIMIT_S, threads=THREADS, seed=SEED)
    out = check_output(a.out, option="--out", folder=True)
    return bench(
        data_dir=a.dir,
        instances=None if a.instances is None else _names(a.instances, "--instances"),
        solvers=_names(a.solvers, "--solvers"),
        time_limit_s=a.time_limit,
        threads=a.threads,
        seed=a.seed,
        out=out,
        resume=a.resume,
        progress=not a.no_progress,
        command="edgeopt bench gap-large " + shlex.join(a.argv),
    )
