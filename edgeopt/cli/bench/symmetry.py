"""``edgeopt bench symmetry``: the MILP with and without load-ordering rows."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import COUNT, TIME_LIMIT_S, check_options
from edgeopt.errors import InputError
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.bench import symmetry

    p.description = " ".join((symmetry.__doc__ or "").split("\n\n")[0].split())
    p.add_argument("--seeds", type=int, default=3, help="instances per size (default 3)")
    p.add_argument("--sizes", default="8x45,10x60", help="CxR sizes (default 8x45,10x60)")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (default 60)")
    p.add_argument(
        "--out", default="reports/symmetry", help="report folder (default reports/symmetry)"
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.symmetry import run as bench

    check_options(a, seeds=COUNT, time_limit=TIME_LIMIT_S)
    out = check_output(a.out, option="--out", folder=True)
    try:
        sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    except ValueError:
        raise InputError(f"expected sizes like 8x45, got {a.sizes!r}", field="sizes") from None
    for size in sizes:
        if len(size) != 2 or min(size) < 1:
            raise InputError(f"--sizes: expected CxR with C, R >= 1, got {a.sizes!r}")
    return bench(
        seeds=a.seeds,
        sizes=[(c, r) for c, r in sizes],
        time_limit_s=a.time_limit,
        out=out,
        command=f"edgeopt bench symmetry --seeds {a.seeds} --sizes {a.sizes} "
        f"--time-limit {a.time_limit:g}",
    )
