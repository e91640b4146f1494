"""``edgeopt train``: flags from the fields of :class:`edgeopt.rl.train.Args`, CleanRL style."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from collections.abc import Sequence
from pathlib import Path

from edgeopt.cli.parser import Parser
from edgeopt.rl.train import Args

__all__ = ["parse_args"]


def configure(p: argparse.ArgumentParser) -> None:
    """One flag per field of ``Args`` (``--teacher-instances 32``, ``--no-progress``)."""
    from edgeopt.rl import train

    p.description = (train.__doc__ or "").splitlines()[0]
    docs = _field_docs()
    for f in dataclasses.fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=f.default,
                help=docs.get(f.name),
            )
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            p.add_argument(flag, type=kind, default=f.default, help=docs.get(f.name))


def parse_args(argv: Sequence[str] | None, prog: str = "edgeopt train") -> Args:
    """``Args`` from command-line flags (a refused flag: one line, ``SystemExit(2)``)."""
    p = Parser(prog=prog)
    configure(p)
    return Args(**vars(p.parse_args(argv)))


def _field_docs() -> dict[str, str]:
    """The doc line under each field of Args (read from the source, as CleanRL's tyro does)."""
    lines = inspect.getsource(Args).splitlines()
    out = {}
    for k, line in enumerate(lines[:-1]):
        s = line.strip()
        if ":" in s and not s.startswith('"') and lines[k + 1].strip().startswith('"""'):
            out[s.split(":")[0]] = lines[k + 1].strip().strip('"')
    return out


def run(a: argparse.Namespace) -> int:
    from edgeopt.rl.train import train

    argv = a.argv
    args = Args(**{f.name: getattr(a, f.name) for f in dataclasses.fields(Args)})
    summary = train(args, command=" ".join(["edgeopt train", *argv]))
    b = summary["best"]
    print(
        f"checkpoint {Path(args.out_dir) / args.name}: best at {b.get('phase')} step {b.get('step')}, "
        f"validation gap {100 * b.get('gap_mean', float('nan')):.2f}% (stuck {b.get('stuck', 0):.0%}), "
        f"{summary['wall_s']:.0f} s"
    )
    return 0
