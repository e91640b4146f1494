"""``edgeopt bench gap-large``: large single-problem GAP instances against their best known values."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from unittest import mock

import pytest

from edgeopt.bench import gap_large
from edgeopt.cli import main
from edgeopt.core.result import Outcome
from edgeopt.solvers import registry

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gap-large"
SMALL = ["e05100", "e10100"]
needs_data = pytest.mark.skipif(
    not all((DATA / n).exists() for n in [*SMALL, "BEST.md"]),
    reason="shared gap-large data absent",
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``edgeopt ARGV`` in-process; internal errors raise (EDGEOPT_DEBUG) instead of exit 1."""
    capsys.readouterr()
    with mock.patch.dict(os.environ, {"EDGEOPT_DEBUG": "1"}):
        rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def bench(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "bench", "gap-large", "--dir", str(DATA), "--out", str(out),
               "--no-progress", *extra)  # fmt: skip


def best_values() -> dict[str, float]:
    """Best known values read straight from BEST.md (last column of each instance row)."""
    best = {}
    for line in (DATA / "BEST.md").read_text().splitlines():
        m = re.match(r"\|\s*([cde]\d+)\s*\|.*\|\s*([\d.]+)\s*\|\s*$", line)
        if m:
            best[m.group(1)] = float(m.group(2))
    return best


def rows_of(out: Path) -> list[dict]:
    doc = json.loads((out / "results.json").read_text())
    assert doc["format"] == "edgeopt-bench-gap-large/1"
    return doc["rows"]


def one_clean_line(rc: int, err: str) -> str:
    lines = err.splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("edgeopt: error: "), err
    return lines[0]


