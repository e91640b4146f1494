"""``make demo``'s time limits: the solvers that use all of their limit get the demo's own, every
other solver the demo's ``--time-limit``, and each limit runs as one batch into one results file."""

from __future__ import annotations

from types import SimpleNamespace

import edgeopt.demo as demo
from edgeopt.demo import DEMO_TIME_LIMITS_S, demo_solvers, demo_time_limits


def test_solvers_that_run_to_their_limit_get_the_demo_limits_the_rest_the_given_one():
    limits = demo_time_limits(demo_solvers(), 60.0)
    assert {s: limits[s] for s in DEMO_TIME_LIMITS_S} == {
        "best": 10.0,
        "cg": 10.0,
        "dw": 10.0,
        "lns": 10.0,
    }
    assert limits["milp"] == limits["greedy+ls"] == limits["local-search"] == 60.0


def test_a_smaller_time_limit_caps_the_demo_limits():
    assert set(demo_time_limits(demo_solvers(), 3.0).values()) == {3.0}


def test_each_limit_is_one_batch_into_the_same_results_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "a.json").write_text("{}")
    calls = []

    def fake_batch(paths, solvers, db, *, time_limit_s, options, **kw):
        calls.append((tuple(solvers), db, time_limit_s, options))
        return SimpleNamespace(line=lambda: "batch", error_messages=[])

    monkeypatch.setattr(demo, "write_suite", lambda *a, **k: [])
    monkeypatch.setattr(demo, "run_batch", fake_batch)
    monkeypatch.setattr(demo, "read_rows", lambda db: [])
    monkeypatch.setattr(demo, "compare", lambda rows, instances: None)
    monkeypatch.setattr(demo, "format_table", lambda c: "table")
    monkeypatch.setattr(demo, "build_report", lambda *a, **k: None)
    demo.run_demo(out_dir=tmp_path / "out", instances_dir=tmp_path / "inst", progress=False)

    by_limit = {lim: set(solvers) for solvers, _, lim, _ in calls}
    assert by_limit[10.0] == {"best", "cg", "dw", "lns"}
    assert set(demo_solvers()) == set().union(*by_limit.values())
    assert len(calls) == len(by_limit) and {db for _, db, _, _ in calls} == {
        tmp_path / "out" / "results.sqlite"
    }
    for solvers, _, _, options in calls:  # milp and lp keep one HiGHS thread per solve
        assert options == {k: {"threads": 1} for k in ("milp", "lp") if k in solvers}
