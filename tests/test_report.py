"""Comparison numbers checked by hand on a database built here, and the report's files."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest

from edgeopt.batch.runner import run_batch
from edgeopt.batch.store import Store, read_rows, settings_hash
from edgeopt.cli import main as edgeopt_main
from edgeopt.core.gaps import gap_to_reference
from edgeopt.report.compare import compare
from tests.helpers import make_instances

SETTINGS = {"seed": 0, "time_limit_s": None}


def row(
    inst: str,
    solver: str,
    status: str,
    z: float | None = None,
    bound: float | None = None,
    t: float | None = 1.0,
    sense: str = "min",
) -> dict:
    """A stored row; ``z`` and ``bound`` in the internal (minimisation) sense."""
    sign = -1.0 if sense == "max" else 1.0
    return {
        "instance_path": f"{inst}.json",
        "instance_name": inst,
        "instance_sha256": f"sha-{inst}",
        "kind": "problem",
        "n_items": 3,
        "n_columns": 9,
        "n_bins": 3,
        "sense": sense,
        "solver": solver,
        "settings": SETTINGS,
        "settings_hash": settings_hash(SETTINGS),
        "status": status,
        "objective": None if z is None else sign * z,
        "objective_internal": z,
        "bound": None if bound is None else sign * bound,
        "bound_internal": bound,
        "wall_s": t,
        "error": "boom" if status == "error" else None,
    }


# instance A: proven optimum 10; B: no proof, best bound 17 (lp) beats milp's 16;
# C: no milp at all, best found 5; D: a maximisation problem (internal Z = −source Z).
HAND_ROWS = [
    row("A", "milp", "optimal", 10, 10, t=2.0),
    row("A", "greedy", "feasible", 12, t=0.5),
    row("A", "random", "feasible", 15, t=0.1),
    row("B", "milp", "time_limit", 20, 16, t=10.0),
    row("B", "lp", "bound", None, 17, t=1.0),
    row("B", "greedy", "feasible", 22, t=1.0),
    row("B", "random", "error", t=None),
    row("C", "greedy", "feasible", 5, t=0.2),
    row("C", "random", "feasible", 6, t=0.1),
    row("D", "milp", "optimal", -100, -100, t=4.0, sense="max"),
    row("D", "greedy", "feasible", -90, t=1.0, sense="max"),
    row("D", "random", "feasible", -50, t=2.0, sense="max"),
]


@pytest.fixture
def hand_db(tmp_path: Path) -> Path:
    db = tmp_path / "hand.sqlite"
    with Store(db) as st:
        for r in HAND_ROWS:
            st.add(r)
    return db


def test_references_are_optimum_then_bound_then_best_found(hand_db):
    c = compare(read_rows(hand_db))
    refs = {sha[4:]: (r.kind, r.value, r.solver) for sha, r in c.references.items()}
    assert refs == {
        "A": ("optimum", 10, "milp"),
        "B": ("bound", 17, "lp"),
        "C": ("best found", 5, "greedy"),
        "D": ("optimum", -100, "milp"),
    }
    assert c.reference_counts() == {"optimum": 2, "bound": 1, "best found": 1}


def test_gaps_counts_and_time_ratios_by_hand(hand_db):
    s = {x.label: x for x in compare(read_rows(hand_db)).summaries}
    g = s["greedy"]  # gaps 2/10, 5/17, 0/5, 10/100
    assert g.gaps == pytest.approx({"A": 0.2, "B": 5 / 17, "C": 0.0, "D": 0.1})
    assert (g.gap_mean, g.gap_median, g.gap_max) == pytest.approx(
        ((0.2 + 5 / 17 + 0.1) / 4, 0.15, 5 / 17)
    )
    assert (g.runs, g.solved, g.feasible, g.optimal) == (4, 4, 4, 0)
    assert (g.time_mean_s, g.time_median_s) == pytest.approx((0.675, 0.75))
    assert g.time_vs_milp == pytest.approx(0.25)  # median of 0.5/2, 1/10, 1/4 (C has no milp run)
    r = s["random"]  # gaps 5/10, 1/5, 50/100; B is an error
    assert (r.runs, r.solved, r.feasible) == (4, 3, 3)
    assert (r.gap_mean, r.gap_median, r.gap_max) == pytest.approx((0.4, 0.5, 0.5))
    assert r.time_vs_milp == pytest.approx((0.1 / 2 + 2 / 4) / 2)
    m = s["milp"]  # 0, (20 − 17)/17, 0: the bound of another solver is the reference on B
    assert (m.optimal, m.feasible) == (2, 3)
    assert (m.gap_mean, m.gap_max) == pytest.approx((3 / 17 / 3, 3 / 17))
    assert m.time_vs_milp == pytest.approx(1.0)
    lp = s["lp"]
    assert (lp.runs, lp.solved, lp.feasible, lp.gap_mean) == (1, 1, 0, None)


def test_gap_to_reference_edge_cases():
    assert gap_to_reference(-9.0, -10.0) == pytest.approx(0.1)
    assert gap_to_reference(1.0 - 1e-13, 1.0) == 0.0  # rounding below the reference is no gap
    assert gap_to_reference(0.0, 0.0) == 0.0 and gap_to_reference(1.0, 0.0) == float("inf")


def test_compare_command_prints_an_aligned_table_and_writes_csv(hand_db, tmp_path, capsys):
    out_csv = tmp_path / "c.csv"
    assert (
        edgeopt_main(
            ["compare", "--db", str(hand_db), "--csv", str(out_csv), "--solvers", "greedy,milp"]
        )
        == 0
    )
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert (
        lines[0].startswith("solver")
        and lines[2].startswith("milp")
        and lines[3].startswith("greedy")
    )
    assert len({len(x) for x in lines[:4]}) == 1  # aligned
    assert "14.85%" in lines[3] and "29.41%" in lines[3] and "0.25×" in lines[3]
    assert "2 × optimum, 1 × bound, 1 × best found" in text
    got = list(csv.DictReader(out_csv.open()))
    assert [x["label"] for x in got] == ["milp", "greedy"]
    assert float(got[1]["gap_median"]) == pytest.approx(0.15)


def test_compare_on_a_missing_database_is_a_one_line_error(tmp_path, capsys):
    assert edgeopt_main(["compare", "--db", str(tmp_path / "nope.sqlite")]) == 2
    assert "results database not found" in capsys.readouterr().err


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_writes_markdown_and_sensible_pngs(tmp_path, capsys):
    make_instances(tmp_path / "in", 2, bad=True)
    db = tmp_path / "r.sqlite"
    run_batch([str(tmp_path / "in")], ["greedy", "random", "milp"], db, workers=1, progress=False)
    out = tmp_path / "rep"
    assert (
        edgeopt_main(["report", "--db", str(db), "--out", str(out), "--instance", "gen-c4-r8-s2"])
        == 0
    )
    md = (out / "report.md").read_text()
    assert "| solver | runs | solved | feasible | optimal |" in md and "gen-c4-r8-s2" in md
    assert "## Errors" in md and "malformed JSON" in md
    for name in ("gap_by_solver.png", "time_vs_size.png", "utilisation.png", "topology.png"):
        assert f"]({name})" in md
        w, h = png_size(out / name)
        assert 500 <= w <= 3000 and 350 <= h <= 3000, (name, w, h)
        assert (out / name).stat().st_size > 10_000, name
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files
    assert edgeopt_main(["report", "--db", str(db), "--out", str(out), "--instance", "nope"]) == 2
    assert "no instance 'nope'" in capsys.readouterr().err
