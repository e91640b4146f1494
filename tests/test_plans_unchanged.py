"""Seeded plans stay the same through refactoring: the demo suite's plans of the deterministic
planners (greedy, random, local-search descent: as the code made them before the engine refactor
of issue 23; the learned planner greedy, sampled and with its default beams: as the checkpoint
retrained with its critic for issue 21 makes them), in ``tests/data/seeded-plans.json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeopt.core.instance import load_instance
from edgeopt.scenario.suites import write_suite
from edgeopt.solvers.local_search import descent
from edgeopt.solvers.registry import get_solver

GOLDEN = json.loads((Path(__file__).parent / "data" / "seeded-plans.json").read_text())


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("suite")
    write_suite("default", folder)
    return {f.stem: f for f in folder.glob("*.json")}


def plan(path: Path, what: str) -> np.ndarray:
    p = load_instance(path).problem
    if what == "random+descent":
        return descent(p, get_solver("random")(p, seed=5).assignment, seed=0)[0]
    name, *opt = what.split("/")
    options = {k: int(v) for k, v in (kv.split("=") for kv in opt[0].split(","))} if opt else {}
    return get_solver(name)(p, seed=3, **options).assignment


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_seeded_plans_are_unchanged(suite, key):
    instance, what = key.split("/", 1)
    assert plan(suite[instance], what).tolist() == GOLDEN[key][1]
