"""``edgeopt demo``: the main job end to end on the embedded default configuration."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import TIME_LIMIT_S, check_options
from edgeopt.paths import plain_name


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Generate the default suite if absent, solve it with every available solver, "
        "and print a summary table."
    )
    p.add_argument("--suite", default="default", help="suite name (default 'default')")
    p.add_argument("--time-limit", type=float, default=60.0, help="per-solve time limit in seconds")


def run(a: argparse.Namespace) -> int:
    from edgeopt.demo import run_demo

    check_options(a, time_limit=TIME_LIMIT_S)
    plain_name(a.suite, option="--suite")
    return run_demo(suite=a.suite, time_limit_s=a.time_limit)
