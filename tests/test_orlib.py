"""OR-Library GAP files: parsing, import, published optima, and real problems solved to them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeopt.cli import main
from edgeopt.core.evaluate import evaluate
from edgeopt.core.io import load_problem
from edgeopt.core.orlib import (
    GAP_LARGE_ENV,
    ORLIB_ENV,
    best_known,
    gap_large_dir,
    import_gap,
    orlib_dir,
    published_optima,
    read_gap_file,
)
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
    rc = main(
        [
            "bench",
            "orlib",
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


# ------------------------------------------------------------ single-problem files (gap-large)
# The data of TINY without the leading problem count: m n, costs, resources, capacities.
SINGLE = """2 3
5 1 4
2 6 3
3 2 2
1 2 2
4 3
"""
GAP_LARGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gap-large"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``edgeopt ARGV`` in-process; internal errors raise (EDGEOPT_DEBUG) instead of exit 1."""
    from unittest import mock

    from edgeopt.cli import main

    capsys.readouterr()
    with mock.patch.dict("os.environ", {"EDGEOPT_DEBUG": "1"}):
        rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_single_problem_file_parses_and_is_a_min_problem_named_after_the_file(tmp_path):
    f = tmp_path / "e0203"
    f.write_text(SINGLE)
    [p] = read_gap_file(f)
    assert (p.name, p.sense, p.n_items, p.n_bins, p.n_columns) == ("e0203", "min", 3, 2, 6)
    assert p.capacity.tolist() == [4.0, 3.0] and p.resource_ids == ["a1", "a2"]
    assert p.meta["source_format"] == "gap-single" and "problem" not in p.meta
    # job j2 (index 1) on agent a2 (index 1): cost 6 (min: not negated), resource 2
    j = p.item_ptr[1] + 1
    assert p.col_bin[j] == 1 and p.col_cost[j] == 6.0
    assert p.use.toarray()[:, j].tolist() == [0.0, 2.0]
    # every cost in place: column job*m + agent
    assert p.col_cost.reshape(3, 2).T.tolist() == [[5, 1, 4], [2, 6, 3]]
    # min by hand (costs a1 5 1 4 / a2 2 6 3, use a1 3 2 2 / a2 1 2 2, caps 4 3):
    #   (a2,a1,a1): a1 4, a2 1 → 7   (a2,a1,a2): a1 2, a2 3 → 6 ← least   (a2,a2,a1): → 12
    #   every plan with j1 on a1 overloads an agent, as does (a2,a2,a2)
    res = solve(p)
    assert res.status == "optimal" and p.source_objective(res.objective) == pytest.approx(6.0)
    assert p.col_bin[res.assignment].tolist() == [1, 0, 1]


def test_both_formats_give_the_same_matrices(tmp_path):
    (tmp_path / "gapz.txt").write_text(TINY)  # lettered OR-Library file: min as well
    (tmp_path / "z").write_text(SINGLE)
    [multi] = read_gap_file(tmp_path / "gapz.txt")
    [single] = read_gap_file(tmp_path / "z")
    assert (multi.name, single.name) == ("gapz-1", "z")
    assert multi.meta["source_format"] == "orlib-gap" and multi.meta["problem"] == 1
    assert np.array_equal(multi.col_cost, single.col_cost)
    assert (multi.use != single.use).nnz == 0
    assert np.array_equal(multi.capacity, single.capacity)


def test_orlib_file_of_two_problems_of_different_sizes(tmp_path):
    f = tmp_path / "gap7.txt"
    f.write_text("2\n1 2\n3 4\n1 1\n5\n2 1\n7\n8\n2\n3\n4 5\n")
    a, b = read_gap_file(f)
    assert (a.name, a.n_bins, a.n_items, a.sense) == ("gap7-1", 1, 2, "max")
    assert (b.name, b.n_bins, b.n_items) == ("gap7-2", 2, 1)
    assert a.col_cost.tolist() == [-3.0, -4.0] and b.capacity.tolist() == [4.0, 5.0]


