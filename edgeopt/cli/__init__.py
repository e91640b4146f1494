"""The ``edgeopt`` command: thin argument parsing over the library.

One table names every command: ``edgeopt NAME`` imports ``edgeopt.cli.<module>`` (only
then, so ``edgeopt --help`` stays fast and TensorFlow loads only for the commands that
need it), builds its parser with ``configure(parser)`` and calls ``run(args)``. ``bench``
and ``experiment`` are groups of the same kind: tables one level down. Every
``EdgeoptError`` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Union

from edgeopt.cli.parser import Parser
from edgeopt.errors import EdgeoptError, InputError, SolverError
from edgeopt.jsonio import printable, shown

__all__ = ["main", "Command", "Group", "COMMANDS", "BENCHMARKS", "EXPERIMENTS", "command_parser"]


@dataclass(frozen=True)
class Command:
    """One command: ``edgeopt.cli.<module>`` has ``configure(parser)`` and ``run(args) -> int``."""

    module: str
    help: str


@dataclass(frozen=True)
class Group:
    """Commands under one name (``edgeopt bench NAME``); ``noun`` names one in a refusal."""

    commands: dict[str, Entry]
    help: str
    noun: str


Entry = Union[Command, Group]  # noqa: UP007 - a runtime alias (dataclass fields resolve it)

#: ``edgeopt bench NAME``: the benchmarks (modules of ``edgeopt.cli.bench``; no other module).
BENCHMARKS: dict[str, Entry] = {
    "orlib": Command("bench.orlib", "the MILP against direct HiGHS on the OR-Library GAP problems"),
    "drl": Command("bench.drl", "the trained planner against heuristics and proven MILP optima"),
    "scale": Command("bench.scale", "time and memory of every solver against instance size"),
    "symmetry": Command("bench.symmetry", "the MILP with and without load-ordering rows"),
    "heuristics": Command(
        "bench.heuristics", "heuristics' deviation from the OR-Library published optima"
    ),
    "gap-large": Command(
        "bench.gap_large", "solvers' deviation from the best known values of large GAP files"
    ),
}

#: ``edgeopt experiment NAME``: the named experiments.
EXPERIMENTS: dict[str, Entry] = {
    "capacity-sweep": Command(
        "experiment.capacity_sweep", "solvers' plans as controller capacity shrinks and grows"
    ),
}

#: Every command, in the order ``edgeopt --help`` lists them.
COMMANDS: dict[str, Entry] = {
    "generate": Command("generate", "write a seeded scenario file (or a whole suite)"),
    "validate": Command(
        "validate", "check an instance file (and optionally a solution against it)"
    ),
    "solve": Command("solve", "solve one instance file with one solver"),
    "solvers": Command("solvers", "list the registered solvers"),
    "profile": Command("profile", "measure the DNN cost catalog on this host (TensorFlow)"),
    "devices": Command("devices", "fit the device profiles to a measured catalog"),
    "catalog-report": Command(
        "catalog_report", "write the measured catalog's tables and accuracy-against-cost plot"
    ),
    "import-gap": Command(
        "import_gap", "turn a GAP file (OR-Library or single-problem) into core-problem files"
    ),
    "simulate": Command(
        "simulate", "plan a rounds file round by round with policies, against hindsight"
    ),
    "bench": Group(
        BENCHMARKS,
        "run a benchmark (orlib, drl, scale, symmetry, heuristics, gap-large)",
        "benchmark",
    ),
    "demo": Command("demo", "the main job on the embedded default configuration"),
    "train": Command("train", "train the learned planner (imitation of MILP optima, DAgger, RL)"),
    "batch": Command("batch", "solve many instance files with several solvers into SQLite"),
    "compare": Command("compare", "compare solvers' gaps and times from a results database"),
    "report": Command("report", "write a Markdown report with plots from a results database"),
    "experiment": Group(EXPERIMENTS, "run a named experiment (e.g. capacity-sweep)", "experiment"),
}


def _menu(group: Group | None, prog: str) -> Parser:
    """The parser of a group's ``--help`` (and of the top level's ``--version``): names and help
    lines from the table, no command module imported."""
    from edgeopt import __version__

    commands = COMMANDS if group is None else group.commands
    if group is None:
        ap = Parser(
            prog=prog,
            description="Plan DNN-model maintenance on 5G edge resources, and measure how far "
            "planners are from the proven optimum.",
        )
        ap.add_argument("--version", action="version", version=f"edgeopt {__version__}")
    else:
        ap = Parser(
            prog=prog,
            description=f"{group.help[0].upper()}{group.help[1:]}; arguments after the name go "
            f"to it (see '{prog} NAME --help').",
        )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND" if group is None else "NAME")
    sub.required = True
    for name, entry in commands.items():
        sub.add_parser(name, help=entry.help, add_help=False)
    return ap


def command_parser(command: Command, prog: str) -> Parser:
    """The full parser of one command (its module imported now)."""
    ap = Parser(prog=prog, description=f"{command.help[0].upper()}{command.help[1:]}.")
    import_module(f"edgeopt.cli.{command.module}").configure(ap)
    return ap


def _dispatch(argv: list[str], group: Group | None = None, prog: str = "edgeopt") -> int:
    commands = COMMANDS if group is None else group.commands
    name = argv[0] if argv else ""
    entry = commands.get(name)
    if entry is None:
        if group is not None and name and not name.startswith("-"):
            raise InputError(
                f"unknown {group.noun} {printable(name)!r} (one of {', '.join(commands)})",
                field="name",
            )
        _menu(group, prog).parse_args(argv)  # --help, --version, or a one-line refusal
        raise AssertionError("unreachable: the menu parser exits")  # pragma: no cover
    if isinstance(entry, Group):
        return _dispatch(argv[1:], entry, f"{prog} {name}")
    args = command_parser(entry, f"{prog} {name}").parse_args(argv[1:])
    args.argv = argv[1:]  # as typed, for the reports that record their command
    return int(import_module(f"edgeopt.cli.{entry.module}").run(args) or 0)


def fail_line(msg: str) -> None:
    """``edgeopt: error: MSG`` on stderr, one inert line."""
    # shown(): a name with an escape sequence or a newline in it stays one inert line
    print(f"edgeopt: error: {shown(msg)}", file=sys.stderr)


#: OS errors that mean an output cannot be written (disk full, quota, read-only, device error):
#: one line and exit 2, like bad input, not an internal error.
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``edgeopt`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at interpreter exit
        return code
    except SolverError as exc:  # a solver failed the referee: its bug, not the user's input
        fail_line(f"solver error: {exc}")
        return 1
    except EdgeoptError as exc:
        fail_line(str(exc))
        return 2
    except KeyboardInterrupt:
        fail_line("interrupted")
        return 130
    except SystemExit as exc:  # --help, --version, or a refused option (one line, exit 2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        _silence_stdout()
        return 0
    except Exception as exc:  # pragma: no cover - a bug: one line, full trace on request
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            _silence_stdout()
            where = f" ({printable(str(exc.filename))})" if exc.filename else ""
            fail_line(f"cannot write output{where}: {exc.strerror or exc}")
            return 2
        if os.environ.get("EDGEOPT_DEBUG"):
            raise
        fail_line(
            f"internal error: {type(exc).__name__}: {exc} (set EDGEOPT_DEBUG=1 for the traceback)"
        )
        return 1
