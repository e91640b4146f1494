"""Named experiments: ``edgeopt experiment NAME [options]``."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import Parser
from edgeopt.errors import InputError

__all__ = ["main", "EXPERIMENTS"]

EXPERIMENTS = {"capacity-sweep": "edgeopt.experiments.capacity_sweep"}


def main(argv: list[str] | None = None, prog: str = "edgeopt experiment") -> int:
    import importlib

    ap = Parser(prog=prog, description="Run a named experiment.", add_help=True)
    ap.add_argument("name", choices=sorted(EXPERIMENTS), help="experiment name")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the experiment")
    argv = list(argv or [])
    if argv and argv[0] in EXPERIMENTS:
        mod = importlib.import_module(EXPERIMENTS[argv[0]])
        return int(mod.main(argv[1:], prog=f"{prog} {argv[0]}") or 0)
    a = ap.parse_args(argv)
    raise InputError(f"unknown experiment {a.name!r}", field="name")  # pragma: no cover
