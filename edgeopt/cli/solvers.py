"""``edgeopt solvers``: the registered solvers, one line each."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.description = "List the registered solvers."


def run(a: argparse.Namespace) -> int:
    from edgeopt.solvers.registry import solver_descriptions

    for k, v in solver_descriptions().items():
        print(f"{k:<14} {v}")
    return 0
