"""argparse with edgeopt's one-line error contract: every command's parser is one of these."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

__all__ = ["Parser"]


class Parser(argparse.ArgumentParser):
    """argparse with edgeopt's error contract: a bad option is one line, ``edgeopt: error:
    <command>: <what>``, escape sequences shown inert, exit status 2 (the usage block stays
    for ``--help``). Every command and benchmark parser is one of these (subparsers too)."""

    #: options whose empty value is documented as "none" (warm start, learning curve, timings)
    EMPTY_OK = frozenset({"--warm-start", "--curve", "--time-sizes"})

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        # An empty value ("--dir ''", an unset shell variable) is refused, not read as "the
        # default": benchmarks took it for their default folder, checkpoint or sizes and ran.
        argv = list(sys.argv[1:] if args is None else args)
        for i, tok in enumerate(argv):
            if tok == "--":
                break
            name, eq, val = tok.partition("=")
            if not name.startswith("--") or name in self.EMPTY_OK:
                continue
            if (eq and not val.strip()) or (
                not eq and i + 1 < len(argv) and not argv[i + 1].strip() and self._takes_value(name)
            ):
                self.error(f"argument {name}: an empty value")
        return super().parse_known_args(argv, namespace)

    def _takes_value(self, option: str) -> bool:
        action = self._option_string_actions.get(option)
        return action is not None and action.nargs != 0

    def error(self, message: str) -> NoReturn:
        from edgeopt.jsonio import shown

        print(f"edgeopt: error: {shown(self.prog)}: {shown(message)}", file=sys.stderr)
        raise SystemExit(2)
