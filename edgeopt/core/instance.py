"""Instances: any file a solver can take — a scenario (compiled on load) or a core problem."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from edgeopt.core.compile import compile_scenario
from edgeopt.core.io import PROBLEM_FORMAT, problem_from_dict
from edgeopt.core.problem import Problem
from edgeopt.core.size import DEFAULT_MAX_COLUMNS, check_size
from edgeopt.errors import InputError
from edgeopt.jsonio import loads, read_bytes
from edgeopt.scenario.model import SCENARIO_FORMAT, Scenario, scenario_from_dict

__all__ = ["Instance", "load_instance", "INSTANCE_FORMATS"]

INSTANCE_FORMATS = (SCENARIO_FORMAT, PROBLEM_FORMAT)


@dataclass(eq=False)
class Instance:
    """A loaded instance file: its core problem, the scenario it came from (if any), and its hash."""

    path: str
    problem: Problem
    scenario: Scenario | None
    sha256: str

    @property
    def name(self) -> str:
        return self.problem.name

    @property
    def kind(self) -> str:
        return "scenario" if self.scenario is not None else "problem"


def load_instance(
    path: str | os.PathLike[str], *, max_columns: int | None = DEFAULT_MAX_COLUMNS
) -> Instance:
    """Read a scenario or core-problem file (chosen by its ``format``) and compile it.

    A scenario whose size estimate exceeds ``max_columns`` is refused before compiling.
    """
    p = Path(path)
    raw = read_bytes(p, expected="an instance file")
    data = loads(raw, source=str(p))
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == SCENARIO_FORMAT:
        sc = scenario_from_dict(data, source=str(p))
        check_size(sc, max_columns)
        prob = compile_scenario(sc)
    elif fmt == PROBLEM_FORMAT:
        sc = None
        prob = problem_from_dict(data, source=str(p))
    else:
        if not isinstance(data, dict):
            raise InputError("expected a JSON object", source=str(p))
        if "format" not in data:
            raise InputError("missing", source=str(p), field="format")
        raise InputError(
            f"unknown format {fmt!r}, expected one of {', '.join(INSTANCE_FORMATS)}",
            source=str(p),
            field="format",
        )
    return Instance(str(p), prob, sc, hashlib.sha256(raw).hexdigest())