@needs_data
def test_greedy_on_two_small_instances_writes_rows_readme_and_plot(tmp_path, capsys):
    out = tmp_path / "rep"
    rc, stdout, err = bench(capsys, out, "--instances", ",".join(SMALL), "--solvers", "greedy",
                            "--time-limit", "2")  # fmt: skip
    assert rc == 0, err
    rows = rows_of(out)
    assert [(r["instance"], r["solver"]) for r in rows] == [(n, "greedy") for n in SMALL]
    best = best_values()
    assert best["e05100"] == 12681 and best["e10100"] == 11577
    for r in rows:
        assert r["status"] in ("feasible", "optimal", "time_limit")
        assert (r["time_limit_s"], r["seed"], r["type"]) == (2.0, 0, "E")
        assert r["agents"] == int(r["instance"][1:3]) and r["jobs"] == 100
        z = r["objective"]
        assert z >= best[r["instance"]]  # minimisation: never below the best known bound here
        assert r["best_known"] == best[r["instance"]]
        assert r["dev_best_pct"] == pytest.approx(
            (z - best[r["instance"]]) / best[r["instance"]] * 100
        )
        assert r["trace"] is None and 0 < r["wall_s"] < 10
    readme = (out / "README.md").read_text()
    assert "edgeopt bench gap-large" in readme and "--time-limit 2" in readme
    assert "| E | 2 |" in readme and "| **all** | 2 |" in readme
    assert all(f"| {n} | " in readme for n in SMALL)
    mean = sum(r["dev_best_pct"] for r in rows) / 2
    assert f"{mean:.2f} %" in readme.split("## Per instance")[0]
    assert (out / "deviation_vs_time.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report:" in stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp leftovers

    # --resume keeps both rows as they were and runs only the new solver
    rc, _, err = bench(capsys, out, "--instances", ",".join(SMALL), "--solvers", "greedy,greedy+ls",
                       "--time-limit", "2", "--resume")  # fmt: skip
    assert rc == 0, err
    again = rows_of(out)
    assert again[:2] == rows
    assert sorted((r["instance"], r["solver"]) for r in again[2:]) == [
        (n, "greedy+ls") for n in SMALL
    ]


def _traced(problem, *, seed=None, time_limit_s=None) -> Outcome:
    """greedy's plan, with a made-up time-to-best trace ending at its objective."""
    res = registry.get_solver("greedy")(problem, seed=seed, time_limit_s=time_limit_s)
    z = res.objective
    return Outcome(res.assignment, stats={"trace": [[0.01, 2 * z], [0.02, z]]})


@needs_data
def test_a_solver_trace_is_recorded(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "traced", registry._entry("traced", _traced, "test"))
    out = tmp_path / "rep"
    rc, _, err = bench(capsys, out, "--instances", "e05100", "--solvers", "traced",
                       "--time-limit", "2")  # fmt: skip
    assert rc == 0, err
    [r] = rows_of(out)
    z = r["objective"]
    assert r["trace"] == [[0.01, 2 * z], [0.02, z]]
    times, devs = gap_large._mean_curve([r])
    assert times[:2] == [0.01, 0.02] and devs[0] == pytest.approx(devs[1] * 2 + 100)
    assert (out / "deviation_vs_time.png").stat().st_size > 0


@needs_data
def test_an_interrupted_run_keeps_what_finished(tmp_path, capsys, monkeypatch):
    calls = []

    def stop_second(problem, *, seed=None, time_limit_s=None) -> Outcome:
        calls.append(problem.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return _traced(problem, seed=seed, time_limit_s=time_limit_s)

    monkeypatch.setitem(registry._REGISTRY, "stops", registry._entry("stops", stop_second, "t"))
    out = tmp_path / "rep"
    rc, _, err = bench(capsys, out, "--instances", ",".join(SMALL), "--solvers", "stops",
                       "--time-limit", "2")  # fmt: skip
    assert rc == 130 and "interrupted" in err
    assert [r["instance"] for r in rows_of(out)] == ["e05100"]
    assert "Interrupted after 1 of 2 solves" in (out / "README.md").read_text()


@needs_data
@pytest.mark.parametrize(
    "extra, says",
    [
        (["--instances", "e05100,nope"], "unknown instance(s) 'nope'"),
        (["--solvers", "greedy,no-such"], "--solvers: unknown solver 'no-such'"),
        (["--instances", " , "], "--instances: no names given"),
        (["--time-limit", "0"], "--time-limit: must be"),
        (["--threads", "0"], "--threads: must be"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, extra, says):
    rc, _, err = bench(capsys, tmp_path / "rep", *extra)
    assert says in one_clean_line(rc, err)
    assert not (tmp_path / "rep").exists()


def test_missing_or_empty_data_folder_exits_2(tmp_path, capsys):
    rc, _, err = run(capsys, "bench", "gap-large", "--dir", str(tmp_path / "nope"),
                     "--out", str(tmp_path / "rep"))  # fmt: skip
    assert "not a folder" in one_clean_line(rc, err)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "BEST.md").write_text(
        "| instance | agents | jobs | best known bound | optimum | best known value |\n"
        "|---|---|---|---|---|---|\n| e05100 | 5 | 100 | 12681 | 12681 | 12681 |\n"
    )
    rc, _, err = run(capsys, "bench", "gap-large", "--dir", str(empty),
                     "--out", str(tmp_path / "rep"))  # fmt: skip
    assert "none of the 1 instances listed in BEST.md" in one_clean_line(rc, err)
    rc, _, err = run(capsys, "bench", "gap-large", "--dir", str(empty), "--instances", "e05100",
                     "--out", str(tmp_path / "rep"))  # fmt: skip
    assert "no file e05100" in one_clean_line(rc, err)
    (empty / "e05100").write_text("5 100\n1 2\n")  # listed, present, truncated
    rc, _, err = run(capsys, "bench", "gap-large", "--dir", str(empty),
                     "--out", str(tmp_path / "rep"))  # fmt: skip
    assert "e05100: neither an OR-Library file" in one_clean_line(rc, err)
    assert not (tmp_path / "rep").exists()


def test_deviation():
    assert gap_large.deviation(110.0, 100.0) == pytest.approx(10.0)
    assert gap_large.deviation(None, 100.0) is None and gap_large.deviation(1.0, None) is None
    assert gap_large.deviation(1.0, 0.0) is None


def test_bench_heuristics_with_an_unknown_group_fails_in_one_line(capsys, tmp_path):
    rc, out, err = run(
        capsys, "bench", "heuristics", "--groups", "nosuch", "--out", str(tmp_path / "r")
    )
    assert rc == 2
    assert "nosuch" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
