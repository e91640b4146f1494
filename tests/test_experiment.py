"""The capacity-sweep experiment's quick preset runs end to end, resumes, and its metrics are right."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from edgeopt.cli import main
from edgeopt.core.compile import compile_scenario
from edgeopt.experiments.capacity_sweep import _mean_ci, plan_metrics
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.solvers.registry import get_solver
from tests.helpers import FIXTURE_CATALOG, col, toy

DEVICES = {
    "format": "edgeopt-devices/1",
    "profiles": {
        "jetson-nano": {"gflops": 20.0, "memory_mb": 4096, "vm_overhead_mb": 256, "max_util": 0.9}
    },
}


def test_quick_sweep_runs_and_resumes(tmp_path, capsys):
    dev = tmp_path / "devices.json"
    dev.write_text(json.dumps(DEVICES))
    out = tmp_path / "sweep"
    argv = [
        "experiment",
        "capacity-sweep",
        "--preset",
        "quick",
        "--out",
        str(out),
        "--catalog",
        str(FIXTURE_CATALOG),
        "--devices",
        str(dev),
        "--time-limit",
        "10",
    ]
    assert main(argv) == 0
    rows = [json.loads(x) for x in (out / "rows.jsonl").read_text().splitlines()]
    # 2 capacities × 1 size × 2 seeds × 4 solvers
    assert len(rows) == 16
    assert {r["solver"] for r in rows} == {"milp", "greedy", "no-downsizing", "cloud-only"}
    import csv

    agg = list(csv.DictReader((out / "results.csv").open()))
    assert len(agg) == 8  # 2 capacities × 4 solvers
    for a in agg:
        if a["solver"] == "milp" and a["gap"]:
            assert float(a["gap"]) == 0.0  # the gap reference is the proven MILP optimum itself
        if a["solver"] == "cloud-only" and a["cloud_share"]:
            assert float(a["cloud_share"]) == 1.0
    summary = (out / "summary.md").read_text()
    assert "max controller utilisation" in summary and "![jain.png](jain.png)" in summary
    for m in ("max_util", "jain", "acc_loss", "cloud_share", "traffic_gb", "gap", "time_s"):
        png = (out / f"{m}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # a second run finds every row done and solves nothing again
    before = (out / "rows.jsonl").read_text()
    assert main(argv) == 0
    assert (out / "rows.jsonl").read_text() == before


def test_plan_metrics_worked_by_hand(fixture_catalog):
    s = scenario_from_dict(toy(fixture_catalog))
    p = compile_scenario(s)
    res = get_solver("no-downsizing")(p)  # r0 full @c0, r1 full @c1, r2 → cloud (see test_solvers)
    m = plan_metrics(s, p, res)
    u0 = 0.008 + 100000 / 3.6e6  # r0 full on c0
    u1 = 0.004 + 20000 * 4 * 2.5 * 4 / 3.6e6  # r1 full series model on c1 (σ 4)
    assert m["max_util"] == pytest.approx(max(u0, u1))
    assert m["jain"] == pytest.approx((u0 + u1) ** 2 / (2 * (u0**2 + u1**2)))
    assert m["acc_loss"] == 0.0  # every request keeps its most accurate configuration
    assert m["cloud_share"] == pytest.approx(1 / 3)
    # traffic: only r2 moves, to the cloud over 3 links, D = (1000 + 3600)·3/1000 MB
    assert m["traffic_gb"] == pytest.approx(3 * 13.8 / 1000)
    assert col(p, "r2/w1.00-b32-e2@cloud") == res.assignment[2]


def test_mean_ci_uses_student_t():
    mean, half, n = _mean_ci([1.0, 2.0, 3.0, float("nan")])
    # t(0.975, 2) = 4.302653; s = 1; half = 4.302653/sqrt(3)
    assert (mean, n) == (2.0, 3) and half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert np.isnan(_mean_ci([])[0])
