"""``edgeopt bench drl``: the trained planner against heuristics and proven MILP optima."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeopt.argcheck import SEED, TIME_LIMIT_S, Range, check_options
from edgeopt.errors import InputError
from edgeopt.paths import check_output


def _sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in filter(None, (t.strip() for t in text.split(","))):
        c, _, r = part.partition("x")
        if not (c.isdigit() and r.isdigit()) or int(c) < 1 or int(r) < 1:
            raise argparse.ArgumentTypeError(f"expected CxR such as 8x40, got {part!r}")
        out.append((int(c), int(r)))
    return out


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.bench import drl

    p.description = (drl.__doc__ or "").splitlines()[0]
    p.add_argument(
        "--checkpoint",
        default=None,
        help="DRL checkpoint folder (default: the checkpoint shipped with edgeopt)",
    )
    p.add_argument(
        "--no-critic-checkpoint",
        default=None,
        help="the ablation trained without a critic (default: the shipped solvers/drl/nocritic; "
        "'' for none)",
    )
    p.add_argument(
        "--held-out", type=int, default=20, help="held-out instances of the training distribution"
    )
    p.add_argument("--large", type=int, default=8, help="instances twice as large")
    p.add_argument(
        "--milp-time-limit", type=float, default=60.0, help="MILP seconds per instance (cached)"
    )
    p.add_argument(
        "--gap-files", default="all", help="'all', 'none' or comma-separated stems (gap1,gapa)"
    )
    p.add_argument(
        "--orlib-dir",
        default=None,
        help="OR-Library data folder (default $EDGEOPT_ORLIB_DIR, else ../shared/data/orlib-gap)",
    )
    p.add_argument("--out", type=Path, default=Path("reports/drl"), help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled solvers")
    p.add_argument(
        "--time-sizes",
        type=_sizes,
        default=list(drl.TIME_SIZES),
        help="sizes of the planning-time table, CxR comma-separated ('' for none; default 8x40,50x400,100x1000)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(a: argparse.Namespace) -> int:
    from edgeopt.bench.drl import run as bench

    check_options(
        a,
        held_out=Range(1, 10**5, integer=True),
        large=Range(1, 10**5, integer=True),
        milp_time_limit=TIME_LIMIT_S,
        seed=SEED,
    )
    check_output(a.out, option="--out", folder=True)
    if a.checkpoint is not None and not str(a.checkpoint).strip():
        raise InputError("--checkpoint: an empty path", field="--checkpoint")
    return bench(
        checkpoint=a.checkpoint,
        no_critic_checkpoint=a.no_critic_checkpoint,
        held_out=a.held_out,
        large=a.large,
        milp_time_limit_s=a.milp_time_limit,
        gap_files=a.gap_files,
        orlib_dir=a.orlib_dir,
        out=a.out,
        seed=a.seed,
        time_sizes=a.time_sizes,
        progress=not a.no_progress,
        command=f"edgeopt bench drl {' '.join(a.argv)}",
    )
