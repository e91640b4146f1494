"""``make demo``'s time limits: the solvers that use all of their limit get the demo's own, every
other solver the demo's ``--time-limit``, and each limit runs as one batch into one results file."""

from __future__ import annotations

from edgeopt.demo import DEMO_TIME_LIMITS_S, demo_solvers, demo_time_limits


def test_solvers_that_run_to_their_limit_get_the_demo_limits_the_rest_the_given_one():
    limits = demo_time_limits(demo_solvers(), 60.0)
    assert {s: limits[s] for s in DEMO_TIME_LIMITS_S} == {
        "best": 10.0,
        "cg": 10.0,
        "dw": 10.0,
        "lns": 10.0,
        "drl": 1.0,
    }
    assert limits["milp"] == limits["greedy+ls"] == limits["local-search"] == 60.0


def test_a_smaller_time_limit_caps_the_demo_limits():
    assert set(demo_time_limits(demo_solvers(), 3.0).values()) == {1.0, 3.0}
    assert demo_time_limits(demo_solvers(), 0.5)["drl"] == 0.5


def test_a_batch_gives_each_solver_its_own_time_limit(tmp_path):
    """The demo's one batch: ``time_limits`` replaces the batch limit for the solvers it names
    (the stored settings say which limit each run had, and lns honours its 0.5 s)."""
    from edgeopt.batch.runner import run_batch
    from edgeopt.batch.store import read_rows
    from tests.helpers import make_instances

    files = make_instances(tmp_path / "inst", 1, requests=12)
    db = tmp_path / "r.sqlite"
    run_batch(
        [str(f) for f in files],
        ["greedy", "lns"],
        db,
        time_limit_s=30.0,
        time_limits={"lns": 0.5},
        workers=1,
        progress=False,
    )
    rows = {r["solver"]: r for r in read_rows(db)}
    assert rows["greedy"]["settings"]["time_limit_s"] == 30.0
    assert rows["lns"]["settings"]["time_limit_s"] == 0.5
    assert rows["lns"]["wall_s"] < 0.5 + 2.0
