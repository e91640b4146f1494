"""OR-Library GAP files: parsing, import, published optima, and real problems solved to them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeopt.bench import orlib as bench
from edgeopt.core.evaluate import evaluate
from edgeopt.core.io import load_problem
from edgeopt.core.orlib import ORLIB_ENV, import_gap, orlib_dir, published_optima, read_gap_file
from edgeopt.errors import InputError
from edgeopt.solvers.registry import get_solver

solve = get_solver("milp")


def _shared_data() -> Path | None:
    try:
        return orlib_dir()
    except InputError:
        return None


DATA = _shared_data()
needs_data = pytest.mark.skipif(
    DATA is None or not (DATA / "gap1.txt").exists(), reason="shared OR-Library data absent"
)

# 1 problem, 2 agents x 3 jobs: costs, resources, capacities (agent-major rows).
TINY = """1
2 3
5 1 4
2 6 3
3 2 2
1 2 2
4 3
"""


def test_parse_tiny_file_by_hand(tmp_path):
    f = tmp_path / "gap0.txt"
    f.write_text(TINY)
    [p] = read_gap_file(f)
    assert (p.name, p.sense, p.n_items, p.n_bins, p.n_columns) == ("gap0-1", "max", 3, 2, 6)
    assert p.item_ids == ["j1", "j2", "j3"] and p.bin_ids == ["a1", "a2"]
    assert p.resource_ids == ["a1", "a2"] and p.capacity.tolist() == [4.0, 3.0]
    assert not p.balanced.any() and p.balance_weight == 0.0
    assert p.option_ids == ["-"]
    # job j2 (index 1) on agent a2 (index 1): cost 6 (stored negated: max), resource 2
    j = p.item_ptr[1] + 1
    assert p.col_bin[j] == 1 and p.col_cost[j] == -6.0
    assert p.use.toarray()[:, j].tolist() == [0.0, 2.0]
    # max: j1→a1 (5, use 3), j2→a2 (6, use 2), j3→a2? use 2+2 > 3, so j3→a1: 3+2 > 4 ...
    # enumerate by hand: feasible plans and their profits
    #   (a1,a2,a1): loads a1 3+2=5 > 4  ✗     (a1,a2,a2): a2 2+2=4 > 3 ✗
    #   (a2,a1,a1): a1 2+2=4, a2 1 → profit 2+1+4=7
    #   (a2,a2,a1): a1 2, a2 1+2=3 → profit 2+6+4=12   ← best
    #   (a1,a1,a2): a1 3+2=5 ✗   (a2,a1,a2): a1 2, a2 1+2=3 → 2+1+3=6   (a1,a2,…) ✗
    res = solve(p)
    assert res.status == "optimal"
    assert p.source_objective(res.objective) == pytest.approx(12.0)


def test_min_sense_for_lettered_files(tmp_path):
    f = tmp_path / "gapz.txt"
    f.write_text(TINY)
    [p] = read_gap_file(f)
    assert p.sense == "min" and p.name == "gapz-1" and p.col_cost[0] == 5.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\n2 3\n5 1 4\n2 6\n", "problem 1: expected 6 cost values, got 5"),
        (TINY.replace("4 3\n", "4\n"), "problem 1: expected 2 capacity values, got 1"),
        ("2\n" + TINY[2:], "problem 2: expected 1 number of agents, got 0"),
        (TINY.replace("2 6 3", "2 x 3"), "problem 1: cost values: 'x' on line 4 is not a number"),
        (TINY + "7\n", "1 unexpected value(s) after 1 problem(s), from line 8"),
        ("", "expected 1 number of problems, got 0"),
    ],
)
def test_malformed_file_raises_input_error_naming_file_and_problem(tmp_path, text, message):
    f = tmp_path / "gapx.txt"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        read_gap_file(f)
    assert str(f) in str(err.value)
    assert message in str(err.value)


@needs_data
def test_truncated_real_file_names_the_file_and_problem(tmp_path):
    text = (DATA / "gap1.txt").read_text()
    f = tmp_path / "gap1.txt"
    f.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"gap1\.txt.*problem 3: "):
        read_gap_file(f)


# ------------------------------------------------------------ where the data is found
def _checkout(root: Path) -> Path:
    """``root/repo`` looks like an edgeopt checkout; ``root/shared/data/orlib-gap`` exists beside it."""
    repo = root / "repo"
    (repo / "edgeopt").mkdir(parents=True)
    (repo / "edgeopt" / "__init__.py").write_text("")
    (repo / "pyproject.toml").write_text("")
    (root / "shared" / "data" / "orlib-gap").mkdir(parents=True)
    return repo


def test_orlib_dir_prefers_the_option_then_the_variable_then_the_shared_folder(
    tmp_path, monkeypatch
):
    repo = _checkout(tmp_path)
    monkeypatch.chdir(repo / "edgeopt")
    monkeypatch.setenv(ORLIB_ENV, str(tmp_path / "from-env"))
    assert orlib_dir(tmp_path / "opt") == tmp_path / "opt"
    assert orlib_dir() == tmp_path / "from-env"
    monkeypatch.delenv(ORLIB_ENV)
    assert orlib_dir().resolve() == (tmp_path / "shared" / "data" / "orlib-gap").resolve()


def test_orlib_dir_without_any_source_says_to_set_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(ORLIB_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "edgeopt.core.orlib.__file__", str(tmp_path / "site" / "edgeopt" / "core" / "orlib.py")
    )
    with pytest.raises(InputError, match=ORLIB_ENV):
        orlib_dir()


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_gap_file(tmp_path / "nope.txt")


def test_import_writes_problem_files_that_load_back_identically(tmp_path):
    f = tmp_path / "gap0.txt"
    f.write_text(TINY + "")
    paths = import_gap(f, tmp_path / "out")
    assert [p.name for p in paths] == ["gap0-1.json"]
    [orig] = read_gap_file(f)
    back = load_problem(paths[0])
    assert back.sense == "max" and back.name == "gap0-1"
    assert np.array_equal(back.col_cost, orig.col_cost)
    assert (back.use != orig.use).nnz == 0
    a = np.array([orig.item_ptr[i] + (i % 2) for i in range(3)])
    assert evaluate(back, a).objective == evaluate(orig, a).objective
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic: no leftovers


def test_published_optima_parse_markdown_tables(tmp_path):
    md = tmp_path / "OPTIMA.md"
    md.write_text(
        "text\n\n| file | 1 | 2 |\n| --- | --- | --- |\n| gap1 (5×15) | 336 | 327 |\n\n"
        "| file | 5×100 | 5×200 |\n| --- | --- | --- |\n| gapd | 6353 | 12742 |\n"
    )
    assert published_optima(md) == {"gap1-1": 336, "gap1-2": 327, "gapd-1": 6353, "gapd-2": 12742}
    md.write_text("| gapa | 12 | x |\n")
    with pytest.raises(InputError, match="gapa-2"):
        published_optima(md)


@needs_data
def test_shared_optima_cover_every_problem():
    opt = published_optima(DATA / "OPTIMA.md")
    assert len(opt) == 12 * 5 + 4 * 6
    assert opt["gap1-1"] == 336 and opt["gapd-6"] == 12235


@needs_data
@pytest.mark.parametrize("name", ["gap1-1", "gap5-2", "gap12-3", "gapa-1", "gapb-3"])
def test_real_problems_reach_published_optima(name):
    stem, k = name.split("-")
    p = read_gap_file(DATA / f"{stem}.txt")[int(k) - 1]
    res = solve(p, time_limit_s=60)
    assert res.status == "optimal"
    assert p.source_objective(res.objective) == published_optima(DATA / "OPTIMA.md")[name]
    assert evaluate(p, res.assignment).feasible


@needs_data
def test_quick_benchmark_writes_table_and_csv(tmp_path):
    out = tmp_path / "orlib"
    rc = bench.main(
        [
            "--quick",
            "--problems",
            "gap1-1",
            "gapa-1",
            "gapd-1",
            "--time-limit",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    md = (out / "results.md").read_text()
    csv = (out / "results.csv").read_text().splitlines()
    assert len(csv) == 1 + 3
    assert "| gap1-1 |" in md and "| gapd-1 |" in md
    assert "gapd-1" in md.split("## All problems")[0]  # gapd at the limit: gap row in summary
    row = dict(zip(csv[0].split(","), csv[1].split(",")))
    assert row["instance"] == "gap1-1" and row["reached"] == "True"
