"""``edgeopt solve`` exit status per outcome, through the CLI entry point."""

from __future__ import annotations

import json

import pytest

from edgeopt.cli import main
from tests.helpers import toy


def write(tmp_path, d, name="s.json"):
    f = tmp_path / name
    f.write_text(json.dumps(d))
    return str(f)


@pytest.fixture
def scenario(fixture_catalog):
    return toy(fixture_catalog)


def without_cloud(d):
    d["topology"]["nodes"] = [n for n in d["topology"]["nodes"] if n["kind"] != "cloud"]
    d["topology"]["edges"] = [
        e for e in d["topology"]["edges"] if "cloud" not in (e["source"], e["target"])
    ]
    return d


def test_a_plan_exits_0(tmp_path, scenario, capsys):
    assert main(["solve", write(tmp_path, scenario), "--solver", "greedy"]) == 0
    assert "greedy feasible" in capsys.readouterr().out


def test_a_loose_mip_gap_is_not_called_optimal(tmp_path, scenario, capsys):
    code = main(
        [
            "solve",
            write(tmp_path, scenario),
            "--solver",
            "milp",
            "--mip-gap",
            "0.5",
            "--out",
            str(tmp_path / "sol.json"),
        ]
    )
    assert code == 0
    sol = json.loads((tmp_path / "sol.json").read_text())
    if sol["status"] == "optimal":
        assert abs(sol["objective"] - sol["bound"]) <= 1e-6 * max(1.0, abs(sol["objective"]))
    else:
        assert sol["status"] == "feasible" and sol["bound"] < sol["objective"]


@pytest.mark.parametrize("solver", ["greedy", "random", "local-search", "milp", "lp", "cg", "lns"])
def test_an_item_without_any_admissible_column_exits_3(tmp_path, scenario, solver, capsys):
    d = without_cloud(scenario)
    d["requests"][0]["min_accuracy"] = 1.0  # no configuration of the fixture is that accurate
    assert main(["solve", write(tmp_path, d), "--solver", solver]) == 3
    out = capsys.readouterr().out
    assert "infeasible" in out and "r0" in out


def test_no_plan_within_the_limit_exits_4(tmp_path, monkeypatch, scenario, capsys):
    from edgeopt.core.result import Outcome
    from edgeopt.solvers import registry

    def slow(problem, *, seed=None, time_limit_s=None):
        return Outcome(None, "time_limit", message="no plan within the time limit")

    monkeypatch.setitem(registry._REGISTRY, "slow", registry._entry("slow", slow, "never finishes"))
    assert main(["solve", write(tmp_path, scenario), "--solver", "slow", "--time-limit", "1"]) == 4


def test_a_solver_that_fails_the_referee_exits_1(tmp_path, monkeypatch, scenario, capsys):
    import numpy as np

    from edgeopt.core.result import Outcome
    from edgeopt.solvers import registry

    def liar(problem, *, seed=None, time_limit_s=None):
        a = np.array([problem.item_ptr[i] for i in range(problem.n_items)])
        return Outcome(a, objective=-1.0)

    monkeypatch.setitem(registry._REGISTRY, "liar", registry._entry("liar", liar, "lies"))
    assert main(["solve", write(tmp_path, scenario), "--solver", "liar"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evaluator finds" in err[0]


def test_unknown_and_reserved_options_exit_2(tmp_path, scenario, capsys):
    f = write(tmp_path, scenario)
    assert main(["solve", f, "--solver", "greedy", "--set", "bogus=1"]) == 2
    assert "unknown option 'bogus'" in capsys.readouterr().err
    assert main(["solve", f, "--solver", "drl", "--set", "samples=abc"]) == 2
    assert "samples" in capsys.readouterr().err
    assert main(["solve", f, "--solver", "greedy", "--set", "seed=5"]) == 2
    assert "--seed" in capsys.readouterr().err