@pytest.mark.parametrize(
    "text, message",
    [
        # truncated: the last capacity is missing
        (
            SINGLE[:-3] + "\n",
            "nor a single-problem file: expected 2+2·m·n+m = 16 numbers for m=2, n=3, found 15",
        ),
        # header inconsistent with the data that follows
        (
            "3" + SINGLE[1:],
            "nor a single-problem file: expected 2+2·m·n+m = 23 numbers for m=3, n=3, found 16",
        ),
        ("2.5" + SINGLE[1:], "'m n' must be two integers >= 1, got '2.5' '3'"),
        ("", "expected a first line 'm n' (agents, jobs), found 0 number(s)"),
        (SINGLE.replace("2 6 3", "2 x 3"), "cost values: 'x' on line 3 is not a number"),
        (SINGLE.replace("1 2 2", "1 -2 2"), "negative resource value -2"),
        (SINGLE.replace("4 3\n", "4 0\n"), "capacity must be > 0, got 0"),
        # 20 numbers that are both 2 problems (4×1 and 1×1) and one 2×4 problem
        (
            "2\n4 1\n" + "1 " * 12 + "\n1 1\n1 1 1\n",
            "ambiguous: 20 numbers fit both an OR-Library file of 2 problem(s) and a "
            "single-problem file with m=2, n=4",
        ),
    ],
)
def test_bad_single_problem_file_is_refused_in_one_line(tmp_path, text, message):
    f = tmp_path / "e0203"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        read_gap_file(f)
    assert str(err.value).startswith(f"{f}: ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_truncated_single_file_names_both_readings(tmp_path):
    f = tmp_path / "e0203"
    f.write_text(SINGLE[:-3])
    with pytest.raises(InputError, match=r"^.*e0203: neither an OR-Library file \(problem 1: "):
        read_gap_file(f)


def test_cli_imports_a_single_problem_file_and_refuses_a_truncated_one(tmp_path, capsys):
    f = tmp_path / "e0203"
    f.write_text(SINGLE)
    rc, out, err = cli(capsys, "import-gap", str(f), "--out", str(tmp_path / "out"))
    assert rc == 0 and err == "" and "1 problem file(s)" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["e0203.json"]
    back = load_problem(tmp_path / "out" / "e0203.json")
    assert (back.name, back.sense, back.n_items, back.n_bins) == ("e0203", "min", 3, 2)
    assert back.col_cost.reshape(3, 2).T.tolist() == [[5, 1, 4], [2, 6, 3]]

    bad = tmp_path / "e0204"
    bad.write_text(SINGLE[:-3])
    rc, out, err = cli(capsys, "import-gap", str(bad), "--out", str(tmp_path / "out2"))
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgeopt: error: {bad}: neither"), err
    assert "found 15" in lines[0]
    assert not (tmp_path / "out2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.skipif(not (GAP_LARGE / "e05100").exists(), reason="shared gap-large data absent")
def test_real_single_problem_file_e05100():
    f = GAP_LARGE / "e05100"
    [p] = read_gap_file(f)
    assert (p.name, p.sense, p.n_bins, p.n_items) == ("e05100", "min", 5, 100)
    nums = [float(x) for x in f.read_text().split()]
    assert len(nums) == 2 + 2 * 5 * 100 + 5
    assert p.capacity.tolist() == nums[-5:]
    cost = np.array(nums[2:502]).reshape(5, 100)  # agent by agent
    use = np.array(nums[502:1002]).reshape(5, 100)
    assert np.array_equal(p.col_cost.reshape(100, 5).T, cost)
    assert np.array_equal(p.use.toarray().sum(axis=0).reshape(100, 5).T, use)


# ------------------------------------------------------------ BEST.md of the large instances
BEST_MD = """# best known

| instance | agents | jobs | best known bound | optimum | best known value |
|---|---|---|---|---|---|
| c10400 | 10 | 400 | 5597 | 5597 | 5597 |
| d20400 | 20 | 400 | 24563 | — | 24567 |
"""


def test_best_known_parses_the_table(tmp_path):
    md = tmp_path / "BEST.md"
    md.write_text(BEST_MD)
    assert best_known(md) == {
        "c10400": {"bound": 5597.0, "optimum": 5597.0, "best": 5597.0},
        "d20400": {"bound": 24563.0, "optimum": None, "best": 24567.0},
    }


@pytest.mark.parametrize(
    "row, message",
    [
        ("| e05100 | 5 | 100 | 12681 | 12681 |", "line 7: expected 6 cells"),
        ("| e05100 | 5 | 100 | 12681 | 12681 | n/a |", "line 7: best known value of e05100"),
        ("| e05100 | 5 | 100 | x | 12681 | 12681 |", "line 7: best known bound of e05100"),
        ("| e05100 | 5 | 100 | 12681 | ? | 12681 |", "line 7: optimum of e05100"),
        ("| e05100 | five | 100 | 1 | 1 | 1 |", "line 7: agents of e05100"),
        ("| e05100 | 5 | 100 | 13000 | — | 12681 |", "exceeds the best known value"),
        ("| e05100 | 5 | 100 | 1 | 2 | inf |", "is not finite"),
        ("| c10400 | 10 | 400 | 5597 | 5597 | 5597 |", "line 7: instance c10400 is listed twice"),
        ("| ../x | 10 | 400 | 1 | 1 | 1 |", "not a plain file name"),
    ],
)
def test_best_known_refuses_malformed_rows(tmp_path, row, message):
    md = tmp_path / "BEST.md"
    md.write_text(BEST_MD + row + "\n")
    with pytest.raises(InputError) as err:
        best_known(md)
    assert str(err.value).startswith(f"{md}: ") and message in str(err.value)


def test_best_known_without_rows_or_file(tmp_path):
    md = tmp_path / "BEST.md"
    md.write_text("# nothing here\n")
    with pytest.raises(InputError, match="no table rows"):
        best_known(md)
    with pytest.raises(InputError, match="cannot read"):
        best_known(tmp_path / "missing.md")


@pytest.mark.skipif(not (GAP_LARGE / "BEST.md").exists(), reason="shared gap-large data absent")
def test_shared_best_known_covers_the_24_instances():
    best = best_known(GAP_LARGE / "BEST.md")
    assert len(best) == 24 and all((GAP_LARGE / n).exists() for n in best)
    assert best["d20400"] == {"bound": 24563.0, "optimum": None, "best": 24567.0}
    assert best["e05100"]["best"] == 12681.0


def test_gap_large_dir_prefers_the_option_then_the_variable_then_the_shared_folder(
    tmp_path, monkeypatch
):
    repo = _checkout(tmp_path)
    (tmp_path / "shared" / "data" / "gap-large").mkdir(parents=True)
    monkeypatch.chdir(repo / "edgeopt")
    monkeypatch.setenv(GAP_LARGE_ENV, str(tmp_path / "from-env"))
    assert gap_large_dir(tmp_path / "opt") == tmp_path / "opt"
    assert gap_large_dir() == tmp_path / "from-env"
    monkeypatch.delenv(GAP_LARGE_ENV)
    assert gap_large_dir().resolve() == (tmp_path / "shared" / "data" / "gap-large").resolve()


def test_gap_large_dir_without_any_source_says_to_set_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(GAP_LARGE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "edgeopt.core.orlib.__file__", str(tmp_path / "site" / "edgeopt" / "core" / "orlib.py")
    )
    with pytest.raises(InputError, match=GAP_LARGE_ENV):
        gap_large_dir()
