"""``edgeopt bench scale``: time and memory of every solver against instance size."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import MAX_COLUMNS, SEED, TIME_LIMIT_S, check_options
from edgeopt.errors import InputError
from edgeopt.jsonio import printable
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.bench import scale

    p.description = (scale.__doc__ or "").splitlines()[0]
    p.add_argument(
        "--sizes", default=None, help="comma-separated CxR sizes (default: c6-r24 … c200-r3000)"
    )
    p.add_argument("--quick", action="store_true", help="two small sizes (a smoke run)")
    p.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    p.add_argument(
        "--time-limit", type=float, default=60.0, help="per solver and size, seconds (default 60)"
    )
    p.add_argument(
        "--milp-max-columns",
        type=int,
        default=2_000_000,
        help="run milp and lp only up to this many columns (default 2,000,000)",
    )
    p.add_argument(
        "--max-columns",
        type=int,
        default=None,
        help="refuse a size whose scenario could exceed this many candidate columns "
        "(default: the size guard's, as in solve)",
    )
    p.add_argument("--out", default="reports/scale", help="report folder (default reports/scale)")
    p.add_argument("--fresh", action="store_true", help="forget earlier results in --out")


def _sizes(a: argparse.Namespace) -> list[tuple[int, int]]:
    from edgeopt.bench.scale import QUICK, SIZES

    if a.quick:
        return list(QUICK)
    if not a.sizes:
        return list(SIZES)
    out = []
    for part in a.sizes.split(","):
        c, _, r = part.strip().lstrip("c").partition("x")
        if not r:
            c, _, r = part.strip().lstrip("c").partition("-r")
        try:
            out.append((int(c), int(r)))
        except ValueError:
            raise InputError(
                f"--sizes: expected sizes like 25x150 or c25-r150, got {printable(part)!r}"
            ) from None
        if out[-1][0] < 1 or out[-1][1] < 1:
            raise InputError(
                f"--sizes: at least one controller and one request, got {printable(part)!r}"
            )
    return out


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.scale import check_sizes
    from edgeopt.bench.scale import run as bench

    check_options(
        a, time_limit=TIME_LIMIT_S, milp_max_columns=MAX_COLUMNS, max_columns=MAX_COLUMNS, seed=SEED
    )
    sizes = _sizes(a)
    check_sizes(sizes, a.max_columns)  # the size guard before --out, as always
    check_output(a.out, option="--out", folder=True)
    return bench(
        sizes=sizes,
        seed=a.seed,
        time_limit_s=a.time_limit,
        milp_max_columns=a.milp_max_columns,
        max_columns=a.max_columns,
        out=a.out,
        fresh=a.fresh,
        command="edgeopt bench scale " + " ".join(a.argv),
    )
